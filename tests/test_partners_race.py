"""Four processes place orders with one partner's code at once, under a per-partner cap.

On one SQLite file, and on PostgreSQL through `SQLAlchemyStore` (the processes share the
database); the memory store runs the same race with threads. The partner's terms are
`Capped` (10% of each 37.00 order, at most 50.00 USD per partner): 160 orders would earn
592.00, so the cap is reached early, while the workers are still placing orders.
The store serialises each commission's read of the partner's rewards (one transaction
at a time on SQLite; on PostgreSQL the partner's advisory lock, taken before their
rewards are read), so the partner earns the cap exactly: thirteen whole commissions and
one cut to what was left, never more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

import referralkit as rk
from _partner_workers import CAP, ORDER, ORDERS, PARTNER, place, program_on, program_with, seed

pytestmark = pytest.mark.slow  # it spawns processes

WORKERS = Path(__file__).with_name("_partner_workers.py")
PROCESSES = 4
# The workers import the referralkit this test imported (a checkout's src, not an install).
ENV = {**os.environ, "PYTHONPATH": str(Path(rk.__file__).parents[1])}
WHOLE = Decimal("3.70")  # 10% of ORDER


def _check(program: rk.ReferralProgram, outs: list[dict[str, Any]]) -> None:
    """The partner earned the cap exactly, on every order attributed once."""
    orders = PROCESSES * ORDERS
    assert [out["orders"] for out in outs] == [ORDERS] * PROCESSES
    commissions = sorted(
        r.granted.amount
        for r in program.rewards(PARTNER)
        if r.customer_id == PARTNER and r.order_id is not None and r.granted is not None
    )
    assert sum(commissions) == CAP.amount
    whole, rest = divmod(CAP.amount, WHOLE)
    assert commissions == [rest] + [WHOLE] * int(whole)  # one order cut to the room left
    assert sum(out["earning"] for out in outs) == len(commissions)
    [line] = program.partners.statement(PARTNER).lines
    assert (line.orders, line.revenue, line.commission) == (
        orders,
        ORDER.amount * orders,
        CAP.amount,
    )


def _race(target: str, ready: Path) -> list[dict[str, Any]]:
    """Seed the partner on ``target``, race the worker processes, check; their outputs."""
    program = program_on(target)
    seed(program)
    program.store.close()
    ready.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), "convert", target, str(k), str(ready), str(PROCESSES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for k in range(PROCESSES)
    ]
    outs = []
    for p in procs:
        stdout, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert not err, err  # no worker thread died
        outs.append(json.loads(stdout))
    # The race was real: workers placed orders at the same time (SQLite's lock is not fair,
    # so a waiting worker may start late, but never all one after the other).
    assert any(a["first"] < b["last"] and b["first"] < a["last"] for a, b in combinations(outs, 2))
    program = program_on(target)
    try:
        _check(program, outs)
    finally:
        program.store.close()
    return outs


@pytest.mark.sqlite
def test_racing_checkouts_earn_a_capped_partner_the_cap_exactly_on_sqlite(tmp_path: Path) -> None:
    _race(str(tmp_path / "race.db"), tmp_path / "ready")


@pytest.mark.postgres
def test_racing_checkouts_earn_a_capped_partner_the_cap_exactly_on_postgres(
    postgres_engine: object, tmp_path: Path
) -> None:
    """The same race on `SQLAlchemyStore` over PostgreSQL: the partner's lock decides the room."""
    from sqlalchemy import Engine

    from conftest import empty_postgres

    assert isinstance(postgres_engine, Engine)
    empty_postgres(postgres_engine)
    _race(postgres_engine.url.render_as_string(hide_password=False), tmp_path / "ready")


@pytest.mark.memory
def test_racing_threads_earn_a_capped_partner_the_cap_exactly_on_the_memory_store() -> None:
    """The same race, four threads on one `MemoryStore` (processes cannot share one)."""
    import threading

    from referralkit.storage import MemoryStore

    program = program_with(MemoryStore())
    seed(program)
    outs: list[dict[str, Any]] = []
    pool = [
        threading.Thread(target=lambda k=k: outs.append(place(program, str(k), threads=1)))
        for k in range(PROCESSES)
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    _check(program, outs)
