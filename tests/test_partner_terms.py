"""Partner commission schedules through ``convert(code=...)`` on every store with partners."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from _partner_stores import partner_store  # noqa: F401 - the `store` fixture: stores with partners
from referralkit.config import build_policy
from referralkit.policies import (
    AllOf,
    BudgetPerPeriod,
    CappedPerPeriod,
    FirstMatch,
    FirstOrders,
    Fixed,
    OrderAttribute,
    PercentOfOrder,
    PerClick,
    PerLead,
    Recurring,
    ReturningCustomer,
    VolumeTier,
    VolumeTiers,
)
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock
from strategies import policy_specs, reward_context

SECRET = b"partner terms secret, 32 bytes or more"
START = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


LADDER = VolumeTiers(
    [
        VolumeTier(usd("0"), PercentOfOrder("5%", kind="cash")),
        VolumeTier(usd("1000"), PercentOfOrder("8%", kind="cash")),
    ]
)


def make(store: rk.Store, clock: FrozenClock, terms: Any) -> rk.ReferralProgram:
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(usd("5")),
        hold=timedelta(days=1),
        clock=clock,
        link_base="https://shop.example/r",
    )
    program.partners.group("affiliates", terms=terms)
    program.partners.add("aff", name="Affiliate", group="affiliates")
    program.partners.code("aff", vanity="AFF10")
    return program


def commission(program: rk.ReferralProgram, order: str, amount: str, buyer: str = "") -> rk.Money:
    rewards = program.convert(
        referee=buyer or f"buyer-{order}", order_id=order, amount=usd(amount), code="AFF10"
    )
    return sum((r.amount for r in rewards if r.amount is not None), rk.Money.zero("USD"))


def test_the_volume_rate_applies_from_the_crossing_order_and_resets_next_month(
    store: rk.Store,
) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, LADDER)
    assert commission(program, "o1", "600") == usd("30.00")  # 600 so far: 5%
    clock.advance(hours=1)
    assert commission(program, "o2", "500") == usd("40.00")  # 1100 with it: 8%
    clock.advance(hours=1)
    assert commission(program, "o3", "100") == usd("8.00")
    clock.now = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # a new calendar month (UTC)
    assert commission(program, "o4", "100") == usd("5.00")


def test_a_refund_lowers_the_period_revenue_that_later_orders_see(store: rk.Store) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, LADDER)
    commission(program, "o1", "900")
    program.refund(order_id="o1", amount=usd("400"), refund_id="re-1")
    clock.advance(minutes=5)
    assert commission(program, "o2", "200") == usd("10.00")  # 500 + 200 < 1000


def test_orders_of_other_partners_do_not_count_towards_a_partners_volume(store: rk.Store) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, LADDER)
    program.partners.add("other", name="Other", group="affiliates")
    program.partners.code("other", vanity="OTHER5")
    program.convert(referee="x", order_id="big", amount=usd("5000"), code="OTHER5")
    clock.advance(minutes=1)
    assert commission(program, "o1", "100") == usd("5.00")


def test_an_order_earns_the_terms_in_force_when_it_was_attributed(store: rk.Store) -> None:
    """Terms change between orders; a refund of the first reprices it under its own terms."""
    clock = FrozenClock(START)
    program = make(store, clock, PercentOfOrder("10%", kind="cash"))
    assert commission(program, "o1", "100") == usd("10.00")
    program.partners.group(
        "affiliates",
        terms=FirstMatch(
            FirstOrders(Fixed(usd("7"), kind="cash"), orders=1), PercentOfOrder("2%", kind="cash")
        ),
    )
    clock.advance(minutes=1)
    assert commission(program, "o2", "100") == usd(
        "7.00"
    )  # the new terms, first order of o2's buyer
    program.refund(order_id="o1", amount=usd("50"), refund_id="re-1")
    [repriced] = [r for r in program.rewards("aff") if r.order_id == "o1"]
    assert repriced.amount == usd("5.00")  # still 10%, of what is left


def test_first_n_orders_of_a_buyer_at_one_rate_then_another(store: rk.Store) -> None:
    clock = FrozenClock(START)
    schedule = FirstMatch(
        FirstOrders(PercentOfOrder("15%", kind="cash"), orders=2), PercentOfOrder("5%", kind="cash")
    )
    program = make(store, clock, schedule)
    got = []
    for n in range(4):
        clock.advance(minutes=1)
        got.append(commission(program, f"o{n}", "100", buyer="same-buyer"))
    assert got == [usd("15.00"), usd("15.00"), usd("5.00"), usd("5.00")]


def test_a_partners_spend_limit_per_week_holds_and_starts_again(store: rk.Store) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc))  # a Monday
    program = make(
        store, clock, CappedPerPeriod(PercentOfOrder("10%", kind="cash"), usd("25"), period="week")
    )
    got = []
    for n in range(4):
        got.append(commission(program, f"o{n}", "100"))
        clock.advance(days=1)
    assert got == [usd("10.00"), usd("10.00"), usd("5.00"), usd("0")]
    clock.now = datetime(2026, 12, 7, 0, 0, tzinfo=timezone.utc)  # next Monday
    assert commission(program, "o9", "100") == usd("10.00")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    orders=st.lists(
        st.tuples(st.integers(1, 40 * 3600), st.integers(100, 80_000)), min_size=1, max_size=12
    ),
    sqlite=st.booleans(),
)
def test_volume_tiers_on_a_store_match_the_running_total_of_the_month(
    orders: list[tuple[int, int]], sqlite: bool
) -> None:
    """Whatever the gaps and amounts, each order's rate follows its month's running total."""
    clock = FrozenClock(START)
    store: rk.Store = SQLiteStore(":memory:") if sqlite else MemoryStore()
    try:
        program = make(store, clock, LADDER)
        totals: dict[tuple[int, int], rk.Money] = {}
        for n, (gap, cents) in enumerate(orders):
            clock.advance(seconds=gap)
            amount = rk.Money.from_minor(cents, "USD")
            month = (clock.now.year, clock.now.month)
            total = totals.get(month, rk.Money.zero("USD")) + amount
            totals[month] = total
            rate = "0.08" if total >= usd("1000") else "0.05"
            got = commission(program, f"o{n}", str(amount.amount))
            assert got == (amount * rk.Money(rate, "USD").amount).round()
    finally:
        store.close()


# -- pay per lead ----------------------------------------------------------------------------

LEAD_TERMS = AllOf(PercentOfOrder("10%", kind="cash"), PerLead(Fixed(usd("2"), kind="cash")))


def lead_fees(program: rk.ReferralProgram) -> list[rk.Reward]:
    return [r for r in program.rewards("aff") if ":lead:" in r.key]


def test_a_sign_up_through_a_partners_code_earns_one_lead_fee_per_customer(
    store: rk.Store,
) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, LEAD_TERMS)
    program.attribute(code="AFF10", referee="new-1", identity=rk.Identity(email="n1@example.com"))
    program.attribute(code="AFF10", referee="new-1", identity=rk.Identity(email="n1@example.com"))
    program.attribute(code="AFF10", referee="new-2", identity=rk.Identity(email="n2@example.com"))
    fees = lead_fees(program)
    assert sorted(r.key for r in fees) == [
        "partner:aff:lead:new-1:lead:fixed(2.00 USD)",
        "partner:aff:lead:new-2:lead:fixed(2.00 USD)",
    ]
    assert {(r.amount, r.state, r.customer_id) for r in fees} == {
        (usd("2.00"), rk.RewardState.HELD, "aff")
    }
    # An order with the code earns the commission, and no second lead fee.
    assert commission(program, "o1", "100", buyer="new-1") == usd("10.00")
    assert len(lead_fees(program)) == 2


def test_terms_without_a_lead_fee_pay_nothing_for_a_sign_up(store: rk.Store) -> None:
    program = make(
        store, FrozenClock(START), AllOf(Fixed(usd("4"), kind="cash"), PercentOfOrder("5%"))
    )
    program.attribute(code="AFF10", referee="new-1", identity=rk.Identity(email="n1@example.com"))
    assert program.rewards("aff") == []


# -- a programme budget per calendar period ----------------------------------------------------


def test_a_daily_programme_budget_counts_every_reward_of_the_day_and_starts_again(
    store: rk.Store,
) -> None:
    """Partners' commissions and a refund's give-back count; tomorrow starts at zero."""
    clock = FrozenClock(START)
    daily = BudgetPerPeriod(PercentOfOrder("10%", kind="cash"), usd("25"), period="day")
    program = make(store, clock, daily)
    program.partners.add("second", name="Second", group="affiliates")
    program.partners.code("second", vanity="SECOND10")
    assert commission(program, "o1", "150") == usd("15.00")
    clock.advance(minutes=1)
    rewards = program.convert(referee="b2", order_id="o2", amount=usd("150"), code="SECOND10")
    assert [r.amount for r in rewards] == [usd("10.00")]  # what was left of the day's 25
    program.refund(order_id="o1", refund_id="re-1")  # 15.00 back into today's budget
    clock.advance(minutes=1)
    assert commission(program, "o3", "100") == usd("10.00")
    assert commission(program, "o4", "100") == usd("5.00")
    clock.now = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)
    assert commission(program, "o5", "100") == usd("10.00")


# -- pay per qualified click -----------------------------------------------------------------

CLICK_TERMS = AllOf(
    PercentOfOrder("10%", kind="cash"), PerClick(Fixed(usd("0.10"), kind="cash"), max_per_day=3)
)


def click_fees(program: rk.ReferralProgram, partner: str = "aff") -> list[rk.Reward]:
    return [r for r in program.rewards(partner) if ":click:" in r.key]


def test_a_visitors_first_click_of_the_day_earns_the_click_fee_once(store: rk.Store) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, CLICK_TERMS)
    link = program.link("AFF10", channel="blog")
    for _ in range(3):
        program.track_click(link, visitor="cookie-1")
    program.track_click("AFF10", visitor="cookie-2")
    assert [r.amount for r in click_fees(program)] == [usd("0.10")] * 2
    clock.advance(days=1)
    program.track_click(link, visitor="cookie-1")  # a new UTC day: qualifies again
    assert len(click_fees(program)) == 3
    assert all(r.state is rk.RewardState.HELD and r.order_id is None for r in click_fees(program))
    assert all("cookie" not in r.key for r in click_fees(program))  # only the keyed hash


def test_click_fees_stop_at_the_daily_limit_and_start_again_the_next_day(store: rk.Store) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, CLICK_TERMS)
    for n in range(5):
        program.track_click("AFF10", visitor=f"v{n}")
    assert len(click_fees(program)) == 3
    clock.now = datetime(2026, 11, 29, 0, 0, tzinfo=timezone.utc)
    program.track_click("AFF10", visitor="v9")
    assert len(click_fees(program)) == 4


# A smaller fee for returning buyers, else the usual fee beside the lead and click fees:
# a sign-up or a click is no first order, so the returning-buyer fee sees one, and must
# not end the match before the lead or click fee.
SCHEDULE_WITH_FEES = FirstMatch(
    ReturningCustomer(Fixed(usd("3"), kind="cash")),
    AllOf(
        Fixed(usd("5"), kind="cash"),
        PerLead(Fixed(usd("2"), kind="cash")),
        PerClick(Fixed(usd("0.10"), kind="cash")),
    ),
)


def test_lead_and_click_fees_inside_a_first_match_are_paid_past_an_earlier_order_rate(
    store: rk.Store,
) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, SCHEDULE_WITH_FEES)
    program.track_click("AFF10", visitor="cookie-1")
    program.attribute(code="AFF10", referee="lead-1", identity=rk.Identity(email="l@example.com"))
    assert [r.amount for r in click_fees(program)] == [usd("0.10")]
    assert [r.amount for r in lead_fees(program)] == [usd("2.00")]
    # Orders still take the first policy that grants: 5.00 on the first, then 3.00.
    rates = [commission(program, f"o{n}", "100", buyer="lead-1") for n in range(3)]
    assert rates == [usd("5.00"), usd("3.00"), usd("3.00")]


@settings(deadline=None)
@given(spec=policy_specs, event=st.sampled_from(["lead", "click"]))
def test_on_a_lead_or_click_a_first_match_reaches_the_fee_past_any_order_policy(
    spec: dict[str, object], event: str
) -> None:
    """Whatever an earlier order policy grants on the event's zero order, the fee is paid."""
    fee = PerLead(Fixed(usd("2"), kind="cash")) if event == "lead" else PerClick(Fixed(usd("0.1")))
    context = attrs.evolve(reward_context("0", order_number=0), event=event)
    grants = FirstMatch(build_policy(spec), fee).evaluate(context)
    assert [(g.key.split(":")[0], g.amount) for g in grants] == [
        (event, fee.evaluate(context)[0].amount)
    ]


