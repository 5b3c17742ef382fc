"""`InvitationsContract` and `WaitlistContract`: what a store's invitations and waitlist guarantee.

Uses are taken by the store, never past an invitation's uses; a customer redeems an
invitation once; a holder's quota is checked by the insert. The waitlist's sequence is
the store's, positions follow the score rule, and a waitlister is admitted once. All of
it is rolled back with its unit of work.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from referralkit.model import (
    CodeKind,
    Invitation,
    Redemption,
    Referral,
    ReferralCode,
    ReferralStatus,
    WaitlistEntry,
    WaitlistState,
)
from referralkit.program import INVITATIONS, WAITLIST
from referralkit.protocols import Store
from referralkit.storage._errors import CodeTaken
from referralkit.testing._store_base import CapabilityContract, Needs

__all__ = ["InvitationsContract", "WaitlistContract"]

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
_DAY = timedelta(days=1)


class _Undo(Exception):
    pass


def _invitation(
    code: str = "INV00001", holder: str = "ann", uses: int = 3, **more: object
) -> Invitation:
    values: dict[str, object] = {
        "code": code,
        "holder": holder,
        "campaign": "default",
        "uses": uses,
        "created_at": T0,
        **more,
    }
    return Invitation(**values)  # type: ignore[arg-type]


def _entry(member: str, code: str) -> WaitlistEntry:
    return WaitlistEntry(member=member, code=code, campaign="default", seq=0, joined_at=T0)


class InvitationsContract(CapabilityContract):
    """Invitations (``uow.invitations``): uses taken once each, never past the limit."""

    needs = Needs(repositories=(INVITATIONS,))

    def test_an_invitation_is_stored_once_and_read_back(self, store: Store) -> None:
        """By code and by holder; a taken code is `CodeTaken`."""
        with store.transaction() as uow:
            repo = INVITATIONS.repository(uow, store=store)
            assert repo.add(_invitation(), None)
            with pytest.raises(CodeTaken):
                repo.add(_invitation(holder="bob"), None)
        with store.transaction() as uow:
            repo = INVITATIONS.repository(uow, store=store)
            assert repo.get("INV00001") == _invitation()
            assert repo.for_holder("ann") == [_invitation()]
            assert repo.get("NOPE0000") is None

    def test_the_quota_is_checked_by_the_insert(self, store: Store) -> None:
        """A holder with ``quota`` invitations gets no more; other holders are not counted."""
        with store.transaction() as uow:
            repo = INVITATIONS.repository(uow, store=store)
            assert repo.add(_invitation("INV00001"), 2)
            assert repo.add(_invitation("INV00002"), 2)
            assert not repo.add(_invitation("INV00003"), 2)
            assert repo.add(_invitation("INV00004", holder="bob"), 2)
            assert [i.code for i in repo.for_holder("ann")] == ["INV00001", "INV00002"]

    def test_uses_are_taken_until_none_is_left_or_it_expires(self, store: Store) -> None:
        """``used < uses`` and unexpired at ``now``; a redemption is unique per customer."""
        with store.transaction() as uow:
            repo = INVITATIONS.repository(uow, store=store)
            repo.add(_invitation(uses=2), None)
            repo.add(_invitation("INV00002", uses=5, expires_at=T0 + _DAY), None)
            assert repo.take_use("INV00001", T0)
            assert repo.take_use("INV00001", T0)
            assert not repo.take_use("INV00001", T0)
            assert not repo.take_use("INV00002", T0 + _DAY)
            assert not repo.take_use("NOPE0000", T0)
            used = repo.get("INV00001")
        assert used is not None
        assert used.used == 2

    def test_a_unit_of_work_that_raises_takes_no_use(self, store: Store) -> None:
        """Invitations, uses and redemptions are rolled back with their unit of work."""
        with store.transaction() as uow:
            INVITATIONS.repository(uow, store=store).add(_invitation(), None)
        with pytest.raises(_Undo):
            _then_fail_invitations(store)
        with store.transaction() as uow:
            repo = INVITATIONS.repository(uow, store=store)
            kept = repo.get("INV00001")
            assert repo.get("INV00002") is None
        assert kept is not None
        assert kept.used == 0

    def test_racing_uses_never_pass_the_limit(self, store: Store) -> None:
        """Twelve threads for three uses: exactly three taken."""
        with store.transaction() as uow:
            INVITATIONS.repository(uow, store=store).add(_invitation(uses=3), None)
        taken: list[bool] = []
        lock = threading.Lock()

        def use() -> None:
            with store.transaction() as uow:
                got = INVITATIONS.repository(uow, store=store).take_use("INV00001", T0)
            with lock:
                taken.append(got)

        threads = [threading.Thread(target=use) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(taken) == [False] * 9 + [True] * 3
        with store.transaction() as uow:
            facts = INVITATIONS.repository(uow, store=store).facts(None, None)
        assert (facts.issued, facts.uses, facts.redeemed, facts.holders) == (1, 3, 3, 1)

    def test_racing_issues_never_pass_the_quota(self, store: Store) -> None:
        """Twelve threads issue for one holder with a quota of three: exactly three stored."""
        added: list[bool] = []
        lock = threading.Lock()
        start = threading.Barrier(12)

        def issue(n: int) -> None:
            start.wait()
            with store.transaction() as uow:
                repo = INVITATIONS.repository(uow, store=store)
                got = repo.add(_invitation(f"INV{n:05}"), 3)
                for _ in range(5):  # the unit of work goes on: a later issue must still wait
                    repo.for_holder("ann")
            with lock:
                added.append(got)

        threads = [threading.Thread(target=issue, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(added) == [False] * 9 + [True] * 3
        with store.transaction() as uow:
            assert len(INVITATIONS.repository(uow, store=store).for_holder("ann")) == 3

    def test_a_redemption_is_stored_once_per_customer(self, store: Store) -> None:
        """The pair (invitation, customer) is unique."""
        with store.transaction() as uow:
            repo = INVITATIONS.repository(uow, store=store)
            repo.add(_invitation(), None)
            # the referral it names must exist where the store keeps foreign keys
            uow.codes.add(_referral_code())
            uow.referrals.add(_referral())
            first = Redemption("INV00001", "bob", "r-1", T0)
            assert repo.add_redemption(first)
            assert not repo.add_redemption(Redemption("INV00001", "bob", "r-1", T0 + _DAY))
            assert repo.redemption("INV00001", "bob") == first
            assert repo.redemption("INV00001", "cy") is None


def _referral_code() -> ReferralCode:
    return ReferralCode("ANNCODE1", "ann", "default", CodeKind.GENERATED, T0)


def _referral() -> Referral:
    return Referral(
        "r-1", "ANNCODE1", "ann", "bob", ReferralStatus.PENDING, (), T0, "default", "v1"
    )


def _then_fail_invitations(store: Store) -> None:
    """Take a use and issue an invitation in one unit of work, then raise inside it."""
    with store.transaction() as uow:
        repo = INVITATIONS.repository(uow, store=store)
        repo.take_use("INV00001", T0)
        repo.add(_invitation("INV00002"), None)
        raise _Undo


def _then_fail_waitlist(store: Store) -> None:
    """Add, credit and admit in one unit of work, then raise inside it."""
    with store.transaction() as uow:
        repo = WAITLIST.repository(uow, store=store)
        repo.add(_entry("m2", "WL000002"))
        repo.credit("m1")
        repo.admit("m1", T0)
        raise _Undo


class WaitlistContract(CapabilityContract):
    """The waitlist (``uow.waitlist``): the store's sequence, the score rule, admitted once."""

    needs = Needs(repositories=(WAITLIST,))

    def test_the_store_assigns_the_sequence_once_per_member(self, store: Store) -> None:
        """1, 2, 3 in join order; a retry returns the stored entry; a taken code is `CodeTaken`."""
        with store.transaction() as uow:
            repo = WAITLIST.repository(uow, store=store)
            seqs = [repo.add(_entry(f"m{i}", f"WL00000{i}"))[0].seq for i in range(1, 4)]
            again, created = repo.add(_entry("m1", "WL000009"))
            with pytest.raises(CodeTaken):
                repo.add(_entry("m9", "WL000001"))
            assert repo.by_code("WL000002") == repo.get("m2")
        assert seqs == [1, 2, 3]
        assert (again.seq, created) == (1, False)

    def test_positions_rank_by_score_then_sequence(self, store: Store) -> None:
        """The score is seq - per_referral * referred; the admitted hold no position."""
        with store.transaction() as uow:
            repo = WAITLIST.repository(uow, store=store)
            for i in range(1, 7):
                repo.add(_entry(f"m{i}", f"WL00000{i}"))
            assert repo.credit("m6")
            assert not repo.credit("nobody")
            # m6: 6 - 5 = 1, tied with m1 who joined earlier
            assert [repo.position(f"m{i}", 5) for i in range(1, 7)] == [1, 3, 4, 5, 6, 2]
            assert [e.member for e in repo.top(3, 5)] == ["m1", "m6", "m2"]
            assert [repo.position(f"m{i}", 0) for i in range(1, 7)] == [1, 2, 3, 4, 5, 6]
            assert repo.admit("m1", T0)
            assert not repo.admit("m1", T0)
            assert repo.position("m1", 5) is None
            assert repo.position("m6", 5) == 1
            assert repo.position("nobody", 5) is None
            admitted = repo.get("m1")
            facts = repo.facts(5)
        assert admitted is not None
        assert (admitted.state, admitted.admitted_at) == (WaitlistState.ADMITTED, T0)
        assert (facts.joined, facts.waiting, facts.admitted) == (6, 5, 1)
        assert (facts.referred_joins, facts.places_gained) == (1, 5)

    def test_a_unit_of_work_that_raises_leaves_no_entry_credit_or_admission(
        self, store: Store
    ) -> None:
        """Entries, credits and admissions are rolled back; the sequence resumes."""
        with store.transaction() as uow:
            WAITLIST.repository(uow, store=store).add(_entry("m1", "WL000001"))
        with pytest.raises(_Undo):
            _then_fail_waitlist(store)
        with store.transaction() as uow:
            repo = WAITLIST.repository(uow, store=store)
            kept = repo.get("m1")
            assert repo.get("m2") is None
            later, _ = repo.add(_entry("m3", "WL000003"))
        assert kept is not None
        assert (kept.referred, kept.state) == (0, WaitlistState.WAITING)
        assert later.seq > kept.seq
