"""Every built-in policy passes the contract suite that plugin authors run on theirs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

import referralkit as rk
from referralkit import Money
from referralkit.policies import (
    AllOf,
    Budget,
    Capped,
    DoubleSided,
    FirstMatch,
    FirstOrderOnly,
    Fixed,
    Milestone,
    MinimumOrder,
    PercentOfOrder,
    Recurring,
    Tier,
    Tiered,
)
from referralkit.storage import MemoryStore
from referralkit.testing import PolicyContract

USD = "USD"


def usd(amount: str) -> Money:
    return Money(amount, USD)


BUILTINS = {
    "fixed credit": Fixed(usd("10")),
    "fixed cash": Fixed(usd("10"), kind="cash"),
    "fixed coupon": Fixed(usd("15"), kind="coupon"),
    "fixed points": Fixed(500),
    "fixed perk": Fixed("vip-upgrade-30d"),
    "percent": PercentOfOrder(Decimal("0.05")),
    "percent capped with minimum": PercentOfOrder(
        Decimal("0.125"), cap=usd("20"), minimum=usd("1"), kind="cash"
    ),
    "double sided": DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))),
    "tiered": Tiered(
        [
            Tier(min_referrals=1, reward=Fixed(usd("10"))),
            Tier(min_referrals=5, reward=PercentOfOrder(Decimal("0.1"))),
            Tier(min_referrals=20, reward=Fixed(2000)),
        ]
    ),
    "milestone": Milestone({5: Fixed(usd("50")), 10: AllOf(Fixed(1000), Fixed("tote-bag"))}),
    "recurring": Recurring(PercentOfOrder(Decimal("0.05")), orders=12, within=timedelta(days=365)),
    "first order only": FirstOrderOnly(Fixed(usd("10"))),
    "minimum order": MinimumOrder(Fixed(usd("10")), usd("50")),
    "capped money": Capped(PercentOfOrder(Decimal("0.2")), max_per_referrer=usd("100")),
    "capped points per window": Capped(Fixed(700), max_per_referrer=2000, window=timedelta(30)),
    "budget": Budget(
        DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))), total=usd("50000")
    ),
    "budget of points": Budget(Fixed(300), total=500_000),
    "all of, twice the same": AllOf(Fixed(usd("10")), Fixed(usd("10")), Fixed(100)),
    "first match": FirstMatch(MinimumOrder(Fixed(usd("20")), usd("100")), Fixed(usd("10"))),
    "nested": DoubleSided(
        referrer=Capped(
            AllOf(
                FirstOrderOnly(Tiered([Tier(min_referrals=1, reward=Fixed(usd("10")))])),
                Recurring(PercentOfOrder(Decimal("0.05")), orders=3),
                Milestone({3: Fixed(usd("25"))}),
            ),
            max_per_referrer=usd("200"),
            window=timedelta(days=90),
        ),
        referee=FirstOrderOnly(Fixed(usd("5"), kind="coupon")),
    ),
}


def _at_its_first_milestone(policy: Milestone, context: rk.RewardContext) -> rk.RewardContext:
    return attrs.evolve(context, qualified=policy.milestones[0][0])


def _a_repeat_order(policy: Recurring, context: rk.RewardContext) -> rk.RewardContext:
    order = attrs.evolve(context.conversion, order_id="o-2", first_order=False)
    return attrs.evolve(context, conversion=order, order_number=2)


def _above_its_minimum(policy: MinimumOrder, context: rk.RewardContext) -> rk.RewardContext:
    order = attrs.evolve(context.conversion, amount=max(context.conversion.amount, policy.amount))
    return attrs.evolve(context, conversion=order)


# Built-ins that rightly grant nothing on a plain first order, and where they must grant.
GRANTS_ON = {
    Milestone: _at_its_first_milestone,
    Recurring: _a_repeat_order,
    MinimumOrder: _above_its_minimum,
}


class TestBuiltinPoliciesMeetTheContract(PolicyContract):
    @pytest.fixture(params=list(BUILTINS.values()), ids=list(BUILTINS))
    def policy(self, request):
        return request.param

    def granting_contexts(self, policy):
        contexts = super().granting_contexts(policy)
        where = GRANTS_ON.get(type(policy))
        return contexts if where is None else contexts.map(lambda c: where(policy, c))


# -- the contract catches what it promises to catch ------------------------------------------


class _Bad:
    """A policy that breaks one rule, chosen by ``flaw``."""

    def __init__(self, flaw: str) -> None:
        self.flaw = flaw
        self.calls = 0

    @property
    def name(self) -> str:
        return "" if self.flaw == "no name" else f"bad({self.flaw})"

    def evaluate(self, context):  # noqa: PLR0911 - one branch per flaw
        self.calls += 1
        money = context.conversion.amount
        grant = rk.Grant(
            beneficiary=rk.Beneficiary.REFERRER,
            kind=rk.RewardKind.CREDIT,
            policy="bad",
            explanation="because",
            key="bad",
            amount=Money("1", USD),
        )
        if self.flaw == "negative":
            return [attrs.evolve(grant, amount=Money("-1", USD))]
        if self.flaw == "unexplained":
            return [attrs.evolve(grant, explanation=" ")]
        if self.flaw == "other currency":
            return [attrs.evolve(grant, amount=Money("1", "EUR"))]
        if self.flaw == "duplicate keys":
            return [grant, grant]
        if self.flaw == "reads a file":
            with Path(__file__).open(encoding="utf-8"):
                return [grant]
        if self.flaw == "stateful":
            return [grant] if self.calls % 2 else []
        if self.flaw == "never grants":
            return []
        if self.flaw == "undeclared needs":
            return [grant] * min(context.qualified, 1) if money.amount >= 0 else []
        return [grant]


class _HoldsAStore(_Bad):
    def __init__(self) -> None:
        super().__init__("holds a store")
        self.store = MemoryStore()


@pytest.mark.parametrize(
    ("flaw", "test"),
    [
        ("negative", "test_never_grants_a_negative_value"),
        ("unexplained", "test_returns_explained_grants"),
        ("other currency", "test_money_is_in_one_currency"),
        ("duplicate keys", "test_keys_are_distinct_within_one_evaluation"),
        ("reads a file", "test_is_deterministic"),
        ("stateful", "test_is_deterministic"),
        ("no name", "test_name_is_a_stable_non_empty_string"),
        ("never grants", "test_grants_where_it_must"),
        ("never grants", "test_returns_explained_grants"),
        ("never grants", "test_never_grants_a_negative_value"),
        ("never grants", "test_money_is_in_one_currency"),
    ],
)
def test_the_contract_fails_a_policy_that_breaks_it(flaw, test) -> None:
    suite = PolicyContract()
    with pytest.raises(AssertionError):
        getattr(suite, test)(policy=_Bad(flaw))


def test_the_contract_fails_a_policy_that_hides_what_it_reads() -> None:
    bad = _Bad("undeclared needs")
    bad.needs = frozenset()  # type: ignore[attr-defined]
    with pytest.raises(AssertionError):
        PolicyContract().test_fields_it_does_not_need_do_not_change_the_grants(policy=bad)


def test_the_contract_fails_a_policy_that_holds_a_store() -> None:
    with pytest.raises(AssertionError):
        PolicyContract().test_holds_no_store(policy=_HoldsAStore())
