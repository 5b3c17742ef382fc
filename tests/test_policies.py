"""Each built-in policy, evaluated on hand-made contexts: what it grants and why."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

import referralkit as rk
from referralkit.context import COSTLY_CONTEXT, policy_needs
from referralkit.model import Beneficiary, RewardKind, TierProgress
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
    policy_version,
)
from referralkit.storage import MemoryStore
from strategies import past_reward, reward_context


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


def amounts(grants) -> list[rk.Money | None]:
    return [g.amount for g in grants]


LADDER = Tiered(
    [
        Tier(min_referrals=1, reward=Fixed(usd("10"))),
        Tier(min_referrals=5, reward=Fixed(usd("15"))),
        Tier(min_referrals=10, reward=Fixed(usd("20"))),
    ]
)

# -- Fixed and DoubleSided -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "explanation"),
    [
        (Fixed(usd("10")), "a fixed credit of 10.00 USD for this referral"),
        (Fixed(usd("10"), kind="cash"), "a fixed cash reward of 10.00 USD for this referral"),
        (Fixed(usd("10"), kind="coupon"), "a coupon worth 10.00 USD for this referral"),
        (Fixed(500), "500 points for this referral"),
        (Fixed("tote-bag"), "the perk 'tote-bag' for this referral"),
    ],
)
def test_fixed_explains_each_kind_of_reward_in_words(policy, explanation) -> None:
    (grant,) = policy.evaluate(reward_context())
    assert grant.explanation == explanation
    assert grant.policy == policy.name


def test_fixed_rewards_every_order_when_not_wrapped() -> None:
    policy = Fixed(usd("10"))
    for number in (1, 2, 7):
        assert amounts(policy.evaluate(reward_context(order_number=number))) == [usd("10")]


def test_double_sided_sends_each_side_its_grants() -> None:
    policy = DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5")))
    grants = policy.evaluate(reward_context())
    assert [(g.beneficiary, g.amount) for g in grants] == [
        (Beneficiary.REFERRER, usd("10")),
        (Beneficiary.REFEREE, usd("5")),
    ]
    assert [g.key for g in grants] == ["referrer:fixed(10.00 USD)", "referee:fixed(5.00 USD)"]


def test_double_sided_hands_out_a_fresh_list_of_the_same_grants_on_every_call() -> None:
    """Remembering a side's retargeted grants never lets one caller's list leak into another's."""
    policy = DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5")))
    first = policy.evaluate(reward_context())
    assert isinstance(first, list)
    expected = list(first)
    first.clear()
    second = policy.evaluate(reward_context(order_number=2))
    assert second == expected
    assert second is not first
    assert DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))) == policy


def test_double_sided_keeps_per_referrer_keys_as_they_are() -> None:
    """A milestone's key is the same however it is wrapped: new terms cannot pay it twice."""
    policy = DoubleSided(referrer=Milestone({1: Fixed(usd("50"))}))
    (grant,) = policy.evaluate(reward_context(qualified=1))
    assert grant.key == "milestone:default:1"
    assert grant.per_referrer


def test_double_sided_refuses_a_side_that_is_not_a_policy() -> None:
    with pytest.raises(rk.ConfigError) as err:
        DoubleSided(referrer=Fixed(usd("10")), referee="five dollars")  # type: ignore[arg-type]
    assert err.value.path == "referee"


# -- PercentOfOrder --------------------------------------------------------------------------


def test_percent_of_order_rounds_half_up_to_the_minor_unit() -> None:
    five = PercentOfOrder(Decimal("0.05"))
    assert amounts(five.evaluate(reward_context("0.10"))) == [usd("0.01")]  # 0.005 -> 0.01
    assert amounts(five.evaluate(reward_context("0.09"))) == []  # 0.0045 -> 0.00: nothing
    jpy = five.evaluate(reward_context(rk.Money("1010", "JPY")))
    assert amounts(jpy) == [rk.Money("51", "JPY")]  # 50.5 -> 51, no decimals in yen


def test_percent_of_order_is_proportional_and_explained() -> None:
    (grant,) = PercentOfOrder(Decimal("0.05")).evaluate(reward_context("80"))
    assert grant.amount == usd("4")
    assert grant.proportional
    assert grant.explanation == "5% of the 80.00 USD order: a credit of 4.00 USD"
    assert grant.policy == "percent_of_order(5%)"


