"""The order lifecycle: the host reports an order delivered, and holds that wait for it end.

A reward whose hold is `referralkit.moments.UntilDelivered` is held without a release
date until its order is delivered; `delivered` gives it one (the delivery time plus the
return window) with a ``reward.release_scheduled`` event, and `release_due` does the
rest. On a store with trigger moments, the delivery is also the customer's
``order_delivered`` moment.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit._validate import opt_aware, require_id
from referralkit.model import Reward, RewardState
from referralkit.moments import DELIVERED, DELIVERIES, MOMENTS, MomentRecord, UntilDelivered
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import reward_payload
from referralkit.program._partner_review_store import PARTNER_REVIEWS
from referralkit.protocols import UnitOfWork

__all__ = ["delivered"]


def delivered(core: ProgramCore, order_id: str, at: datetime | None) -> list[Reward]:
    """`referralkit.ReferralProgram.delivered`."""
    order_id = require_id("order_id", order_id)
    now = core.now()
    when = opt_aware("at", at) or now
    with core.transaction() as uow:
        stored_at, new = DELIVERIES.repository(uow, store=core.store).add(order_id, when, now)
        if new:
            uow.events.add(
                "order.delivered",
                {"order_id": order_id, "delivered_at": stored_at.isoformat()},
                now,
            )
        reviews = (
            None
            if PARTNER_REVIEWS.missing(uow)
            else PARTNER_REVIEWS.repository(uow, store=core.store)
        )
        for reward in uow.rewards.for_order(order_id):
            if reward.state is RewardState.HELD and reward.hold_until is None:
                if reviews is not None and reviews.open_review(reward.id) is not None:
                    continue  # a partner's reward in review waits for the operator
                _schedule(core, uow, reward, stored_at, now)
        conversion = uow.conversions.get(order_id)
        if new and conversion is not None and not MOMENTS.missing(uow):
            moment = MomentRecord(
                conversion.referee, DELIVERED, f"{DELIVERED}:{order_id}", stored_at, None, order_id
            )
            MOMENTS.repository(uow, store=core.store).add(moment)
        return uow.rewards.for_order(order_id)


def _schedule(
    core: ProgramCore, uow: UnitOfWork, reward: Reward, delivered_at: datetime, now: datetime
) -> None:
    """Give a reward waiting for its order's delivery its release date."""
    hold = core.holds.for_reward(reward.beneficiary, reward.kind)
    window = hold.return_window if isinstance(hold, UntilDelivered) else hold
    release = delivered_at + window
    expires = None
    if reward.coupon_code is not None and core.coupon_expiry is not None:
        expires = release + core.coupon_expiry
    updated = attrs.evolve(reward, hold_until=release, expires_at=expires or reward.expires_at)
    uow.rewards.update(updated)
    uow.events.add("reward.release_scheduled", reward_payload(updated), now)
