"""Worker process for the partner review races (run as a script, not collected).

``PATH`` is a SQLite file or a database URL (`SQLAlchemyStore`).
``checkout PATH WORKER ORDERS``: converts ``ORDERS`` orders with the partner's code, no
buyer having clicked. ``decide PATH``: approves every open partner review it can and
prints how many decisions it won, as JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone

import referralkit as rk
from referralkit.guards import LeakedCode
from referralkit.policies import PercentOfOrder
from referralkit.storage import SQLAlchemyStore, SQLiteStore

SECRET = b"partner review race secret, 32 bytes+"
TERMS = PercentOfOrder("10%", kind="cash")
LIMIT = 5


def program_on(path: str) -> rk.ReferralProgram:
    """The program every process builds on the shared store (the real clock, no hold)."""
    store: rk.Store = SQLAlchemyStore(path) if "://" in path else SQLiteStore(path)
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=TERMS,
        guards=[],
        hold=timedelta(0),
        clock=lambda: datetime.now(timezone.utc),
    )
    program.partners.configure(leaked_code=LeakedCode(limit=LIMIT, window=timedelta(hours=1)))
    return program


def checkout(path: str, worker: str, orders: int) -> None:
    program = program_on(path)
    for n in range(orders):
        program.convert(
            referee=f"w{worker}-b{n}",
            order_id=f"w{worker}-o{n}",
            amount=rk.Money("50", "USD"),
            code="ANNA10",
        )
    program.store.close()


def decide(path: str) -> None:
    program = program_on(path)
    won = 0
    for review in program.partners.review_queue(limit=1000):
        try:
            program.partners.approve(review.id)
        except rk.InvalidState:
            continue
        won += 1
    program.store.close()
    print(json.dumps({"won": won}))


if __name__ == "__main__":
    command, db = sys.argv[1], sys.argv[2]
    if command == "checkout":
        checkout(db, sys.argv[3], int(sys.argv[4]))
    elif command == "decide":
        decide(db)