def test_percent_of_order_applies_minimum_then_cap() -> None:
    policy = PercentOfOrder(Decimal("0.1"), cap=usd("20"), minimum=usd("2"))
    assert amounts(policy.evaluate(reward_context("5"))) == [usd("2")]
    assert amounts(policy.evaluate(reward_context("100"))) == [usd("10")]
    (capped,) = policy.evaluate(reward_context("1000"))
    assert capped.amount == usd("20")
    assert capped.explanation.endswith("capped at 20.00 USD: a credit of 20.00 USD")


def test_percent_of_order_grants_nothing_on_an_empty_order() -> None:
    policy = PercentOfOrder(Decimal("0.1"), minimum=usd("2"))
    assert policy.evaluate(reward_context("0")) == ()


def test_percent_of_order_as_cash_or_coupon() -> None:
    (cash,) = PercentOfOrder("0.1", kind="cash").evaluate(reward_context("50"))
    assert (cash.kind, cash.amount) == (RewardKind.CASH, usd("5"))
    (coupon,) = PercentOfOrder("0.1", kind="coupon").evaluate(reward_context("50"))
    assert (coupon.kind, coupon.amount, coupon.coupon_value) == (
        RewardKind.COUPON,
        None,
        usd("5"),
    )


@pytest.mark.parametrize("rate", [0.05, True, "abc", Decimal("NaN"), Decimal("-0.1"), "1.01"])
def test_percent_of_order_refuses_bad_rates_floats_included(rate) -> None:
    with pytest.raises(rk.ConfigError) as err:
        PercentOfOrder(rate)
    assert err.value.path == "rate"


def test_percent_of_order_accepts_rates_as_decimal_string_or_int() -> None:
    assert PercentOfOrder("0.05") == PercentOfOrder(Decimal("0.05"))
    assert PercentOfOrder(1).rate == 1


def test_percent_of_order_refuses_a_minimum_above_the_cap_or_a_points_kind() -> None:
    with pytest.raises(rk.ConfigError) as err:
        PercentOfOrder("0.1", cap=usd("5"), minimum=usd("6"))
    assert err.value.path == "minimum"
    with pytest.raises(rk.ConfigError) as err:
        PercentOfOrder("0.1", kind="points")
    assert err.value.path == "kind"
    with pytest.raises(rk.ConfigError) as err:
        PercentOfOrder("0.1", cap=usd("0.001"))
    assert err.value.path == "cap"


def test_percent_of_order_refuses_an_order_in_another_currency_than_its_cap() -> None:
    with pytest.raises(rk.CurrencyMismatch):
        PercentOfOrder("0.1", cap=usd("20")).evaluate(reward_context(rk.Money("50", "EUR")))


# -- Tiered ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qualified", "expected"),
    [(1, "10"), (4, "10"), (5, "15"), (9, "15"), (10, "20"), (500, "20")],
)
def test_tiered_chooses_the_tier_by_qualified_count_including_this_one(qualified, expected) -> None:
    assert amounts(LADDER.evaluate(reward_context(qualified=qualified))) == [usd(expected)]


def test_tiered_explains_which_tier_paid() -> None:
    (grant,) = LADDER.evaluate(reward_context(qualified=5))
    assert grant.explanation == (
        "tier 2 (5+ qualified referrals): a fixed credit of 15.00 USD for this referral"
    )
    assert grant.policy == "fixed(15.00 USD)"


def test_tiered_grants_nothing_below_its_first_tier() -> None:
    ladder = Tiered([Tier(min_referrals=3, reward=Fixed(usd("10")))])
    assert ladder.evaluate(reward_context(qualified=2)) == ()


def test_tiered_reports_progress_to_the_next_tier() -> None:
    assert LADDER.progress(0) == TierProgress(qualified=0, current_tier=None, next_tier_at=1)
    assert LADDER.progress(3) == TierProgress(qualified=3, current_tier=1, next_tier_at=5)
    assert LADDER.progress(3).remaining == 2
    assert LADDER.progress(12) == TierProgress(qualified=12, current_tier=3, next_tier_at=None)


