"""The facts and answers of trigger moments: a reported moment, a decision, its evidence."""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit._json import JSONForm

__all__ = [
    "DELIVERED",
    "LOYALTY_MILESTONE",
    "NPS",
    "REPEAT_PURCHASE",
    "REVIEW",
    "DecisionRecord",
    "InviteDecision",
    "MomentEvidence",
    "MomentRecord",
    "MomentStats",
]

#: Moment names the library knows; a host may report any other name of its own.
DELIVERED = "order_delivered"
REVIEW = "review"
NPS = "nps"
REPEAT_PURCHASE = "repeat_purchase"
LOYALTY_MILESTONE = "loyalty_milestone"


@attrs.frozen(slots=True)
class MomentRecord(JSONForm):
    """A moment the host reported for a customer, stored once under (customer, ``key``).

    ``score`` is a review's stars or an NPS answer when the moment has one; ``order_id``
    the order it is about, if any.
    """

    customer_id: str
    moment: str
    key: str
    occurred_at: datetime
    score: int | None = None
    order_id: str | None = None


@attrs.frozen(slots=True)
class MomentEvidence(JSONForm):
    """What the learner knows of one moment type: invitations asked, and how many worked.

    ``followed`` counts invitations after which a friend joined within the follow window;
    ``mean`` is the posterior mean of that rate (Beta(1 + followed, 1 + misses)).
    """

    moment: str
    asked: int
    followed: int
    mean: float


@attrs.frozen(slots=True)
class InviteDecision(JSONForm):
    """Whether to show the invitation now, and why: the answer to ``should_invite``.

    ``reason`` is a machine-readable code (``moment.invite``, ``moment.cooldown``,
    ``moment.period_limit``, ``moment.refunded``, ``moment.low_score``,
    ``moment.learning.best``, ``moment.learning.explore``,
    ``moment.learning.not_best``); ``next_allowed_at`` when the fixed rules would next
    allow one, if they said no for a time. With learning on, ``exploration`` is the rate
    of invitations made to explore and ``evidence`` what the learner weighed.
    """

    id: str
    customer_id: str
    moment: str
    invite: bool
    reason: str
    decided_at: datetime
    next_allowed_at: datetime | None = None
    exploration: float | None = None
    evidence: tuple[MomentEvidence, ...] = ()


@attrs.frozen(slots=True)
class DecisionRecord:
    """A decision as stored: what was asked, the answer, and until when what follows counts.

    ``follow_until`` ends the window in which a friend joining is credited to it (a later
    invitation of the same customer ends it earlier: the last invitation gets the credit).
    ``key`` (the host's) makes the decision once per (customer, key); ``next_allowed_at``
    and ``exploration`` are the answer's, kept for a replay.
    """

    id: str
    customer_id: str
    moment: str
    invite: bool
    reason: str
    decided_at: datetime
    follow_until: datetime
    key: str | None = None
    next_allowed_at: datetime | None = None
    exploration: float | None = None


@attrs.frozen(slots=True)
class MomentStats(JSONForm):
    """Per moment type: decisions, invitations, and what followed them.

    ``decided``: answers given; ``invited``: of them, yes; ``shared``: invitations the
    host reported shared; ``followed``: invitations after which at least one friend
    joined; ``friends``: friends joined (not rejected) credited to them; ``ordered``: of
    those friends, how many placed an order.
    """

    moment: str
    decided: int
    invited: int
    shared: int
    followed: int
    friends: int
    ordered: int

    @property
    def referrals_per_invite(self) -> float:
        """Friends joined per invitation shown (0 without invitations)."""
        return self.friends / self.invited if self.invited else 0.0

    @property
    def conversion_rate(self) -> float:
        """Friends who ordered per friend joined (0 without friends)."""
        return self.ordered / self.friends if self.friends else 0.0
