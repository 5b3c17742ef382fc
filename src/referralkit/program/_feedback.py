"""Feedback for referrers: the events a message needs that no single write describes.

``tier.reached`` is written when a referral's qualification moves its referrer onto a
new tier (or milestone) of the terms it was promised: the referrer, the tier number, the
count that reached it and the next step, so a host sends "You reached tier 2!" without
a query. Ids and counts only: no personal data.
"""

from __future__ import annotations

from datetime import datetime

from referralkit.model import Referral
from referralkit.protocols import RewardPolicy, TieredPolicy, UnitOfWork

__all__ = ["tier_reached"]


def tier_reached(uow: UnitOfWork, policy: RewardPolicy, referral: Referral, now: datetime) -> None:
    """Write ``tier.reached`` if qualifying ``referral`` just moved its referrer up a tier."""
    if not isinstance(policy, TieredPolicy):
        return
    count = uow.referrals.qualified_count_at(referral.referrer, now)
    reached = policy.progress(count)
    before = policy.progress(count - 1) if count > 0 else None
    if reached is None or reached.current_tier is None:
        return
    if before is not None and before.current_tier == reached.current_tier:
        return
    uow.events.add(
        "tier.reached",
        {
            "referrer": referral.referrer,
            "tier": reached.current_tier,
            "qualified": count,
            "next_tier_at": reached.next_tier_at,
            "remaining": reached.remaining,
            "referral_id": referral.id,
            "campaign": referral.campaign,
        },
        now,
    )
