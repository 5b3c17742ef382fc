"""Partner checkouts and review decisions from several processes on one store.

On one SQLite file, and on PostgreSQL through `SQLAlchemyStore` (the processes share
the database).

The leaked-code count is taken in the store inside each checkout's unit of work, so the
orders held are exactly those past the limit, each held once; a review is decided once
whichever process asks first.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from _partner_fraud_workers import LIMIT, TERMS, program_on
from _together import ENV, run_together

WORKERS = Path(__file__).with_name("_partner_fraud_workers.py")
PROCESSES = 4
ORDERS = 12


_Query = Callable[[str], object]


def _prepare(path: str) -> None:
    program = program_on(path)
    program.partners.add("anna", name="Anna", terms=TERMS)
    program.partners.code("anna", vanity="ANNA10")
    program.store.close()


@pytest.mark.slow
@pytest.mark.sqlite
def test_racing_checkouts_hold_exactly_the_orders_past_the_limit_and_decide_each_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"

    def one(sql: str) -> object:
        db = sqlite3.connect(path)
        try:
            return db.execute(sql.format(p="")).fetchone()[0]
        finally:
            db.close()

    _race(str(path), one)


@pytest.mark.slow
@pytest.mark.postgres
def test_racing_checkouts_hold_exactly_the_orders_past_the_limit_on_postgres(
    postgres_engine: object,
) -> None:
    """The same race on `SQLAlchemyStore` over PostgreSQL: the partner's lock orders the count."""
    from sqlalchemy import Engine, text

    from conftest import empty_postgres

    assert isinstance(postgres_engine, Engine)
    empty_postgres(postgres_engine)

    def one(sql: str) -> object:
        with postgres_engine.connect() as conn:
            return conn.execute(text(sql.format(p="referralkit_"))).scalar()

    _race(postgres_engine.url.render_as_string(hide_password=False), one)


def _race(path: str, one: _Query) -> None:
    """Race the checkouts, then the deciders, on ``path``; ``one`` reads one figure."""
    _prepare(path)
    run_together(
        [
            [sys.executable, str(WORKERS), "checkout", path, str(w), str(ORDERS)]
            for w in range(PROCESSES)
        ],
        lambda _: None,
        threads=0,
    )
    total = PROCESSES * ORDERS
    assert one("SELECT count(*) FROM {p}partner_checks WHERE NOT clicked") == total
    assert one("SELECT count(*) FROM {p}partner_reviews") == total - LIMIT
    assert one("SELECT count(DISTINCT reward_id) FROM {p}partner_reviews") == total - LIMIT
    deciders = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), "decide", path],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for _ in range(PROCESSES)
    ]
    won = 0
    for p in deciders:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        won += json.loads(out)["won"]
    assert won == total - LIMIT
    assert one("SELECT count(*) FROM {p}partner_reviews WHERE decision IS NULL") == 0
    assert one("SELECT count(*) FROM {p}partner_reviews WHERE decision = 'approved'") == (
        total - LIMIT
    )
    # grant (1), into review (2), approved back to available (2): five entries each
    for entries, rewards in ((1, LIMIT), (5, total - LIMIT)):
        assert (
            one(
                "SELECT count(*) FROM (SELECT r.id FROM {p}rewards r JOIN {p}ledger l"
                f" ON l.reward_id = r.id GROUP BY r.id HAVING count(l.reward_id) = {entries}) AS n"
            )
            == rewards
        )
    assert one("SELECT count(*) FROM {p}rewards") == total
    assert one("SELECT count(*) FROM {p}rewards WHERE state <> 'available'") == 0
