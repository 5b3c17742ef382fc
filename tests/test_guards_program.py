"""Guards inside the program, on every store: default set, review queue, key rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest

import referralkit as rk
from referralkit.errors import SharedNetworkWarning
from referralkit.guards import (
    REASON_CODES,
    IdentityNormalizer,
    ReferralCycle,
    SelfReferral,
    SharedSignals,
    Velocity,
)
from referralkit.model import ReferralStatus
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"0123456789abcdef0123456789abcdef"
NEW_SECRET = b"the secret we rotate to, 32+ bytes long"
USD = "USD"
POLICY = DoubleSided(referrer=Fixed(rk.Money("10", USD)), referee=Fixed(rk.Money("5", USD)))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make(store: rk.Store, clock: FrozenClock, **kwargs) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store, secret=SECRET, policy=POLICY, clock=clock, **{"hold": timedelta(0), **kwargs}
    )


def test_a_program_runs_the_default_guards_unless_told_otherwise(store, clock) -> None:
    program = make(store, clock)
    code = program.enroll("ann", identity=rk.Identity(email="ann@gmail.com")).code
    alias = rk.Identity(email="A.nn+2@googlemail.com")
    ref = program.attribute(code=code, referee="ann-2", identity=alias)
    assert (ref.status, ref.reasons) == (ReferralStatus.REJECTED, ("self_referral.email",))
    assert program.guards[0].name == "self_referral"
    unguarded = make(store, clock, guards=[])
    assert unguarded.attribute(code=code, referee="ann-3", identity=alias).status is (
        ReferralStatus.PENDING
    )


def test_a_household_sharing_an_ip_and_address_is_reviewed_never_blocked(store, clock) -> None:
    program = make(store, clock)
    home = {"ip": "198.51.100.23", "address": "12 Baker Street"}
    code = program.enroll("ann", identity=rk.Identity(email="ann@x.com", **home)).code
    partner = rk.Identity(
        email="sam@y.com", device_id="sams-phone", ip=home["ip"], address="12 baker st."
    )
    ref = program.attribute(code=code, referee="sam", identity=partner)
    assert ref.status is ReferralStatus.REVIEW
    assert ref.reasons == ("self_referral.address", "self_referral.ip")


def test_review_from_a_real_guard_holds_rewards_then_grants_them_once(store, clock) -> None:
    program = make(store, clock)
    code = program.enroll("ann", identity=rk.Identity(ip="198.51.100.23")).code
    ref = program.attribute(code=code, referee="sam", identity=rk.Identity(ip="198.51.100.23"))
    assert ref.status is ReferralStatus.REVIEW
    assert program.convert(referee="sam", order_id="o-1", amount=rk.Money("40", USD)) == []
    assert [r.id for r in program.review_queue()] == [ref.id]
    granted = program.approve(ref.id)
    assert sorted((r.customer_id, str(r.amount)) for r in granted) == [
        ("ann", "10.00 USD"),
        ("sam", "5.00 USD"),
    ]
    with pytest.raises(rk.InvalidState):
        program.approve(ref.id)
    assert len(program.rewards("ann")) == 1
    again = program.convert(referee="sam", order_id="o-1", amount=rk.Money("40", USD))
    assert [r.id for r in again] == [r.id for r in granted]


def test_key_rotation_matches_signals_stored_under_the_previous_secret(store, clock) -> None:
    before = make(store, clock)
    code = before.enroll("ann", identity=rk.Identity(email="ann@gmail.com")).code
    alias = rk.Identity(email="a.nn@gmail.com")
    with pytest.raises(rk.ConfigError, match="keyed with another secret") as refused:
        rk.ReferralProgram(store=store, secret=NEW_SECRET, policy=POLICY, clock=clock)
    assert refused.value.path == "secret"  # a new secret alone would see none of the old hashes
    forgetful = rk.ReferralProgram(
        store=MemoryStore(), secret=NEW_SECRET, policy=POLICY, clock=clock
    )
    rotated = rk.ReferralProgram(
        store=store, secret=NEW_SECRET, previous_secrets=[SECRET], policy=POLICY, clock=clock
    )
    ref = rotated.attribute(code=code, referee="x2", identity=alias)
    assert ref.status is ReferralStatus.REJECTED
    assert ref.reasons[0] == "self_referral.email"
    assert rotated.signals(alias) == forgetful.signals(alias)
    with store.transaction() as uow:  # what the referee left behind is under the new key only
        assert uow.identities.signals("x2") == rotated.signals(alias)


def test_velocity_reviews_the_referral_past_the_limit_until_the_window_passes(store, clock) -> None:
    program = make(store, clock, guards=[Velocity(limit=2, window=timedelta(hours=1))])
    code = program.enroll("ann").code
    statuses = [program.attribute(code=code, referee=f"r{i}").status for i in range(3)]
    assert statuses == [ReferralStatus.PENDING, ReferralStatus.PENDING, ReferralStatus.REVIEW]
    clock.advance(hours=2)
    assert program.attribute(code=code, referee="r9").status is ReferralStatus.PENDING


def test_velocity_counts_referees_from_one_network_across_referrers(store, clock) -> None:
    guard = Velocity(limit=50, window=timedelta(hours=1), network_limit=2)
    program = make(store, clock, guards=[guard])
    net = [rk.Identity(ip=f"203.0.113.{i}") for i in range(3)]
    refs = [
        program.attribute(code=program.enroll(f"ref{i}").code, referee=f"r{i}", identity=who)
        for i, who in enumerate(net)
    ]
    assert [r.reasons for r in refs] == [(), (), ("velocity.network",)]


def test_velocity_sees_a_burst_on_a_network_thousands_of_old_customers_share(store, clock) -> None:
    guard = Velocity(limit=10_000, window=timedelta(hours=1), network_limit=3)
    program = make(store, clock, guards=[guard])
    carrier = [rk.Identity(ip=f"100.64.7.{i % 250 + 1}") for i in range(1200)]
    code = program.enroll("ann").code

    # Last month's customers behind the carrier's NAT: one network, which the program
    # notices (it would be a proxy's address, were the host passing the wrong one).
    def last_month() -> None:
        for i, who in enumerate(carrier):
            program.attribute(code=code, referee=f"old{i}", identity=who)

    with pytest.warns(SharedNetworkWarning, match="from one network"):
        last_month()
    clock.advance(days=30)
    burst = [
        program.attribute(code=program.enroll(f"b{i}").code, referee=f"new{i}", identity=who)
        for i, who in enumerate(carrier[:4])
    ]
    assert [r.reasons for r in burst] == [(), (), (), ("velocity.network",)]


def test_rings_are_blocked_when_they_close(store, clock) -> None:
    program = make(store, clock, guards=[ReferralCycle(max_length=3)])
    codes = {name: program.enroll(name).code for name in ("a", "b", "c")}
    assert program.attribute(code=codes["a"], referee="b").status is ReferralStatus.PENDING
    assert program.attribute(code=codes["b"], referee="c").status is ReferralStatus.PENDING
    ring = program.attribute(code=codes["c"], referee="a")
    assert (ring.status, ring.reasons) == (ReferralStatus.REJECTED, ("referral_cycle",))


def test_referees_of_one_referrer_on_one_device_are_reviewed_from_the_third(store, clock) -> None:
    program = make(store, clock, guards=[SharedSignals(threshold=3)])
    code = program.enroll("ann").code
    refs = [
        program.attribute(
            code=code, referee=f"r{i}", identity=rk.Identity(email=f"r{i}@x.com", device_id="d")
        )
        for i in range(3)
    ]
    assert [r.reasons for r in refs] == [(), (), ("shared_signals.device",)]


def test_an_existing_customer_under_a_new_account_is_blocked(store, clock) -> None:
    program = make(store, clock)
    program.enroll("zed", identity=rk.Identity(email="zed@example.com"))
    code = program.enroll("ann").code
    ref = program.attribute(
        code=code, referee="zed-new", identity=rk.Identity(email="Zed+new@example.com")
    )
    assert (ref.status, ref.reasons) == (ReferralStatus.REJECTED, ("duplicate_referee.email",))
    flagged = program.attribute(code=code, referee="old-friend", existing_customer=True)
    assert flagged.reasons == ("duplicate_referee.existing_customer",)


def test_a_referee_with_orders_is_not_new(store, clock) -> None:
    program = make(store, clock)
    program.convert(referee="bob", order_id="o-0", amount=rk.Money("10", USD))
    ref = program.attribute(code=program.enroll("ann").code, referee="bob")
    assert (ref.status, ref.reasons) == (ReferralStatus.REJECTED, ("duplicate_referee.has_orders",))


def test_a_throwaway_email_is_reviewed(store, clock) -> None:
    program = make(store, clock)
    code = program.enroll("ann").code
    ref = program.attribute(code=code, referee="tmp", identity=rk.Identity(email="x@yopmail.com"))
    assert (ref.status, ref.reasons) == (ReferralStatus.REVIEW, ("disposable_email",))


def test_a_bad_identity_is_refused_before_anything_is_written(store, clock) -> None:
    program = make(store, clock)
    code = program.enroll("ann").code
    with pytest.raises(rk.InvalidIdentity) as err:
        program.attribute(code=code, referee="bob", identity=rk.Identity(phone="call me"))
    assert err.value.field == "phone"
    assert program.status("ann").invites == 0


def test_identity_rules_set_the_phone_region_and_email_rules(store, clock) -> None:
    rules = IdentityNormalizer(phone_region="GB")
    program = make(store, clock, identity_rules=rules, guards=[SelfReferral()])
    code = program.enroll("ann", identity=rk.Identity(phone="020 7946 0000")).code
    ref = program.attribute(code=code, referee="b", identity=rk.Identity(phone="+442079460000"))
    assert ref.reasons == ("self_referral.phone",)


def test_every_reason_the_program_records_is_a_documented_code(store, clock) -> None:
    """Guards, review and an operator's reassignment put only codes from `REASON_CODES`."""
    program = make(store, clock)
    code = program.enroll("ann", identity=rk.Identity(email="ann@x.com", ip="198.51.100.1")).code
    other = program.enroll("bea").code
    seen = [
        program.attribute(code=code, referee="ann", identity=None),
        program.attribute(code=code, referee="ann-2", identity=rk.Identity(email="Ann+2@x.com")),
        program.attribute(code=code, referee="sam", identity=rk.Identity(ip="198.51.100.1")),
        program.attribute(code=code, referee="tmp", identity=rk.Identity(email="t@yopmail.com")),
        program.attribute(code=code, referee="cy"),
    ]
    program.approve(seen[2].id)
    seen += [
        program.attribute(code=other, referee="cy"),  # already referred
        program.referral(seen[2].id),
        program.reject(seen[3].id),
        program.reassign(referee="cy", code=other),
        program.reassign(referee="dee", code=other),
    ]
    recorded = {reason for referral in seen for reason in referral.reasons}
    assert "reassign.operator" in recorded
    assert recorded <= set(REASON_CODES)
