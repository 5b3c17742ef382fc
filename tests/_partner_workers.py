"""Worker process for the partner-cap race (run as a script, not collected).

``convert TARGET WORKER READY WORKERS``: 2 threads share one program on the store at
``TARGET`` (a SQLite file, or a database URL for `SQLAlchemyStore`); once the store is
open the worker marks itself ready in the folder ``READY`` and waits until all
``WORKERS`` are, so they begin together; then each thread places its own orders with
the partner's code typed at checkout. Prints how many orders, how many earned a
commission, the retries and when the first and last order were placed, as JSON.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import referralkit as rk
from referralkit.policies import Capped, Fixed, PercentOfOrder
from referralkit.storage import SQLAlchemyStore, SQLiteStore

SECRET = b"partner-cap race secret, 32 bytes or more!"
PARTNER = "anna"
CODE = "ANNA10"
#: 10% of a 37.00 order is 3.70: thirteen whole commissions and one cut to 1.90 fill it.
CAP = rk.Money("50.00", "USD")
ORDER = rk.Money("37.00", "USD")
TERMS = Capped(PercentOfOrder(Decimal("0.10"), kind="cash"), max_per_referrer=CAP)
THREADS = 2
ORDERS = 40  # per worker
#: A pause after each order, as between a shop's checkouts: the others get the store too.
PAUSE = 0.005
_RETRIES = 20


def program_on(target: str) -> rk.ReferralProgram:
    """The program every process builds on the shared store (the real clock)."""
    store: rk.Store = SQLAlchemyStore(target) if "://" in target else SQLiteStore(target)
    return program_with(store)


def program_with(store: rk.Store) -> rk.ReferralProgram:
    """The race's program on ``store``."""
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(rk.Money("5", "USD")),
        guards=[],
        clock=lambda: datetime.now(timezone.utc),
    )


def seed(program: rk.ReferralProgram) -> None:
    """Register the capped partner and their vanity code."""
    program.partners.add(PARTNER, name="Anna", kind="influencer", terms=TERMS)
    program.partners.code(PARTNER, vanity=CODE)


def wait_for_all(ready: Path, worker: str, workers: int) -> None:
    """Mark ``worker`` ready in ``ready``, then wait (up to two minutes) for every worker."""
    (ready / f"{worker}.ready").touch()
    deadline = time.monotonic() + 120
    while len(list(ready.glob("*.ready"))) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never got ready")
        time.sleep(0.01)


def place(program: rk.ReferralProgram, worker: str, threads: int = THREADS) -> dict[str, Any]:
    """Place the worker's orders from ``threads`` threads; what happened."""
    orders = [f"w{worker}-o{n}" for n in range(ORDERS)]
    earning = retries = 0
    times: list[float] = []
    lock = threading.Lock()

    def run(mine: list[str]) -> None:
        nonlocal earning, retries
        for order_id in mine:
            for attempt in range(_RETRIES):
                try:
                    rewards = program.convert(
                        referee=f"buyer-{order_id}", order_id=order_id, amount=ORDER, code=CODE
                    )
                    break
                except rk.RetryableStorageError:
                    if attempt == _RETRIES - 1:
                        raise
                    with lock:
                        retries += 1
            with lock:
                times.append(time.time())
                earning += any(r.customer_id == PARTNER for r in rewards)
            time.sleep(PAUSE)

    pool = [threading.Thread(target=run, args=(orders[i::threads],)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {
        "orders": len(times),
        "earning": earning,
        "retries": retries,
        "first": min(times),
        "last": max(times),
    }


if __name__ == "__main__":
    command, target, worker, ready, workers = sys.argv[1:6]
    if command == "convert":
        program = program_on(target)
        wait_for_all(Path(ready), worker, int(workers))
        print(json.dumps(place(program, worker)))
        program.store.close()
