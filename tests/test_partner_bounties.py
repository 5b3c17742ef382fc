"""Bounties on every store with partners: submit, approve once (a fee in the ledger), reject."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from _partner_stores import partner_store  # noqa: F401 - the `store` fixture: stores with partners
from referralkit.model import RewardState, SubmissionState
from referralkit.policies import Fixed, PercentOfOrder
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"partner bounty secret, 32 bytes or more"
URL = "https://instagram.example/p/CxY12"


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


def make(store: rk.Store, clock: FrozenClock | None = None) -> rk.ReferralProgram:
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(usd("5")),
        hold=timedelta(days=1),
        clock=clock or FrozenClock(),
    )
    program.partners.add("anna", name="Anna", kind="influencer", terms=PercentOfOrder("10%"))
    return program


def events(program: rk.ReferralProgram, prefix: str = "partner.submission") -> list[Any]:
    return [e for e in program.pending_events(limit=500) if e.type.startswith(prefix)]


def bounty_rewards(program: rk.ReferralProgram) -> list[rk.Reward]:
    return [r for r in program.rewards("anna") if r.policy == "partner.bounty"]


def test_an_approved_submission_owes_its_fee_once_through_the_payout_path(
    store: rk.Store,
) -> None:
    clock = FrozenClock()
    program = make(store, clock)
    pending = program.partners.submit("anna", "sub-1", url=URL, fee=usd("40"))
    assert pending.state is SubmissionState.PENDING
    assert bounty_rewards(program) == []
    approved = program.partners.approve_submission("sub-1")
    assert approved.state is SubmissionState.APPROVED
    assert program.partners.approve_submission("sub-1") == approved
    assert program.partners.submission("sub-1") == approved
    [fee] = bounty_rewards(program)
    assert (fee.id, fee.amount, fee.kind, fee.state) == (
        approved.reward_id,
        usd("40.00"),
        rk.RewardKind.CASH,
        RewardState.HELD,
    )
    clock.advance(days=2)
    program.release_due()
    [paid] = program.payout([fee.id], payout_id="po-1")
    assert paid.state is RewardState.PAID
    statement = program.partners.statement("anna")
    assert (statement.lines[0].fees, statement.lines[0].paid) == (usd("40").amount,) * 2
    assert [e.type for e in events(program)] == [
        "partner.submission_received",
        "partner.submission_approved",
    ]


def test_a_rejected_submission_owes_nothing_and_cannot_be_approved(store: rk.Store) -> None:
    program = make(store)
    program.partners.submit("anna", "sub-1", url=URL, fee=usd("40"))
    rejected = program.partners.reject_submission("sub-1", reason="post taken down")
    assert (rejected.state, rejected.reason) == (SubmissionState.REJECTED, "post taken down")
    assert program.partners.reject_submission("sub-1", reason="again") == rejected
    with pytest.raises(rk.InvalidState):
        program.partners.approve_submission("sub-1")
    assert bounty_rewards(program) == []
    [event] = events(program, "partner.submission_rejected")
    assert event.payload["reason"] == "post taken down"


def test_an_approved_submission_cannot_be_rejected(store: rk.Store) -> None:
    program = make(store)
    program.partners.submit("anna", "sub-1", url=URL, fee=usd("40"))
    program.partners.approve_submission("sub-1")
    with pytest.raises(rk.InvalidState):
        program.partners.reject_submission("sub-1")
    assert len(bounty_rewards(program)) == 1


def test_a_retried_submission_is_one_submission_and_other_values_are_refused(
    store: rk.Store,
) -> None:
    program = make(store)
    first = program.partners.submit("anna", "sub-1", url=URL, fee=usd("40"))
    assert program.partners.submit("anna", "sub-1", url=URL, fee=usd("40")) == first
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.partners.submit("anna", "sub-1", url=URL, fee=usd("45"))
    assert caught.value.field == "fee"
    with pytest.raises(rk.IdempotencyConflict) as caught:
        program.partners.submit("anna", "sub-1", url=URL + "x", fee=usd("40"))
    assert caught.value.field == "url"
    assert len(events(program)) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "ftp://files.example/p"}, "url"),
        ({"url": "instagram.example/p/1"}, "url"),
        ({"url": "https://a.example/ x"}, "url"),
        ({"url": ""}, "url"),
        ({"url": 5}, "url"),
        ({"url": "https://a.example/" + "x" * 2_000}, "url"),
        ({"fee": usd("0")}, "fee"),
        ({"fee": usd("-3")}, "fee"),
        ({"fee": rk.Money("1.005", "USD")}, "fee"),
        ({"fee": "40 USD"}, "fee"),
        ({"submission_id": ""}, "submission_id"),
    ],
)
def test_bad_submissions_are_refused_naming_the_field(
    store: rk.Store, kwargs: dict[str, Any], field: str
) -> None:
    program = make(store)
    options: dict[str, Any] = {"submission_id": "sub-1", "url": URL, "fee": usd("40"), **kwargs}
    sid = options.pop("submission_id")
    with pytest.raises(rk.InvalidInput) as caught:
        program.partners.submit("anna", sid, **options)
    assert caught.value.field == field
    assert events(program) == []


def test_unknown_partners_submissions_and_banned_partners_are_refused(store: rk.Store) -> None:
    program = make(store)
    with pytest.raises(rk.UnknownPartner):
        program.partners.submit("nobody", "sub-1", url=URL, fee=usd("40"))
    with pytest.raises(rk.UnknownPartner):
        program.partners.approve_submission("sub-404")
    with pytest.raises(rk.UnknownPartner):
        program.partners.reject_submission("sub-404")
    program.partners.set_state("anna", "banned")
    with pytest.raises(rk.InvalidState):
        program.partners.submit("anna", "sub-1", url=URL, fee=usd("40"))
    with pytest.raises(rk.UnknownPartner):
        program.partners.submission("sub-1")  # the refused submission was not stored


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["submit", "approve", "reject"]),
        st.sampled_from(["s1", "s2", "s3"]),
    ),
    max_size=20,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_STEPS, sqlite=st.booleans())
def test_any_sequence_of_calls_owes_each_fee_once_and_only_for_approved_submissions(
    steps: list[tuple[str, str]], sqlite: bool
) -> None:
    """Retries, approvals after rejections and the like never pay twice or pay a rejection."""
    store: rk.Store = SQLiteStore(":memory:") if sqlite else MemoryStore()
    try:
        program = make(store)
        decided: dict[str, SubmissionState] = {}
        for op, sid in steps:
            if op == "submit":
                program.partners.submit("anna", sid, url=f"{URL}/{sid}", fee=usd("10"))
                decided.setdefault(sid, SubmissionState.PENDING)
                continue
            wanted = SubmissionState.APPROVED if op == "approve" else SubmissionState.REJECTED
            try:
                got = getattr(program.partners, f"{op}_submission")(sid)
            except rk.UnknownPartner:
                assert sid not in decided
                continue
            except rk.InvalidState:
                assert decided[sid] not in {SubmissionState.PENDING, wanted}
                continue
            assert decided[sid] in {SubmissionState.PENDING, wanted}
            assert got.state is wanted
            decided[sid] = wanted
        approved = sorted(s for s, state in decided.items() if state is SubmissionState.APPROVED)
        paid_for = sorted(r.key.rsplit(":", 1)[1] for r in bounty_rewards(program))
        assert paid_for == approved
    finally:
        store.close()
