"""Worker processes for the concurrency and crash tests (run as scripts, not collected).

``deliver`` and ``stream`` share one SQLite file; ``app-server`` and ``pg-stream`` are
app servers on PostgreSQL, each with its own engine (`SQLAlchemyStore`).
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

import referralkit as rk
from referralkit.outbox import drain_all
from referralkit.policies import AllOf, Budget, DoubleSided, Fixed, Milestone
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


#: The budget of the app-server program: less than the 2,000 orders would earn.
BUDGET = rk.Money("12345.67", "USD")
#: Qualified referrals a referrer needs for the milestone bonus (points).
MILESTONE_AT = 50
MILESTONE_POINTS = 500

_T = TypeVar("_T")


def app_server_program(url: str) -> rk.ReferralProgram:
    """The budgeted, milestone-paying program every PostgreSQL app server runs."""
    from referralkit.storage import SQLAlchemyStore

    return rk.ReferralProgram(
        store=SQLAlchemyStore(url, engine_options={"pool_size": 8, "max_overflow": 0}),
        secret=SECRET,
        policy=AllOf(
            Budget(
                DoubleSided(
                    referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
                ),
                total=BUDGET,
            ),
            Milestone({MILESTONE_AT: Fixed(MILESTONE_POINTS)}),
        ),
        guards=[],
        hold=timedelta(days=14),
    )


def retrying(call: Callable[[], _T], *, attempts: int = 200) -> _T:
    """``call()``, again while it fails retryably, as a webhook redelivery would."""
    for attempt in range(attempts):
        try:
            return call()
        except rk.StorageError as exc:  # noqa: PERF203 - the retry is the point
            if not exc.retryable or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def app_server(url: str, orders: int, copies: int, server: int, servers: int, threads: int) -> None:
    """One app server: ``threads`` threads deliver this server's share of every delivery.

    Each of the ``orders`` conversions is delivered ``copies`` times in all, in one shuffled
    order shared by every server; thread t of server s takes every (servers*threads)-th
    delivery from s*threads+t. Any error reaching the caller fails the process.
    """
    program = app_server_program(url)
    deliveries = [i for i in range(orders) for _ in range(copies)]
    random.Random(7).shuffle(deliveries)
    lanes = servers * threads
    errors: list[BaseException] = []

    def work(lane: int) -> None:
        try:
            for i in deliveries[lane::lanes]:
                program.convert(
                    referee=f"referee-{i}", order_id=f"order-{i}", amount=rk.Money("80", "USD")
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(server * threads + t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    program.store.close()
    if errors:
        raise errors[0]


def pg_stream(url: str, start: int, count: int) -> None:
    """Convert ``count`` new orders, retrying retryable failures; prints each one committed.

    Opening the store is retried too: an app server starting while the database restarts
    waits for it, as a process manager would restart it.
    """
    program = retrying(lambda: app_server_program(url))
    for i in range(start, start + count):
        retrying(
            lambda i=i: program.convert(
                referee=f"referee-{i % 1000}", order_id=f"stream-{i}", amount=rk.Money("20", "USD")
            )
        )
        print(json.dumps(i), flush=True)
    program.store.close()


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
    elif command == "app-server":
        app_server(db, *(int(a) for a in sys.argv[3:8]))
    elif command == "pg-stream":
        pg_stream(db, int(sys.argv[3]), int(sys.argv[4]))
    elif command == "drain":
        drain_to(db, sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]))
