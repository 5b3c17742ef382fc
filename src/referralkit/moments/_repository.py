"""The moments capability's store contract: `MomentRepository`, reached as ``uow.moments``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from referralkit.moments._model import DecisionRecord, MomentRecord, MomentStats
from referralkit.protocols import Capability

__all__ = ["MOMENTS", "MomentRepository"]


@runtime_checkable
class MomentRepository(Protocol):
    """Reported moments, invitation decisions, and what followed them.

    A moment is stored once per (customer, key); a decision once per id, and once per
    (customer, key) when it has a key; a share once per decision. `stats` computes from
    stored facts: a friend (a referral of the decision's customer, not rejected) counts
    for the customer's latest invitation at or before the friend's attribution, if the
    friend came before that invitation's ``follow_until``.
    """

    def add(self, moment: MomentRecord) -> tuple[MomentRecord, bool]:
        """Store ``moment`` unless (customer, key) is stored; the stored one and whether new."""
        ...

    def latest_score(self, customer_id: str) -> MomentRecord | None:
        """The customer's latest moment with a score (by time, then the order stored)."""
        ...

    def last_order_refunded(self, customer_id: str) -> bool | None:
        """Whether the customer's latest order (by time) was refunded; None without orders."""
        ...

    def add_decision(self, decision: DecisionRecord) -> tuple[DecisionRecord, bool]:
        """Store a decision unless one of its customer has its ``key``; the stored one, new?

        Ids are fresh (never one stored before); a decision without a key is always new.
        """
        ...

    def decision(self, decision_id: str) -> DecisionRecord | None:
        """The decision with this id."""
        ...

    def invited_since(self, customer_id: str, since: datetime) -> list[datetime]:
        """Times of the customer's invitations (decisions that said yes) from ``since`` on."""
        ...

    def add_share(self, decision_id: str, channel: str | None, at: datetime) -> bool:
        """Record that the invitation was shared, once per decision; whether this call's."""
        ...

    def stats(self, since: datetime | None, until: datetime | None) -> list[MomentStats]:
        """Per moment type, for decisions made in ``[since, until)``; by moment name."""
        ...


#: Trigger moments (`MomentRepository` as ``uow.moments``).
MOMENTS: Capability[MomentRepository] = Capability("moments", "moments", MomentRepository)
