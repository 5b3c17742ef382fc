"""Payout runs racing on one SQLite file: every reward paid once, however the runs overlap."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import referralkit as rk
from _together import run_together
from referralkit.payouts import LineStatus, PayoutBatch, PayoutOutcome
from referralkit.policies import PercentOfOrder
from referralkit.storage import SQLAlchemyStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"partner payouts race secret, 32 b+"
PARTNERS = 12


def _program(target: Path | str, clock: FrozenClock) -> rk.ReferralProgram:
    """The race's program on a SQLite file, or on a database URL (`SQLAlchemyStore`)."""
    store: rk.Store = SQLAlchemyStore(target) if isinstance(target, str) else SQLiteStore(target)
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=PercentOfOrder(Decimal("0.1")),
        hold=timedelta(days=1),
        guards=[],
        clock=clock,
    )


class Counting:
    """Pays every line; counts each line id it was sent (a real provider dedupes them)."""

    def __init__(self, sent: list[str], lock: threading.Lock) -> None:
        self._sent = sent
        self._lock = lock

    def send(self, batch: PayoutBatch) -> list[PayoutOutcome]:
        with self._lock:
            self._sent += [line.line_id for line in batch.lines]
        return [PayoutOutcome.sent(line.line_id, f"tr-{line.line_id}") for line in batch.lines]


@pytest.mark.sqlite
def test_racing_payout_runs_pay_each_reward_once(tmp_path: Path) -> None:
    _race(tmp_path / "race.db", sweep=False)


@pytest.mark.postgres
def test_racing_payout_runs_pay_each_reward_once_on_postgres(postgres_engine: object) -> None:
    """The same runs on `SQLAlchemyStore` over PostgreSQL: row locks decide who pays.

    Runs that overlap here may pick the same partners (a run picks them in one unit of
    work and pays in the next): a reward is still paid once, the later run pays what is
    left of those partners, and one more run pays the partners nobody picked.
    """
    from sqlalchemy import Engine

    from conftest import empty_postgres

    assert isinstance(postgres_engine, Engine)
    empty_postgres(postgres_engine)
    _race(postgres_engine.url.render_as_string(hide_password=False), sweep=True)


def _race(path: Path | str, *, sweep: bool) -> None:
    """Six payout runs (one batch id four times) at once on ``path``; each reward paid once.

    With ``sweep``, a last run (batch ``b4``) pays whoever the racing runs left due.
    """
    clock = FrozenClock()
    setup = _program(path, clock)
    for n in range(PARTNERS):
        setup.partners.add(f"p{n:02d}", name="P", terms=PercentOfOrder("10%", kind="cash"))
        setup.partners.code(f"p{n:02d}", vanity=f"RACE{n:02d}")
        for k in range(3):
            setup.convert(
                referee=f"c{n}-{k}",
                order_id=f"o{n}-{k}",
                amount=rk.Money("100", "USD"),
                code=f"RACE{n:02d}",
            )
    clock.advance(days=2)
    setup.release_due(all=True)
    setup.store.close()
    sent: list[str] = []
    lock = threading.Lock()
    batches = ["b1", "b1", "b1", "b1", "b2", "b3"]

    def work(i: int) -> None:
        program = _program(path, clock)
        program.partners.pay(Counting(sent, lock), payout_id=batches[i], limit=5)
        program.store.close()

    run_together([], work, threads=len(batches))
    check = _program(path, clock)
    lines = [
        line
        for batch in ("b1", "b2", "b3")
        for line in check.partners.pay(Counting([], lock), payout_id=batch).lines
    ]
    if sweep:
        lines += check.partners.pay(Counting(sent, lock), payout_id="b4").lines
    assert {line.status for line in lines} == {LineStatus.SENT}
    assert set(sent) == {line.line_id for line in lines}
    paid = [reward_id for line in lines for reward_id in line.reward_ids]
    assert len(paid) == len(set(paid))
    for n in range(PARTNERS):
        for reward in check.rewards(f"p{n:02d}"):
            assert (reward.state is rk.RewardState.PAID) == (reward.id in paid)
    # The batches (three of at most five lines on SQLite) cover the twelve partners:
    # $30 each, all paid.
    assert sum(line.amount.amount for line in lines) == Decimal(30) * PARTNERS
    check.store.close()
