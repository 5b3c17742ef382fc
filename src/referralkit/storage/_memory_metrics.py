"""The memory store's `MetricsSource`: one streaming pass over its tables per row family.

The view holds the store's lock for the whole ``with`` block, so a report reads one
consistent state, exactly as a SQL read transaction would. Partners' codes (those in
the partner tables' code map), the referrals made with them and their clicks are left
out: they are the partner programmes' (`programme_facts`), not customer referrals.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from referralkit.metrics._programme_facts import ProgrammeFacts
from referralkit.metrics._source import (
    Click,
    ClickRow,
    Dimension,
    FunnelRow,
    MoneyRow,
    RewardRow,
    Window,
    median_micros,
    middle,
    rank_key,
    week_of,
)
from referralkit.model import Referral, ReferralStatus, RewardState
from referralkit.money import CURRENCY_EXPONENTS, Money
from referralkit.storage._memory_partners import MemoryPartnerTables
from referralkit.storage._memory_programmes import programme_facts
from referralkit.storage._memory_tables import MemoryTables

__all__ = ["MemoryMetricsSource", "MemoryMetricsView"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)
_REJECTED = ReferralStatus.REJECTED
#: A partner's account referral (`referralkit.program.Partners`): the record their
#: commissions hang off, never an attribution, so no metric counts it.
_ACCOUNT_REASONS = ("partner.account",)


def _minor(money: Money) -> int:
    return int(money.amount.scaleb(CURRENCY_EXPONENTS[money.currency]))


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICRO


def _wanted(key: str | None, keys: Sequence[str | None] | None) -> bool:
    return keys is None or key in keys


class MemoryMetricsView:
    """Aggregates over a `MemoryStore`'s tables (see `referralkit.metrics.MetricsView`)."""

    def __init__(self, tables: MemoryTables, partners: MemoryPartnerTables | None = None) -> None:
        self._t = tables
        self._partners = partners

    # -- helpers ---------------------------------------------------------------------------

    def _key(self, referral: Referral, by: Dimension | None) -> str | None:
        if by is None:
            return None
        if by == "campaign":
            return referral.campaign
        if by == "channel":
            return referral.channel
        if by == "referrer":
            return referral.referrer
        return week_of(referral.attributed_at)

    def _partner_code(self, code: str) -> bool:
        """Whether ``code`` is a partner's (their referrals and clicks are no customer's)."""
        return self._partners is not None and code in self._partners.codes

    def _referrals(self, window: Window) -> Iterator[Referral]:
        return (
            r
            for r in self._t.referrals.values()
            if window.holds(r.attributed_at)
            and r.reasons != _ACCOUNT_REASONS
            and not self._partner_code(r.code)
        )

    def _active(self, referral_id: str | None, window: Window) -> Referral | None:
        """The referral, if it is a customer's, non-rejected and attributed in the window."""
        if referral_id is None:
            return None
        r = self._t.referrals.get(referral_id)
        if r is None or r.status is _REJECTED or not window.holds(r.attributed_at):
            return None
        return None if self._partner_code(r.code) else r

    def _orders(self, window: Window, *, earning: bool = False) -> dict[str, tuple[int, datetime]]:
        """Per referral id: orders placed before the window's end, and the first one's time.

        With ``earning``, only orders not refunded in full count.
        """
        out: dict[str, tuple[int, datetime]] = {}
        for c in self._t.conversions.values():
            rid = c.referral_id
            if rid is None or not window.before_end(c.occurred_at):
                continue
            if earning and c.net.amount <= 0:
                continue
            n, first = out.get(rid, (0, c.occurred_at))
            out[rid] = (n + 1, min(first, c.occurred_at))
        return out

    def _clicks(self, window: Window) -> Iterator[Click]:
        return (
            c
            for c in self._t.clicks
            if window.holds(c.occurred_at) and not self._partner_code(c.code)
        )

    def _click_key(self, click: Click, by: Dimension | None) -> str | None:
        if by is None:
            return None
        if by == "referrer":
            code = self._t.codes.get(click.code)
            return None if code is None else code.owner
        if by == "week":
            return week_of(click.occurred_at)
        return click.campaign if by == "campaign" else click.channel

    # -- the view --------------------------------------------------------------------------

    def enrolment(self, window: Window) -> tuple[int, int]:
        """Customers with a code by the window's end, and those whose codes were used."""
        t = self._t
        enrolled = {
            c.owner
            for c in t.codes.values()
            if window.before_end(c.created_at) and not self._partner_code(c.code)
        }
        used = {r.code for r in self._referrals(window) if r.status is not _REJECTED}
        used.update(c.code for c in self._clicks(window))
        participants = {
            t.codes[c].owner
            for c in used
            if c in t.codes and window.before_end(t.codes[c].created_at)
        }
        return len(enrolled), len(participants)

    def funnel(
        self, window: Window, by: Dimension | None = None, limit: int | None = None
    ) -> list[FunnelRow]:
        """Attribution counts per group, ranked; refunded-in-full orders do not convert."""
        orders = self._orders(window, earning=True)
        counts: dict[str | None, list[int]] = {}
        if by is None:
            counts[None] = [0] * 6
        for r in self._referrals(window):
            row = counts.setdefault(self._key(r, by), [0] * 6)
            row[0] += 1
            if r.status is _REJECTED:
                row[1] += 1
                continue
            row[2] += r.status is ReferralStatus.REVIEW
            row[3] += 1
            n = orders.get(r.id, (0, None))[0]
            row[4] += n >= 1
            row[5] += n >= 2  # noqa: PLR2004 - two orders make a repeat customer
        rows = [
            FunnelRow(k, a, rej, rev, ref, conv, rep)
            for k, (a, rej, rev, ref, conv, rep) in counts.items()
        ]
        if by == "week":
            rows.sort(key=lambda f: f.key or "")
        else:
            rows.sort(key=rank_key)
        return rows if limit is None else rows[:limit]

    def money(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[MoneyRow]:
        """Orders of the window's non-rejected referrals per group and currency."""
        sums: dict[tuple[str | None, str], list[int]] = {}
        for c in self._t.conversions.values():
            r = self._active(c.referral_id, window)
            if r is None or not window.before_end(c.occurred_at):
                continue
            key = self._key(r, by)
            if not _wanted(key, keys):
                continue
            row = sums.setdefault((key, c.amount.currency), [0, 0, 0])
            row[0] += 1
            row[1] += _minor(c.amount)
            row[2] += 0 if c.refunded is None else _minor(c.refunded)
        return [
            MoneyRow(k, cur, n, amount, refunded)
            for (k, cur), (n, amount, refunded) in sorted(
                sums.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or "", kv[0][1])
            )
        ]

    def rewards(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[RewardRow]:
        """Rewards not reversed under the window's non-rejected referrals."""
        sums: dict[tuple[str | None, str | None], list[int]] = {}
        for w in self._t.rewards.values():
            reversed_ = w.state is RewardState.REVERSED
            if (reversed_ and w.clawback is None) or not window.before_end(w.created_at):
                continue
            r = self._active(w.referral_id, window)
            if r is None:
                continue
            key = self._key(r, by)
            if not _wanted(key, keys):
                continue
            money = w.amount or w.granted
            row = sums.setdefault((key, None if money is None else money.currency), [0, 0])
            # What it cost: its value (a reversed one's: what it had paid before), less
            # what was recovered of its clawback.
            value = w.clawback if reversed_ else w.amount
            row[0] += 0 if value is None else _minor(value)
            row[0] -= 0 if w.recovered is None else _minor(w.recovered)
            row[1] += 0 if reversed_ else w.points
        return [
            RewardRow(k, cur, amount, points)
            for (k, cur), (amount, points) in sorted(
                sums.items(),
                key=lambda kv: (
                    kv[0][0] is not None,
                    kv[0][0] or "",
                    kv[0][1] is not None,
                    kv[0][1] or "",
                ),
            )
        ]

    def clicks(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[ClickRow]:
        """Clicks in the window per group."""
        counts: Counter[str | None] = Counter()
        for c in self._clicks(window):
            key = self._click_key(c, by)
            if _wanted(key, keys):
                counts[key] += 1
        return [
            ClickRow(k, n)
            for k, n in sorted(counts.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
        ]

    def fraud_reasons(self, window: Window) -> list[tuple[str, int]]:
        """Reason codes of rejected attributions, counted."""
        counts: Counter[str] = Counter()
        for r in self._referrals(window):
            if r.status is _REJECTED:
                counts.update(set(r.reasons))  # a reason cited twice is one attribution
        return sorted(counts.items())

    def cycle_time(self, window: Window) -> timedelta | None:
        """Median time from a referrer's enrolment to their first referee's first order."""
        orders = self._orders(window)
        first: dict[str, datetime] = {}
        for r in self._referrals(window):
            if r.status is _REJECTED or r.id not in orders:
                continue
            at = orders[r.id][1]
            if r.referrer not in first or at < first[r.referrer]:
                first[r.referrer] = at
        enrolled: dict[str, datetime] = {}
        for c in self._t.codes.values():
            if c.owner in first and (c.owner not in enrolled or c.created_at < enrolled[c.owner]):
                enrolled[c.owner] = c.created_at
        deltas = sorted(
            _micros(at) - _micros(enrolled[who]) for who, at in first.items() if who in enrolled
        )
        offset, count = middle(len(deltas))
        return median_micros(deltas[offset : offset + count])

    def visitor_clicks(
        self, visitor: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[Click]:
        """The clicks stored under ``visitor`` in ``[since, until]``, oldest first."""
        found = [
            c
            for c in self._t.clicks_by_visitor.get(visitor, ())
            if (since is None or c.occurred_at >= since)
            and (until is None or c.occurred_at <= until)
        ]
        found.sort(key=lambda c: (c.occurred_at, c.id))
        return found

    def programme_facts(self, window: Window) -> ProgrammeFacts:
        """The programme comparison's sums per source (`_memory_programmes`)."""
        return programme_facts(self._t, self._partners, window)


class MemoryMetricsSource:
    """`MetricsSource` of a `MemoryStore`: views read under the store's lock."""

    def __init__(
        self,
        tables: MemoryTables,
        lock: threading.RLock,
        partners: MemoryPartnerTables | None = None,
    ) -> None:
        self._tables = tables
        self._lock = lock
        self._partners = partners

    @contextmanager
    def snapshot(self) -> Iterator[MemoryMetricsView]:
        """A consistent view: writers wait until the block ends."""
        with self._lock:
            yield MemoryMetricsView(self._tables, self._partners)
