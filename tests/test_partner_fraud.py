"""Partner fraud signals on every store: own code, leaked code, bans, the review queue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from _partner_review_stores import partner_review_store  # noqa: F401 - the `store` fixture
from referralkit.guards import LeakedCode, OwnCode
from referralkit.model import RewardState
from referralkit.moments import UntilDelivered
from referralkit.policies import PercentOfOrder
from referralkit.program import PartnerRepository
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock
from strategies import checkout_histories, distinct_people

SECRET = b"partner fraud programme secret, 32 bytes+"
DAY = timedelta(days=1)
TEN_PERCENT = PercentOfOrder(Decimal("0.10"), kind="cash")
ANNA = rk.Identity(email="anna.baker@gmail.com", device_id="dev-anna")


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make(store: rk.Store, clock: FrozenClock, **kwargs: Any) -> rk.ReferralProgram:
    options: dict[str, Any] = {
        "secret": SECRET,
        "policy": TEN_PERCENT,
        "hold": DAY,
        "clock": clock,
        "link_base": "https://shop.example/r",
    }
    options.update(kwargs)
    program = rk.ReferralProgram(store=store, **options)
    program.partners.add("anna", name="Anna", terms=TEN_PERCENT, identity=ANNA)
    program.partners.code("anna", vanity="ANNA10")
    return program


@pytest.fixture
def program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return make(store, clock)


def buy(program: rk.ReferralProgram, order_id: str, buyer: str, **kwargs: Any) -> list[rk.Reward]:
    return program.convert(
        referee=buyer, order_id=order_id, amount=usd("100"), code="ANNA10", **kwargs
    )


def commission(program: rk.ReferralProgram, order_id: str) -> rk.Reward:
    (reward,) = [r for r in program.rewards_for_order(order_id) if r.customer_id == "anna"]
    return reward


def queue(program: rk.ReferralProgram, **kwargs: Any) -> list[tuple[str | None, tuple[str, ...]]]:
    return [(r.order_id, r.reasons) for r in program.partners.review_queue(**kwargs)]


def events(program: rk.ReferralProgram, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in program.pending_events(limit=1000) if e.type == kind]


# -- own code ----------------------------------------------------------------------------


def test_a_partner_buying_with_an_alias_of_their_email_waits_for_review(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    """The order stands; the commission is held with no release date, never released."""
    (reward,) = buy(program, "o-1", "cust-1", identity=rk.Identity(email="annabaker+x@gmail.com"))
    assert program.conversion("o-1") is not None
    assert (reward.state, reward.hold_until) == (RewardState.HELD, None)
    assert queue(program) == [("o-1", ("partner.own_code",))]
    assert events(program, "partner.order_review") == [
        {"partner_id": "anna", "order_id": "o-1", "reasons": ["partner.own_code"]}
    ]
    clock.advance(days=30)
    assert program.release_due() == []
    assert program.payable() == []
    assert commission(program, "o-1").state is RewardState.HELD


def test_a_buyer_known_by_stored_signals_or_by_the_partners_id_is_the_partner(
    program: rk.ReferralProgram,
) -> None:
    """Without an identity the buyer's stored signals are read; the same id is enough."""
    program.enroll("cust-2", identity=rk.Identity(device_id="dev-anna"))
    buy(program, "o-2", "cust-2")
    buy(program, "o-3", "anna")
    buy(program, "o-4", "cust-4", identity=rk.Identity(email="someone.else@gmail.com"))
    assert queue(program) == [("o-2", ("partner.own_code",)), ("o-3", ("partner.own_code",))]
    assert commission(program, "o-4").hold_until is not None


def test_a_shared_network_alone_is_not_the_partner(store: rk.Store, clock: FrozenClock) -> None:
    """Only the kinds `OwnCode` names count; a partner registered with an IP is matched on it
    only when asked to."""
    program = make(store, clock)
    cafe = rk.Identity(ip="203.0.113.7")
    program.partners.add("ben", name="Ben", terms=TEN_PERCENT, identity=cafe)
    program.partners.code("ben", vanity="BEN10")
    program.convert(referee="c-1", order_id="o-1", amount=usd("50"), code="BEN10", identity=cafe)
    assert queue(program) == []
    program.partners.configure(own_code=OwnCode(kinds=("ip",)))
    program.convert(referee="c-2", order_id="o-2", amount=usd("50"), code="BEN10", identity=cafe)
    assert queue(program) == [("o-2", ("partner.own_code",))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=distinct_people())