def test_clicks_earn_nothing_without_a_click_fee_on_a_customers_code_or_for_a_paused_partner(
    store: rk.Store,
) -> None:
    program = make(store, FrozenClock(START), PercentOfOrder("10%", kind="cash"))
    program.track_click("AFF10", visitor="v1")
    assert program.rewards("aff") == []
    program.partners.add("clicky", name="Clicky", terms=CLICK_TERMS)
    program.partners.code("clicky", vanity="CLICKY1")
    friend = program.enroll("cust-1")
    program.track_click(friend.code, visitor="v1")
    assert program.rewards("cust-1") == []
    program.partners.set_state("clicky", "paused")
    program.track_click("CLICKY1", visitor="v1")  # tracked, but a paused partner earns nothing
    assert click_fees(program, "clicky") == []
    program.partners.set_state("clicky", "approved")
    program.track_click("CLICKY1", visitor="v1")
    assert len(click_fees(program, "clicky")) == 1


# -- conditions on the order -------------------------------------------------------------------

SHOES = OrderAttribute(PercentOfOrder("12%", kind="cash"), key="category", any_of=["shoes"])
NOT_GIFT_CARDS = OrderAttribute(
    PercentOfOrder("5%", kind="cash"), key="category", none_of=["gift-cards"]
)


