"""Partner programmes on every store: registry, codes, checkout attribution, posts, statements."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from _partner_stores import partner_store  # noqa: F401 - the `store` fixture: stores with partners
from referralkit.model import Beneficiary, PartnerState, RewardKind, RewardState
from referralkit.policies import DoubleSided, Fixed, PercentOfOrder
from referralkit.program import Precedence
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"partner programme secret, 32 bytes+"
DAY = timedelta(days=1)
TEN_PERCENT = PercentOfOrder(Decimal("0.10"), kind="cash")


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make(store: rk.Store, clock: FrozenClock, **kwargs: Any) -> rk.ReferralProgram:
    options: dict[str, Any] = {
        "secret": SECRET,
        "policy": Fixed(usd("5")),
        "hold": DAY,
        "clock": clock,
    }
    options.update(kwargs)
    return rk.ReferralProgram(store=store, **options)


@pytest.fixture
def program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return make(store, clock)


def anna(program: rk.ReferralProgram, **kwargs: Any) -> rk.Partner:
    options: dict[str, Any] = {
        "name": "Anna",
        "kind": "influencer",
        "audience": 12_000,
        "niches": ["Vegan", "baking"],
        "region": "de-BE",
        "payout_ref": "acct_123",
        "terms": TEN_PERCENT,
    }
    options.update(kwargs)
    return program.partners.add("anna", **options)


def partner_rewards(program: rk.ReferralProgram, partner: str = "anna") -> list[rk.Reward]:
    return [r for r in program.rewards(partner) if r.customer_id == partner]


# -- registry ----------------------------------------------------------------------------


def test_a_partner_is_registered_once_and_the_same_call_returns_it(
    program: rk.ReferralProgram,
) -> None:
    first = anna(program)
    assert first.state is PartnerState.APPROVED
    assert first.niches == ("vegan", "baking")
    assert anna(program) == first
    assert program.partners.get("anna") == first
    assert first.to_dict()["kind"] == "influencer"
    assert [e.type for e in program.pending_events(limit=100)].count("partner.added") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Anne"}, "name"),
        ({"kind": "affiliate"}, "kind"),
        ({"audience": 5}, "audience"),
        ({"region": "fr"}, "region"),
        ({"payout_ref": "acct_9"}, "payout_ref"),
        ({"terms": PercentOfOrder(Decimal("0.2"))}, "terms_version"),
    ],
)
def test_a_conflicting_re_add_names_the_field(
    program: rk.ReferralProgram, change: dict[str, Any], field: str
) -> None:
    anna(program)
    with pytest.raises(rk.IdempotencyConflict) as caught:
        anna(program, **change)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"audience": -1}, "audience"),
        ({"audience": True}, "audience"),
        ({"niches": "vegan"}, "niches"),
        ({"niches": [""]}, "niches"),
        ({"terms": "10%"}, "terms"),
        ({"state": "sleeping"}, "state"),
        ({"kind": ""}, "kind"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    program: rk.ReferralProgram, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        anna(program, **bad)
    assert caught.value.field == field
    with pytest.raises(rk.UnknownPartner):
        program.partners.get("anna")


def test_each_onboarding_state_is_an_event(program: rk.ReferralProgram) -> None:
    anna(program, state="applied")
    for state in ("invited", "approved", "paused", "ended", "banned"):
        assert program.partners.set_state("anna", state).state.value == state
    program.partners.set_state("anna", "banned")  # no change, no event
    types = [e.type for e in program.pending_events(limit=100) if e.type.startswith("partner.")]
    assert types == [
        "partner.added",
        "partner.invited",
        "partner.approved",
        "partner.paused",
        "partner.ended",
        "partner.banned",
    ]


def test_a_partner_without_terms_earns_its_groups_and_a_group_changes_them_once(
    program: rk.ReferralProgram,
) -> None:
    program.partners.group("micro", terms=PercentOfOrder(Decimal("0.05"), kind="cash"))
    program.partners.add("ben", name="Ben", group="micro")
    program.partners.code("ben", vanity="BEN5")
    [first] = program.convert(referee="c1", order_id="o1", amount=usd("100"), code="BEN5")
    assert first.amount == usd("5.00")
    program.partners.group("micro", terms=PercentOfOrder(Decimal("0.08"), kind="cash"))
    [second] = program.convert(referee="c2", order_id="o2", amount=usd("100"), code="BEN5")
    assert second.amount == usd("8.00")
    # A partner's own terms win over the group's.
    program.partners.add("cat", name="Cat", group="micro", terms=TEN_PERCENT)
    program.partners.code("cat", vanity="CAT10")
    [third] = program.convert(referee="c3", order_id="o3", amount=usd("100"), code="CAT10")
    assert third.amount == usd("10.00")
    with pytest.raises(rk.UnknownPartner):
        program.partners.add("dan", name="Dan", group="nope")


# -- codes -------------------------------------------------------------------------------


def test_partner_codes_are_owned_by_the_partner_and_idempotent(
    program: rk.ReferralProgram,
) -> None:
    anna(program)
    code = program.partners.code("anna", vanity="anna10")
    assert code.code == "ANNA10"
    assert program.partners.code("anna", vanity="ANNA10") == code
    assert program.owner_of("anna-10") == "anna"
    account = program.partners.code("anna")
    assert account.owner == "anna"
    assert program.partners.code("anna") == account
    program.partners.post("anna", "ig-0312", channel="instagram")
    post_code = program.partners.code("anna", vanity="ANNA-IG-0312", post="ig-0312")
    assert {c.code for c in program.partners.codes("anna")} == {
        account.code,
        "ANNA10",
        "ANNA-IG-0312",
    }
    assert post_code.owner == "anna"
    with pytest.raises(rk.UnknownPartner):
        program.partners.code("anna", vanity="ANNA-X", post="nope")


def test_a_vanity_code_someone_else_holds_is_taken(program: rk.ReferralProgram) -> None:
    program.enroll("cust-1", vanity="ANNA10")
    anna(program)
    with pytest.raises(rk.InvalidCode) as caught:
        program.partners.code("anna", vanity="ANNA-10")
    assert caught.value.reason == "taken"


def test_a_banned_partners_codes_are_disabled_not_released(
    program: rk.ReferralProgram,
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.set_state("anna", "banned")
    with pytest.raises(rk.PartnerCodeRefused) as caught:
        program.convert(referee="c1", order_id="o1", amount=usd("50"), code="ANNA10")
    assert (caught.value.field, caught.value.reason) == ("code", "banned")
    assert program.conversion("o1") is None  # refused before anything was written
    assert program.owner_of("ANNA10") == "anna"  # still theirs
    with pytest.raises(rk.InvalidCode):
        program.enroll("cust-2", vanity="ANNA10")
    with pytest.raises(rk.InvalidState):
        program.partners.code("anna", vanity="ANNA20")
    # At sign-up too: the code attributes nobody while its partner is banned.
    with pytest.raises(rk.PartnerCodeRefused) as signup:
        program.attribute(code="ANNA10", referee="c2")
    assert (signup.value.field, signup.value.reason) == ("code", "banned")
    program.partners.set_state("anna", "approved")
    assert program.attribute(code="ANNA10", referee="c2").referrer == "anna"


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("applied", "not_approved"),
        ("invited", "not_approved"),
        ("paused", "paused"),
        ("banned", "banned"),
        ("ended", "ended"),
    ],
)
def test_only_an_approved_partners_codes_attribute_at_checkout_or_sign_up(
    program: rk.ReferralProgram, state: str, reason: str
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.set_state("anna", state)
    with pytest.raises(rk.PartnerCodeRefused) as checkout:
        program.convert(referee="c1", order_id="o1", amount=usd("50"), code="ANNA10")
    with pytest.raises(rk.PartnerCodeRefused) as signup:
        program.attribute(code="ANNA10", referee="c2")
    assert {(e.value.field, e.value.reason) for e in (checkout, signup)} == {("code", reason)}
    assert program.conversion("o1") is None
    assert program.referral_of("c2") is None
    assert program.owner_of("ANNA10") == "anna"


# -- checkout attribution ----------------------------------------------------------------


def test_a_code_at_checkout_gives_the_partner_their_commission(
    program: rk.ReferralProgram,
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    rewards = program.convert(referee="cust-9", order_id="o-10", amount=usd("60"), code="anna10")
    [commission] = rewards
    assert (commission.customer_id, commission.beneficiary) == ("anna", Beneficiary.REFERRER)
    assert commission.amount == usd("6.00")
    assert commission.state is RewardState.HELD
    # Idempotent on the order id: the same rewards, nothing new.
    again = program.convert(referee="cust-9", order_id="o-10", amount=usd("60"), code="ANNA10")
    assert again == rewards
    assert len(partner_rewards(program)) == 1
    # The buyer is not made the partner's referee: their next order earns nothing.
    assert program.convert(referee="cust-9", order_id="o-11", amount=usd("60")) == []


def test_a_retried_order_with_another_partners_code_is_a_conflict(
    program: rk.ReferralProgram,
) -> None:
    anna(program)
    program.partners.add("ben", name="Ben", terms=TEN_PERCENT)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.code("ben", vanity="BEN10")
    program.convert(referee="c", order_id="o", amount=usd("60"), code="ANNA10")
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.convert(referee="c", order_id="o", amount=usd("60"), code="BEN10")
    assert caught.value.field == "code"


def test_a_customer_referred_long_ago_still_credits_the_partner_for_that_order(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.convert(referee="old", order_id="o-1", amount=usd("20"))
    clock.advance(days=400)
    [commission] = program.convert(referee="old", order_id="o-2", amount=usd("80"), code="ANNA10")
    assert commission.amount == usd("8.00")


def _friend_referral(program: rk.ReferralProgram) -> None:
    friend = program.enroll("friend")
    referral = program.attribute(code=friend.code, referee="buyer")
    assert referral.status is rk.ReferralStatus.PENDING


@pytest.mark.parametrize(
    ("precedence", "partner_gets", "friend_gets"),
    [
        (Precedence.BOTH, usd("10.00"), usd("5.00")),
        ("partner", usd("10.00"), None),
        ("referral", None, usd("5.00")),
    ],
)
def test_precedence_between_a_friends_referral_and_a_partners_code(
    program: rk.ReferralProgram,
    precedence: Precedence | str,
    partner_gets: rk.Money | None,
    friend_gets: rk.Money | None,
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.precedence = precedence
    _friend_referral(program)
    rewards = program.convert(referee="buyer", order_id="o", amount=usd("100"), code="ANNA10")
    by = {r.customer_id: r.amount for r in rewards}
    assert by.get("anna") == partner_gets
    assert by.get("friend") == friend_gets
    # The friend's referral stays the buyer's: a later order without a code earns for it.
    later = program.convert(referee="buyer", order_id="o2", amount=usd("100"))
    assert {r.customer_id for r in later} == {"friend"}


def test_the_default_precedence_is_both(program: rk.ReferralProgram) -> None:
    assert program.partners.precedence is Precedence.BOTH
    with pytest.raises(rk.InvalidInput) as caught:
        program.partners.precedence = "whoever"
    assert caught.value.field == "precedence"


def test_a_customer_the_partner_referred_earns_the_partner_once_under_partner_terms(
    program: rk.ReferralProgram,
) -> None:
    anna(program)
    code = program.partners.code("anna", vanity="ANNA10")
    referral = program.attribute(code=code.code, referee="fan")
    assert referral.referrer == "anna"
    [commission] = program.convert(referee="fan", order_id="o", amount=usd("70"), code="ANNA10")
    assert commission.amount == usd("7.00")  # the partner's 10%, not the program's $5
    assert len(partner_rewards(program)) == 1


def test_a_partners_terms_give_the_buyer_their_discount_and_the_landing_page_says_so(
    program: rk.ReferralProgram,
) -> None:
    terms = DoubleSided(
        referrer=PercentOfOrder("10%", kind="cash"),
        referee=PercentOfOrder("15%", kind="coupon"),
    )
    program.partners.add("anna", name="Anna", terms=terms)
    program.partners.code("anna", vanity="ANNA10")
    [offer] = program.landing("anna10").offers
    assert (offer.kind, offer.percent, offer.when) == (RewardKind.COUPON, Decimal(15), "order")
    rewards = program.convert(referee="fan", order_id="o1", amount=usd("60"), code="ANNA10")
    got = sorted((r.customer_id, r.kind.value, r.amount) for r in rewards)
    assert got == [("anna", "cash", usd("6.00")), ("fan", "coupon", usd("9.00"))]
    # A customer's code still offers the customer terms (here: nothing for the invitee).
    friend = program.enroll("cust-1")
    assert program.landing(friend.code).offers == ()


@pytest.mark.parametrize("signed_up_by", ["code", "link"])
def test_a_buyer_the_partner_referred_earns_them_commission_without_a_code_typed(
    store: rk.Store, clock: FrozenClock, signed_up_by: str
) -> None:
    program = make(store, clock, link_base="https://shop.example/r")
    anna(program)
    program.partners.post("anna", "ig-0312", channel="instagram")
    code = program.partners.code("anna", vanity="ANNA-IG-0312", post="ig-0312").code
    if signed_up_by == "link":
        program.attribute(link=program.link(code, channel="instagram"), referee="fan")
    else:
        program.attribute(code=code, referee="fan")
    [first] = program.convert(referee="fan", order_id="o1", amount=usd("70"))
    [second] = program.convert(referee="fan", order_id="o2", amount=usd("30"))
    # The partner's 10% in cash on each order, not the program's $5 credit.
    assert (first.amount, second.amount) == (usd("7.00"), usd("3.00"))
    assert {r.kind.value for r in (first, second)} == {"cash"}
    assert program.convert(referee="fan", order_id="o1", amount=usd("70")) == [first]
    referral = program.referral_of("fan")
    assert referral is not None
    assert referral.status.value == "qualified"
    line = program.partners.statement("anna").line("USD")
    assert line is not None
    assert (line.orders, line.revenue, line.commission) == (
        2,
        Decimal("100.00"),
        Decimal("10.00"),
    )
    assert len(partner_rewards(program)) == 2


@pytest.mark.parametrize("state", ["paused", "banned", "ended"])
def test_a_buyer_an_inactive_partner_referred_earns_nobody_anything(
    program: rk.ReferralProgram, state: str
) -> None:
    anna(program)
    code = program.partners.code("anna", vanity="ANNA10").code
    program.attribute(code=code, referee="fan")
    program.partners.set_state("anna", state)
    assert program.convert(referee="fan", order_id="o1", amount=usd("70")) == []
    assert program.conversion("o1") is not None  # the order itself is recorded
    assert partner_rewards(program) == []
    program.partners.set_state("anna", "approved")
    [later] = program.convert(referee="fan", order_id="o2", amount=usd("10"))
    assert later.amount == usd("1.00")


def test_a_buyer_a_partner_without_terms_referred_earns_the_customer_terms(
    program: rk.ReferralProgram,
) -> None:
    program.partners.add("ben", name="Ben")
    code = program.partners.code("ben", vanity="BEN1").code
    program.attribute(code=code, referee="fan")
    [reward] = program.convert(referee="fan", order_id="o1", amount=usd("70"))
    assert (reward.customer_id, reward.amount, reward.kind.value) == ("ben", usd("5"), "credit")


@given(
    orders=st.lists(
        st.tuples(st.integers(min_value=1, max_value=50_000), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=40, deadline=None)
def test_a_referred_buyers_orders_earn_the_partner_once_each_code_typed_or_not(
    orders: list[tuple[int, bool]],
) -> None:
    """Typing the partner's code on some orders never pays a referred buyer's order twice."""
    program = make(MemoryStore(), FrozenClock())
    anna(program)
    code = program.partners.code("anna", vanity="ANNA10").code
    program.attribute(code=code, referee="fan")
    for n, (cents, typed) in enumerate(orders):
        amount = rk.Money.from_minor(cents, "USD")
        program.convert(
            referee="fan", order_id=f"o{n}", amount=amount, code=code if typed else None
        )
    earned = partner_rewards(program)

    def commission(cents: int) -> rk.Money:
        return rk.Money(rk.Money.from_minor(cents, "USD").amount * Decimal("0.10"), "USD").round()

    paying = [f"o{n}" for n, (cents, _) in enumerate(orders) if not commission(cents).is_zero()]
    assert sorted(r.order_id or "" for r in earned) == sorted(paying)
    for reward in earned:
        conversion = program.conversion(reward.order_id or "")
        assert conversion is not None
        assert reward.amount == commission(conversion.amount.minor_units)


@pytest.mark.parametrize(
    ("code", "reason"),
    [("ZZZZ99", "unknown"), ("", "invalid"), ("!!", "invalid")],
)
def test_an_unknown_code_at_checkout_is_refused_naming_code(
    program: rk.ReferralProgram, code: str, reason: str
) -> None:
    anna(program)
    with pytest.raises(rk.PartnerCodeRefused) as caught:
        program.convert(referee="c", order_id="o", amount=usd("10"), code=code)
    assert (caught.value.field, caught.value.reason) == ("code", reason)
    assert program.conversion("o") is None


def test_an_order_in_a_currency_the_terms_do_not_pay_in_is_refused(
    program: rk.ReferralProgram,
) -> None:
    program.partners.add("aff", name="Aff", terms=Fixed(usd("4"), kind="cash"))
    program.partners.code("aff", vanity="AFF4")
    with pytest.raises(rk.CurrencyMismatch):
        program.convert(referee="c", order_id="o", amount=rk.Money("10", "EUR"), code="AFF4")
    assert program.conversion("o") is None
    [fee] = program.convert(referee="c", order_id="o", amount=usd("10"), code="AFF4")
    assert fee.amount == usd("4.00")


def test_a_customers_code_at_checkout_is_not_a_partners(program: rk.ReferralProgram) -> None:
    code = program.enroll("cust-1")
    with pytest.raises(rk.PartnerCodeRefused) as caught:
        program.convert(referee="c", order_id="o", amount=usd("10"), code=code.code)
    assert caught.value.reason == "not_partner"


def test_a_paused_or_unapproved_partners_code_is_refused(program: rk.ReferralProgram) -> None:
    anna(program, state="applied")
    program.partners.code("anna", vanity="ANNA10")
    with pytest.raises(rk.PartnerCodeRefused) as caught:
        program.convert(referee="c", order_id="o", amount=usd("10"), code="ANNA10")
    assert caught.value.reason == "not_approved"
    program.partners.set_state("anna", "paused")
    with pytest.raises(rk.PartnerCodeRefused) as caught:
        program.convert(referee="c", order_id="o", amount=usd("10"), code="ANNA10")
    assert caught.value.reason == "paused"
    program.partners.set_state("anna", "approved")
    assert program.convert(referee="c", order_id="o", amount=usd("10"), code="ANNA10")


def test_a_refund_reverses_the_partners_commission(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    _friend_referral(program)
    program.convert(referee="buyer", order_id="o", amount=usd("100"), code="ANNA10")
    program.refund(order_id="o", amount=usd("40"), refund_id="re-1")
    by = {r.customer_id: r for r in program.rewards("anna") + program.rewards("friend")}
    assert by["anna"].amount == usd("6.00")  # 10% of the 60 kept
    assert by["friend"].amount == usd("5.00")  # the friend's fixed reward on what is kept
    program.refund(order_id="o")
    [commission] = partner_rewards(program)
    assert commission.state is RewardState.REVERSED


def test_a_paid_commission_refunded_is_clawed_back(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    [commission] = program.convert(referee="c", order_id="o", amount=usd("100"), code="ANNA10")
    clock.advance(days=2)
    program.release_due()
    program.payout([commission.id], payout_id="po-1")
    program.refund(order_id="o")
    [after] = partner_rewards(program)
    assert after.state is RewardState.PAID
    assert after.clawback == usd("10.00")
    line = program.partners.statement("anna").line("USD")
    assert line is not None
    assert (line.paid, line.clawed_back, line.owed, line.payable) == (
        Decimal("10.00"),
        Decimal("10.00"),
        Decimal("10.00"),
        Decimal("0.00"),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    orders=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=100_000),
            st.integers(min_value=0, max_value=100),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_commission_never_exceeds_the_terms_on_the_net_orders(
    orders: list[tuple[int, int]],
) -> None:
    """Whatever is refunded, each commission is at most 10% of what its order kept."""
    program = make(MemoryStore(), FrozenClock())
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    for n, (cents, percent) in enumerate(orders):
        amount = rk.Money.from_minor(cents, "USD")
        program.convert(referee=f"c{n}", order_id=f"o{n}", amount=amount, code="ANNA10")
        refund = rk.Money.from_minor(cents * percent // 100, "USD")
        program.refund(order_id=f"o{n}", amount=refund)
    for reward in partner_rewards(program):
        assert reward.order_id is not None
        conversion = program.conversion(reward.order_id)
        assert conversion is not None
        cap = rk.Money(conversion.net.amount * Decimal("0.10"), "USD").round().amount
        assert reward.state is RewardState.REVERSED or reward.amount is not None
        if reward.state is not RewardState.REVERSED and reward.amount is not None:
            assert reward.amount.amount <= cap


# -- posts and engagement ----------------------------------------------------------------


def test_a_posts_fee_is_owed_to_the_partner_once(program: rk.ReferralProgram) -> None:
    anna(program)
    post = program.partners.post("anna", "ig-0312", channel="instagram", cost=usd("150"))
    assert program.partners.post("anna", "ig-0312", channel="instagram", cost=usd("150")) == post
    [fee] = partner_rewards(program)
    assert (fee.id, fee.amount, fee.order_id) == (post.reward_id, usd("150.00"), None)
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.partners.post("anna", "ig-0312", channel="instagram", cost=usd("200"))
    assert caught.value.field == "cost"
    with pytest.raises(rk.InvalidInput) as bad:
        program.partners.post("anna", "tt-1", cost=usd("-1"))
    assert bad.value.field == "cost"
    with pytest.raises(rk.InvalidInput) as bad:
        program.partners.post("anna", "tt-1", cost=150.0)  # type: ignore[arg-type]
    assert bad.value.field == "cost"


def test_a_posts_fee_is_paid_through_the_payout_path(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    anna(program)
    post = program.partners.post("anna", "ig-1", cost=usd("150"))
    clock.advance(days=2)
    program.release_due()
    assert [r.id for r in program.payable()] == [post.reward_id]
    [paid] = program.payout([post.reward_id or ""], payout_id="po-1")
    assert paid.state is RewardState.PAID


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(calls=st.lists(st.sampled_from(["p1", "p2", "p3"]), min_size=1, max_size=10))
def test_fees_are_idempotent(calls: list[str]) -> None:
    """However often each post is recorded, each fee is granted once."""
    program = make(MemoryStore(), FrozenClock())
    anna(program)
    for post in calls:
        program.partners.post("anna", post, cost=usd("25"))
    fees = partner_rewards(program)
    assert len(fees) == len(set(calls))
    line = program.partners.statement("anna").line("USD")
    assert line is not None
    assert line.fees == Decimal(25 * len(set(calls)))


def test_engagement_is_idempotent_on_post_and_as_of_and_reads_the_latest(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    anna(program)
    program.partners.post("anna", "ig-1")
    t1 = clock()
    first = program.partners.engagement("ig-1", as_of=t1, impressions=1_000, engagements=50)
    assert program.partners.engagement("ig-1", as_of=t1, impressions=1_000, engagements=50) == (
        first
    )
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.partners.engagement("ig-1", as_of=t1, impressions=2_000, engagements=50)
    assert caught.value.field == "impressions"
    clock.advance(days=1)
    program.partners.engagement("ig-1", as_of=clock(), impressions=4_000, engagements=90)
    # A late report of an earlier moment does not replace the latest figures.
    program.partners.engagement("ig-1", as_of=t1 + timedelta(hours=1), impressions=1_500)
    latest = program.partners.latest_engagement("ig-1")
    assert latest is not None
    assert (latest.impressions, latest.engagements) == (4_000, 90)
    with pytest.raises(rk.InvalidInput) as bad:
        program.partners.engagement("ig-1", as_of=clock(), impressions=-1)
    assert bad.value.field == "impressions"
    with pytest.raises(rk.InvalidInput) as bad:
        program.partners.engagement("ig-1", as_of=clock() + DAY)
    assert bad.value.field == "as_of"
    with pytest.raises(rk.UnknownPartner):
        program.partners.engagement("nope", as_of=clock())


# -- statements --------------------------------------------------------------------------


def test_a_statement_adds_up_orders_commission_fees_and_balances(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    start = clock()
    program.partners.post("anna", "ig-1", cost=usd("150"))
    program.convert(referee="a", order_id="o1", amount=usd("100"), code="ANNA10")
    program.convert(referee="b", order_id="o2", amount=usd("50"), code="ANNA10")
    program.refund(order_id="o2", amount=usd("20"))
    clock.advance(days=2)
    program.release_due()
    program.convert(referee="c", order_id="o3", amount=usd("30"), code="ANNA10")
    statement = program.partners.statement("anna", since=start, until=clock() + DAY)
    line = statement.line("USD")
    assert line is not None
    assert line.orders == 3
    assert line.revenue == Decimal("160.00")
    assert line.commission == Decimal("18.00")
    assert line.fees == Decimal("150.00")
    assert line.reversed == Decimal("2.00")
    assert line.held == Decimal("3.00")
    assert line.available == Decimal("163.00")
    assert line.payable == Decimal("163.00")
    # Outside the window: nothing.
    assert program.partners.statement("anna", until=start).lines == ()
    rows = list(csv.DictReader(io.StringIO(statement.to_csv())))
    assert rows[0]["payable"] == "163.00"
    assert statement.to_dict()["lines"][0]["fees"] == "150.00"
    with pytest.raises(rk.InvalidInput) as bad:
        program.partners.statement("anna", since=clock(), until=start)
    assert bad.value.field == "until"


def _statement_lines(store: rk.Store) -> tuple[Any, ...]:
    """The statement lines of one script of orders, a refund, a fee, a payout, a clawback."""
    c = FrozenClock()
    program = make(store, c)
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.post("anna", "ig-1", cost=usd("150"))
    for n in range(5):
        program.convert(referee=f"c{n}", order_id=f"o{n}", amount=usd(str(10 + n)), code="ANNA10")
    program.refund(order_id="o1")
    c.advance(days=2)
    program.release_due()
    fee = program.partners.get_post("ig-1").reward_id
    on_o0 = [r.id for r in partner_rewards(program) if r.order_id == "o0"]
    program.payout([fee or "", *on_o0], payout_id="po")
    program.refund(order_id="o0")
    lines = program.partners.statement("anna").lines
    store.close()
    return lines


def test_the_statement_is_the_same_on_memory_and_sqlite(tmp_path: Path) -> None:
    lines = [_statement_lines(MemoryStore()), _statement_lines(SQLiteStore(tmp_path / "s.db"))]
    assert lines[0] == lines[1]
    [line] = lines[0]
    assert (line.paid, line.available, line.clawed_back) == (
        Decimal("151.00"),
        Decimal("3.90"),
        Decimal("1.00"),
    )


def test_the_partners_survive_reopening_the_sqlite_file(tmp_path: Path) -> None:
    clock = FrozenClock()
    program = make(SQLiteStore(tmp_path / "p.db"), clock)
    first = anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.post("anna", "ig-1", cost=usd("150"))
    again = make(SQLiteStore(tmp_path / "p.db"), clock)
    assert again.partners.get("anna") == first
    [commission] = again.convert(referee="c", order_id="o", amount=usd("10"), code="ANNA10")
    assert commission.amount == usd("1.00")
    assert again.partners.get_post("ig-1").cost == usd("150.00")


# -- SQLAlchemyStore -----------------------------------------------------------------------


def test_the_sqlalchemy_store_adds_up_the_statement_as_sqlite_does(tmp_path: Path) -> None:
    from referralkit.storage import SQLAlchemyStore

    url = f"sqlite:///{tmp_path / 'sa.db'}"
    on_sqlalchemy = _statement_lines(SQLAlchemyStore(url, migrate=True))
    assert on_sqlalchemy == _statement_lines(SQLiteStore(tmp_path / "s.db"))
    assert [line.orders for line in on_sqlalchemy] == [5]


def test_the_partners_survive_reopening_a_sqlalchemy_database(tmp_path: Path) -> None:
    from referralkit.storage import SQLAlchemyStore

    url = f"sqlite:///{tmp_path / 'sa.db'}"
    clock = FrozenClock()
    first_store = SQLAlchemyStore(url, migrate=True)
    program = make(first_store, clock)
    first = anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.post("anna", "ig-1", cost=usd("150"))
    first_store.close()
    again = make(SQLAlchemyStore(url), clock)
    assert again.partners.get("anna") == first
    [commission] = again.convert(referee="c", order_id="o", amount=usd("10"), code="ANNA10")
    assert commission.amount == usd("1.00")
    assert again.partners.get_post("ig-1").cost == usd("150.00")


def test_a_partners_account_is_no_attribution_in_the_metrics(
    program: rk.ReferralProgram,
) -> None:
    """Registering a partner writes a record their rewards hang off; no metric counts it."""
    anna(program)
    program.partners.code("anna", vanity="ANNA10")
    program.convert(referee="c", order_id="o", amount=usd("50"), code="ANNA10")
    report = program.metrics()
    assert (report.attributions, report.rejected, report.fraud_rate) == (0, 0, None)
    assert not report.fraud_reasons
    status = program.status("anna")
    assert (status.rejected, status.invites, status.held) == (0, 0, {"USD": usd("5.00")})
    assert program.referees("anna") == []


def test_every_built_in_partner_store_has_every_repository_method(store: rk.Store) -> None:
    from referralkit.program import PARTNERS

    with store.transaction() as uow:
        assert PARTNERS.missing(uow) == ()
