"""A referrer's friends: who they brought, how far each has come, and what each earned.

One page is three store queries whatever its size: the referrer's referees (one
referral each), the orders of those referrals, and their rewards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from referralkit._validate import require_id
from referralkit.model import (
    Beneficiary,
    Conversion,
    Friend,
    FriendReward,
    FriendStage,
    Referral,
    ReferralStatus,
    Reward,
    RewardState,
)
from referralkit.program._core import ProgramCore
from referralkit.program._paging import page_cursor, page_limit
from referralkit.program._partner_store import is_account

__all__ = ["MAX_PAGE", "referees", "stage_of"]

#: The largest page of friends one call returns.
MAX_PAGE = 500
_CLEARED = frozenset({RewardState.AVAILABLE, RewardState.PAID})


def _refunded_in_full(order: Conversion) -> bool:
    return order.refunded is not None and order.net.is_zero()


def stage_of(
    referral: Referral, orders: Sequence[Conversion], rewards: Sequence[Reward]
) -> FriendStage:
    """Where a friend stands (`referralkit.model.FriendStage` defines each stage)."""
    if referral.status is ReferralStatus.REJECTED:
        return FriendStage.REJECTED
    if referral.status is ReferralStatus.REVIEW:
        return FriendStage.IN_REVIEW
    if not orders:
        return FriendStage.JOINED
    if all(_refunded_in_full(o) for o in orders):
        return FriendStage.REFUNDED
    earned = any(
        r.beneficiary is Beneficiary.REFERRER and r.order_id is not None and r.state in _CLEARED
        for r in rewards
    )
    return FriendStage.REWARDED if earned else FriendStage.ORDERED


def _shown(reward: Reward) -> FriendReward:
    return FriendReward(
        beneficiary=reward.beneficiary,
        kind=reward.kind,
        amount=reward.amount,
        points=reward.points,
        state=reward.state,
        hold_until=reward.hold_until,
    )


def referees(core: ProgramCore, customer_id: str, *, after: str | None, limit: int) -> list[Friend]:
    """`referralkit.ReferralProgram.referees`."""
    referrer = require_id("customer_id", customer_id)
    limit = page_limit(limit, MAX_PAGE)
    with core.transaction() as uow:
        cursor = page_cursor(uow, after)
        page = [
            r
            for r in uow.referrals.friends(referrer, after=cursor, limit=limit)
            if not is_account(r)  # a partner's account record is no friend
        ]
        ids = [r.id for r in page]
        orders = uow.conversions.for_referrals(ids) if ids else []
        rewards = uow.rewards.for_referrals(ids) if ids else []
    orders_of: dict[str, list[Conversion]] = defaultdict(list)
    for order in orders:
        orders_of[order.referral_id or ""].append(order)
    rewards_of: dict[str, list[Reward]] = defaultdict(list)
    for reward in rewards:
        rewards_of[reward.referral_id].append(reward)
    return [
        Friend(
            referee=r.referee,
            referral_id=r.id,
            stage=stage_of(r, orders_of[r.id], rewards_of[r.id]),
            attributed_at=r.attributed_at,
            code=r.code,
            campaign=r.campaign,
            channel=r.channel,
            orders=len(orders_of[r.id]),
            reasons=r.reasons,
            rewards=tuple(_shown(w) for w in rewards_of[r.id]),
        )
        for r in page
    ]
