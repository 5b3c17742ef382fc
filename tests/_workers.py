"""Worker processes for the concurrency and crash tests (run as scripts, not collected)."""

from __future__ import annotations

import random
import sys
from datetime import timedelta

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import SQLiteStore

SECRET = b"concurrency-test-secret-0123456789abcdef"


def program_on(path: str) -> rk.ReferralProgram:
    """The program every worker builds on the shared file."""
    return rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        hold=timedelta(days=14),
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


if __name__ == "__main__":
    command, db = sys.argv[1], sys.argv[2]
    if command == "deliver":
        deliver(db, int(sys.argv[3]), int(sys.argv[4]))
    elif command == "stream":
        stream(db, int(sys.argv[3]))
