"""Asking at the right moment: reported moments, the rules of asking, and learning.

The host reports moments (``program.moments.report``) and asks
``program.moments.should_invite(customer_id, moment)`` before showing an invitation;
the answer is an `InviteDecision`. The rules (`MomentRules`) are pure and configurable;
`Learning` adds Thompson sampling over moment types. The store side is the `MOMENTS`
capability (`MomentRepository`), and `DELIVERIES` (`DeliveryRepository`) for orders
the host reports delivered (``program.delivered``), which holds `UntilDelivered` wait for.
"""

from referralkit.moments._deliveries import DELIVERIES, DeliveryRepository, UntilDelivered
from referralkit.moments._learning import BEST, EXPLORE, NOT_BEST, Learning
from referralkit.moments._model import (
    DELIVERED,
    LOYALTY_MILESTONE,
    NPS,
    REPEAT_PURCHASE,
    REVIEW,
    DecisionRecord,
    InviteDecision,
    MomentEvidence,
    MomentRecord,
    MomentStats,
)
from referralkit.moments._repository import MOMENTS, MomentRepository
from referralkit.moments._rules import (
    COOLDOWN,
    INVITE,
    LOW_SCORE,
    PERIOD_LIMIT,
    REFUNDED,
    MomentContext,
    MomentRules,
    decide,
)

__all__ = [
    "BEST",
    "COOLDOWN",
    "DELIVERED",
    "DELIVERIES",
    "EXPLORE",
    "INVITE",
    "LOW_SCORE",
    "LOYALTY_MILESTONE",
    "MOMENTS",
    "NOT_BEST",
    "NPS",
    "PERIOD_LIMIT",
    "REFUNDED",
    "REPEAT_PURCHASE",
    "REVIEW",
    "DecisionRecord",
    "DeliveryRepository",
    "InviteDecision",
    "Learning",
    "MomentContext",
    "MomentEvidence",
    "MomentRecord",
    "MomentRepository",
    "MomentRules",
    "MomentStats",
    "UntilDelivered",
    "decide",
]
