"""Properties of the built-in policies, over every count, amount and order of events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.context import PastReward
from referralkit.model import Beneficiary
from referralkit.policies import (
    AllOf,
    Budget,
    Capped,
    DoubleSided,
    Fixed,
    Milestone,
    PercentOfOrder,
    Tier,
    Tiered,
)
from strategies import POLICY_NOW, ladders, rates, reward_context, usd_amounts

CENT = Decimal("0.01")


def ladder_of(floors: list[int]) -> Tiered:
    return Tiered([Tier(min_referrals=f, reward=Fixed(i + 1)) for i, f in enumerate(floors)])


@given(floors=ladders(), a=st.integers(0, 300), b=st.integers(0, 300))
def test_tier_choice_is_monotone_in_the_count(floors, a, b) -> None:
    ladder = ladder_of(floors)
    low, high = sorted((a, b))
    assert (ladder.tier_for(low) or 0) <= (ladder.tier_for(high) or 0)


@given(floors=ladders())
def test_tier_choice_is_exact_at_every_boundary(floors) -> None:
    ladder = ladder_of(floors)
    for number, floor in enumerate(floors, start=1):
        assert ladder.tier_for(floor) == number
        assert (ladder.tier_for(floor - 1) or 0) == number - 1
        (grant,) = ladder.evaluate(reward_context(qualified=floor))
        assert grant.points == number  # the tier's own reward, nothing else


@given(floors=ladders(), qualified=st.integers(0, 300))
def test_tier_progress_agrees_with_the_tier_chosen(floors, qualified) -> None:
    ladder = ladder_of(floors)
    progress = ladder.progress(qualified)
    assert progress.current_tier == ladder.tier_for(qualified)
    if progress.next_tier_at is None:
        assert qualified >= floors[-1]
    else:
        assert progress.next_tier_at > qualified
        assert ladder.tier_for(progress.next_tier_at) == (progress.current_tier or 0) + 1


@given(rate=rates, orders=st.lists(usd_amounts, min_size=1, max_size=20))
def test_percent_of_a_sum_is_within_a_cent_per_order_of_the_sum_of_percents(rate, orders):
    policy = PercentOfOrder(rate)

    def paid(amount: rk.Money) -> Decimal:
        grants = policy.evaluate(reward_context(amount))
        return sum((g.amount.amount for g in grants if g.amount is not None), Decimal(0))

    total = sum(orders, rk.Money.zero("USD"))
    separate = sum((paid(o) for o in orders), Decimal(0))
    gap = abs(paid(total) - separate)
    assert gap <= CENT * len(orders)
    # Tighter: each rounding is off by half a cent at most.
    assert gap <= CENT / 2 * (len(orders) + 1)


@given(rate=rates, amount=usd_amounts)
def test_percent_of_order_is_exact_to_the_cent_and_never_above_the_order(rate, amount) -> None:
    grants = PercentOfOrder(rate).evaluate(reward_context(amount))
    # One grant exactly when the rounded commission is not zero: never none where one is due.
    assert len(grants) == (0 if (amount * rate).round().is_zero() else 1)
    for grant in grants:
        assert grant.amount is not None
        assert grant.amount.round() == grant.amount
        assert grant.amount <= amount
        assert abs(grant.amount.amount - amount.amount * rate) <= CENT / 2


def _feed(past: tuple[PastReward, ...], grants, offset: int) -> tuple[PastReward, ...]:
    """What the ledger holds once ``grants`` are written (the referrer's side)."""
    new = tuple(
        PastReward(g.key, g.policy, g.amount, g.points, POLICY_NOW - timedelta(days=offset))
        for g in grants
        if g.beneficiary is Beneficiary.REFERRER
    )
    return past + new


@given(
    cap=st.integers(0, 20_000),
    orders=st.lists(st.tuples(usd_amounts, st.integers(0, 60)), max_size=25),
    window=st.none() | st.integers(1, 45),
)
def test_capped_never_exceeds_the_cap_in_any_window(cap, orders, window) -> None:
    limit = rk.Money.from_minor(cap, "USD")
    policy = Capped(
        AllOf(PercentOfOrder("0.1"), Fixed(rk.Money("3", "USD"))),
        max_per_referrer=limit,
        window=None if window is None else timedelta(days=window),
    )
    past: tuple[PastReward, ...] = ()
    for amount, days_ago in sorted(orders, key=lambda o: -o[1]):
        context = reward_context(amount, past=past, now=POLICY_NOW - timedelta(days=days_ago))
        past = _feed(past, policy.evaluate(context), days_ago)
    for _, days_ago in orders:
        now = POLICY_NOW - timedelta(days=days_ago)
        since = None if window is None else now - timedelta(days=window)
        held = [
            r.amount.amount
            for r in past
            if r.amount is not None
            and r.granted_at <= now
            and (since is None or r.granted_at > since)
        ]
        assert sum(held, Decimal(0)) <= limit.amount


@given(
    total=st.integers(0, 50_000),
    orders=st.lists(usd_amounts, max_size=30),
)
def test_budget_is_never_exceeded_and_is_used_up_when_demand_is_enough(total, orders) -> None:
    budget = rk.Money.from_minor(total, "USD")
    policy = Budget(
        DoubleSided(referrer=PercentOfOrder("0.2"), referee=Fixed(rk.Money("5", "USD"))),
        total=budget,
    )
    spent = rk.Money.zero("USD")
    demand = rk.Money.zero("USD")
    for amount in orders:
        demand += (amount * Decimal("0.2")).round() + rk.Money("5", "USD")
        for grant in policy.evaluate(reward_context(amount, spend=spent)):
            assert grant.amount is not None
            assert grant.amount.amount > 0
            spent += grant.amount
        assert spent <= budget
    if demand >= budget:
        assert spent == budget
    else:  # the budget never ran out: every grant was paid in full
        assert spent == demand


@given(steps=st.lists(st.integers(0, 3), max_size=40))
def test_milestones_are_granted_once_each_whatever_the_sequence_of_conversions(steps) -> None:
    """Counts grow by 0 to 3 between conversions; each reached milestone is granted once."""
    policy = Milestone({1: Fixed(1), 3: Fixed(3), 4: Fixed(4), 10: Fixed(10)})
    past: tuple[PastReward, ...] = ()
    qualified = 0
    for step in steps:
        qualified += step
        if qualified == 0:
            continue
        past = _feed(past, policy.evaluate(reward_context(qualified=qualified, past=past)), 0)
    keys = [r.key for r in past]
    assert len(keys) == len(set(keys))
    assert sorted(r.points for r in past) == [n for n in (1, 3, 4, 10) if n <= qualified]


@given(percent=st.decimals(min_value=0, max_value=100, places=3), spaced=st.booleans())
def test_a_percentage_text_is_the_same_rate_as_its_fraction(percent: Decimal, spaced: bool) -> None:
    """``PercentOfOrder("10%")`` is ``PercentOfOrder("0.10")``; beyond 100% is refused."""
    text = f"{percent} %" if spaced else f"{percent}%"
    assert PercentOfOrder(text).rate == percent / 100
    assert PercentOfOrder(text) == PercentOfOrder(percent / 100)


@pytest.mark.parametrize("text", ["101%", "-1%", "%", "ten%", "NaN%", "inf%", "5%%"])
def test_a_percentage_out_of_range_or_not_a_number_names_the_rate(text: str) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        PercentOfOrder(text)
    assert caught.value.path == "rate"
