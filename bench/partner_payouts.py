"""Who is due a partner payout on SQLite: `program.partners.payable` against hand-written SQL.

A file of ``partners`` partners (default 500) with ``rewards`` rewards each (default 200:
100,000 rewards; a third held, paid or available, some paid ones clawed back, every
other partner with a threshold). Times the library's `payable(limit=1000)` (one
``GROUP BY`` in SQLite, thresholds and netting included) and the plainest hand-written
query that adds up the same balances, each the median of 7 runs, and prints the ratio.
Run: ``python bench/partner_payouts.py [partners] [rewards]``.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import referralkit as rk
from referralkit.policies import PercentOfOrder
from referralkit.storage import SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"bench-secret-0123456789abcdef-0123456789"
_HAND = (
    "SELECT p.id, w.currency,"
    " SUM(CASE WHEN w.state = 'available' THEN w.amount_minor ELSE 0 END)"
    " - SUM(COALESCE(w.clawback_minor, 0)) AS payable"
    " FROM partners AS p JOIN rewards AS w ON w.referral_id = p.account_referral"
    " WHERE w.customer_id = p.id GROUP BY p.id, w.currency HAVING payable > 0"
    " ORDER BY p.id LIMIT 1000"
)


def _program(path: Path) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=SECRET,
        policy=PercentOfOrder("10%"),
        hold=timedelta(0),
        clock=FrozenClock(),
        guards=[],
    )


def _fill(path: Path, partners: int, rewards: int) -> None:
    program = _program(path)
    for i in range(partners):
        program.partners.add(
            f"p{i:05d}",
            name="Partner",
            terms=PercentOfOrder("10%", kind="cash"),
            payout_threshold=rk.Money("100", "USD") if i % 2 else None,
        )
    program.store.close()
    conn = sqlite3.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(rewards)") if r[1] != "seq"]
    rows = []
    n = 0
    for pid, account in conn.execute("SELECT id, account_referral FROM partners").fetchall():
        for j in range(rewards):
            n += 1
            state = "available" if j % 3 else ("paid" if j % 2 else "held")
            values = {
                "id": f"w{n}",
                "key": f"partner:{pid}:k{n}",
                "referral_id": account,
                "beneficiary": "referrer",
                "customer_id": pid,
                "kind": "cash",
                "currency": "USD",
                "amount_minor": 100 + j,
                "granted_minor": 100 + j,
                "points": 0,
                "granted_points": 0,
                "state": state,
                "policy": "bench",
                "explanation": "bench",
                "created_at": "2026-01-01T00:00:00.000000+00:00",
                "proportional": 0,
                "clawback_minor": 50 if j % 17 == 0 and state == "paid" else None,
                "clawback_points": 0,
            }
            rows.append(tuple(values.get(c) for c in columns))
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO rewards ({', '.join(columns)}) VALUES ({marks})", rows)
    conn.commit()
    conn.close()


def _median(call: Callable[[], object]) -> float:
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main(partners: int = 500, rewards: int = 200) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partners.db"
        _fill(path, partners, rewards)
        program = _program(path)
        conn = sqlite3.connect(path)
        due = program.partners.payable(limit=1000)
        lib = _median(lambda: program.partners.payable(limit=1000))
        hand = _median(lambda: conn.execute(_HAND).fetchall())
        conn.close()
        print(
            f"{partners * rewards} rewards, {len(due)} due: payable {lib * 1000:.1f} ms,"
            f" hand-written {hand * 1000:.1f} ms, ratio {lib / hand:.2f}"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
