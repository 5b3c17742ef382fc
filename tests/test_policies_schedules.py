"""Commission schedules as pure policies: first N orders, returning buyers, caps and volumes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from referralkit.config import build_policy
from referralkit.context import PastReward
from referralkit.errors import ConfigError, CurrencyMismatch
from referralkit.money import Money
from referralkit.policies import (
    BudgetPerPeriod,
    CappedPerPeriod,
    FirstMatch,
    FirstOrders,
    Fixed,
    OrderAttribute,
    PercentOfOrder,
    PerClick,
    PerLead,
    ReturningCustomer,
    VolumeTier,
    VolumeTiers,
    period_bounds,
    policy_config,
    policy_version,
)
from strategies import (
    POLICY_NOW,
    order_gaps,
    period_zones,
    periods,
    reward_context,
    usd_amounts,
    utc_times,
)

A = PercentOfOrder("15%")
B = PercentOfOrder("5%")


def usd(amount: str) -> Money:
    return Money(amount, "USD")


# -- calendar periods ----------------------------------------------------------------------


@given(utc_times, periods, period_zones)
def test_a_calendar_period_contains_the_moment_and_starts_at_local_midnight(
    when: datetime, period: str, zone: str
) -> None:
    """[start, end) holds the moment; both ends are local midnights, a week's on a Monday."""
    start, end = period_bounds(period, zone, when)
    assert start <= when < end
    assert start.tzinfo is timezone.utc
    local_start, local_end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    assert (local_start.hour, local_start.minute) == (0, 0) == (local_end.hour, local_end.minute)
    if period == "week":
        assert local_start.weekday() == 0
        assert (local_end.date() - local_start.date()).days == 7
    if period == "month":
        assert local_start.day == local_end.day == 1
    assert period_bounds(period, zone, end)[0] == end  # the next period starts where this ends


def test_a_month_in_berlin_starts_at_local_midnight_in_utc() -> None:
    start, end = period_bounds(
        "month", "Europe/Berlin", datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc)
    )
    assert start == datetime(2026, 3, 31, 22, 0, tzinfo=timezone.utc)  # 1 April, CEST
    assert end == datetime(2026, 4, 30, 22, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"period": "year"}, "period"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"limit": -1}, "limit"),
    ],
)
def test_a_bad_calendar_cap_names_its_field(kwargs: dict[str, object], path: str) -> None:
    options: dict[str, object] = {"reward": Fixed(usd("1")), "limit": usd("10"), **kwargs}
    with pytest.raises(ConfigError) as caught:
        CappedPerPeriod(**options)  # type: ignore[arg-type]
    assert caught.value.path == path


# -- first N orders, then another rate -------------------------------------------------------


@given(st.integers(1, 12), st.integers(1, 30), usd_amounts.filter(lambda m: m.amount >= 1))
def test_first_n_orders_earn_a_and_every_later_order_earns_b(
    n: int, orders: int, amount: Money
) -> None:
    """Exactly min(N, orders) orders earn A%; the rest earn B%."""
    policy = FirstMatch(FirstOrders(A, orders=n), B)
    rates = []
    for number in range(1, orders + 1):
        (grant,) = policy.evaluate(reward_context(amount, order_number=number))
        rates.append(grant.amount)
    assert rates.count((amount * A.rate).round()) >= min(n, orders)
    assert rates[: min(n, orders)] == [(amount * A.rate).round()] * min(n, orders)
    assert rates[n:] == [(amount * B.rate).round()] * max(orders - n, 0)


def test_first_orders_refuses_a_count_below_one() -> None:
    with pytest.raises(ConfigError) as caught:
        FirstOrders(A, orders=0)
    assert caught.value.path == "orders"


@given(st.integers(1, 10))
def test_a_returning_customer_policy_skips_the_first_order_only(number: int) -> None:
    policy = ReturningCustomer(Fixed(usd("3")))
    grants = policy.evaluate(reward_context("40", order_number=number))
    assert bool(grants) is (number > 1)


# -- a cap per calendar period -----------------------------------------------------------------


@given(
    st.lists(st.tuples(order_gaps, st.integers(1, 6_000)), min_size=1, max_size=25),
    st.integers(100, 10_000),
    periods,
    period_zones,
)
def test_a_calendar_cap_is_never_passed_in_any_period_and_starts_again_in_the_next(
    orders: list[tuple[timedelta, int]], cap_cents: int, period: str, zone: str
) -> None:
    """Never above the cap within a calendar period; a new period starts from zero."""
    cap = Money.from_minor(cap_cents, "USD")
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    held: list[PastReward] = []
    spent: dict[datetime, Money] = {}
    for gap, cents in orders:
        now += gap
        wanted = Money.from_minor(cents, "USD")
        policy = CappedPerPeriod(Fixed(wanted), cap, period=period, timezone=zone)
        context = attrs.evolve(reward_context("50", now=now), referrer_rewards=tuple(held))
        grants = policy.evaluate(context)
        start, _ = period_bounds(period, zone, now)
        before = spent.get(start, Money.zero("USD"))
        got = grants[0].amount if grants else Money.zero("USD")
        assert got is not None
        assert got == min(wanted, cap - before)
        spent[start] = before + got
        assert spent[start] <= cap
        if grants:
            held.append(PastReward(f"o-{len(held)}:fixed", "fixed", got, 0, now))