def test_own_code_never_flags_a_buyer_who_shares_no_signal(
    people: tuple[dict[str, str], dict[str, str]],
) -> None:
    """Whatever fields each carries, distinct people are never the partner; the same one is."""
    partner, buyer = people
    program = rk.ReferralProgram(
        store=MemoryStore(), secret=SECRET, policy=TEN_PERCENT, hold=DAY, clock=FrozenClock()
    )
    program.partners.add("p", name="P", terms=TEN_PERCENT, identity=rk.Identity(**partner))
    program.partners.code("p", vanity="PCODE")
    program.convert(
        referee="b", order_id="o-1", amount=usd("10"), code="PCODE", identity=rk.Identity(**buyer)
    )
    program.convert(
        referee="c", order_id="o-2", amount=usd("10"), code="PCODE", identity=rk.Identity(**partner)
    )
    expected = [("o-2", ("partner.own_code",))] if partner else []
    assert queue(program) == expected


# -- leaked code -------------------------------------------------------------------------


def test_a_burst_without_clicks_is_flagged_from_the_order_past_the_limit(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    """Limit 2 an hour: orders 3 and 4 wait; a buyer who clicked does not; the next hour is new."""
    program.partners.configure(leaked_code=LeakedCode(limit=2, window=timedelta(hours=1)))
    program.track_click(program.link("ANNA10"), visitor="v-fan", channel=None, campaign=None)
    for i in range(1, 5):
        buy(program, f"o-{i}", f"cust-{i}")
        clock.advance(minutes=1)
    buy(program, "o-fan", "cust-fan", visitor="v-fan")
    clock.advance(hours=1)
    buy(program, "o-later", "cust-9")
    assert queue(program, reason="partner.leaked_code") == [
        ("o-3", ("partner.leaked_code",)),
        ("o-4", ("partner.leaked_code",)),
    ]
    assert program.partners.explain(program.partners.review_queue()[0]) == [
        rk.guards.REASON_CODES["partner.leaked_code"]
    ]


def test_a_replayed_order_is_checked_once(program: rk.ReferralProgram) -> None:
    """A retried checkout returns the same rewards and opens no second review."""
    program.partners.configure(leaked_code=LeakedCode(limit=0))
    first = buy(program, "o-1", "cust-1")
    assert buy(program, "o-1", "cust-1") == first
    assert queue(program) == [("o-1", ("partner.leaked_code",))]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=checkout_histories(), on_sqlite=st.booleans())
def test_the_leaked_code_rule_flags_exactly_the_orders_past_the_limit_in_any_window(
    history: tuple[list[tuple[int, bool]], int, int], *, on_sqlite: bool
) -> None:
    """The program flags an order iff it has no click and the window ending at it holds more
    than ``limit`` such orders; never an order whose buyer clicked."""
    orders, limit, window = history
    clock = FrozenClock()
    program = rk.ReferralProgram(
        store=SQLiteStore(":memory:") if on_sqlite else MemoryStore(),
        secret=SECRET,
        policy=TEN_PERCENT,
        hold=DAY,
        clock=clock,
    )
    rule = LeakedCode(limit=limit, window=timedelta(minutes=window))
    program.partners.add("p", name="P", terms=TEN_PERCENT)
    program.partners.code("p", vanity="PCODE")
    program.partners.configure(own_code=None, leaked_code=rule)
    times: list[tuple[datetime, bool]] = []
    for i, (gap, clicked) in enumerate(orders):
        clock.advance(minutes=gap)
        if clicked:
            program.track_click("PCODE", visitor=f"b-{i}", channel=None, campaign=None)
        program.convert(referee=f"b-{i}", order_id=f"o-{i}", amount=usd("10"), code="PCODE")
        times.append((clock.now, clicked))
    flagged = {r.order_id for r in program.partners.review_queue(limit=100)}
    expected: set[str] = set()
    for i, (at, clicked) in enumerate(times):
        inside = [t for t, c in times[: i + 1] if not c and at - rule.window < t <= at]
        if not clicked and len(inside) > limit:
            expected.add(f"o-{i}")
    assert flagged == expected
    assert rule.flags(times) == [f"o-{i}" in expected for i in range(len(times))]
    assert not any(times[int(o.removeprefix("o-"))][1] for o in flagged)


