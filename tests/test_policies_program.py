"""Policies inside a running program: caps, budgets and milestones hold whatever happens."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

import referralkit as rk
from referralkit.model import Beneficiary, RewardState
from referralkit.policies import (
    AllOf,
    Budget,
    Capped,
    DoubleSided,
    FirstOrderOnly,
    Fixed,
    Milestone,
    PercentOfOrder,
    Recurring,
    Tier,
    Tiered,
    policy_version,
)
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"policy-tests-secret-0123456789abcdef"


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


def program_with(policy: rk.RewardPolicy, **kwargs) -> rk.ReferralProgram:
    options = {"store": MemoryStore(), "secret": SECRET, "guards": [], "clock": FrozenClock()}
    return rk.ReferralProgram(policy=policy, **{**options, **kwargs})


def test_rewards_record_the_policy_and_why() -> None:
    """A support agent can answer "why did I get $15?" from the reward alone."""
    program = program_with(
        DoubleSided(
            referrer=Tiered(
                [
                    Tier(min_referrals=1, reward=Fixed(usd("10"))),
                    Tier(min_referrals=2, reward=Fixed(usd("15"))),
                ]
            ),
            referee=Fixed(usd("5")),
        )
    )
    code = program.enroll("ann").code
    for friend in ("bob", "cy"):
        program.attribute(code=code, referee=friend)
        program.convert(referee=friend, order_id=f"{friend}-1", amount=usd("80"))
    latest = program.rewards("ann")[-1]
    assert latest.amount == usd("15")
    assert latest.policy == "fixed(15.00 USD)"
    assert latest.explanation == (
        "tier 2 (2+ qualified referrals): a fixed credit of 15.00 USD for this referral"
    )
    status = program.status("ann")
    assert status.tier == rk.TierProgress(qualified=2, current_tier=2, next_tier_at=None)


def test_recurring_commission_follows_the_referees_order_numbers() -> None:
    program = program_with(
        AllOf(
            FirstOrderOnly(Fixed(usd("10"))),
            Recurring(PercentOfOrder(Decimal("0.1")), orders=2),
        )
    )
    program.attribute(code=program.enroll("ann").code, referee="bob")
    earned = [
        [r.amount for r in program.convert(referee="bob", order_id=f"o-{n}", amount=usd("50"))]
        for n in range(1, 5)
    ]
    assert earned == [[usd("10")], [usd("5")], [usd("5")], []]


def test_a_commission_shrinks_with_a_partial_refund() -> None:
    program = program_with(PercentOfOrder(Decimal("0.1")))
    program.attribute(code=program.enroll("ann").code, referee="bob")
    (reward,) = program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    assert reward.amount == usd("8")
    (reduced,) = program.refund(order_id="o-1", amount=usd("20"))
    assert reduced.amount == usd("6")


def test_a_referral_keeps_the_terms_in_force_when_it_was_attributed() -> None:
    """Changing the policy tomorrow does not change what was promised today."""
    store = MemoryStore()
    old_terms = Fixed(usd("10"))
    before = program_with(old_terms, store=store)
    code = before.enroll("ann").code
    before.attribute(code=code, referee="bob")
    after = program_with(Fixed(usd("3")), store=store, terms={policy_version(old_terms): old_terms})
    after.attribute(code=code, referee="cy")
    (bob,) = after.convert(referee="bob", order_id="bob-1", amount=usd("80"))
    (cy,) = after.convert(referee="cy", order_id="cy-1", amount=usd("80"))
    assert (bob.amount, cy.amount) == (usd("10"), usd("3"))


MILESTONES = (1, 3, 5)


@settings(max_examples=40, deadline=None)
@given(
    orders=st.lists(
        st.tuples(st.integers(0, 6), st.integers(1, 3)),  # (friend, deliveries of the order)
        max_size=25,
    )
)
def test_milestones_are_paid_exactly_once_through_the_program(orders) -> None:
    """Duplicate deliveries of an order and repeat orders never pay a milestone twice."""
    program = program_with(
        AllOf(Fixed(usd("1")), Milestone({n: Fixed(usd(str(n * 10))) for n in MILESTONES}))
    )
    code = program.enroll("ann").code
    for friend in range(7):
        program.attribute(code=code, referee=f"f{friend}")
    bought = set()
    for i, (friend, deliveries) in enumerate(orders):
        first = program.convert(referee=f"f{friend}", order_id=f"o-{i}", amount=usd("20"))
        for _ in range(deliveries - 1):
            again = program.convert(referee=f"f{friend}", order_id=f"o-{i}", amount=usd("20"))
            assert again == first
        bought.add(friend)
    paid = [r.key for r in program.rewards("ann") if r.key.startswith("milestone:")]
    assert sorted(paid) == sorted(f"milestone:default:{n}" for n in MILESTONES if n <= len(bought))
    assert program.status("ann").qualified == len(bought)


CAP = usd("25")
WINDOW = timedelta(days=30)
BUDGET = usd("60")
REFERRERS = ("r0", "r1", "r2")
FRIENDS = tuple(f"f{i}" for i in range(8))


class CapsAndBudgetMachine(RuleBasedStateMachine):
    """Any order of attributions, orders, retries, refunds and time: limits always hold."""

    orders = Bundle("orders")

    @initialize()
    def setup(self) -> None:
        self.clock = FrozenClock()
        self.program = rk.ReferralProgram(
            store=MemoryStore(),
            secret=SECRET,
            guards=[],
            clock=self.clock,
            hold=timedelta(days=7),
            policy=Budget(
                DoubleSided(
                    referrer=Capped(
                        AllOf(
                            PercentOfOrder(Decimal("0.1")),
                            Milestone({2: Fixed(usd("15")), 4: Fixed(usd("25"))}),
                        ),
                        max_per_referrer=CAP,
                        window=WINDOW,
                    ),
                    referee=FirstOrderOnly(Fixed(usd("5"))),
                ),
                total=BUDGET,
            ),
        )
        self.codes = {r: self.program.enroll(r).code for r in REFERRERS}
        self.owner: dict[str, str] = {}
        self.amount: dict[str, rk.Money] = {}
        self.earned: dict[str, list[str]] = {}
        self.count = 0

    @rule(friend=st.sampled_from(FRIENDS), referrer=st.sampled_from(REFERRERS))
    def attribute(self, friend: str, referrer: str) -> None:
        self.program.attribute(code=self.codes[referrer], referee=friend)

    @rule(target=orders, friend=st.sampled_from(FRIENDS), cents=st.integers(0, 100_000))
    def convert(self, friend: str, cents: int) -> str:
        self.count += 1
        order = f"o-{self.count}"
        rewards = self.program.convert(
            referee=friend, order_id=order, amount=rk.Money.from_minor(cents, "USD")
        )
        self.owner[order] = friend
        self.amount[order] = rk.Money.from_minor(cents, "USD")
        self.earned[order] = sorted(r.id for r in rewards)
        return order

    @rule(order=orders)
    def redeliver(self, order: str) -> None:
        again = self.program.convert(
            referee=self.owner[order], order_id=order, amount=self.amount[order]
        )
        assert set(self.earned[order]) <= {r.id for r in again}

    @rule(order=orders, part=st.sampled_from([None, "0.50", "10"]))
    def refund(self, order: str, part: str | None) -> None:
        with contextlib.suppress(rk.InvalidInput):  # more than what is left on the order
            self.program.refund(order_id=order, amount=None if part is None else usd(part))

    @rule(days=st.integers(1, 20))
    def time_passes(self, days: int) -> None:
        self.clock.advance(days=days)
        self.program.release_due()

    def _standing(self) -> list[rk.Reward]:
        rewards = {}
        for customer in (*REFERRERS, *FRIENDS):
            for reward in self.program.rewards(customer):
                if reward.state is not RewardState.REVERSED:
                    rewards[reward.id] = reward
        return list(rewards.values())

    @invariant()
    def the_budget_is_never_exceeded(self) -> None:
        spent = sum((r.amount for r in self._standing() if r.amount), rk.Money.zero("USD"))
        assert spent <= BUDGET

    @invariant()
    def no_referrer_exceeds_the_cap_in_any_window(self) -> None:
        since = self.clock.now - WINDOW
        per_referrer: dict[str, rk.Money] = defaultdict(lambda: rk.Money.zero("USD"))
        for reward in self._standing():
            referrer_side = reward.beneficiary is Beneficiary.REFERRER
            if referrer_side and reward.amount is not None and reward.created_at > since:
                per_referrer[reward.customer_id] += reward.amount
        assert all(total <= CAP for total in per_referrer.values()), dict(per_referrer)

    @invariant()
    def each_milestone_is_held_at_most_once(self) -> None:
        keys = [(r.customer_id, r.key) for r in self._standing() if r.key.startswith("milestone:")]
        assert len(keys) == len(set(keys))


TestCapsAndBudget = CapsAndBudgetMachine.TestCase
TestCapsAndBudget.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


@pytest.mark.parametrize("hold", [timedelta(0), timedelta(days=14)])
def test_points_and_perks_flow_through_caps_and_budgets(hold) -> None:
    program = program_with(
        Budget(
            Capped(AllOf(Fixed(400), Fixed("tote-bag")), max_per_referrer=1000),
            total=700,
        ),
        hold=hold,
    )
    code = program.enroll("ann").code
    for friend in ("bob", "cy", "di"):
        program.attribute(code=code, referee=friend)
        program.convert(referee=friend, order_id=f"{friend}-1", amount=usd("10"))
    rewards = program.rewards("ann")
    assert [r.points for r in rewards if r.points] == [400, 300]
    assert [r.perk for r in rewards if r.perk] == ["tote-bag"] * 3
