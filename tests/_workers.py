"""Worker processes for the concurrency and crash tests (run as scripts, not collected)."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import referralkit as rk
from referralkit.outbox import drain_all
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import SQLiteStore

SECRET = b"concurrency-test-secret-0123456789abcdef"


def program_on(path: str, clock: Callable[[], datetime] | None = None) -> rk.ReferralProgram:
    """The program every worker builds on the shared file (on the real clock by default)."""
    return rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        hold=timedelta(days=14),
        **({} if clock is None else {"clock": clock}),
    )


def deliver(path: str, orders: int, seed: int) -> int:
    """Deliver every order once, in a shuffled order; returns how many calls were made."""
    program = program_on(path)
    ids = list(range(orders))
    random.Random(seed).shuffle(ids)
    for i in ids:
        program.convert(referee=f"referee-{i}", order_id=f"order-{i}", amount=rk.Money("80", "USD"))
    program.store.close()
    return len(ids)


def stream(path: str, start: int) -> None:
    """Convert new orders forever, printing each one committed (killed by the test)."""
    program = program_on(path)
    i = start
    while True:
        program.convert(
            referee=f"referee-{i % 1000}", order_id=f"stream-{i}", amount=rk.Money("20", "USD")
        )
        print(i, flush=True)
        i += 1


#: The lease every drainer takes.
DRAIN_LEASE = timedelta(minutes=5)


def drain_to(path: str, name: str, out: str, ahead: float, stuck_after: int) -> None:
    """Drain the outbox as worker ``name``, appending each delivered id to ``out``.

    The clock runs ``ahead`` seconds ahead of real time (a drainer started after the
    others' leases have ended, without waiting for it). With ``stuck_after`` >= 0 the
    worker hangs for good after that many deliveries, its last claim still leased,
    printing ``stuck`` (the test kills it).
    """
    offset = timedelta(seconds=ahead)
    program = program_on(path, clock=lambda: datetime.now(timezone.utc) + offset)
    delivered = 0
    with open(out, "a", encoding="utf-8") as sink:  # noqa: PTH123 - a plain append-only log

        def deliver(event: rk.Event) -> None:
            nonlocal delivered
            sink.write(f"{event.id}\n")
            sink.flush()
            delivered += 1
            if delivered == stuck_after:
                print("stuck", flush=True)
                time.sleep(3600)  # until SIGKILL

        drain_all(program, deliver, batch=100, lease=DRAIN_LEASE, worker=name)
    program.store.close()


if __name__ == "__main__":
    command, db = sys.argv[1], sys.argv[2]
    if command == "deliver":
        deliver(db, int(sys.argv[3]), int(sys.argv[4]))
    elif command == "stream":
        stream(db, int(sys.argv[3]))
    elif command == "drain":
        drain_to(db, sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
