"""An example referralkit plugin: one reward policy and one guard, found by entry points."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

import referralkit as rk

__all__ = ["ChannelReview", "WeekendBonus"]

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _days(value: Sequence[str]) -> tuple[str, ...]:
    days = tuple(value)
    unknown = [d for d in days if d not in DAYS]
    if isinstance(value, str) or not days or unknown:
        msg = f"days must be a non-empty list of {', '.join(DAYS)}; not {value!r}"
        raise rk.ConfigError(msg, value=value, path="days")
    return days


@attrs.frozen(slots=True)
class WeekendBonus:
    """A bonus for the referrer when the friend's order is placed on a weekend day.

    The day is the order's (``conversion.occurred_at``), in its own time zone: a
    policy reads the context, never the clock.
    """

    bonus: rk.Money
    days: tuple[str, ...] = attrs.field(default=("saturday", "sunday"), converter=_days)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.bonus, rk.Money) or self.bonus.amount < 0:
            msg = f"bonus must be non-negative Money, not {self.bonus!r}"
            raise rk.ConfigError(msg, value=self.bonus, path="bonus")

    @property
    def needs(self) -> frozenset[str]:
        """Reads no history: the program can skip those queries."""
        return frozenset()

    @property
    def name(self) -> str:
        """Recorded on every reward this policy grants."""
        return f"weekend_bonus({self.bonus.round()})"

    def evaluate(self, context: rk.RewardContext) -> tuple[rk.Grant, ...]:
        """The bonus, if the order was placed on one of ``days``."""
        day = DAYS[context.conversion.occurred_at.weekday()]
        if day not in self.days:
            return ()
        return (
            rk.Grant(
                beneficiary=rk.Beneficiary.REFERRER,
                kind=rk.RewardKind.CREDIT,
                policy=self.name,
                explanation=f"an order placed on a {day}: a bonus of {self.bonus.round()}",
                key=self.name,
                amount=self.bonus.round(),
            ),
        )


@attrs.frozen(slots=True)
class ChannelReview:
    """Send attributions that arrive through one of ``channels`` to a person for review."""

    channels: tuple[str, ...] = attrs.field(converter=tuple)

    @property
    def name(self) -> str:
        """Used in configuration and reports."""
        return "channel_review"

    def check(self, context: rk.GuardContext) -> rk.Verdict:
        """Review when the attribution came through a listed channel."""
        if context.channel in self.channels:
            return rk.Verdict(rk.Decision.REVIEW, (f"channel_review.{context.channel}",), 0.5)
        return rk.Verdict.allow()
