"""Campaigns: a code's dates, terms, code format, link base and share channels."""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit.codes import CodeFormat
from referralkit.protocols import RewardPolicy

__all__ = ["Campaign"]


@attrs.frozen(slots=True)
class Campaign:
    """A campaign: its own dates, terms, code format, link base and share channels.

    A code belongs to one campaign; ``policy`` (the program's when None) is the terms a
    referral made with such a code keeps. ``start``/``end`` bound when codes may be
    used (``end`` excluded); ``channels`` lists the share channels offered (empty: all).
    """

    name: str
    policy: RewardPolicy | None = None
    start: datetime | None = None
    end: datetime | None = None
    code_format: CodeFormat | None = None
    link_base: str | None = None
    channels: tuple[str, ...] = ()

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` is inside the campaign's dates."""
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    def allows(self, channel: str | None) -> bool:
        """True when ``channel`` is one of the campaign's channels (or it lists none)."""
        return channel is None or not self.channels or channel in self.channels