def test_tiered_refuses_tiers_out_of_order_pointing_at_the_tier() -> None:
    with pytest.raises(rk.ConfigError) as err:
        Tiered(
            [
                Tier(min_referrals=1, reward=Fixed(usd("10"))),
                Tier(min_referrals=5, reward=Fixed(usd("15"))),
                Tier(min_referrals=5, reward=Fixed(usd("20"))),
            ]
        )
    assert err.value.path == "tiers.2.min_referrals"


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda: Tiered([]), "tiers"),
        (lambda: Tiered(Tier(min_referrals=1, reward=Fixed(1))), "tiers"),
        (lambda: Tiered([Fixed(1)]), "tiers.0"),
        (lambda: Tier(min_referrals=0, reward=Fixed(1)), "min_referrals"),
        (lambda: Tier(min_referrals=True, reward=Fixed(1)), "min_referrals"),
        (lambda: Tier(min_referrals=1, reward="ten"), "reward"),
    ],
)
def test_tiered_validation_names_the_argument_at_fault(build, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        build()
    assert err.value.path == path


# -- Milestone -------------------------------------------------------------------------------

BONUS = Milestone({5: Fixed(usd("50")), 10: Fixed(1000)})


def test_milestone_pays_a_keyed_per_referrer_bonus_when_the_count_is_reached() -> None:
    assert BONUS.evaluate(reward_context(qualified=4)) == ()
    (grant,) = BONUS.evaluate(reward_context(qualified=5, campaign="spring"))
    assert grant.amount == usd("50")
    assert grant.key == "milestone:spring:5"
    assert grant.per_referrer
    assert grant.explanation.startswith("milestone of 5 qualified referrals reached (5 so far): ")


def test_milestone_pays_a_missed_bonus_at_or_above_its_count() -> None:
    grants = BONUS.evaluate(reward_context(qualified=12))
    assert [g.key for g in grants] == ["milestone:default:5", "milestone:default:10"]


def test_milestone_skips_bonuses_the_referrer_already_holds() -> None:
    held = (past_reward(usd("50"), key="milestone:default:5"),)
    grants = BONUS.evaluate(reward_context(qualified=12, past=held))
    assert [g.key for g in grants] == ["milestone:default:10"]


def test_milestone_with_several_rewards_keys_each_one() -> None:
    policy = Milestone({3: AllOf(Fixed(usd("25")), Fixed("tote-bag"))})
    grants = policy.evaluate(reward_context(qualified=3))
    assert [g.key for g in grants] == ["milestone:default:3", "milestone:default:3:1"]
    assert all(g.per_referrer for g in grants)


def test_milestone_reports_progress_to_the_next_count() -> None:
    assert BONUS.progress(2) == TierProgress(qualified=2, current_tier=None, next_tier_at=5)
    assert BONUS.progress(7) == TierProgress(qualified=7, current_tier=1, next_tier_at=10)
    assert BONUS.progress(10).next_tier_at is None


@pytest.mark.parametrize(
    ("milestones", "path"),
    [
        ({}, "milestones"),
        ({0: Fixed(1)}, "milestones.0"),
        ({3: "x"}, "milestones.3"),
        ([], "milestones"),
    ],
)
def test_milestone_validation_names_the_count_at_fault(milestones, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        Milestone(milestones)
    assert err.value.path == path


def test_milestone_orders_its_counts() -> None:
    assert Milestone({10: Fixed(1), 5: Fixed(2)}) == Milestone({5: Fixed(2), 10: Fixed(1)})


# -- conditions ------------------------------------------------------------------------------


def test_first_order_only_rewards_the_first_order_alone() -> None:
    policy = FirstOrderOnly(Fixed(usd("10")))
    (grant,) = policy.evaluate(reward_context(order_number=1))
    assert grant.explanation.startswith("the friend's first order: ")
    assert policy.evaluate(reward_context(order_number=2)) == ()
    # The host's first-order flag wins (an order before the referral does not count).
    assert policy.evaluate(reward_context(order_number=2, first_order=True)) != ()


def test_minimum_order_rewards_orders_at_or_above_the_amount() -> None:
    policy = MinimumOrder(Fixed(usd("10")), usd("50"))
    assert policy.evaluate(reward_context("49.99")) == ()
    assert amounts(policy.evaluate(reward_context("50"))) == [usd("10")]
    with pytest.raises(rk.CurrencyMismatch):
        policy.evaluate(reward_context(rk.Money("80", "EUR")))


@pytest.mark.parametrize(("number", "earns"), [(1, False), (2, True), (4, True), (5, False)])
def test_recurring_with_orders_n_pays_order_numbers_2_to_n_plus_1(number, earns) -> None:
    policy = Recurring(PercentOfOrder("0.05"), orders=3)
    grants = policy.evaluate(reward_context("100", order_number=number))
    assert amounts(grants) == ([usd("5")] if earns else [])


def test_recurring_within_counts_from_the_attribution() -> None:
    policy = Recurring(Fixed(usd("1")), within=timedelta(days=30))
    assert policy.evaluate(reward_context(order_number=2, attributed_days_ago=29)) != ()
    assert policy.evaluate(reward_context(order_number=2, attributed_days_ago=30)) == ()


def test_recurring_without_limits_pays_every_repeat_order_and_explains_it() -> None:
    policy = Recurring(Fixed(usd("1")))
    assert policy.evaluate(reward_context(order_number=1)) == ()
    (grant,) = policy.evaluate(reward_context(order_number=40))
    assert grant.explanation.startswith("repeat order 40 of the friend: ")


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"orders": 0}, "orders"),
        ({"orders": True}, "orders"),
        ({"within": timedelta(0)}, "within"),
        ({"within": 30}, "within"),
    ],
)
def test_recurring_refuses_bad_limits(kwargs, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        Recurring(Fixed(1), **kwargs)
    assert err.value.path == path


# -- limits ----------------------------------------------------------------------------------


def test_capped_cuts_the_grant_that_crosses_the_cap_and_explains_it() -> None:
    policy = Capped(Fixed(usd("10")), max_per_referrer=usd("25"))
    held = (past_reward(usd("10")), past_reward(usd("10")))
    (grant,) = policy.evaluate(reward_context(past=held))
    assert grant.amount == usd("5")
    assert grant.explanation == (
        "a fixed credit of 10.00 USD for this referral;"
        " cut to 5.00 USD by the cap of 25.00 USD per referrer"
    )


def test_capped_grants_nothing_once_the_cap_is_reached() -> None:
    policy = Capped(Fixed(usd("10")), max_per_referrer=usd("20"))
    held = (past_reward(usd("10")), past_reward(usd("10")))
    assert policy.evaluate(reward_context(past=held)) == ()


def test_capped_with_a_window_counts_only_recent_rewards() -> None:
    policy = Capped(Fixed(usd("10")), max_per_referrer=usd("10"), window=timedelta(days=30))
    assert policy.evaluate(reward_context(past=(past_reward(usd("10"), days_ago=29),))) == ()
    old = (past_reward(usd("10"), days_ago=30),)
    assert amounts(policy.evaluate(reward_context(past=old))) == [usd("10")]


def test_capped_points_leave_money_and_the_referee_alone() -> None:
    policy = Capped(
        DoubleSided(referrer=AllOf(Fixed(300), Fixed(usd("5"))), referee=Fixed(400)),
        max_per_referrer=1000,
    )
    grants = policy.evaluate(reward_context(past=(past_reward(800),)))
    assert [(g.beneficiary, g.points, g.amount) for g in grants] == [
        (Beneficiary.REFERRER, 200, None),
        (Beneficiary.REFERRER, 0, usd("5")),
        (Beneficiary.REFEREE, 400, None),
    ]


def test_capped_cuts_a_coupon_by_its_face_value() -> None:
    policy = Capped(Fixed(usd("10"), kind="coupon"), max_per_referrer=usd("4"))
    (grant,) = policy.evaluate(reward_context())
    assert grant.coupon_value == usd("4")


def test_capped_refuses_money_in_another_currency() -> None:
    policy = Capped(Fixed(rk.Money("10", "EUR")), max_per_referrer=usd("40"))
    with pytest.raises(rk.CurrencyMismatch):
        policy.evaluate(reward_context())


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"max_per_referrer": -1}, "max_per_referrer"),
        ({"max_per_referrer": usd("-1")}, "max_per_referrer"),
        ({"max_per_referrer": "100 USD"}, "max_per_referrer"),
        ({"max_per_referrer": 5, "window": timedelta(0)}, "window"),
    ],
)
def test_capped_refuses_bad_limits(kwargs, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        Capped(Fixed(1), **kwargs)
    assert err.value.path == path


def test_budget_cuts_both_sides_to_what_is_left() -> None:
    policy = Budget(
        DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))), total=usd("1000")
    )
    grants = policy.evaluate(reward_context(spend=usd("988")))
    assert [(g.beneficiary, g.amount) for g in grants] == [
        (Beneficiary.REFERRER, usd("10")),
        (Beneficiary.REFEREE, usd("2")),
    ]
    grants = policy.evaluate(reward_context(spend=usd("993")))
    assert [(g.beneficiary, g.amount) for g in grants] == [(Beneficiary.REFERRER, usd("7"))]
    assert "by the program budget of 1000.00 USD" in grants[0].explanation
    assert policy.evaluate(reward_context(spend=usd("1000"))) == ()


