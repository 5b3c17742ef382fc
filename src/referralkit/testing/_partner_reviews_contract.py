"""`PartnerReviewsContract`: what a store guarantees for partner fraud signals and reviews.

A partner's hashed signals are a set; an order's click check is stored once and the
orders without a click are counted by the store inside a half-open window; a reward
has at most one open review (the store enforces it), and a review is decided once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from referralkit.model import (
    Beneficiary,
    CodeKind,
    Conversion,
    Partner,
    PartnerOrder,
    PartnerReview,
    PartnerState,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.program import PARTNER_REVIEWS, PARTNERS
from referralkit.protocols import Store, UnitOfWork
from referralkit.testing._store_base import CapabilityContract, Needs

__all__ = ["PartnerReviewsContract"]

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def _partner(uow: UnitOfWork, pid: str = "anna") -> None:
    PARTNERS.repository(uow, store=None).add(
        Partner(pid, "Anna", "influencer", PartnerState.APPROVED, T0, f"acct-{pid}")
    )
    uow.codes.add(ReferralCode(f"ACCT{pid.upper()}", pid, f"partner:{pid}", CodeKind.VANITY, T0))
    uow.referrals.add(
        Referral(
            id=f"acct-{pid}",
            code=f"ACCT{pid.upper()}",
            referrer=pid,
            referee=pid,
            status=ReferralStatus.REJECTED,
            reasons=("partner.account",),
            attributed_at=T0,
            campaign=f"partner:{pid}",
            policy_version="v1",
        )
    )


def _order(uow: UnitOfWork, order_id: str, pid: str = "anna", at: datetime = T0) -> None:
    uow.conversions.add(Conversion(order_id, "cust-9", Money("60", "USD"), at, first_order=True))
    PARTNERS.repository(uow, store=None).attribute(
        PartnerOrder(order_id, pid, f"ACCT{pid.upper()}", "cust-9", "v1", at)
    )


def _reward(uow: UnitOfWork, reward_id: str, order_id: str | None, pid: str = "anna") -> None:
    uow.rewards.add(
        Reward(
            id=reward_id,
            key=f"{order_id}:partner:{pid}:{reward_id}",
            referral_id=f"acct-{pid}",
            beneficiary=Beneficiary.REFERRER,
            customer_id=pid,
            kind=RewardKind.CASH,
            amount=Money("6", "USD"),
            granted=Money("6", "USD"),
            points=0,
            state=RewardState.HELD,
            order_id=order_id,
            policy="p",
            explanation="e",
            created_at=T0,
            hold_until=None,
        )
    )


def _review(rid: str, reward_id: str, order_id: str | None, *reasons: str) -> PartnerReview:
    return PartnerReview(rid, reward_id, "anna", order_id, reasons or ("partner.own_code",), T0)


class _Undo(Exception):
    pass


def _write_then_fail(store: Store) -> None:
    """A signal, a check and a review in one unit of work, then raise inside it."""
    with store.transaction() as uow:
        repo = PARTNER_REVIEWS.repository(uow, store=store)
        repo.add_signals("anna", [("email", "h1")])
        repo.check_order("o-1", "anna", T0, clicked=False)
        repo.add_review(_review("rv-1", "rw-1", "o-1"))
        raise _Undo


class PartnerReviewsContract(CapabilityContract):
    """Partner fraud signals and reviews (``uow.partners``): once per key, counted in the store."""

    needs = Needs(repositories=(PARTNERS, PARTNER_REVIEWS))

    def test_signals_are_a_set_per_partner(self, store: Store) -> None:
        """Signals added twice are one; another partner's are their own."""
        with store.transaction() as uow:
            _partner(uow)
            _partner(uow, "ben")
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            repo.add_signals("anna", [("email", "h1"), ("device", "h2")])
            repo.add_signals("anna", [("email", "h1")])
            repo.add_signals("ben", [("email", "h3")])
        with store.transaction() as uow:
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            assert repo.signals("anna") == frozenset({("email", "h1"), ("device", "h2")})
            assert repo.signals("ben") == frozenset({("email", "h3")})
            assert repo.signals("cara") == frozenset()

    def test_orders_without_a_click_are_counted_in_a_half_open_window(self, store: Store) -> None:
        """``since < t <= until``; a check is stored once; clicked orders never count."""
        with store.transaction() as uow:
            _partner(uow)
            _partner(uow, "ben")
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            for i, (pid, clicked) in enumerate(
                [("anna", False), ("anna", True), ("anna", False), ("ben", False)]
            ):
                _order(uow, f"o-{i}", pid)
                assert repo.check_order(f"o-{i}", pid, T0 + i * MINUTE, clicked=clicked)
            assert not repo.check_order("o-0", "anna", T0, clicked=True)
        with store.transaction() as uow:
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            assert repo.unclicked("anna", T0 - MINUTE, T0 + 10 * MINUTE) == 2
            assert repo.unclicked("anna", T0, T0 + 10 * MINUTE) == 1
            assert repo.unclicked("anna", T0 - MINUTE, T0) == 1
            assert repo.unclicked("anna", T0 + 2 * MINUTE, T0 + 10 * MINUTE) == 0
            assert repo.unclicked("ben", T0, T0 + 10 * MINUTE) == 1

    def test_a_reward_has_one_open_review_and_is_decided_once(self, store: Store) -> None:
        """A second open review of a reward is refused; once decided, a new one may open."""
        with store.transaction() as uow:
            _partner(uow)
            _order(uow, "o-1")
            _reward(uow, "rw-1", "o-1")
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            assert repo.add_review(_review("rv-1", "rw-1", "o-1"))
            assert not repo.add_review(_review("rv-2", "rw-1", "o-1", "partner.banned"))
            assert repo.open_review("rw-1") == _review("rv-1", "rw-1", "o-1")
            assert repo.decide("rv-1", "approved", "ok", T0 + MINUTE)
            assert not repo.decide("rv-1", "rejected", None, T0 + MINUTE)
            assert repo.open_review("rw-1") is None
            assert repo.add_review(_review("rv-3", "rw-1", "o-1", "partner.banned"))
        with store.transaction() as uow:
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            decided = repo.get_review("rv-1")
            assert decided is not None
            assert (decided.decision, decided.decided_at, decided.note) == (
                "approved",
                T0 + MINUTE,
                "ok",
            )
            assert repo.open_review("rw-1") == _review("rv-3", "rw-1", "o-1", "partner.banned")
            assert repo.get_review("rv-9") is None

    def test_open_reviews_page_in_the_order_opened_and_filter(self, store: Store) -> None:
        """Oldest first, after a review id, by partner, order and reason; decided ones leave."""
        with store.transaction() as uow:
            _partner(uow)
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            for i in range(4):
                _order(uow, f"o-{i}")
                _reward(uow, f"rw-{i}", f"o-{i}")
                reason = "partner.leaked_code" if i % 2 else "partner.own_code"
                repo.add_review(_review(f"rv-{i}", f"rw-{i}", f"o-{i}", reason))
            _reward(uow, "rw-fee", None)
            repo.add_review(_review("rv-fee", "rw-fee", None, "partner.banned"))
            repo.decide("rv-2", "rejected", None, T0)
        with store.transaction() as uow:
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            ids = [r.id for r in repo.open_reviews(10)]
            assert ids == ["rv-0", "rv-1", "rv-3", "rv-fee"]
            assert [r.id for r in repo.open_reviews(2)] == ["rv-0", "rv-1"]
            assert [r.id for r in repo.open_reviews(2, after="rv-1")] == ["rv-3", "rv-fee"]
            assert [r.id for r in repo.open_reviews(10, reason="partner.leaked_code")] == [
                "rv-1",
                "rv-3",
            ]
            assert [r.id for r in repo.open_reviews(10, reason="partner.leaked")] == []
            assert [r.id for r in repo.open_reviews(10, order_id="o-3")] == ["rv-3"]
            assert [r.id for r in repo.open_reviews(10, partner_id="ben")] == []
            fee = repo.open_reviews(1, after="rv-3")[0]
            assert (fee.order_id, fee.reasons) == (None, ("partner.banned",))

    def test_signals_checks_and_reviews_roll_back_with_their_unit_of_work(
        self, store: Store
    ) -> None:
        """A unit of work that raises leaves no signal, check or review."""
        with store.transaction() as uow:
            _partner(uow)
            _order(uow, "o-1")
            _reward(uow, "rw-1", "o-1")
        with pytest.raises(_Undo):
            _write_then_fail(store)
        with store.transaction() as uow:
            repo = PARTNER_REVIEWS.repository(uow, store=store)
            assert repo.signals("anna") == frozenset()
            assert repo.unclicked("anna", T0 - MINUTE, T0) == 0
            assert repo.open_review("rw-1") is None
            assert repo.open_reviews(10) == []
