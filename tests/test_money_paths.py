"""The money paths a production shop needs, on every store.

Conflicting replays, free and back-dated orders, currencies the terms do not cover,
terms that survive a restart, vanity codes for enrolled customers, coupons, payouts,
clawback settlement and netting, holds by beneficiary and kind, signup rewards.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.model import RewardKind, RewardState
from referralkit.policies import DoubleSided, FirstOrderOnly, Fixed, PercentOfOrder
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"0123456789abcdef0123456789abcdef"
POLICY = DoubleSided(referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD")))


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


def make(store: rk.Store, clock: FrozenClock | None = None, **kwargs: object) -> rk.ReferralProgram:
    options: dict[str, object] = {"policy": POLICY, "guards": [], "hold": timedelta(days=14)}
    options.update(kwargs)
    return rk.ReferralProgram(store=store, secret=SECRET, clock=clock or FrozenClock(), **options)  # type: ignore[arg-type]


def referred(program: rk.ReferralProgram, referee: str = "bob") -> str:
    code = program.enroll("ann").code
    program.attribute(code=code, referee=referee)
    return code


# -- orders --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": rk.Money("999", "USD")}, "amount"),
        ({"amount": rk.Money("80", "EUR")}, "currency"),
        ({"referee": "cat"}, "referee"),
    ],
)
def test_a_conflicting_replay_is_refused_naming_the_field(store, change, field) -> None:
    program = make(store)
    referred(program)
    first = program.convert(referee="bob", order_id="o1", amount=usd("80"))
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.convert(**{"referee": "bob", "order_id": "o1", "amount": usd("80"), **change})
    assert caught.value.field == field
    assert program.convert(referee="bob", order_id="o1", amount=usd("80")) == first


def test_a_free_order_earns_nothing_and_does_not_qualify(store) -> None:
    program = make(store)
    referred(program)
    assert program.convert(referee="bob", order_id="o1", amount=usd("0")) == []
    assert program.status("ann").qualified == 0
    assert program.refund(order_id="o1") == []
    assert len(program.convert(referee="bob", order_id="o2", amount=usd("30"))) == 2


def test_every_reward_an_order_earned_is_reversed_by_refunding_it(store) -> None:
    policy = DoubleSided(
        referrer=FirstOrderOnly(Fixed("tote-bag")),
        referee=Fixed(rk.Money("5", "USD"), kind="coupon"),
    )
    program = make(store, policy=policy, hold=timedelta(0))
    referred(program)
    rewards = program.convert(referee="bob", order_id="o1", amount=usd("30"))
    assert {r.kind for r in rewards} == {RewardKind.PERK, RewardKind.COUPON}
    changed = program.refund(order_id="o1")
    assert sorted(r.id for r in changed) == sorted(r.id for r in rewards)
    assert {r.state for r in changed} == {RewardState.REVERSED}


def test_an_order_placed_before_the_referral_is_not_referred(store) -> None:
    clock = FrozenClock()
    program = make(store, clock)
    referred(program)
    earlier = clock.now - timedelta(days=365)
    assert (
        program.convert(referee="bob", order_id="o1", amount=usd("80"), occurred_at=earlier) == []
    )
    assert program.conversion("o1").referral_id is None  # type: ignore[union-attr]
    assert program.status("ann").qualified == 0
    graceful = make(store, clock, order_grace=timedelta(hours=1))
    minutes_before = clock.now - timedelta(minutes=30)
    assert graceful.convert(
        referee="bob", order_id="o2", amount=usd("80"), occurred_at=minutes_before
    )


def test_an_order_in_a_currency_the_terms_do_not_cover_is_refused_before_writing(store) -> None:
    program = make(store)
    referred(program)
    before = program.pending_events(1000)
    with pytest.raises(rk.CurrencyMismatch):
        program.convert(referee="bob", order_id="o1", amount=rk.Money("1000", "JPY"))
    assert program.conversion("o1") is None
    assert program.pending_events(1000) == before


def test_fixed_rewards_in_several_currencies_pay_in_the_orders(store) -> None:
    policy = DoubleSided(
        referrer=Fixed({"USD": "10", "EUR": "9", "JPY": "1500"}),
        referee=Fixed({"USD": "5", "EUR": "4", "JPY": "700"}),
    )
    program = make(store, policy=policy)
    referred(program)
    rewards = program.convert(referee="bob", order_id="o1", amount=rk.Money("8000", "JPY"))
    assert sorted(str(r.amount) for r in rewards) == ["1500 JPY", "700 JPY"]
    assert policy.currencies == frozenset({"USD", "EUR", "JPY"})


def test_a_vanity_code_for_an_enrolled_customer_is_refused_not_dropped(store) -> None:
    program = make(store)
    generated = program.enroll("ann")
    with pytest.raises(rk.InvalidState):
        program.enroll("ann", vanity="ANNA10")
    assert program.code_for("ann") == generated
    assert program.enroll("ann") == generated
    vip = program.enroll("bea", vanity="BEA10")
    assert program.enroll("bea", vanity="BEA10") == vip


# -- terms -----------------------------------------------------------------------------------


def test_a_version_stored_with_other_terms_refuses_the_start(store) -> None:
    make(store, policy=Fixed(usd("10")), policy_version="v1")
    with pytest.raises(rk.ConfigError) as caught:
        make(store, policy=Fixed(usd("20")), policy_version="v1")
    assert "10.00 USD -> 20.00 USD" in caught.value.message
    make(store, policy=Fixed(usd("10")), policy_version="v1")  # the same terms start again


def test_promised_terms_are_kept_across_a_restart(store) -> None:
    before = make(store, policy=Fixed(usd("10")))
    referred(before)
    after = make(store, policy=Fixed(usd("20")))
    (reward,) = after.convert(referee="bob", order_id="o1", amount=usd("80"))
    assert reward.amount == usd("10")
    referred(after, "cat")
    (newer,) = after.convert(referee="cat", order_id="o2", amount=usd("80"))
    assert newer.amount == usd("20")


def test_a_python_policy_must_name_its_version(store) -> None:
    class Own:
        name = "own"

        def evaluate(self, context: object) -> list[rk.Grant]:
            return []

    with pytest.raises(rk.ConfigError) as caught:
        make(store, policy=Own())
    assert caught.value.path == "policy"
    assert make(store, policy=Own(), policy_version="own-1").policy_version == "own-1"


# -- coupons and holds -----------------------------------------------------------------------

WELCOME = Fixed(rk.Money("5", "USD"), kind="coupon")


def test_a_welcome_coupon_is_usable_at_the_first_checkout(store) -> None:
    program = make(
        store,
        policy=Fixed(usd("10")),
        signup_reward=DoubleSided(referee=WELCOME),
        hold={"referee": timedelta(0), "referrer": timedelta(days=14)},
    )
    referred(program)
    (welcome,) = program.rewards("bob")
    assert (welcome.kind, welcome.state, welcome.order_id) == (
        RewardKind.COUPON,
        RewardState.AVAILABLE,
        None,
    )
    code = welcome.coupon_code
    assert code is not None
    assert program.coupon(code.lower()) == welcome
    used = program.redeem_coupon(code, customer_id="bob", order_id="o1")
    assert (used.state, used.redeemed_order) == (RewardState.PAID, "o1")
    assert program.redeem_coupon(code, customer_id="bob", order_id="o1") == used
    with pytest.raises(rk.InvalidState):
        program.redeem_coupon(code, customer_id="bob", order_id="o2")
    (earned,) = program.convert(referee="bob", order_id="o1", amount=usd("50"))
    assert earned.state is RewardState.HELD  # the referrer's waits out the refund window


def test_only_the_owner_may_use_a_coupon_and_only_when_available(store) -> None:
    program = make(store, policy=DoubleSided(referee=WELCOME))
    referred(program)
    (coupon,) = program.convert(referee="bob", order_id="o1", amount=usd("50"))
    assert coupon.coupon_code is not None
    with pytest.raises(rk.InvalidState):  # held for 14 days
        program.redeem_coupon(coupon.coupon_code, customer_id="bob", order_id="o2")
    with pytest.raises(rk.InvalidState):
        program.redeem_coupon(coupon.coupon_code, customer_id="eve", order_id="o2")
    with pytest.raises(rk.UnknownCode):
        program.redeem_coupon("0000-0000-0000", customer_id="bob", order_id="o2")
    with pytest.raises(rk.InvalidCode):
        program.redeem_coupon("not a coupon", customer_id="bob", order_id="o2")


def test_an_expired_coupon_cannot_be_used(store) -> None:
    clock = FrozenClock()
    program = make(
        store,
        clock,
        policy=DoubleSided(referee=WELCOME),
        hold=timedelta(0),
        coupon_expiry=timedelta(days=30),
    )
    referred(program)
    (coupon,) = program.convert(referee="bob", order_id="o1", amount=usd("50"))
    assert coupon.expires_at == clock.now + timedelta(days=30)
    clock.advance(days=31)
    with pytest.raises(rk.CodeExpired):
        program.redeem_coupon(coupon.coupon_code or "", customer_id="bob", order_id="o2")


# -- payouts, clawbacks ------------------------------------------------------------------------


def _available(program: rk.ReferralProgram, clock: FrozenClock, friends: int) -> list[rk.Reward]:
    code = program.enroll("ann").code
    for i in range(friends):
        program.attribute(code=code, referee=f"f{i}")
        program.convert(referee=f"f{i}", order_id=f"o{i}", amount=usd("50"))
    clock.advance(days=15)
    return program.release_due(limit=3, all=True)


def test_release_all_goes_batch_by_batch_until_none_is_due(store) -> None:
    clock = FrozenClock()
    program = make(store, clock)
    released = _available(program, clock, 4)
    assert len(released) == 8
    assert program.release_due() == []


def test_payable_pages_across_customers_and_a_payout_pays_a_batch_once(store) -> None:
    clock = FrozenClock()
    program = make(store, clock)
    _available(program, clock, 3)
    first = program.payable(limit=4)
    rest = program.payable(limit=4, after=first[-1].id)
    assert [r.id for r in first + rest] == sorted(r.id for r in first + rest)
    assert len(first + rest) == 6
    assert {r.customer_id for r in program.payable(kind="credit", currency="USD")} == {
        "ann",
        "f0",
        "f1",
        "f2",
    }
    ids = [r.id for r in first]
    paid = program.payout(ids, payout_id="po-1")
    assert {(r.state, r.payout_id) for r in paid} == {(RewardState.PAID, "po-1")}
    assert program.payout(ids, payout_id="po-1") == paid
    with pytest.raises(rk.IdempotencyConflict):
        program.payout([rest[0].id], payout_id="po-1")
    with pytest.raises(rk.InvalidState):  # already paid: the whole batch is refused
        program.payout([rest[0].id, ids[0]], payout_id="po-2")
    (untouched,) = [
        r for r in program.rewards_for_order(rest[0].order_id or "") if r.id == rest[0].id
    ]
    assert untouched.state is RewardState.AVAILABLE


def test_a_clawback_is_settled_once_per_reference(store) -> None:
    clock = FrozenClock()
    program = make(store, clock, net_clawbacks=())
    for reward in _available(program, clock, 1):
        program.mark_paid(reward.id)
    program.refund(order_id="o0")
    assert program.status("ann").clawbacks == {"USD": usd("10")}
    with pytest.raises(rk.InvalidInput):
        program.settle_clawback("ann", usd("11"), reference="bank-1")
    (settled,) = program.settle_clawback("ann", usd("4"), reference="bank-1")
    assert settled.recovered == usd("4")
    assert program.settle_clawback("ann", usd("4"), reference="bank-1") == []
    with pytest.raises(rk.IdempotencyConflict):
        program.settle_clawback("ann", usd("5"), reference="bank-1")
    assert program.status("ann").clawbacks == {"USD": usd("6")}


def test_a_clawback_is_netted_against_the_next_rewards(store) -> None:
    clock = FrozenClock()
    program = make(store, clock)
    for reward in _available(program, clock, 1):
        program.mark_paid(reward.id)
    program.refund(order_id="o0")  # ann owes 10
    program.attribute(code=program.code_for("ann").code, referee="g1")  # type: ignore[union-attr]
    program.convert(referee="g1", order_id="p1", amount=usd("50"))
    clock.advance(days=15)
    released = {r.customer_id: r for r in program.release_due(all=True)}
    netted = released["ann"]
    assert (netted.netted, netted.state) == (usd("10"), RewardState.PAID)  # fully applied
    status = program.status("ann")
    assert status.clawbacks == {}
    assert status.available == {}
    report = program.metrics()
    (usd_section,) = report.currencies
    # Ann's first 10 was paid and recovered by the netting; her second paid the debt.
    assert usd_section.rewards_cost == Decimal("20.00")


@settings(max_examples=25, deadline=None)
@given(
    limit=st.one_of(st.integers(max_value=0), st.integers(min_value=2**63), st.text(), st.floats()),
)
def test_junk_limits_and_ids_are_refused_naming_the_field(limit) -> None:
    program = make(MemoryStore())
    for call, field in (
        (lambda: program.payable(limit=limit), "limit"),
        (lambda: program.release_due(limit=limit), "limit"),
        (lambda: program.payout(limit, payout_id="po"), "reward_ids"),  # type: ignore[arg-type]
        (lambda: program.settle_clawback("ann", limit, reference="x"), "amount"),  # type: ignore[arg-type]
        (lambda: program.refund(order_id="o", amount=limit), "amount"),  # type: ignore[arg-type]
    ):
        with pytest.raises(rk.InvalidInput) as caught:
            call()
        assert caught.value.field == field


def test_a_percentage_pays_in_any_currency_without_a_cap() -> None:
    assert PercentOfOrder(Decimal("0.1")).currencies is None
    assert PercentOfOrder(Decimal("0.1"), cap=usd("5")).currencies == frozenset({"USD"})
