"""`SelfReferral`: the same person on both sides of a referral."""

from __future__ import annotations

import attrs

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.guards._base import kinds, verdict

__all__ = ["SelfReferral"]


@attrs.frozen(slots=True)
class SelfReferral:
    """Refuse a referral whose referee shares a normalised signal with the referrer.

    A match on a ``block_on`` kind blocks; a match on a ``review_on`` kind alone sends
    the referral to review. The defaults block on email, phone, device, card and postal
    address and only review a shared IP (families and offices share one);
    `default_guards` moves the address to review so partners at one home are never
    blocked. Reasons: ``self_referral.<kind>`` per shared kind.
    """

    block_on: tuple[str, ...] = attrs.field(
        default=("email", "phone", "device", "payment", "address"), converter=kinds
    )
    review_on: tuple[str, ...] = attrs.field(default=("ip",), converter=kinds)

    @property
    def name(self) -> str:
        """``self_referral``."""
        return "self_referral"

    def check(self, context: GuardContext) -> Verdict:
        """Compare the referee's hashed signals with the referrer's."""
        shared = context.referee_signals & context.referrer_signals
        if not shared:
            return Verdict.allow()
        found = {kind for kind, _ in shared}
        blocked = [k for k in self.block_on if k in found]
        reviewed = [k for k in self.review_on if k in found and k not in blocked]
        reasons = [f"self_referral.{k}" for k in (*blocked, *reviewed)]
        return verdict(Decision.BLOCK if blocked else Decision.REVIEW, reasons)
