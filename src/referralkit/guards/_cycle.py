"""`ReferralCycle`: rings of customers referring each other."""

from __future__ import annotations

import attrs

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.errors import ConfigError
from referralkit.guards._base import decision, verdict

__all__ = ["ReferralCycle"]

_SHORTEST_RING = 2


def _length(value: int) -> int:
    raw: object = value
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < _SHORTEST_RING:
        raise ConfigError("max_length must be an int of at least 2", value=value, path="max_length")
    return value


@attrs.frozen(slots=True)
class ReferralCycle:
    """Block a referral that closes a ring: A refers B refers A, or longer, up to ``max_length``.

    The referee is looked for among the referrer's own referrers, up to
    ``max_length - 1`` steps up. Reason: ``referral_cycle``.
    """

    max_length: int = attrs.field(default=3, converter=_length)
    decision: Decision = attrs.field(default=Decision.BLOCK, converter=decision)

    @property
    def name(self) -> str:
        """``referral_cycle``."""
        return "referral_cycle"

    @property
    def needs(self) -> tuple[str, ...]:
        """The history it reads: the referrer's chain of referrers."""
        return ("upline",)

    def check(self, context: GuardContext) -> Verdict:
        """Look for the referee above the referrer."""
        upline = context.history.referrer_upline[: self.max_length - 1]
        if context.referee in upline:
            return verdict(self.decision, ["referral_cycle"])
        return Verdict.allow()
