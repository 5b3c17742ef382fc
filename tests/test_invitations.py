"""Invitation-only sign-up on every store: issue, redeem once per customer, uses, quota."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.codes import is_valid_code
from referralkit.guards import SelfReferral
from referralkit.policies import Fixed
from referralkit.storage import MemoryStore, SQLAlchemyStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"invitation secret, 32 bytes or more!"
DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make(store: rk.Store, clock: FrozenClock, **kwargs: Any) -> rk.ReferralProgram:
    options: dict[str, Any] = {
        "secret": SECRET,
        "policy": Fixed(rk.Money("5", "USD")),
        "guards": [SelfReferral()],
        "link_base": "https://shop.example/r",
        "clock": clock,
    }
    options.update(kwargs)
    return rk.ReferralProgram(store=store, **options)


@pytest.fixture
def program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return make(store, clock)


def _events(program: rk.ReferralProgram, kind: str) -> list[rk.Event]:
    return [e for e in program.pending_events(10_000) if e.type == kind]


def test_an_invitation_is_a_checked_code_its_holder_owns(program: rk.ReferralProgram) -> None:
    inv = program.invitations.issue("ann", uses=3)
    assert is_valid_code(inv.code)
    assert (inv.owner, inv.max_uses, inv.expires_at) == ("ann", 3, None)
    stored = program.invitations.get(inv.code)
    assert stored is not None
    assert (stored.uses, stored.used, stored.uses_left) == (3, 0, 3)
    assert [e.payload["code"] for e in _events(program, "invitation.issued")] == [inv.code]


def test_redeeming_refers_the_new_customer_to_the_holder(program: rk.ReferralProgram) -> None:
    inv = program.invitations.issue("ann", uses=2)
    typed = f" {inv.code[:4].lower()}-{inv.code[4:]} "  # forgiving input
    ref = program.invitations.redeem(typed, "bob", identity=rk.Identity(email="bob@example.com"))
    assert (ref.referrer, ref.referee, ref.status) == ("ann", "bob", rk.ReferralStatus.PENDING)
    assert ref.channel == "invitation"
    (event,) = _events(program, "invitation.redeemed")
    assert (event.payload["customer"], event.payload["referral_id"]) == ("bob", ref.id)
    assert program.invitations.get(inv.code).used == 1  # type: ignore[union-attr]


def test_a_redelivered_redeem_returns_the_same_referral_and_takes_no_use(
    program: rk.ReferralProgram,
) -> None:
    inv = program.invitations.issue("ann", uses=2)
    first = program.invitations.redeem(inv.code, "bob")
    assert program.invitations.redeem(inv.code, "bob") == first
    assert program.invitations.get(inv.code).used == 1  # type: ignore[union-attr]
    assert len(_events(program, "invitation.redeemed")) == 1


def test_a_used_up_invitation_is_refused_naming_the_code(program: rk.ReferralProgram) -> None:
    inv = program.invitations.issue("ann", uses=1)
    program.invitations.redeem(inv.code, "bob")
    with pytest.raises(rk.InvitationUsedUp) as err:
        program.invitations.redeem(inv.code, "cy")
    assert isinstance(err.value, rk.CodeExpired)
    assert (err.value.value, err.value.field) == (inv.code, "code")
    assert program.invitations.redeem(inv.code, "bob").referee == "bob"  # still idempotent


def test_an_expired_invitation_is_refused(program: rk.ReferralProgram, clock: FrozenClock) -> None:
    inv = program.invitations.issue("ann", uses=5, expires_at=clock() + DAY)
    clock.advance(days=1)
    with pytest.raises(rk.CodeExpired, match="expired") as err:
        program.invitations.redeem(inv.code, "bob")
    assert (err.value.value, err.value.field) == (inv.code, "code")
    assert program.invitations.get(inv.code).used == 0  # type: ignore[union-attr]


def test_unknown_and_malformed_codes_are_refused(program: rk.ReferralProgram) -> None:
    with pytest.raises(rk.UnknownCode) as err:
        program.invitations.redeem(rk.generate_code(), "bob")
    assert err.value.field == "code"
    with pytest.raises(rk.InvalidCode):
        program.invitations.redeem("not a code!", "bob")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.invitations.issue("ann", uses=0), "uses"),
        (lambda p: p.invitations.issue("ann", uses=True), "uses"),
        (lambda p: p.invitations.issue("ann", uses="3"), "uses"),
        (lambda p: p.invitations.issue("", uses=1), "holder"),
        (lambda p: p.invitations.issue("ann", expires_at="tomorrow"), "expires_at"),
        (
            lambda p: p.invitations.issue(
                "ann", expires_at=datetime(2020, 1, 1, tzinfo=timezone.utc)
            ),
            "expires_at",
        ),
        (lambda p: p.invitations.configure(quota=0), "quota"),
        (lambda p: p.invitations.redeem(12345678, "bob"), "code"),
        (lambda p: p.invitations.redeem("ABCD", None), "customer"),
    ],
)
def test_bad_input_is_an_invalid_input_naming_the_field(
    program: rk.ReferralProgram, call: Any, field: str
) -> None:
    with pytest.raises(rk.InvalidInput) as err:
        call(program)
    assert err.value.field == field


def test_issuing_beyond_the_quota_is_refused(program: rk.ReferralProgram) -> None:
    program.invitations.configure(quota=2, uses=3)
    first = program.invitations.issue("ann")
    program.invitations.issue("ann")
    with pytest.raises(rk.InvitationQuotaReached) as err:
        program.invitations.issue("ann")
    assert (err.value.value, err.value.field, err.value.quota) == ("ann", "holder", 2)
    assert first.max_uses == 3
    assert len(program.invitations.held_by("ann")) == 2
    assert program.invitations.issue("bob").owner == "bob"  # a quota is per holder


def test_the_guards_judge_a_redeem_and_a_refusal_takes_no_use(
    program: rk.ReferralProgram,
) -> None:
    program.enroll("ann", identity=rk.Identity(email="ann@gmail.com"))
    inv = program.invitations.issue("ann", uses=1)
    alias = rk.Identity(email="a.nn+x@gmail.com")
    refused = program.invitations.redeem(inv.code, "ann-2", identity=alias)
    assert refused.status is rk.ReferralStatus.REJECTED
    assert refused.reasons == ("self_referral.email",)
    assert program.invitations.get(inv.code).used == 0  # type: ignore[union-attr]
    assert _events(program, "invitation.refused")[0].payload["reasons"] == ["self_referral.email"]
    assert program.invitations.redeem(inv.code, "bob").status is rk.ReferralStatus.PENDING


def test_the_facts_count_issued_uses_and_redeemed(program: rk.ReferralProgram) -> None:
    a = program.invitations.issue("ann", uses=3)
    program.invitations.issue("bob", uses=1)
    program.invitations.redeem(a.code, "cy")
    facts = program.invitations.facts()
    assert facts is not None
    assert (facts.issued, facts.uses, facts.redeemed, facts.holders) == (2, 4, 1, 2)
    assert facts.conversion == 0.25


def fresh_store(kind: str) -> rk.Store:
    """A fresh store of ``kind`` in memory (SQLAlchemy's over an in-memory SQLite)."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(":memory:")
    return SQLAlchemyStore("sqlite://", migrate=True)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "sqlalchemy-sqlite"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    uses=st.integers(min_value=1, max_value=5),
    customers=st.lists(st.integers(min_value=0, max_value=7), max_size=14),
)
def test_an_invitation_never_signs_up_more_customers_than_its_uses(
    kind: str, uses: int, customers: list[int]
) -> None:
    """Whatever the order and repeats of redeems, used == min(uses, distinct customers)."""
    store = fresh_store(kind)
    program = make(store, FrozenClock(), guards=[])
    inv = program.invitations.issue("ann", uses=uses)
    signed: dict[str, rk.Referral] = {}
    for n in customers:
        customer = f"c{n}"
        try:
            ref = program.invitations.redeem(inv.code, customer)
        except rk.InvitationUsedUp:
            assert len(signed) == uses
            assert customer not in signed
            continue
        assert signed.setdefault(customer, ref) == ref  # a repeat returns the same referral
    assert len(signed) == min(uses, len(set(customers)))
    assert program.invitations.get(inv.code).used == len(signed)  # type: ignore[union-attr]
    store.close()


def test_a_customer_who_has_ordered_is_judged_as_an_existing_customer(
    store: rk.Store, clock: FrozenClock
) -> None:
    """The guards see an existing customer when the store has their orders."""
    from referralkit.guards import DuplicateReferee

    program = make(store, clock, guards=[DuplicateReferee()])
    inv = program.invitations.issue("ann", uses=2)
    program.convert(referee="old", order_id="o-1", amount=rk.Money("40", "USD"))
    refused = program.invitations.redeem(inv.code, "old")
    assert refused.status is rk.ReferralStatus.REJECTED
    assert "duplicate_referee.existing_customer" in refused.reasons
    assert program.invitations.get(inv.code).used == 0  # type: ignore[union-attr]