# -- decisions ---------------------------------------------------------------------------


def test_approval_lets_the_commission_earn_as_it_would_have(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    """Approved inside its hold: held until the hold from the order ends; after it: available."""
    buy(program, "o-1", "anna")
    buy(program, "o-2", "anna")
    granted_at = clock.now
    clock.advance(hours=2)
    (early,) = program.partners.approve_order("o-1")
    assert (early.state, early.hold_until) == (RewardState.HELD, granted_at + DAY)
    clock.advance(days=2)
    (late,) = program.partners.approve_order("o-2")
    assert late.state is RewardState.AVAILABLE
    assert [r.order_id for r in program.release_due()] == ["o-1"]
    assert {r.order_id for r in program.payable()} == {"o-1", "o-2"}
    assert [e["order_id"] for e in events(program, "partner.review_approved")] == ["o-1", "o-2"]
    assert queue(program) == []


def test_rejection_reverses_the_commission_and_decides_once(program: rk.ReferralProgram) -> None:
    """A rejected commission is reversed with its ledger entries; a second decision is refused."""
    buy(program, "o-1", "anna")
    (review,) = program.partners.review_queue()
    reward = program.partners.reject(review.id, "coupon_site")
    assert reward is not None
    assert reward.state is RewardState.REVERSED
    assert dict(program.status("anna").held) == {}
    assert events(program, "partner.review_rejected")[0]["note"] == "coupon_site"
    with pytest.raises(rk.InvalidState):
        program.partners.approve(review.id)
    with pytest.raises(rk.InvalidState):
        program.partners.approve_order("o-1")
    with pytest.raises(rk.UnknownPartner):
        program.partners.approve("no-such-review")


def test_a_refund_while_in_review_reverses_and_the_decision_finds_it_reversed(
    program: rk.ReferralProgram,
) -> None:
    """A refund takes the commission back as usual; approving later changes nothing."""
    buy(program, "o-1", "anna")
    program.refund(order_id="o-1")
    (after,) = program.partners.approve_order("o-1")
    assert after.state is RewardState.REVERSED


def test_a_delivery_does_not_release_a_commission_in_review(
    store: rk.Store, clock: FrozenClock
) -> None:
    """Under a hold until delivery, a reviewed commission waits; approved, it is scheduled."""
    program = make(store, clock, hold=UntilDelivered(return_window=timedelta(days=7)))
    buy(program, "o-1", "anna")
    program.delivered("o-1")
    assert commission(program, "o-1").hold_until is None
    (approved,) = program.partners.approve_order("o-1")
    assert approved.hold_until == clock.now + timedelta(days=7)


# -- banned partners ---------------------------------------------------------------------


def test_banning_sends_every_unpaid_reward_to_review_and_leaves_paid_ones(
    store: rk.Store, clock: FrozenClock
) -> None:
    """Held and available commissions and fees go to review in the ban's unit of work."""
    program = make(store, clock)
    for i in range(3):
        buy(program, f"o-{i}", f"cust-{i}")
    program.partners.post("anna", "ig-1", cost=usd("150"))
    clock.advance(days=2)
    program.release_due()
    paid = program.payout([commission(program, "o-0").id], payout_id="po-1")
    buy(program, "o-3", "cust-3")
    program.partners.set_state("anna", "banned")
    assert sorted(queue(program), key=str) == sorted(
        [(o, ("partner.banned",)) for o in ("o-1", "o-2", "o-3", None)], key=str
    )
    assert commission(program, "o-0").state is RewardState.PAID == paid[0].state
    status = program.status("anna")
    assert (dict(status.available), dict(status.held)) == ({}, {"USD": usd("180")})
    assert program.payable() == []
    assert len(events(program, "reward.review")) == 4
    fee = next(r for r in program.partners.review_queue() if r.order_id is None)
    assert program.partners.approve(fee.id) is not None
    assert [r.amount for r in program.payable()] == [usd("150")]
    assert [r.state for r in program.partners.reject_order("o-3")] == [RewardState.REVERSED]


def test_rules_are_configured_and_refused_when_wrong(program: rk.ReferralProgram) -> None:
    """None turns a rule off; an argument left out keeps it; anything else is a ConfigError."""
    program.partners.configure(own_code=None)
    assert program.partners.rules.own_code is None
    assert program.partners.rules.leaked_code == LeakedCode()
    buy(program, "o-1", "anna")
    assert queue(program) == []
    with pytest.raises(rk.ConfigError) as err:
        program.partners.configure(leaked_code="often")  # type: ignore[arg-type]
    assert err.value.path == "leaked_code"
    with pytest.raises(rk.ConfigError):
        LeakedCode(limit=-1)
    with pytest.raises(rk.ConfigError):
        LeakedCode(window=timedelta(0))


def test_an_available_commission_leaves_the_available_bucket_for_review(
    store: rk.Store, clock: FrozenClock
) -> None:
    """With no hold a commission is available at once: review moves it to held; rejection out."""
    program = make(store, clock, hold=timedelta(0))
    program.partners.configure(leaked_code=LeakedCode(limit=0))
    (held,) = buy(program, "o-1", "cust-1")
    assert (held.state, held.hold_until) == (RewardState.HELD, None)
    status = program.status("anna")
    assert (dict(status.held), dict(status.available)) == ({"USD": usd("10")}, {})
    program.partners.reject_order("o-1")
    status = program.status("anna")
    assert (dict(status.held), dict(status.available)) == ({}, {})
    buy(program, "o-2", "cust-2")
    (approved,) = program.partners.approve_order("o-2")
    assert approved.state is RewardState.AVAILABLE
    assert dict(program.status("anna").available) == {"USD": usd("10")}


def test_a_partners_identity_is_stored_only_as_keyed_hashes(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """The SQLite file and the events hold no email, device id or card of the partner's."""
    path = tmp_path / "partners.db"
    store = SQLiteStore(path)
    program = make(store, clock)
    buy(program, "o-1", "cust-1", identity=rk.Identity(email="annabaker+x@gmail.com"))
    assert queue(program) == [("o-1", ("partner.own_code",))]
    text = str(program.pending_events(limit=1000))
    store.close()
    data = path.read_bytes()
    for secret in (b"anna.baker", b"annabaker", b"dev-anna", b"gmail"):
        assert secret not in data
        assert secret.decode() not in text


def test_a_bad_identity_or_visitor_at_checkout_is_refused_before_any_write(
    program: rk.ReferralProgram,
) -> None:
    """The buyer's identity and visitor id are checked first: no order is recorded."""
    with pytest.raises(rk.InvalidIdentity):
        buy(program, "o-1", "cust-1", identity=rk.Identity(email="not an email"))
    with pytest.raises(rk.InvalidInput) as err:
        buy(program, "o-1", "cust-1", visitor="")
    assert err.value.field == "visitor"
    assert program.conversion("o-1") is None


def test_a_fee_recorded_for_a_banned_partner_waits_for_review(program: rk.ReferralProgram) -> None:
    """A post fee owed to a partner banned already is held for review like their other rewards."""
    program.partners.set_state("anna", "banned")
    post = program.partners.post("anna", "ig-9", cost=usd("80"))
    assert queue(program) == [(None, ("partner.banned",))]
    (review,) = program.partners.review_queue()
    assert review.reward_id == post.reward_id
    assert program.payable() == []


class _PartnersOnly:
    """A partner repository with only `PartnerRepository`'s methods (no reviews)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name not in dir(PartnerRepository):
            raise AttributeError(name)
        return getattr(self._inner, name)


class _NoReviewsStore(MemoryStore):
    """A memory store whose partner repository lacks `PartnerReviewRepository`."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as uow:
            uow.partners = _PartnersOnly(uow.partners)
            yield uow


def test_a_store_without_partner_reviews_runs_partners_without_the_rules(
    clock: FrozenClock,
) -> None:
    """Checkout earns as before; keeping an identity or reading the queue names what lacks."""
    program = rk.ReferralProgram(
        store=_NoReviewsStore(), secret=SECRET, policy=TEN_PERCENT, hold=DAY, clock=clock
    )
    program.partners.add("anna", name="Anna", terms=TEN_PERCENT)
    program.partners.code("anna", vanity="ANNA10")
    program.partners.configure(leaked_code=LeakedCode(limit=0))
    (reward,) = buy(program, "o-1", "anna")
    assert reward.hold_until is not None
    program.partners.set_state("anna", "banned")
    with pytest.raises(rk.ConfigError, match="partner fraud signals and reviews"):
        program.partners.review_queue()
    with pytest.raises(rk.ConfigError, match="add_signals"):
        program.partners.add("ben", name="Ben", terms=TEN_PERCENT, identity=ANNA)
