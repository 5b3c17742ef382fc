"""The program's lifecycle on every store: enrol, attribute, convert, refund, release, pay."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

import referralkit as rk
from referralkit.model import ReferralStatus, RewardState
from referralkit.policies import DoubleSided, Fixed, PercentOfOrder
from referralkit.program._ledger import with_state as _with_state
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"0123456789abcdef0123456789abcdef"
USD = "USD"


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, USD)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))),
        guards=[],
        link_base="https://shop.example/r",
        hold=timedelta(days=14),
        clock=clock,
    )


def test_enroll_is_idempotent_per_customer_and_campaign(program: rk.ReferralProgram) -> None:
    first = program.enroll("ann")
    assert program.enroll("ann") == first
    assert rk.normalize_code(first.code) == first.code
    other = program.enroll("ann", campaign="spring")
    assert other.code != first.code
    assert program.enroll("bob").code != first.code


def test_vanity_code_is_stored_as_given_and_cannot_be_taken_twice(
    program: rk.ReferralProgram,
) -> None:
    code = program.enroll("anna", vanity="anna10")
    assert code.code == "ANNA10"
    assert code.kind is rk.CodeKind.VANITY
    with pytest.raises(rk.InvalidCode) as err:
        program.enroll("mallory", vanity="ANNA10")
    assert err.value.reason == "taken"
    ref = program.attribute(code="anna10", referee="bob")
    assert ref.referrer == "anna"


def test_attribute_by_typed_code_forgives_case_and_dashes(program: rk.ReferralProgram) -> None:
    code = program.enroll("ann").code
    sloppy = "-".join([code[:4], code[4:]]).lower()
    ref = program.attribute(code=sloppy, referee="bob")
    assert ref.status is ReferralStatus.PENDING
    assert (ref.referrer, ref.referee, ref.code) == ("ann", "bob", code)


def test_attribute_by_signed_link_carries_channel_and_campaign(
    program: rk.ReferralProgram,
) -> None:
    code = program.enroll("ann").code
    url = program.link(code, channel="whatsapp", campaign="spring")
    ref = program.attribute(link=url, referee="bob")
    assert ref.channel == "whatsapp"
    assert ref.campaign == "spring"
    assert ref.referrer == "ann"


def test_tampered_link_is_refused_and_nothing_is_recorded(program: rk.ReferralProgram) -> None:
    code = program.enroll("ann").code
    url = program.link(code, channel="email")
    with pytest.raises(rk.InvalidLink):
        program.attribute(link=url.replace("ch=email", "ch=sms"), referee="bob")
    assert program.status("ann").invites == 0


def test_unknown_invalid_and_expired_codes_raise(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    with pytest.raises(rk.InvalidCode):
        program.attribute(code="!!", referee="bob")
    with pytest.raises(rk.UnknownCode):
        program.attribute(code=rk.generate_code(), referee="bob")
    code = program.enroll("ann", expires_at=clock.now + timedelta(days=1)).code
    clock.advance(days=2)
    with pytest.raises(rk.CodeExpired):
        program.attribute(code=code, referee="bob")


def test_code_with_max_uses_refuses_the_next_use(program: rk.ReferralProgram) -> None:
    code = program.enroll("ann", max_uses=1).code
    program.attribute(code=code, referee="bob")
    with pytest.raises(rk.CodeExpired):
        program.attribute(code=code, referee="cat")


def test_self_referral_by_customer_id_is_always_rejected(program: rk.ReferralProgram) -> None:
    code = program.enroll("ann").code
    ref = program.attribute(code=code, referee="ann")
    assert ref.status is ReferralStatus.REJECTED
    assert ref.reasons == ("self_referral.customer_id",)


def test_first_valid_attribution_wins_later_ones_are_rejected(
    program: rk.ReferralProgram,
) -> None:
    ann, cat = program.enroll("ann").code, program.enroll("cat").code
    first = program.attribute(code=ann, referee="bob")
    assert program.attribute(code=ann, referee="bob") == first
    later = program.attribute(code=cat, referee="bob")
    assert later.status is ReferralStatus.REJECTED
    assert later.reasons == ("duplicate_referee.already_referred",)
    assert later.referrer == "cat"
    assert program.status("cat").rejected == 1


def test_convert_grants_double_sided_rewards_held_then_released(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    rewards = program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    by_side = {r.beneficiary.value: r for r in rewards}
    assert by_side["referrer"].customer_id == "ann"
    assert by_side["referrer"].amount == usd("10")
    assert by_side["referee"].customer_id == "bob"
    assert by_side["referee"].amount == usd("5")
    assert all(r.state is RewardState.HELD for r in rewards)
    assert all(r.policy and r.explanation for r in rewards)
    assert program.release_due() == []
    clock.advance(days=14)
    released = program.release_due()
    assert {r.id for r in released} == {r.id for r in rewards}
    status = program.status("ann")
    assert status.available == {USD: usd("10")}
    assert status.held == {}
    assert status.qualified == 1


def test_generated_ids_are_version_4_uuids_in_hex(program: rk.ReferralProgram) -> None:
    ref = program.attribute(code=program.enroll("ann").code, referee="bob")
    rewards = program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    ids = [ref.id, *(r.id for r in rewards)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_a_state_change_keeps_every_other_field_of_the_reward() -> None:
    """The program's state change is ``attrs.evolve(reward, state=...)``, field for field."""
    t0 = FrozenClock()()
    reward = rk.Reward(
        id="w-1",
        key="o-1:referrer:fixed",
        referral_id="r-1",
        beneficiary=rk.Beneficiary.REFERRER,
        customer_id="ann",
        kind=rk.RewardKind.COUPON,
        amount=usd("7"),
        granted=usd("10"),
        points=3,
        state=RewardState.HELD,
        order_id="o-1",
        policy="fixed",
        explanation="why",
        created_at=t0,
        hold_until=t0 + timedelta(days=14),
        perk="vip",
        coupon_code="ABCD-EFGH-JKMN",
        proportional=True,
        clawback=usd("1"),
        granted_points=5,
        clawback_points=2,
    )
    for state in RewardState:
        assert _with_state(reward, state) == attrs.evolve(reward, state=state)


