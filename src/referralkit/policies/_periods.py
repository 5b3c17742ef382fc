"""Calendar periods (a day, an ISO week, a month in a time zone), and a cap per period.

A calendar period is the one that contains a moment in the period's time zone (UTC
unless one is named): ``month`` in ``Europe/Berlin`` runs from local midnight on the 1st
to local midnight on the 1st of the next month. Bounds are returned as aware UTC times,
so stores compare them with stored UTC times.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import ClassVar, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.errors import ConfigError
from referralkit.model import Beneficiary, TierProgress
from referralkit.money import Money
from referralkit.policies._base import (
    check_limit,
    check_policy,
    combined_needs,
    covered_currencies,
    describe_limit,
    first_progress,
)
from referralkit.policies._limits import allot, room_left
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = [
    "PERIODS",
    "SPEND_NEED",
    "BudgetPerPeriod",
    "CappedPerPeriod",
    "add_months",
    "period_bounds",
    "period_field",
    "period_key",
    "timezone_field",
]

#: The calendar periods a policy can count over.
PERIODS: Final = ("day", "week", "month")
#: The ``needs`` entry of a policy that reads the programme's spend in a period.
SPEND_NEED: Final = "program_spend:"


def check_period(value: object) -> str:
    """``value`` if it is one of `PERIODS`, else `ConfigError` naming ``period``."""
    if value not in PERIODS:
        raise ConfigError(
            f"period must be one of {list(PERIODS)}, not {value!r}", value=value, path="period"
        )
    return str(value)


def check_timezone(value: object) -> str:
    """``value`` if it names an IANA time zone (``UTC``, ``Europe/Berlin``), else `ConfigError`."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"timezone must be an IANA time zone name such as 'Europe/Berlin', not {value!r}",
            value=value,
            path="timezone",
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"timezone {value!r} is not a known IANA time zone", value=value, path="timezone"
        ) from None
    return value


def period_field() -> str:
    """The ``period`` attribute of a policy that counts over a calendar period (a month)."""
    return attrs.field(
        default="month",
        validator=lambda _, __, value: check_period(value),
        metadata=setting(Form.CHOICE, choices=PERIODS, description="A calendar period."),
    )


def timezone_field(*, omit_default: bool = False) -> str:
    """The ``timezone`` attribute calendar periods are counted in (UTC).

    ``omit_default`` for a policy that gained the field after release (see `Setting`).
    """
    return attrs.field(
        default="UTC",
        validator=lambda _, __, value: check_timezone(value),
        metadata=setting(
            Form.TEXT,
            description="An IANA time zone: 'UTC', 'Europe/Berlin'.",
            omit_default=omit_default,
        ),
    )


def period_key(period: str, zone: str) -> str:
    """``month:UTC``: how a period is named in a policy's ``needs`` and in the context."""
    return f"{period}:{zone}"


