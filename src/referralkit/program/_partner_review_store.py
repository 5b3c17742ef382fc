"""What a store must offer for partner fraud signals and reviews: `PartnerReviewRepository`.

A repository capability on the same attribute as partner programmes (``uow.partners``),
reached through `PARTNER_REVIEWS`: a store whose partner repository lacks it runs partner
programmes without the partner rules at checkout, and says what it lacks when asked to
keep a partner's identity or for the review queue. Every write is an insert under a key
the store enforces (a partner's signal, an order id, one open review per reward) or one
conditional update (a decision), never a read and a later write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from referralkit.context import Signal
from referralkit.model import PartnerReview
from referralkit.protocols import Capability

__all__ = ["PARTNER_REVIEWS", "PartnerReviewRepository"]


@runtime_checkable
class PartnerReviewRepository(Protocol):
    """Partners' hashed identity signals, checkout click checks and the partner review queue.

    The contract every implementation guarantees:

    - `add_signals` keeps a set per partner; `check_order` records an order's click check
      once per order id; `unclicked` counts in the store (SQL on SQL stores), over
      ``since < t <= until``.
    - `add_review` opens at most one review per reward (the store enforces it); `decide`
      closes an open review in one conditional write, once.
    """

    def add_signals(self, partner_id: str, signals: Iterable[Signal]) -> None:
        """Remember these hashed identity signals for the partner (idempotent)."""
        ...

    def signals(self, partner_id: str) -> frozenset[Signal]:
        """Every hashed identity signal known for the partner."""
        ...

    def check_order(self, order_id: str, partner_id: str, at: datetime, *, clicked: bool) -> bool:
        """Record once whether the buyer of ``order_id`` clicked the partner's links."""
        ...

    def unclicked(self, partner_id: str, since: datetime, until: datetime) -> int:
        """How many of the partner's checked orders had no click, at ``since < t <= until``."""
        ...

    def add_review(self, review: PartnerReview) -> bool:
        """Open ``review`` unless its reward has an open review; whether this call opened it."""
        ...

    def open_review(self, reward_id: str) -> PartnerReview | None:
        """The reward's open review, if it has one."""
        ...

    def open_reviews(
        self,
        limit: int,
        *,
        after: str | None = None,
        partner_id: str | None = None,
        order_id: str | None = None,
        reason: str | None = None,
    ) -> list[PartnerReview]:
        """Open reviews in the order they were opened, after the review ``after``, filtered."""
        ...

    def get_review(self, review_id: str) -> PartnerReview | None:
        """The review with this id, open or decided."""
        ...

    def decide(self, review_id: str, decision: str, note: str | None, at: datetime) -> bool:
        """Close an open review with ``decision``; whether this call closed it (once only)."""
        ...


#: Partner fraud signals and reviews (`PartnerReviewRepository` on ``uow.partners``).
PARTNER_REVIEWS: Capability[PartnerReviewRepository] = Capability(
    "partner fraud signals and reviews", "partners", PartnerReviewRepository
)
