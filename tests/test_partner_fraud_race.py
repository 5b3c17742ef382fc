"""Partner checkouts and review decisions from several processes on one SQLite file.

The leaked-code count is taken in the store inside each checkout's unit of work, so the
orders held are exactly those past the limit, each held once; a review is decided once
whichever process asks first.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from _partner_fraud_workers import LIMIT, TERMS, program_on
from _together import run_together

pytestmark = pytest.mark.sqlite

WORKERS = Path(__file__).with_name("_partner_fraud_workers.py")
PROCESSES = 4
ORDERS = 12


def _prepare(path: Path) -> None:
    program = program_on(str(path))
    program.partners.add("anna", name="Anna", terms=TERMS)
    program.partners.code("anna", vanity="ANNA10")
    program.store.close()


def _one(db: sqlite3.Connection, sql: str) -> object:
    return db.execute(sql).fetchone()[0]


@pytest.mark.slow
def test_racing_checkouts_hold_exactly_the_orders_past_the_limit_and_decide_each_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    _prepare(path)
    run_together(
        [
            [sys.executable, str(WORKERS), "checkout", str(path), str(w), str(ORDERS)]
            for w in range(PROCESSES)
        ],
        lambda _: None,
        threads=0,
    )
    total = PROCESSES * ORDERS
    db = sqlite3.connect(path)
    try:
        assert _one(db, "SELECT count(*) FROM partner_checks WHERE clicked = 0") == total
        assert _one(db, "SELECT count(*) FROM partner_reviews") == total - LIMIT
        assert _one(db, "SELECT count(DISTINCT reward_id) FROM partner_reviews") == total - LIMIT
    finally:
        db.close()
    deciders = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), "decide", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    won = 0
    for p in deciders:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        won += json.loads(out)["won"]
    assert won == total - LIMIT
    db = sqlite3.connect(path)
    try:
        assert _one(db, "SELECT count(*) FROM partner_reviews WHERE decision IS NULL") == 0
        assert _one(db, "SELECT count(*) FROM partner_reviews WHERE decision = 'approved'") == (
            total - LIMIT
        )
        # grant (1), into review (2), approved back to available (2): five entries each
        entries = db.execute(
            "SELECT n, count(*) FROM (SELECT r.id, count(l.reward_id) AS n FROM rewards r"
            " JOIN ledger l ON l.reward_id = r.id GROUP BY r.id) GROUP BY n ORDER BY n"
        ).fetchall()
        assert entries == [(1, LIMIT), (5, total - LIMIT)]
        assert _one(db, "SELECT count(*) FROM rewards WHERE state <> 'available'") == 0
    finally:
        db.close()