def test_a_calendar_cap_counts_points_too() -> None:
    policy = CappedPerPeriod(Fixed(300), 500, period="day")
    held = (
        PastReward("o-0:fixed", "fixed", None, 300, datetime(2026, 5, 2, 1, tzinfo=timezone.utc)),
    )
    (grant,) = policy.evaluate(attrs.evolve(reward_context(), referrer_rewards=held))
    assert grant.points == 200
    yesterday = (attrs.evolve(held[0], granted_at=datetime(2026, 5, 1, 23, tzinfo=timezone.utc)),)
    (grant,) = policy.evaluate(attrs.evolve(reward_context(), referrer_rewards=yesterday))
    assert grant.points == 300


# -- volume tiers over a calendar period -------------------------------------------------------

LADDER = VolumeTiers(
    [VolumeTier(usd("0"), PercentOfOrder("5%")), VolumeTier(usd("1000"), PercentOfOrder("8%"))]
)


def _with_revenue(amount: Money, before: Money | None) -> object:
    revenue = {} if before is None else {LADDER.key: {"USD": before}}
    return attrs.evolve(reward_context(amount), referrer_revenue=revenue)


@given(st.lists(usd_amounts.filter(lambda m: m.amount >= 1), min_size=1, max_size=40))
def test_the_higher_rate_applies_from_the_order_that_crosses_the_threshold_on_never_before(
    amounts: list[Money],
) -> None:
    """One month's orders: 5% until the running total reaches 1000 USD, 8% from that order on."""
    before = Money.zero("USD")
    crossed = False
    for amount in amounts:
        (grant,) = LADDER.evaluate(_with_revenue(amount, before))  # type: ignore[arg-type]
        reaches = before + amount >= usd("1000")
        assert not (crossed and not reaches)  # never falls back within the period
        rate = Decimal("0.08") if reaches else Decimal("0.05")
        assert grant.amount == (amount * rate).round()
        crossed = reaches
        before += amount


def test_volume_tiers_without_revenue_read_count_the_order_alone() -> None:
    (grant,) = LADDER.evaluate(_with_revenue(usd("1200"), None))  # type: ignore[arg-type]
    assert grant.amount == usd("96.00")
    assert "volume tier 2" in grant.explanation


def test_volume_tiers_name_what_they_read_and_refuse_other_currencies() -> None:
    assert LADDER.needs == frozenset({"referrer_revenue:month:UTC"})
    assert LADDER.currencies == frozenset({"USD"})
    with pytest.raises(CurrencyMismatch):
        LADDER.evaluate(reward_context(Money("10", "EUR")))


def test_volume_tiers_below_the_first_tier_grant_nothing() -> None:
    ladder = VolumeTiers([VolumeTier(usd("500"), Fixed(usd("20")))], period="week")
    assert ladder.evaluate(_with_revenue(usd("100"), usd("100"))) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tiers", "path"),
    [
        ([], "tiers"),
        ([VolumeTier(usd("10"), B), VolumeTier(usd("10"), A)], "tiers.1.min_revenue"),
        ([VolumeTier(usd("10"), B), VolumeTier(Money("20", "EUR"), A)], "tiers.1.min_revenue"),
        (["5%"], "tiers.0"),
    ],
)
def test_bad_volume_tiers_name_the_tier(tiers: list[object], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        VolumeTiers(tiers)  # type: ignore[arg-type]
    assert caught.value.path == path


# -- described as configuration, versioned ---------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        FirstMatch(FirstOrders(A, orders=3), B),
        ReturningCustomer(Fixed(usd("2"))),
        CappedPerPeriod(A, usd("100"), period="week", timezone="Europe/Berlin"),
        VolumeTiers(LADDER.tiers, period="day", timezone="Asia/Kolkata"),
        BudgetPerPeriod(A, usd("5000"), period="week"),
        PerLead(Fixed(usd("2"), kind="cash")),
        PerClick(Fixed(usd("0.05"), kind="cash"), max_per_day=200),
        OrderAttribute(A, key="category", any_of=["shoes"], none_of=["gift-cards"]),
    ],
    ids=[
        "first_orders",
        "returning_customer",
        "capped_per_period",
        "volume_tiers",
        "budget_per_period",
        "per_lead",
        "per_click",
        "order_attribute",
    ],
)
def test_each_schedule_is_configuration_and_has_a_stable_version(policy: object) -> None:
    config = policy_config(policy)  # type: ignore[arg-type]
    assert build_policy(config) == policy
    assert policy_version(build_policy(config)) == policy_version(policy)  # type: ignore[arg-type]