def period_bounds(period: str, zone: str, when: datetime) -> tuple[datetime, datetime]:
    """The calendar ``period`` in ``zone`` that contains ``when``: ``[start, end)`` in UTC."""
    tz = ZoneInfo(zone)
    local = when.astimezone(tz)
    day = local.date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    if period == "day":
        following = day + timedelta(days=1)
    elif period == "week":
        following = day + timedelta(days=7)
    else:
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime(following.year, following.month, following.day, tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


#: The latest moment a calendar sum saturates at.
_LATEST: Final = datetime.max.replace(tzinfo=timezone.utc)


def add_months(when: datetime, months: int, zone: str) -> datetime:
    """The same local time ``months`` calendar months after ``when`` in ``zone``, in UTC.

    The day of the month is kept, or clamped to the last day of a shorter month: one
    month after 31 January is 28 (or 29) February. A local time that a clock change
    skips is read with the offset in force before the change. A sum past the year 9999
    is the latest moment Python can write.
    """
    tz = ZoneInfo(zone)
    local = when.astimezone(tz)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    if year > _LATEST.year:  # past the calendar Python can write: never reached
        return _LATEST
    last_day = calendar.monthrange(year, month)[1]
    moved = local.replace(year=year, month=month, day=min(local.day, last_day), fold=0)
    try:
        return moved.astimezone(timezone.utc)
    except OverflowError:
        return _LATEST


def describe_period(period: str, zone: str) -> str:
    """``per calendar month (UTC)``."""
    return f"per calendar {period} ({zone})"


@attrs.frozen(slots=True)
class CappedPerPeriod:
    """``reward``, but a referrer gets at most ``limit`` from it in each calendar ``period``.

    ``limit`` is `Money` (money rewards in that currency) or an int (points); ``period``
    is ``day``, ``week`` (ISO, from Monday) or ``month`` in ``timezone`` (UTC unless an
    IANA name is given). What counts is every reward the referrer holds, not reversed,
    granted in the calendar period that contains the grant's time, whichever policy
    granted it; the cap starts again with the next period. A grant that would cross the
    cap is cut to the room left. A partner's spend limit per day, week or month is this
    policy around their terms.

    Raises:
        CurrencyMismatch: (when evaluated) a money reward in another currency than the cap.
    """

    config_summary: ClassVar[str] = (
        "``reward`` up to ``limit`` per referrer in each calendar ``period`` (day, week, month)."
    )

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    limit: Money | int = attrs.field(metadata=setting(Form.LIMIT))
    period: str = period_field()
    timezone: str = timezone_field()

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")
        check_limit(self.limit, "limit")

    @property
    def needs(self) -> frozenset[str]:
        """The referrer's rewards, and whatever ``reward`` reads."""
        return combined_needs([self.reward], ("referrer_rewards",))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The cap's currency (a money cap), and whatever ``reward`` covers."""
        return covered_currencies([self.reward], (self.limit,))

    @property
    def name(self) -> str:
        """``capped_per_period(<reward>, 100.00 USD per calendar month (UTC))``."""
        return f"capped_per_period({self.reward.name}, {self._limit_text()})"

    def _limit_text(self) -> str:
        return f"{describe_limit(self.limit)} {describe_period(self.period, self.timezone)}"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants for the referrer, cut to what this period's cap leaves."""
        grants = self.reward.evaluate(context)
        start, end = period_bounds(self.period, self.timezone, context.now)
        past = [r for r in context.referrer_rewards if start <= r.granted_at < end]
        room = room_left(self.limit, [r.amount for r in past], sum(r.points for r in past))
        return allot(
            grants,
            room,
            applies=lambda g: g.beneficiary is Beneficiary.REFERRER,
            label="the cap",
            why=f"by the cap of {self._limit_text()}",
        )

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)


@attrs.frozen(slots=True)
class BudgetPerPeriod:
    """``reward`` until the programme has spent ``total`` in this calendar ``period``.

    `Budget` per day, week or month: spend is programme-wide, both sides, every reward
    not reversed that was granted in the calendar period containing the grant's time
    (in ``timezone``, UTC unless an IANA name is given), as the store adds it up. The
    grant that would cross the budget is cut to what is left; the next period starts
    from zero. It needs a store with partner programmes (memory, SQLite), which adds
    the period's spend up (SQL on SQLite).

    Raises:
        CurrencyMismatch: (when evaluated) a money reward in another currency than the budget.
    """

    config_summary: ClassVar[str] = (
        "``reward`` until the programme has spent ``total`` in the calendar ``period``."
    )

    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    total: Money | int = attrs.field(metadata=setting(Form.LIMIT))
    period: str = period_field()
    timezone: str = timezone_field()

    def __attrs_post_init__(self) -> None:
        check_policy(self.reward, "reward")
        check_limit(self.total, "total")

    @property
    def key(self) -> str:
        """The period as the context names it: ``month:UTC``."""
        return period_key(self.period, self.timezone)

    @property
    def needs(self) -> frozenset[str]:
        """The programme's spend in the period, and whatever ``reward`` reads."""
        return combined_needs([self.reward], (SPEND_NEED + self.key,))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The budget's currency (a money budget), and whatever ``reward`` covers."""
        return covered_currencies([self.reward], (self.total,))

    @property
    def name(self) -> str:
        """``budget_per_period(<reward>, 1000.00 USD per calendar month (UTC))``."""
        limit = f"{describe_limit(self.total)} {describe_period(self.period, self.timezone)}"
        return f"budget_per_period({self.reward.name}, {limit})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """``reward``'s grants, cut to what is left of this period's budget."""
        grants = self.reward.evaluate(context)
        money, points = context.period_spend.get(self.key, ({}, 0))
        limit = f"{describe_limit(self.total)} {describe_period(self.period, self.timezone)}"
        return allot(
            grants,
            room_left(self.total, list(money.values()), points),
            applies=lambda _: True,
            label="the budget",
            why=f"by the programme budget of {limit}",
        )

    def progress(self, qualified: int) -> TierProgress | None:
        """The wrapped policy's tier progress, if any."""
        return first_progress([self.reward], qualified)
