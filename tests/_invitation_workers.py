"""Worker process for the invitation race (run as a script, not collected).

``redeem PATH CODE WORKER``: 4 threads share one program on the store at ``PATH`` (a
SQLite file, or a database URL for `SQLAlchemyStore`) and redeem the
invitation for the worker's own customers and the customers every worker shares; prints
the customers it signed up and how many it was refused, as JSON.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone

import referralkit as rk
from referralkit.policies import Fixed
from referralkit.storage import SQLAlchemyStore, SQLiteStore

SECRET = b"invitation race secret, 32 bytes or more!"
THREADS = 4
CUSTOMERS = 6


def program_on(path: str) -> rk.ReferralProgram:
    """The program every process builds on the shared store (the real clock)."""
    store: rk.Store = SQLAlchemyStore(path) if "://" in path else SQLiteStore(path)
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(rk.Money("5", "USD")),
        guards=[],
        clock=lambda: datetime.now(timezone.utc),
    )


def redeem(path: str, code: str, worker: str) -> None:
    program = program_on(path)
    customers = [f"w{worker}-c{n}" for n in range(CUSTOMERS)] + [f"shared-{n}" for n in range(3)]
    signed: list[str] = []
    refused = 0
    lock = threading.Lock()

    def run(mine: list[str]) -> None:
        nonlocal refused
        for customer in mine:
            try:
                ref = program.invitations.redeem(code, customer)
            except rk.InvitationUsedUp:
                with lock:
                    refused += 1
                continue
            with lock:
                signed.append(ref.referee)

    threads = [threading.Thread(target=run, args=(customers[i::THREADS],)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    program.store.close()
    print(json.dumps({"signed": signed, "refused": refused}))


if __name__ == "__main__":
    _, command, *args = sys.argv
    if command == "redeem":
        redeem(*args)
