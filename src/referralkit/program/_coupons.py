"""Coupons: finding a coupon reward by its code, and redeeming it at a checkout.

A coupon is a reward of kind ``coupon`` with a generated code (the program's coupon
format, check character included, forgiving input like referral codes). Only its owner
may use it, only while it is available and not expired, once, on one order: the
redemption is recorded under the coupon's code, so a retried checkout never uses it
twice.
"""

from __future__ import annotations

from referralkit._validate import require_id
from referralkit.codes import normalize_code
from referralkit.errors import CodeExpired, InvalidCode, InvalidInput, InvalidState, UnknownCode
from referralkit.model import Reward, RewardKind, RewardState
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import transition

__all__ = ["coupon", "redeem_coupon"]


def _coupon_code(core: ProgramCore, code: object) -> str:
    if not isinstance(code, str):
        raise InvalidInput("a coupon code is a string", value=code, field="code")
    try:
        return normalize_code(code, core.coupon_format)
    except InvalidCode as exc:
        raise InvalidCode(
            f"{exc.message} (a coupon code has {core.coupon_format.length} characters)",
            value=code,
            reason=exc.reason,
        ) from None


def coupon(core: ProgramCore, code: str) -> Reward | None:
    """`referralkit.ReferralProgram.coupon`."""
    canonical = _coupon_code(core, code)
    with core.transaction() as uow:
        return uow.rewards.by_coupon(canonical)


def redeem_coupon(core: ProgramCore, code: str, *, customer_id: str, order_id: str) -> Reward:
    """`referralkit.ReferralProgram.redeem_coupon`."""
    canonical = _coupon_code(core, code)
    customer_id = require_id("customer_id", customer_id)
    order_id = require_id("order_id", order_id)
    now = core.now()
    with core.transaction() as uow:
        reward = uow.rewards.by_coupon(canonical)
        if reward is None or reward.kind is not RewardKind.COUPON:
            raise UnknownCode(f"no coupon {canonical!r}", value=canonical)
        if reward.customer_id != customer_id:
            raise InvalidState("this coupon belongs to another customer", value=canonical)
        if reward.redeemed_order == order_id:
            return reward  # the same checkout again
        if reward.redeemed_order is not None:
            raise InvalidState(
                f"coupon {canonical!r} was used on another order", value=reward.redeemed_order
            )
        if reward.state is not RewardState.AVAILABLE:
            when = (
                ""
                if reward.hold_until is None
                else f" (usable from {reward.hold_until:%Y-%m-%d %H:%M} UTC)"
            )
            raise InvalidState(
                f"coupon {canonical!r} is {reward.state.value}{when}", value=reward.state.value
            )
        if reward.expires_at is not None and reward.expires_at <= now:
            raise CodeExpired(
                f"coupon {canonical!r} expired at {reward.expires_at}", value=canonical
            )
        recorded, created = uow.rewards.add_redemption(canonical, order_id, customer_id, now)
        if not created:
            raise InvalidState(f"coupon {canonical!r} was used on another order", value=recorded)
        return transition(
            uow,
            reward,
            RewardState.PAID,
            reason="redeemed",
            event="coupon.redeemed",
            now=now,
            redeemed_order=order_id,
        )