def test_another_period_or_zone_is_another_version() -> None:
    a = CappedPerPeriod(A, usd("100"))
    assert policy_version(a) != policy_version(attrs.evolve(a, period="week"))
    assert policy_version(a) != policy_version(attrs.evolve(a, timezone="Europe/Berlin"))


# -- a programme budget per calendar period --------------------------------------------------


@given(
    st.lists(st.tuples(order_gaps, st.integers(1, 6_000)), min_size=1, max_size=25),
    st.integers(100, 10_000),
    periods,
    period_zones,
)
def test_a_period_budget_is_never_overspent_and_starts_again_in_the_next_period(
    orders: list[tuple[timedelta, int]], total_cents: int, period: str, zone: str
) -> None:
    """Spend within each calendar period stays within the budget; a new period starts at zero."""
    total = Money.from_minor(total_cents, "USD")
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    spent: dict[datetime, Money] = {}
    for gap, cents in orders:
        now += gap
        wanted = Money.from_minor(cents, "USD")
        policy = BudgetPerPeriod(Fixed(wanted), total, period=period, timezone=zone)
        start, _ = period_bounds(period, zone, now)
        before = spent.get(start, Money.zero("USD"))
        context = attrs.evolve(
            reward_context("50", now=now), period_spend={policy.key: ({"USD": before}, 0)}
        )
        grants = policy.evaluate(context)
        got = grants[0].amount if grants else Money.zero("USD")
        assert got is not None
        assert got == min(wanted, total - before)
        spent[start] = before + got
        assert spent[start] <= total


def test_a_period_budget_names_what_it_reads() -> None:
    policy = BudgetPerPeriod(Fixed(usd("1")), 500, period="day", timezone="Europe/Berlin")
    assert policy.needs == frozenset({"program_spend:day:Europe/Berlin"})
    assert policy.currencies == frozenset({"USD"})  # the reward's; a points budget adds none
    (grant,) = BudgetPerPeriod(Fixed(300), 500).evaluate(
        attrs.evolve(reward_context(), period_spend={"month:UTC": ({}, 400)})
    )
    assert grant.points == 100


# -- fees for leads and clicks -----------------------------------------------------------------


@given(st.integers(0, 20), st.integers(1, 10), st.sampled_from(["order", "lead"]))
def test_a_click_fee_pays_up_to_its_daily_limit_and_never_on_another_event(
    earlier: int, limit: int, other: str
) -> None:
    """With ``earlier`` click fees today, a click earns while fewer than the limit were paid."""
    policy = PerClick(Fixed(usd("0.10")), max_per_day=limit)
    today = tuple(
        PastReward(f"partner:p:click:v{n}:click:fixed", "fixed", usd("0.10"), 0, POLICY_NOW)
        for n in range(earlier)
    )
    yesterday = PastReward(
        "partner:p:click:y:click:fixed", "x", usd("1"), 0, POLICY_NOW - timedelta(days=1)
    )
    context = attrs.evolve(reward_context("0"), referrer_rewards=(*today, yesterday), event="click")
    grants = policy.evaluate(context)
    assert bool(grants) is (earlier < limit)
    assert all(g.key.startswith("click:") for g in grants)
    assert policy.evaluate(attrs.evolve(context, event=other)) == ()


def test_a_lead_fee_is_keyed_as_a_lead_and_pays_only_on_a_lead() -> None:
    policy = PerLead(Fixed(usd("2")))
    assert policy.evaluate(reward_context("80")) == ()
    (grant,) = policy.evaluate(attrs.evolve(reward_context("0"), event="lead"))
    assert (grant.key, grant.amount) == ("lead:fixed(2.00 USD)", usd("2.00"))


# -- conditions on the order -------------------------------------------------------------------

_LABELS = st.sampled_from(["shoes", "bags", "socks", "gift-cards"])


@given(
    st.sets(_LABELS),
    st.lists(_LABELS, max_size=3),
    st.lists(_LABELS, max_size=3),
)
def test_an_order_condition_pays_on_one_of_any_of_and_none_of_none_of(
    held: set[str], any_of: list[str], none_of: list[str]
) -> None:
    """The rule, for every order and every pair of lists."""
    if not any_of and not none_of:
        with pytest.raises(ConfigError):
            OrderAttribute(Fixed(usd("1")), key="category")
        return
    policy = OrderAttribute(Fixed(usd("1")), key="category", any_of=any_of, none_of=none_of)
    context = attrs.evolve(reward_context(), order_attributes={"category": tuple(held)})
    pays = (not any_of or bool(held & set(any_of))) and not held & set(none_of)
    assert bool(policy.evaluate(context)) is pays
    assert "order_attributes" in policy.needs


def test_an_order_without_the_attribute_holds_no_value() -> None:
    with_any = OrderAttribute(Fixed(usd("1")), key="category", any_of=["shoes"])
    with_none = OrderAttribute(Fixed(usd("1")), key="category", none_of=["shoes"])
    assert with_any.evaluate(reward_context()) == ()
    assert len(with_none.evaluate(reward_context())) == 1