def test_budget_of_points_counts_program_points() -> None:
    policy = Budget(Fixed(300), total=1000)
    assert [g.points for g in policy.evaluate(reward_context(points_spent=900))] == [100]
    assert [g.points for g in policy.evaluate(reward_context(points_spent=0))] == [300]


# -- combinators -----------------------------------------------------------------------------


def test_all_of_sums_and_keeps_grants_with_the_same_key() -> None:
    policy = AllOf(Fixed(usd("10")), Fixed(usd("10")), PercentOfOrder("0.1"))
    grants = policy.evaluate(reward_context("50"))
    assert amounts(grants) == [usd("10"), usd("10"), usd("5")]
    assert [g.key for g in grants] == [
        "fixed(10.00 USD)",
        "fixed(10.00 USD)#2",
        "percent_of_order(10%)",
    ]


def test_first_match_takes_the_first_policy_that_grants() -> None:
    policy = FirstMatch(MinimumOrder(Fixed(usd("20")), usd("100")), Fixed(usd("10")))
    assert amounts(policy.evaluate(reward_context("150"))) == [usd("20")]
    assert amounts(policy.evaluate(reward_context("50"))) == [usd("10")]


@pytest.mark.parametrize("combinator", [AllOf, FirstMatch])
def test_combinators_need_policies(combinator) -> None:
    with pytest.raises(rk.ConfigError) as err:
        combinator()
    assert err.value.path == "policies"
    with pytest.raises(rk.ConfigError) as err:
        combinator(Fixed(1), 2)
    assert err.value.path == "policies.1"