def test_order_attributes_choose_the_rate_and_a_refund_reprices_under_them(
    store: rk.Store,
) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, FirstMatch(SHOES, NOT_GIFT_CARDS))

    def order(order_id: str, category: object) -> rk.Money:
        clock.advance(minutes=1)
        rewards = program.convert(
            referee=f"b-{order_id}",
            order_id=order_id,
            amount=usd("100"),
            code="AFF10",
            attributes={"category": category, "channel": "app"},
        )
        return sum((r.amount for r in rewards if r.amount is not None), usd("0"))

    assert order("o1", ["shoes", "socks"]) == usd("12.00")
    assert order("o2", "socks") == usd("5.00")
    assert order("o3", ["gift-cards"]) == usd("0")
    program.refund(order_id="o1", amount=usd("50"), refund_id="re-1")
    [repriced] = [r for r in program.rewards("aff") if r.order_id == "o1"]
    assert repriced.amount == usd("6.00")  # still the shoe rate, on what is left


def test_a_retried_order_with_other_attributes_is_refused_naming_them(store: rk.Store) -> None:
    program = make(store, FrozenClock(START), SHOES)
    kwargs: dict[str, Any] = {
        "referee": "b",
        "order_id": "o1",
        "amount": usd("10"),
        "code": "AFF10",
    }
    first = program.convert(**kwargs, attributes={"category": ["shoes"]})
    assert program.convert(**kwargs, attributes={"category": "shoes"}) == first
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.convert(**kwargs, attributes={"category": ["bags"]})
    assert caught.value.field == "attributes"


