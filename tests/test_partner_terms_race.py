"""Checkouts with one partner code from 4 processes under a per-partner monthly cap: cap exact.

Every worker delivers every order (in its own shuffled order) on one SQLite file, so
orders race for the last of the partner's cap; the program evaluates the terms inside
its serialised transaction, so the cap ends exactly spent, never over, and each order
is attributed and paid once.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import referralkit as rk
from _together import run_together
from referralkit.policies import CappedPerPeriod, Fixed, PercentOfOrder
from referralkit.storage import SQLAlchemyStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"partner-cap-concurrency-secret-0123456789"
CAP = rk.Money("100", "USD")
ORDERS = 40  # 40 orders x 10.00 USD asked for = 400 USD > the cap
HERE = Path(__file__).parent
WHEN = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


def capped_program(path: str) -> rk.ReferralProgram:
    """The program every worker builds on the shared file (or database URL), at one instant."""
    store: rk.Store = SQLAlchemyStore(path) if "://" in path else SQLiteStore(path)
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        guards=[],
        policy=Fixed(rk.Money("5", "USD")),
        clock=FrozenClock(WHEN),
    )


def deliver(path: str, seed: int) -> None:
    """Deliver every order once, with the partner's code typed at checkout, shuffled."""
    program = capped_program(path)
    orders = list(range(ORDERS))
    random.Random(seed).shuffle(orders)
    for i in orders:
        program.convert(
            referee=f"b{i}", order_id=f"o-{i}", amount=rk.Money("100", "USD"), code="AFF10"
        )
    program.store.close()


# The workers import the tests' modules and the referralkit this test imported (a
# checkout's src, not an install).
WORKER = (
    "import sys; sys.path[:0] = sys.argv[1:3]; import {module} as m;"
    " m.deliver(sys.argv[3], int(sys.argv[4]))"
)
SRC = str(Path(rk.__file__).parents[1])


@pytest.mark.slow
@pytest.mark.sqlite
def test_four_processes_never_pay_a_partner_past_their_monthly_cap(tmp_path: Path) -> None:
    _race(str(tmp_path / "partners.db"))


@pytest.mark.slow
@pytest.mark.postgres
def test_four_processes_never_pay_a_partner_past_their_monthly_cap_on_postgres(
    postgres_engine: object,
) -> None:
    """The same race on `SQLAlchemyStore` over PostgreSQL: the partner's lock decides the room."""
    from sqlalchemy import Engine

    from conftest import empty_postgres

    assert isinstance(postgres_engine, Engine)
    empty_postgres(postgres_engine)
    _race(postgres_engine.url.render_as_string(hide_password=False))


def _race(path: str) -> None:
    """Four processes and this one deliver every order on ``path``; the cap ends exactly spent."""
    program = capped_program(path)
    terms = CappedPerPeriod(PercentOfOrder("10%", kind="cash"), CAP, period="month")
    program.partners.add("aff", name="Affiliate", terms=terms)
    program.partners.code("aff", vanity="AFF10")
    program.store.close()

    script = WORKER.format(module=Path(__file__).stem)
    run_together(
        [[sys.executable, "-c", script, str(HERE), SRC, path, str(seed)] for seed in range(4)],
        lambda i: deliver(path, 100 + i),
        threads=0,
    )

    program = capped_program(path)
    paid = [r for r in program.rewards("aff") if r.customer_id == "aff"]
    assert sum((r.amount for r in paid if r.amount is not None), rk.Money.zero("USD")) == CAP
    assert len({r.order_id for r in paid}) == len(paid)  # one commission per order at most
    assert all(program.conversion(f"o-{i}") is not None for i in range(ORDERS))
    program.store.close()
