"""Campaigns: a code's dates, terms, code format, link base and share channels."""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit.codes import CodeFormat
from referralkit.errors import ConfigError
from referralkit.protocols import RewardPolicy

__all__ = ["Campaign"]


def _channels(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise ConfigError("channels must be a list of channel names", value=value, path="channels")
    if not all(isinstance(c, str) and c.strip() for c in value):
        raise ConfigError("channels must be non-empty names", value=value, path="channels")
    return tuple(value)


@attrs.frozen(slots=True)
class Campaign:
    """A campaign: its own dates, terms, code format, link base and share channels.

    A code belongs to one campaign; ``policy`` (the program's when None) is the terms a
    referral made with such a code keeps, under ``policy_version`` if it is named
    (derived from the policy's definition otherwise; a policy that cannot be described
    as configuration must be named). ``start``/``end`` bound when codes may be
    used (``end`` excluded); ``channels`` lists the share channels offered (empty: all).
    """

    name: str
    policy: RewardPolicy | None = None
    start: datetime | None = None
    end: datetime | None = None
    code_format: CodeFormat | None = None
    link_base: str | None = None
    channels: tuple[str, ...] = attrs.field(default=(), converter=_channels)
    policy_version: str | None = None

    def __attrs_post_init__(self) -> None:
        name: object = self.name
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ConfigError("a campaign needs a name", value=name, path="name")
        if self.policy is not None and not isinstance(self.policy, RewardPolicy):
            raise ConfigError("policy must be a reward policy", value=self.policy, path="policy")
        for field in ("start", "end"):
            when: object = getattr(self, field)
            if when is not None and (not isinstance(when, datetime) or when.tzinfo is None):
                raise ConfigError(
                    f"{field} must be a timezone-aware datetime", value=when, path=field
                )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ConfigError("end must be after start", value=self.end, path="end")
        if self.code_format is not None and not isinstance(self.code_format, CodeFormat):
            raise ConfigError(
                "code_format must be a CodeFormat", value=self.code_format, path="code_format"
            )
        version: object = self.policy_version
        if version is not None and (not isinstance(version, str) or not version.strip()):
            raise ConfigError(
                "policy_version must be a non-empty name", value=version, path="policy_version"
            )
        base: object = self.link_base
        if base is not None and (not isinstance(base, str) or "://" not in base):
            raise ConfigError("link_base must be an absolute URL", value=base, path="link_base")

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` is inside the campaign's dates."""
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    def allows(self, channel: str | None) -> bool:
        """True when ``channel`` is one of the campaign's channels (or it lists none)."""
        return channel is None or not self.channels or channel in self.channels
