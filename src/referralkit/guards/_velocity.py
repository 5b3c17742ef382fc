"""`Velocity`: too many referrals in too little time, per referrer and per network."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.errors import ConfigError
from referralkit.guards._base import decision, positive, verdict

__all__ = ["Velocity"]


def _window(value: timedelta) -> timedelta:
    raw: object = value
    if not isinstance(raw, timedelta) or raw <= timedelta(0):
        raise ConfigError("window must be a positive timedelta", value=value, path="window")
    return value


def _limit(value: int) -> int:
    return positive("limit", value)


def _network_limit(value: int | None) -> int | None:
    return None if value is None else positive("network_limit", value)


def _count_since(times: tuple[datetime, ...], since: datetime) -> int:
    return sum(1 for t in times if t > since)


@attrs.frozen(slots=True)
class Velocity:
    """Flag a burst of referrals, per referrer and per network.

    More than ``limit`` referrals for one referrer within ``window``, or more than
    ``network_limit`` (``limit`` by default) referees from one network, are flagged.
    Bursts are reviewed by default (``decision``), since a post that goes viral
    looks like a burst too. Reasons: ``velocity.referrer``, ``velocity.network``.
    """

    limit: int = attrs.field(converter=_limit)
    window: timedelta = attrs.field(converter=_window)
    network_limit: int | None = attrs.field(default=None, converter=_network_limit)
    decision: Decision = attrs.field(default=Decision.REVIEW, converter=decision)

    @property
    def name(self) -> str:
        """``velocity``."""
        return "velocity"

    @property
    def needs(self) -> tuple[str, ...]:
        """The history it reads: recent referral times by referrer and by network."""
        return ("referrer_recent", "network_recent")

    @property
    def lookback(self) -> timedelta:
        """How far back the program reads referral times: the window."""
        return self.window

    def check(self, context: GuardContext) -> Verdict:
        """Count this referral with the recent ones and compare with the limits."""
        since = context.now - self.window
        history = context.history
        reasons = []
        if _count_since(history.referrer_recent, since) + 1 > self.limit:
            reasons.append("velocity.referrer")
        network_limit = self.limit if self.network_limit is None else self.network_limit
        if _count_since(history.network_recent, since) + 1 > network_limit:
            reasons.append("velocity.network")
        return verdict(self.decision, reasons)