def test_convert_is_idempotent_on_order_id(program: rk.ReferralProgram) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    first = program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    again = program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    assert again == first
    assert program.status("ann").held == {USD: usd("10")}


def test_order_id_reused_for_another_customer_is_refused(program: rk.ReferralProgram) -> None:
    program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    with pytest.raises(rk.InvalidInput):
        program.convert(referee="cat", order_id="o-1", amount=usd("80"))


def test_orders_of_unreferred_customers_earn_nothing(program: rk.ReferralProgram) -> None:
    assert program.convert(referee="zed", order_id="o-1", amount=usd("80")) == []


def test_full_refund_reverses_held_rewards(program: rk.ReferralProgram) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    changed = program.refund(order_id="o-1")
    assert {r.state for r in changed} == {RewardState.REVERSED}
    assert program.status("ann").held == {}
    assert program.refund(order_id="o-1") == []


def test_partial_refund_keeps_fixed_rewards(program: rk.ReferralProgram) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    assert program.refund(order_id="o-1", amount=usd("30")) == []
    with pytest.raises(rk.InvalidInput):
        program.refund(order_id="o-1", amount=usd("60"))
    changed = program.refund(order_id="o-1", amount=usd("50"))
    assert len(changed) == 2


def test_refund_of_paid_reward_records_a_clawback(
    program: rk.ReferralProgram, clock: FrozenClock
) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    rewards = program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    clock.advance(days=15)
    program.release_due()
    referrer_reward = next(r for r in rewards if r.customer_id == "ann")
    paid = program.mark_paid(referrer_reward.id)
    assert paid.state is RewardState.PAID
    assert program.mark_paid(referrer_reward.id) == paid
    program.refund(order_id="o-1")
    status = program.status("ann")
    assert status.paid == {USD: usd("10")}
    assert status.clawbacks == {USD: usd("10")}


def test_mark_paid_refuses_a_held_reward(program: rk.ReferralProgram) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    reward = program.convert(referee="bob", order_id="o-1", amount=usd("80"))[0]
    with pytest.raises(rk.InvalidState):
        program.mark_paid(reward.id)


