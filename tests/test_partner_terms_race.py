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
from referralkit.storage import SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"partner-cap-concurrency-secret-0123456789"
CAP = rk.Money("100", "USD")
ORDERS = 40  # 40 orders x 10.00 USD asked for = 400 USD > the cap
HERE = Path(__file__).parent
WHEN = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


def capped_program(path: str) -> rk.ReferralProgram:
    """The program every worker builds on the shared file, at one frozen instant."""
    return rk.ReferralProgram(
        store=SQLiteStore(path),
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


WORKER = (
    "import sys; sys.path.insert(0, sys.argv[1]); import {module} as m;"
    " m.deliver(sys.argv[2], int(sys.argv[3]))"
)


@pytest.mark.slow
def test_four_processes_never_pay_a_partner_past_their_monthly_cap(tmp_path: Path) -> None:
    path = tmp_path / "partners.db"
    program = capped_program(str(path))
    terms = CappedPerPeriod(PercentOfOrder("10%", kind="cash"), CAP, period="month")
    program.partners.add("aff", name="Affiliate", terms=terms)
    program.partners.code("aff", vanity="AFF10")
    program.store.close()

    script = WORKER.format(module=Path(__file__).stem)
    run_together(
        [[sys.executable, "-c", script, str(HERE), str(path), str(seed)] for seed in range(4)],
        lambda i: deliver(str(path), 100 + i),
        threads=0,
    )

    program = capped_program(str(path))
    paid = [r for r in program.rewards("aff") if r.customer_id == "aff"]
    assert sum((r.amount for r in paid if r.amount is not None), rk.Money.zero("USD")) == CAP
    assert len({r.order_id for r in paid}) == len(paid)  # one commission per order at most
    assert all(program.conversion(f"o-{i}") is not None for i in range(ORDERS))
    program.store.close()
