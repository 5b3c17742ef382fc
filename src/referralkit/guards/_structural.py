"""`Structural`: the rules no configuration turns off, and the reason codes they share.

The program checks them on every attribution before the configured guards, and a
structural block is final: nobody refers themselves under their own customer id.
A referee's standing referral is enforced by the store (one non-rejected referral per
referee); `DuplicateReferee` reports it early with `ALREADY_REFERRED`, and the program
records a second attribution that loses to it with the same reason.
"""

from __future__ import annotations

import attrs

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.guards._base import verdict

__all__ = ["ALREADY_REFERRED", "SELF_REFERRAL_BY_ID", "Structural"]

#: The referee is the referrer: the same customer id on both sides.
SELF_REFERRAL_BY_ID = "self_referral.customer_id"
#: The referee already has a standing referral (first valid attribution wins).
ALREADY_REFERRED = "duplicate_referee.already_referred"


@attrs.frozen(slots=True)
class Structural:
    """Blocks a referral whose referee is its referrer (``self_referral.customer_id``)."""

    @property
    def name(self) -> str:
        """``structural``."""
        return "structural"

    def check(self, context: GuardContext) -> Verdict:
        """Block when the referee's customer id is the referrer's."""
        if context.referee == context.referrer:
            return verdict(Decision.BLOCK, [SELF_REFERRAL_BY_ID])
        return Verdict.allow()