def test_refund_errors_are_specific(program: rk.ReferralProgram) -> None:
    with pytest.raises(rk.UnknownOrder):
        program.refund(order_id="nope")
    program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    with pytest.raises(rk.CurrencyMismatch):
        program.refund(order_id="o-1", amount=rk.Money("1", "EUR"))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"referee": "", "order_id": "o", "amount": rk.Money("1", "USD")}, rk.InvalidInput),
        ({"referee": "b", "order_id": "x" * 201, "amount": rk.Money("1", "USD")}, rk.InvalidInput),
        ({"referee": "b", "order_id": "o\x00", "amount": rk.Money("1", "USD")}, rk.InvalidInput),
        ({"referee": "b", "order_id": "o", "amount": 10}, rk.InvalidInput),
        ({"referee": "b", "order_id": "o", "amount": rk.Money("1.001", "USD")}, rk.InvalidInput),
        ({"referee": "b", "order_id": "o", "amount": rk.Money("-1", "USD")}, rk.InvalidInput),
    ],
)
def test_bad_convert_input_raises_and_writes_nothing(
    program: rk.ReferralProgram, kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        program.convert(**kwargs)  # type: ignore[arg-type]
    assert program.pending_events() == []


def test_events_are_written_with_the_state_and_drained_by_ack(
    program: rk.ReferralProgram,
) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    events = program.pending_events()
    types = [e.type for e in events]
    assert types[:4] == [
        "code.enrolled",
        "referral.pending",
        "conversion.recorded",
        "referral.qualified",
    ]
    assert types.count("reward.granted") == 2
    assert program.ack([e.id for e in events]) == len(events)
    assert program.pending_events() == []


def test_a_failing_policy_leaves_nothing_behind(store: rk.Store, clock: FrozenClock) -> None:
    class Broken:
        name = "broken"

        def evaluate(self, context: object) -> list[object]:
            raise RuntimeError("policy bug")

    program = rk.ReferralProgram(
        store=store, secret=SECRET, policy=Broken(), policy_version="broken-v1", clock=clock
    )
    program.attribute(code=program.enroll("ann").code, referee="bob")
    before = program.pending_events(1000)
    with pytest.raises(RuntimeError):
        program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    assert program.pending_events(1000) == before
    assert program.status("ann").pending == 1
    with pytest.raises(rk.UnknownOrder):
        program.refund(order_id="o-1")


def test_review_holds_rewards_until_approved_then_grants_once(
    store: rk.Store, clock: FrozenClock
) -> None:
    class AlwaysReview:
        name = "always_review"

        def check(self, context: object) -> rk.Verdict:
            return rk.Verdict(rk.Decision.REVIEW, ("manual.check",))

    program = rk.ReferralProgram(
        store=store, secret=SECRET, policy=Fixed(usd("10")), guards=[AlwaysReview()], clock=clock
    )
    ref = program.attribute(code=program.enroll("ann").code, referee="bob")
    assert ref.status is ReferralStatus.REVIEW
    assert program.convert(referee="bob", order_id="o-1", amount=usd("80")) == []
    assert program.convert(referee="bob", order_id="o-2", amount=usd("20")) == []
    assert [r.id for r in program.review_queue()] == [ref.id]
    granted = program.approve(ref.id)
    assert sorted(r.order_id or "" for r in granted) == ["o-1", "o-2"]
    with pytest.raises(rk.InvalidState):
        program.approve(ref.id)
    assert program.review_queue() == []
    assert len(program.rewards("ann")) == 2


def test_rejected_review_earns_nothing(store: rk.Store, clock: FrozenClock) -> None:
    class AlwaysReview:
        name = "always_review"

        def check(self, context: object) -> rk.Verdict:
            return rk.Verdict(rk.Decision.REVIEW, ("manual.check",))

    program = rk.ReferralProgram(
        store=store, secret=SECRET, policy=Fixed(usd("10")), guards=[AlwaysReview()], clock=clock
    )
    ref = program.attribute(code=program.enroll("ann").code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    rejected = program.reject(ref.id, "manual.fraud")
    assert rejected.status is ReferralStatus.REJECTED
    assert "manual.fraud" in rejected.reasons
    assert program.rewards("ann") == []


def test_points_perks_and_coupons_are_granted(clock: FrozenClock) -> None:
    for policy, check in [
        (Fixed(500), lambda r: r.points == 500),
        (Fixed("tote-bag"), lambda r: r.perk == "tote-bag"),
        (Fixed(usd("15"), kind="coupon"), lambda r: r.coupon_code and r.amount == usd("15")),
    ]:
        p = rk.ReferralProgram(store=MemoryStore(), secret=SECRET, policy=policy, clock=clock)
        p.attribute(code=p.enroll("ann").code, referee="bob")
        (reward,) = p.convert(referee="bob", order_id="o-1", amount=usd("80"))
        assert check(reward)


def test_secret_must_be_long_enough(store: rk.Store) -> None:
    with pytest.raises(rk.ConfigError):
        rk.ReferralProgram(store=store, secret=b"short", policy=Fixed(usd("1")))


def test_naive_clock_is_refused(store: rk.Store) -> None:
    """Refused at the start: the program stores its terms with the time it starts."""
    from datetime import datetime

    with pytest.raises(rk.ConfigError) as caught:
        rk.ReferralProgram(
            store=store,
            secret=SECRET,
            policy=Fixed(usd("1")),
            clock=lambda: datetime(2026, 1, 1),  # noqa: DTZ001
        )
    assert caught.value.path == "clock"


def test_links_signed_before_a_secret_rotation_verify_only_while_the_old_secret_is_listed(
    store: rk.Store, clock: FrozenClock
) -> None:
    def program_with(secret: bytes, previous: tuple[bytes, ...] = ()) -> rk.ReferralProgram:
        return rk.ReferralProgram(
            store=store,
            secret=secret,
            previous_secrets=previous,
            policy=Fixed(usd("10")),
            guards=[],
            link_base="https://shop.example/r",
            clock=clock,
        )

    new_secret = b"N" * 32
    old = program_with(SECRET)
    url = old.link(old.enroll("ann").code, channel="email")
    with pytest.raises(rk.ConfigError, match="keyed with another secret"):
        program_with(new_secret)  # without the old secret listed, the store is refused
    rotating = program_with(new_secret, (SECRET,))
    assert rotating.attribute(link=url, referee="bob").referrer == "ann"
    fresh = rotating.link(rotating.code_for("ann").code)  # type: ignore[union-attr]
    with pytest.raises(rk.LinkTampered):
        old.attribute(link=fresh, referee="cy")  # new links carry the new signature


def test_orders_refunded_while_in_review_are_refunded_on_approval(
    store: rk.Store, clock: FrozenClock
) -> None:
    class AlwaysReview:
        name = "always_review"

        def check(self, context: object) -> rk.Verdict:
            return rk.Verdict(rk.Decision.REVIEW, ("manual.check",))

    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(referrer=Fixed(usd("10")), referee=PercentOfOrder(Decimal("0.1"))),
        guards=[AlwaysReview()],
        hold=timedelta(0),
        clock=clock,
    )
    ref = program.attribute(code=program.enroll("ann").code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    program.convert(referee="bob", order_id="o-2", amount=usd("50"))
    program.refund(order_id="o-1")  # the whole order
    program.refund(order_id="o-2", amount=usd("20"))  # part of it
    granted = {(r.order_id, r.customer_id): r for r in program.approve(ref.id)}
    assert granted["o-1", "ann"].state is RewardState.REVERSED
    assert granted["o-1", "bob"].state is RewardState.REVERSED
    assert granted["o-2", "ann"].amount == usd("10")  # a fixed reward stands a partial refund
    assert granted["o-2", "bob"].amount == usd("3.00")  # 10% of what was kept
    assert program.status("ann").available == {"USD": usd("10")}
    assert program.status("bob").available == {"USD": usd("3.00")}


@pytest.mark.parametrize("bad", [0, -1, "10", 2.5, True, None])
def test_bad_limits_and_event_ids_are_clear_errors_and_change_nothing(
    program: rk.ReferralProgram, bad: object
) -> None:
    program.attribute(code=program.enroll("ann").code, referee="bob")
    before = program.pending_events()
    for call in (program.review_queue, program.release_due, program.pending_events):
        with pytest.raises(rk.InvalidInput) as caught:
            call(bad)  # type: ignore[arg-type]
        assert caught.value.field == "limit"
    if not isinstance(bad, int) or isinstance(bad, bool):  # 0 and -1 are ids, just unknown
        with pytest.raises(rk.InvalidInput) as caught:
            program.ack([before[0].id, bad])  # type: ignore[list-item]
        assert caught.value.field == "event_ids"
    with pytest.raises(rk.InvalidInput):
        program.ack("12")  # type: ignore[arg-type]
    assert program.pending_events() == before  # nothing acknowledged
