"""Worker processes for the group-buy race (run as scripts, not collected).

``join``: 8 threads share one program on the file and try every (group, member) pair
given, each pair tried twice across the workers; prints what happened as JSON.
``expire``: ``expire_due`` on a clock two hours ahead; prints the groups it expired.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from datetime import datetime, timedelta, timezone

import referralkit as rk
from referralkit.policies import Fixed
from referralkit.storage import SQLiteStore

SECRET = b"group-race secret, 32 bytes or more!!"
THREADS = 8
REWARD = Fixed(rk.Money("10", "USD"), kind="credit")


def program_on(path: str, ahead: timedelta = timedelta(0)) -> rk.ReferralProgram:
    """The program every process builds on the shared file (the real clock, maybe ahead)."""
    return rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=SECRET,
        policy=Fixed(rk.Money("5", "USD")),
        guards=[],
        link_base="https://shop.example/r",
        clock=lambda: datetime.now(timezone.utc) + ahead,
    )


def join(path: str, pairs_file: str, seed: int) -> None:
    """Try every pair in ``pairs_file`` (one ``code member`` a line) from 8 threads."""
    program = program_on(path)
    with open(pairs_file, encoding="utf-8") as f:  # noqa: PTH123 - a plain list
        pairs = [tuple(line.split()) for line in f if line.strip()]
    random.Random(seed).shuffle(pairs)
    placed: list[list[str]] = []
    closed: dict[str, int] = {}
    lock = threading.Lock()

    def run(mine: list[tuple[str, ...]]) -> None:
        for code, member in mine:
            try:
                place = program.groups.join(code, member)
            except rk.GroupClosed as exc:
                with lock:
                    closed[exc.reason] = closed.get(exc.reason, 0) + 1
                continue
            with lock:
                placed.append([code, member, str(place.accepted)])

    threads = [threading.Thread(target=run, args=(pairs[i::THREADS],)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    program.store.close()
    print(json.dumps({"placed": placed, "closed": closed}))


def expire(path: str) -> None:
    """Expire what is due two hours from now; print the expired groups' codes."""
    program = program_on(path, ahead=timedelta(hours=2))
    codes = [g.code for g in program.groups.expire_due(limit=10_000)]
    program.store.close()
    print(json.dumps(codes))


if __name__ == "__main__":
    command, db = sys.argv[1], sys.argv[2]
    if command == "join":
        join(db, sys.argv[3], int(sys.argv[4]))
    elif command == "expire":
        expire(db)