@pytest.mark.parametrize(
    "attributes",
    [
        ["category"],
        {"category": 5},
        {"category": [""]},
        {"": ["x"]},
        {f"k{n}": "v" for n in range(21)},
        {"product": [f"sku-{n}" for n in range(101)]},
        {"category": ["ok", None]},
    ],
)
def test_bad_order_attributes_are_refused_naming_the_field(
    store: rk.Store, attributes: object
) -> None:
    program = make(store, FrozenClock(START), SHOES)
    with pytest.raises(rk.InvalidInput) as caught:
        program.convert(
            referee="b",
            order_id="o1",
            amount=usd("10"),
            code="AFF10",
            attributes=attributes,  # type: ignore[arg-type]
        )
    assert caught.value.field == "attributes"
    assert program.conversion("o1") is None


def test_a_partners_own_new_terms_apply_from_the_next_order_and_old_orders_keep_theirs(
    store: rk.Store,
) -> None:
    clock = FrozenClock(START)
    program = make(store, clock, PercentOfOrder("10%", kind="cash"))
    assert commission(program, "o1", "100") == usd("10.00")
    changed = program.partners.set_terms("aff", PercentOfOrder("15%", kind="cash"))
    assert program.partners.set_terms("aff", PercentOfOrder("15%", kind="cash")) == changed
    assert commission(program, "o2", "100") == usd("15.00")
    program.partners.set_terms("aff", None)  # back to the group's
    assert commission(program, "o3", "100") == usd("10.00")
    program.refund(order_id="o2", amount=usd("20"), refund_id="re-2")
    [repriced] = [r for r in program.rewards("aff") if r.order_id == "o2"]
    assert repriced.amount == usd("12.00")  # 15% of the 80.00 USD left
    changes = [e for e in program.pending_events(limit=500) if e.type == "partner.terms_changed"]
    assert [e.payload["terms_version"] is None for e in changes] == [False, True]
    with pytest.raises(rk.InvalidInput) as caught:
        program.partners.set_terms("aff", "15%")  # type: ignore[arg-type]
    assert caught.value.field == "terms"


