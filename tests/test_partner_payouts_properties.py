"""The payout rules over random histories, on memory and SQLite.

Whatever sequence of sales, fees, refunds, releases, failing providers, payouts and
retries: no partner is paid below their threshold, no reward is paid twice, and every
cent granted is held, available, paid or reversed (the ledger agrees with the statement).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.payouts import LineStatus, PayoutBatch, PayoutOutcome, PayoutRun
from referralkit.policies import PercentOfOrder
from referralkit.storage import MemoryStore, SQLAlchemyStore, SQLiteStore
from referralkit.testing import FrozenClock
from strategies import PAYOUT_PARTNERS, payout_steps, payout_thresholds

STORES: dict[str, Callable[[], rk.Store]] = {
    "memory": MemoryStore,
    "sqlite": lambda: SQLiteStore(":memory:"),
    "sqlalchemy": lambda: SQLAlchemyStore("sqlite://", migrate=True),
}


class Failing:
    """Fails the lines of some partners, pays the rest (or, ``silent``, answers nothing)."""

    def __init__(self, fail: set[str], *, silent: bool = False) -> None:
        self.fail = fail
        self.silent = silent
        self.sent: list[str] = []

    def send(self, batch: PayoutBatch) -> list[PayoutOutcome]:
        self.sent += [line.line_id for line in batch.lines]
        if self.silent:
            return []
        return [
            PayoutOutcome.failed(line.line_id, "declined")
            if line.partner_id in self.fail
            else PayoutOutcome.sent(line.line_id, f"tr-{line.line_id}")
            for line in batch.lines
        ]


def _program(kind: str, thresholds: list[int | None]) -> tuple[rk.ReferralProgram, FrozenClock]:
    clock = FrozenClock()
    program = rk.ReferralProgram(
        store=STORES[kind](),
        secret=b"payout property secret, 32 bytes+",
        policy=PercentOfOrder(Decimal("0.1")),
        hold=timedelta(days=1),
        guards=[],
        clock=clock,
    )
    for n, cents in enumerate(thresholds):
        threshold = None if cents is None else rk.Money.from_minor(cents, "USD")
        program.partners.add(
            f"p{n}",
            name=f"P{n}",
            terms=PercentOfOrder(Decimal("0.1"), kind="cash"),
            payout_threshold=threshold,
            hold=timedelta(days=n),
        )
        program.partners.code(f"p{n}", vanity=f"PART{n}")
    return program, clock


def _check(
    program: rk.ReferralProgram, thresholds: list[int | None], runs: list[PayoutRun]
) -> None:
    paid_by: dict[str, str] = {}
    for run in runs:
        for line in run.by_status(LineStatus.SENT):
            cents = thresholds[int(line.partner_id[1:])]
            assert line.amount.amount > 0
            if cents is not None:
                assert line.amount >= rk.Money.from_minor(cents, "USD")
            for reward_id in line.reward_ids:
                assert paid_by.setdefault(reward_id, line.line_id) == line.line_id
    for n in range(PAYOUT_PARTNERS):
        pid = f"p{n}"
        rewards = program.rewards(pid)
        for reward in rewards:
            if reward.id in paid_by:
                assert reward.state is rk.RewardState.PAID
                assert reward.payout_id == paid_by[reward.id]
        line = program.partners.statement(pid).line("USD")
        if line is None:
            continue
        assert line.commission + line.fees == line.held + line.available + line.paid + line.reversed
        status = program.status(pid)
        zero = rk.Money("0", "USD")
        assert status.held.get("USD", zero).amount == line.held
        assert status.available.get("USD", zero).amount == line.available


def _step(
    program: rk.ReferralProgram,
    clock: FrozenClock,
    step: tuple[str, Any, int],
    orders: list[str],
    runs: list[PayoutRun],
) -> None:
    what, which, value = step
    n = len(runs) + len(orders)
    if what == "sell":
        order = f"o{n}"
        amount = rk.Money.from_minor(value, "USD")
        program.convert(referee=f"c{n}", order_id=order, amount=amount, code=f"PART{which}")
        orders.append(order)
    elif what == "fee":
        program.partners.post(f"p{which}", f"post{n}", cost=rk.Money.from_minor(value, "USD"))
        orders.append("")  # keeps the ids apart
    elif what == "refund" and [o for o in orders if o]:
        order = [o for o in orders if o][which % len([o for o in orders if o])]
        conversion = program.conversion(order)
        assert conversion is not None
        cents = conversion.net.minor_units * value // 100
        if cents > 0:
            program.refund(order_id=order, amount=rk.Money.from_minor(cents, "USD"))
    elif what == "release":
        clock.advance(days=which)
        program.release_due(all=True)
    elif what in {"pay", "stall"}:
        provider = Failing({f"p{i}" for i in which}, silent=what == "stall")
        runs.append(program.partners.pay(provider, payout_id=f"b{n}"))
    elif what == "retry" and runs:
        _retry(program, runs, -1, {f"p{i}" for i in which})


def _retry(program: rk.ReferralProgram, runs: list[PayoutRun], at: int, fail: set[str]) -> None:
    """Retry a batch: only its pending lines are sent, and an answered batch is the same."""
    last = runs[at]
    pending = [line.line_id for line in last.by_status(LineStatus.PENDING)]
    provider = Failing(fail)
    again = program.partners.pay(provider, payout_id=last.batch_id)
    assert provider.sent == pending
    assert not pending or not again.by_status(LineStatus.PENDING)
    if not pending:
        assert again == last
    runs[at] = again


@pytest.mark.parametrize("kind", sorted(STORES))
@settings(max_examples=40, deadline=None)
@given(thresholds=payout_thresholds, steps=st.lists(payout_steps, max_size=30))
def test_no_partner_is_paid_below_their_threshold_nor_any_reward_twice_and_money_is_kept(
    kind: str, thresholds: list[int | None], steps: list[tuple[str, Any, int]]
) -> None:
    program, clock = _program(kind, thresholds)
    orders: list[str] = []
    runs: list[PayoutRun] = []
    for step in steps:
        _step(program, clock, step, orders, runs)
    _check(program, thresholds, runs)
    for at in range(len(runs)):
        _retry(program, runs, at, set())
    _check(program, thresholds, runs)
    # Whatever is left available and due is paid by one more batch, below no threshold.
    clock.advance(days=PAYOUT_PARTNERS)
    program.release_due(all=True)
    runs.append(program.partners.pay(Failing(set()), payout_id="last"))
    _check(program, thresholds, runs)
    assert program.partners.payable() == []