def test_wrappers_and_combinators_report_the_inner_tier_progress() -> None:
    for policy in (
        FirstOrderOnly(LADDER),
        MinimumOrder(LADDER, usd("1")),
        Recurring(LADDER),
        Capped(LADDER, max_per_referrer=10),
        Budget(LADDER, total=10),
        AllOf(Fixed(1), LADDER),
        FirstMatch(LADDER),
        DoubleSided(referrer=LADDER),
    ):
        assert policy.progress(6) == LADDER.progress(6)
    assert AllOf(Fixed(1)).progress(6) is None


# -- names, needs, versions ------------------------------------------------------------------


def test_names_describe_the_terms() -> None:
    policy = Capped(
        Recurring(PercentOfOrder("0.05", cap=usd("20")), orders=12, within=timedelta(days=365)),
        max_per_referrer=usd("500"),
        window=timedelta(days=30),
    )
    assert policy.name == (
        "capped(recurring(percent_of_order(5%, cap 20.00 USD), orders=12,"
        " within=365 days), 500.00 USD per referrer per 30 days)"
    )
    assert (
        LADDER.name == "tiered(1+: fixed(10.00 USD), 5+: fixed(15.00 USD), 10+: fixed(20.00 USD))"
    )


@pytest.mark.parametrize(
    ("policy", "needs"),
    [
        (Fixed(1), set()),
        (PercentOfOrder("0.1"), set()),
        (LADDER, {"qualified"}),
        (BONUS, {"qualified", "referrer_rewards"}),
        (Capped(Fixed(1), max_per_referrer=5), {"referrer_rewards"}),
        (Budget(LADDER, total=5), {"program_spend", "qualified"}),
        (AllOf(FirstOrderOnly(Fixed(1)), Recurring(LADDER)), {"qualified"}),
    ],
)
def test_policies_declare_the_costly_context_they_read(policy, needs) -> None:
    assert policy_needs(policy) == needs
    assert policy_needs(policy) <= COSTLY_CONTEXT


def test_policy_version_is_stable_and_is_what_the_program_records() -> None:
    twin = Tiered(
        [
            Tier(min_referrals=1, reward=Fixed(usd("10"))),
            Tier(min_referrals=5, reward=Fixed(usd("15"))),
            Tier(min_referrals=10, reward=Fixed(usd("20"))),
        ]
    )
    assert twin == LADDER
    assert policy_version(twin) == policy_version(LADDER)
    program = rk.ReferralProgram(store=MemoryStore(), secret=b"s" * 32, policy=twin)
    assert program.policy_version == policy_version(LADDER)
    assert policy_version(Fixed(usd("10"))) != policy_version(Fixed(usd("11")))


@pytest.mark.parametrize(
    "friend_side",
    [
        Capped(Fixed(usd("10")), max_per_referrer=usd("15")),
        Milestone({5: Fixed(usd("50"))}),
        AllOf(Fixed(usd("5")), Capped(Fixed(usd("10")), max_per_referrer=usd("15"))),
    ],
)
def test_the_friend_side_refuses_policies_that_count_the_referrers_rewards(friend_side) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        DoubleSided(referrer=Fixed(usd("10")), referee=friend_side)
    assert caught.value.path == "referee"
    assert DoubleSided(referrer=friend_side, referee=Fixed(usd("5"))).referrer == friend_side