def test_recurring_partner_terms_count_from_the_partners_first_order_from_the_buyer(
    store: rk.Store,
) -> None:
    """``Recurring(within=...)`` pays repeat orders with the code for that long, then stops."""
    clock = FrozenClock(START)
    program = make(
        store, clock, Recurring(PercentOfOrder("10%", kind="cash"), within=timedelta(days=90))
    )
    program.convert(referee="b", order_id="first", amount=usd("100"))  # no code: not the partner's
    clock.advance(days=1)
    assert commission(program, "o1", "100", buyer="b") == usd("10.00")  # a repeat order
    clock.advance(days=60)
    assert commission(program, "o2", "100", buyer="b") == usd("10.00")
    clock.advance(days=40)  # 100 days after the partner brought the buyer
    assert commission(program, "o3", "100", buyer="b") == usd("0")


def test_recurring_partner_terms_in_calendar_months_end_on_the_clamped_day(
    store: rk.Store,
) -> None:
    """``Recurring(months=3)`` from 29 November ends at the same time on 28 February."""
    clock = FrozenClock(START)
    program = make(store, clock, Recurring(PercentOfOrder("10%", kind="cash"), months=3))
    program.convert(referee="b", order_id="first", amount=usd("100"))  # no code: not the partner's
    clock.advance(days=1)  # 29 November, 12:00 UTC: the partner's first order from b
    assert commission(program, "o1", "100", buyer="b") == usd("10.00")
    end = datetime(2027, 2, 28, 12, 0, tzinfo=timezone.utc)  # 2027 has no 29 February
    clock.advance(end - clock() - timedelta(minutes=1))
    assert commission(program, "o2", "100", buyer="b") == usd("10.00")
    clock.advance(minutes=1)
    assert commission(program, "o3", "100", buyer="b") == usd("0")


def test_a_sign_up_through_a_partners_link_earns_the_lead_fee_a_self_referral_none(
    store: rk.Store,
) -> None:
    program = make(store, FrozenClock(START), LEAD_TERMS)
    link = program.link("AFF10", channel="newsletter")
    program.attribute(link=link, referee="via-link", identity=rk.Identity(email="v@example.com"))
    assert [r.key.split(":")[3] for r in lead_fees(program)] == ["via-link"]
    # The partner signing up through their own code is no lead (a self-referral).
    program.attribute(code="AFF10", referee="aff", identity=rk.Identity(email="v@example.com"))
    assert len(lead_fees(program)) == 1
