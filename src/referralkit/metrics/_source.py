"""Where the figures come from: the `MetricsSource` protocol and the rows it returns.

A store that can be measured offers ``store.metrics_source()``. The source opens a
consistent read-only `MetricsView` (``with source.snapshot() as view:``) whose methods
return aggregate rows, never the stored rows themselves: a SQL store computes each row
family in one query, the memory store in one pass over its tables. The report
(`referralkit.metrics.build_report`) is computed from these rows alone, by one piece
of code shared by every store, so the same facts give the same report everywhere.

Money comes back as integer minor units (cents) with its currency, so that no store
rounds; times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import Literal, Protocol, runtime_checkable

import attrs

from referralkit._json import JSONForm

__all__ = [
    "DIMENSIONS",
    "Breakdown",
    "Click",
    "ClickRow",
    "Dimension",
    "FunnelRow",
    "MetricsSource",
    "MetricsView",
    "MoneyRow",
    "RewardRow",
    "Window",
    "median_micros",
    "middle",
    "rank_key",
    "week_of",
]

#: What a funnel can be broken down by: the referral's campaign, channel, referrer, or
#: the ISO week (Monday, UTC) it was attributed in.
Dimension = Literal["campaign", "channel", "referrer", "week"]
DIMENSIONS: tuple[Dimension, ...] = ("campaign", "channel", "referrer", "week")
#: What a report can be broken down by (``by=``): the weeks are the cohorts;
#: ``programme`` adds the comparison of programmes (`MetricsReport.programmes`).
Breakdown = Literal["campaign", "channel", "referrer", "programme"]


@attrs.frozen(slots=True)
class Window:
    """The period a report covers: ``since <= t < until``; None leaves a side open."""

    since: datetime | None = None
    until: datetime | None = None

    def holds(self, at: datetime) -> bool:
        """True when ``at`` falls inside the window."""
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def before_end(self, at: datetime) -> bool:
        """True when ``at`` is before the window's end (orders and rewards up to ``until``)."""
        return self.until is None or at < self.until


@attrs.frozen(slots=True)
class Click(JSONForm):
    """One tracked click on a referral link (or a code shown to a visitor).

    ``id`` is the id the store gave the click: clicks at the same instant are ordered by it.
    """

    code: str
    visitor: str
    occurred_at: datetime
    channel: str | None = None
    campaign: str | None = None
    id: int = 0


@attrs.frozen(slots=True)
class FunnelRow:
    """Attribution counts for one group (``key`` is None for the whole program).

    ``attributions`` counts every referral attributed in the window, whatever its
    status; ``referrals`` the non-rejected ones; ``converted`` those of them with at
    least one order placed before the window's end; ``repeated`` those with two or more.
    """

    key: str | None
    attributions: int
    rejected: int
    review: int
    referrals: int
    converted: int
    repeated: int


@attrs.frozen(slots=True)
class MoneyRow:
    """Orders of referred customers for one group and currency, in minor units."""

    key: str | None
    currency: str
    orders: int
    amount_minor: int
    refunded_minor: int


@attrs.frozen(slots=True)
class RewardRow:
    """Rewards not reversed for one group: money in ``currency`` (None: points or perks)."""

    key: str | None
    currency: str | None
    amount_minor: int
    points: int


@attrs.frozen(slots=True)
class ClickRow:
    """Clicks for one group."""

    key: str | None
    clicks: int


def week_of(at: datetime) -> str:
    """The ISO date of the Monday (UTC) starting the week of ``at``: the cohort key."""
    day = at.astimezone(timezone.utc).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def rank_key(row: FunnelRow) -> tuple[int, int, bool, str]:
    """The order of breakdown rows: most converted, most referrals, then key (None first)."""
    return (-row.converted, -row.referrals, row.key is not None, row.key or "")


def middle(n: int) -> tuple[int, int]:
    """``(offset, count)`` of the middle value(s) of ``n`` sorted values: one if n is odd."""
    return (n - 1) // 2, 2 - n % 2


def median_micros(middle_values: Sequence[int]) -> timedelta | None:
    """The median from the middle microsecond count(s): the mean of two when n is even."""
    if not middle_values:
        return None
    low, high = middle_values[0], middle_values[-1]
    return timedelta(microseconds=low) + timedelta(microseconds=high - low) / 2


@runtime_checkable
class MetricsView(Protocol):
    """A consistent read of a store's facts, as aggregate rows.

    Every method filters referrals by attribution time in the window, counts only
    orders and rewards that belong to non-rejected referrals, and takes orders and
    rewards up to the window's end. ``keys`` (when given) restricts grouped rows to
    those group keys; None in ``keys`` stands for "no value" (a referral without a
    channel). Rows with a key come back ordered by key, None first, then by currency.
    Customer referrals only: a partner's codes, the referrals made with them and the
    clicks on them are left out (partners are measured by `programme_facts`).
    """

    def enrolment(self, window: Window) -> tuple[int, int]:
        """``(enrolled, participants)``.

        Enrolled customers own a code created before the window's end; participants
        are those whose codes got a click or a non-rejected referral in the window.
        """
        ...

    def funnel(
        self, window: Window, by: Dimension | None = None, limit: int | None = None
    ) -> list[FunnelRow]:
        """Attribution counts, for the whole program (one row) or per group.

        Groups are ranked by converted, then referrals (both descending), then key
        (None first), and cut to ``limit``; ``by="week"`` ranks by week, oldest first.
        """
        ...

    def money(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[MoneyRow]:
        """Orders of non-rejected referrals, per group and currency."""
        ...

    def rewards(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[RewardRow]:
        """Rewards not reversed under non-rejected referrals, per group and currency."""
        ...

    def clicks(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[ClickRow]:
        """Clicks in the window, per group (the clicked code's owner for ``referrer``)."""
        ...

    def fraud_reasons(self, window: Window) -> list[tuple[str, int]]:
        """Reason codes of rejected attributions and how many attributions cite each, by reason.

        An attribution citing a reason twice (a reviewer confirming a guard) counts once.
        """
        ...

    def cycle_time(self, window: Window) -> timedelta | None:
        """The median viral cycle time, or None when no referrer has a converted referee.

        Per referrer with referrals in the window: the time from their enrolment (their
        first code) to the first order of any of their non-rejected referees.
        """
        ...

    def visitor_clicks(
        self, visitor: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[Click]:
        """Clicks stored under ``visitor`` with ``since <= t <= until``, oldest first, then by id.

        ``visitor`` is the stored key: the program stores a keyed hash of a visitor id.
        """
        ...


@runtime_checkable
class MetricsSource(Protocol):
    """What a store offers through ``metrics_source()``: consistent read-only views.

    An implementation must read one consistent state for the whole ``with`` block
    (a read transaction, a lock), must not block writers longer than it has to, and
    must compute aggregates without materialising every stored row in Python.
    """

    def snapshot(self) -> AbstractContextManager[MetricsView]:
        """Open a consistent read of the store."""
        ...
