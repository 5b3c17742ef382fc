"""Four processes x four threads redeem one invitation with three uses on one store.

On one SQLite file, and on PostgreSQL through `SQLAlchemyStore` (the processes share
the database).

Each process tries its own six customers and three customers every process shares. The
store decides the count (one conditional UPDATE, a unique (invitation, customer)):
exactly three customers are signed up, each once, with one referral and one event each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import referralkit as rk
from _invitation_workers import program_on

pytestmark = pytest.mark.slow  # it spawns processes

WORKERS = Path(__file__).with_name("_invitation_workers.py")
PROCESSES = 4
USES = 3
# The workers import the referralkit this test imported (a checkout's src, not an install).
ENV = {**os.environ, "PYTHONPATH": str(Path(rk.__file__).parents[1])}


_Query = Callable[[str, tuple[object, ...]], list[tuple[object, ...]]]


def _race(target: str, query: _Query) -> None:
    """Race the workers on ``target`` (a file or a URL); ``query`` reads its tables."""
    program = program_on(target)
    code = program.invitations.issue("ann", uses=USES).code
    program.store.close()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), "redeem", target, code, str(k)],
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
        outs.append(json.loads(stdout))

    signed = {c for out in outs for c in out["signed"]}
    assert len(signed) == USES
    assert sum(out["refused"] for out in outs) > 0  # the race was real
    ((used,),) = query("SELECT used FROM {p}invitations WHERE code = :code", (code,))
    redeemed = {c for (c,) in query("SELECT customer FROM {p}invitation_redemptions", ())}
    referrals = Counter(
        r for (r,) in query("SELECT referee FROM {p}referrals WHERE status = 'pending'", ())
    )
    events = query("SELECT COUNT(*) FROM {p}events WHERE type = 'invitation.redeemed'", ())
    ((event_count,),) = events
    assert used == USES
    assert redeemed == signed
    assert referrals == Counter(dict.fromkeys(signed, 1))
    assert event_count == USES


@pytest.mark.sqlite
def test_racing_redeems_sign_up_exactly_as_many_customers_as_the_uses(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "race.db"

    def query(sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        db = sqlite3.connect(path)
        try:
            return db.execute(sql.format(p="").replace(":code", "?"), args).fetchall()
        finally:
            db.close()

    _race(str(path), query)


@pytest.mark.postgres
def test_racing_redeems_sign_up_exactly_as_many_customers_on_postgres(
    postgres_engine: object,
) -> None:
    """The same race on `SQLAlchemyStore` over PostgreSQL: the database decides every use."""
    from sqlalchemy import Engine, text

    from conftest import empty_postgres

    assert isinstance(postgres_engine, Engine)
    empty_postgres(postgres_engine)

    def query(sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        with postgres_engine.connect() as conn:
            params = dict(zip(["code"], args, strict=False))
            return [tuple(r) for r in conn.execute(text(sql.format(p="referralkit_")), params)]

    _race(postgres_engine.url.render_as_string(hide_password=False), query)
