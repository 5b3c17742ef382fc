"""The SQLite store's `MetricsSource`: every figure family is one aggregate query.

Nothing here loads stored rows into Python: each method returns at most one row per
group (and at most ``limit`` groups where the groups are unbounded, as referrers
are). The median viral cycle time is found with ``ORDER BY ... LIMIT ... OFFSET`` in
SQL. A view is one deferred read transaction: in WAL mode it sees one consistent
snapshot and never blocks the program's writers.

Times are fixed-width ISO-8601 UTC text (``2026-03-01T09:30:00.000000+00:00``), so
SQL compares them as text and cuts them with ``substr``: the first 10 characters are
the UTC date, the first 19 the second, characters 21-26 the microseconds. SQLite's
own date functions round fractional seconds, so they only ever see whole seconds.

Partners' codes (``partner_codes``), the referrals made with them and their clicks are
left out: they are the partner programmes' (`_sqlite_programmes`), not customer referrals.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from referralkit.errors import StorageError
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
)
from referralkit.storage._sqlite_codec import encode_time
from referralkit.storage._sqlite_programmes import programme_facts

__all__ = ["SQLiteMetricsSource", "SQLiteMetricsView"]

# Group keys of a referral (alias r); the week starts on Monday, from the UTC date.
_REFERRAL_KEYS: dict[str, str] = {
    "campaign": "r.campaign",
    "channel": "r.channel",
    "referrer": "r.referrer",
    "week": "date(substr(r.attributed_at, 1, 10), '-6 days', 'weekday 1')",
}
# Group keys of a click (alias k; the clicked code as cd for the referrer).
_CLICK_KEYS: dict[str, str] = {
    "campaign": "k.campaign",
    "channel": "k.channel",
    "referrer": "cd.owner",
    "week": "date(substr(k.occurred_at, 1, 10), '-6 days', 'weekday 1')",
}


def _micros(column: str) -> str:
    """SQL for a stored time as integer microseconds since the epoch (exact)."""
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS INTEGER))"
    )


#: The reasons of a partner's account referral (`referralkit.program.Partners`), as stored:
#: the record their commissions hang off, never an attribution, so no metric counts it.
_ACCOUNT_REASONS = '["partner.account"]'
#: Customer referrals only: a partner's code (mapped in ``partner_codes``), the referrals
#: made with it and its clicks are the partner programmes' (`_sqlite_programmes`).
_PARTNER_CODES = "SELECT code FROM partner_codes"


class _Query:
    """A WHERE clause and its named parameters, built up one condition at a time."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.params: dict[str, Any] = {}

    def add(self, clause: str, **params: Any) -> _Query:
        self.where.append(clause)
        self.params.update(params)
        return self

    def window(self, column: str, window: Window, name: str = "") -> _Query:
        if column == "r.attributed_at":  # a partner's account record is no attribution
            self.add(f"r.reasons <> '{_ACCOUNT_REASONS}'")
            self.add(f"r.code NOT IN ({_PARTNER_CODES})")
        if column == "k.occurred_at":
            self.add(f"k.code NOT IN ({_PARTNER_CODES})")
        if window.since is not None:
            self.add(f"{column} >= :since{name}", **{f"since{name}": encode_time(window.since)})
        return self.before_end(column, window, name)

    def before_end(self, column: str, window: Window, name: str = "") -> _Query:
        if window.until is not None:
            self.add(f"{column} < :until{name}", **{f"until{name}": encode_time(window.until)})
        return self

    def keys(self, expr: str, keys: Sequence[str | None] | None) -> _Query:
        if keys is None:
            return self
        named = {f"k{i}": k for i, k in enumerate(k for k in keys if k is not None)}
        parts = []
        if named:
            parts.append(f"{expr} IN ({', '.join(':' + n for n in named)})")
        if None in keys:
            parts.append(f"{expr} IS NULL")
        return self.add("(" + (" OR ".join(parts) or "0") + ")", **named)

    def sql(self) -> str:
        return " AND ".join(self.where) or "1"


class SQLiteMetricsView:
    """Aggregate queries over one SQLite connection (see `referralkit.metrics.MetricsView`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def _all(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return self._c.execute(sql, params).fetchall()

    def enrolment(self, window: Window) -> tuple[int, int]:
        """Customers with a code by the window's end, and those whose codes were used."""
        codes = _Query().add(f"code NOT IN ({_PARTNER_CODES})").before_end("created_at", window)
        (enrolled,) = self._c.execute(
            f"SELECT count(DISTINCT owner) FROM codes WHERE {codes.sql()}",  # noqa: S608 - clauses are constants
            codes.params,
        ).fetchone()
        referrals = _Query().add("r.status <> 'rejected'").window("r.attributed_at", window)
        clicks = _Query().window("k.occurred_at", window)
        used = _Query().before_end("created_at", window)
        (participants,) = self._c.execute(
            "SELECT count(DISTINCT owner) FROM codes WHERE code IN ("  # noqa: S608 - clauses are constants
            f"SELECT r.code FROM referrals AS r WHERE {referrals.sql()}"
            f" UNION SELECT k.code FROM clicks AS k WHERE {clicks.sql()}) AND {used.sql()}",
            {**referrals.params, **clicks.params, **used.params},
        ).fetchone()
        return int(enrolled), int(participants)

    def funnel(
        self, window: Window, by: Dimension | None = None, limit: int | None = None
    ) -> list[FunnelRow]:
        """Attribution counts per group; orders counted up to two per referral."""
        key = "NULL" if by is None else _REFERRAL_KEYS[by]
        q = _Query().window("r.attributed_at", window)
        orders = (
            _Query()
            .add("c.referral_id = r.id")
            .add("c.amount_minor > c.refunded_minor")  # refunded in full: no conversion
            .before_end("c.occurred_at", window, "_c")
        )
        q.params.update(orders.params)
        order = "k" if by == "week" else "converted DESC, referrals DESC, k"
        tail = ""
        if by is not None:
            tail = f" GROUP BY k ORDER BY {order}"
            if limit is not None:
                tail += " LIMIT :limit"
                q.params["limit"] = limit
        rows = self._all(
            "WITH per AS ("  # noqa: S608 - clauses are constants
            f" SELECT {key} AS k, r.status AS status,"
            " CASE WHEN r.status = 'rejected' THEN 0 ELSE"
            f" (SELECT count(*) FROM (SELECT 1 FROM conversions AS c WHERE {orders.sql()}"
            " LIMIT 2)) END AS n"
            f" FROM referrals AS r WHERE {q.sql()})"
            " SELECT k, count(*), coalesce(sum(status = 'rejected'), 0),"
            " coalesce(sum(status = 'review'), 0),"
            " coalesce(sum(status <> 'rejected'), 0) AS referrals,"
            " coalesce(sum(n >= 1), 0) AS converted, coalesce(sum(n >= 2), 0)"
            f" FROM per{tail}",
            q.params,
        )
        return [FunnelRow(*row) for row in rows]

    def money(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[MoneyRow]:
        """Orders of the window's non-rejected referrals per group and currency."""
        key = "NULL" if by is None else _REFERRAL_KEYS[by]
        q = (
            _Query()
            .add("r.status <> 'rejected'")
            .window("r.attributed_at", window)
            .before_end("c.occurred_at", window, "_c")
            .keys(key, keys if by is not None else None)
        )
        rows = self._all(
            f"SELECT {key} AS k, c.currency, count(*), sum(c.amount_minor),"  # noqa: S608 - clauses are constants
            " sum(c.refunded_minor)"
            " FROM referrals AS r JOIN conversions AS c ON c.referral_id = r.id"
            f" WHERE {q.sql()} GROUP BY k, c.currency ORDER BY k, c.currency",
            q.params,
        )
        return [MoneyRow(*row) for row in rows]

    def rewards(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[RewardRow]:
        """What the rewards under the window's non-rejected referrals cost, net of recoveries.

        A reward's cost is its value (a reversed one's: what it had paid before, its
        clawback), less what was recovered of its clawback.
        """
        key = "NULL" if by is None else _REFERRAL_KEYS[by]
        q = (
            _Query()
            .add("r.status <> 'rejected'")
            .add("(w.state <> 'reversed' OR w.clawback_minor IS NOT NULL)")
            .window("r.attributed_at", window)
            .before_end("w.created_at", window, "_w")
            .keys(key, keys if by is not None else None)
        )
        rows = self._all(
            f"SELECT {key} AS k, w.currency,"  # noqa: S608 - clauses are constants
            " coalesce(sum(CASE WHEN w.state = 'reversed' THEN w.clawback_minor"
            " ELSE coalesce(w.amount_minor, 0) END - coalesce(w.recovered_minor, 0)), 0),"
            " coalesce(sum(CASE WHEN w.state = 'reversed' THEN 0 ELSE w.points END), 0)"
            " FROM referrals AS r JOIN rewards AS w ON w.referral_id = r.id"
            f" WHERE {q.sql()} GROUP BY k, w.currency ORDER BY k, w.currency",
            q.params,
        )
        return [RewardRow(*row) for row in rows]

    def clicks(
        self, window: Window, by: Dimension | None = None, keys: Sequence[str | None] | None = None
    ) -> list[ClickRow]:
        """Clicks in the window per group."""
        key = "NULL" if by is None else _CLICK_KEYS[by]
        join = ""
        if by == "referrer":
            join = " LEFT JOIN codes AS cd ON cd.code = k.code"
        q = _Query().window("k.occurred_at", window).keys(key, keys if by is not None else None)
        rows = self._all(
            f"SELECT {key} AS g, count(*) FROM clicks AS k{join}"  # noqa: S608 - clauses are constants
            f" WHERE {q.sql()} GROUP BY g ORDER BY g",
            q.params,
        )
        return [ClickRow(*row) for row in rows]

    def fraud_reasons(self, window: Window) -> list[tuple[str, int]]:
        """Reason codes of rejected attributions, counted."""
        q = _Query().add("r.status = 'rejected'").window("r.attributed_at", window)
        rows = self._all(
            "SELECT j.value, count(DISTINCT r.id) FROM referrals AS r, json_each(r.reasons) AS j"  # noqa: S608 - clauses are constants
            f" WHERE {q.sql()} GROUP BY j.value ORDER BY j.value",
            q.params,
        )
        return [(str(reason), int(n)) for reason, n in rows]

    def cycle_time(self, window: Window) -> timedelta | None:
        """Median enrolment-to-first-converted-referee time, found in SQL."""
        q = _Query().add("r.status <> 'rejected'").window("r.attributed_at", window)
        first = _Query().add("c.referral_id = r.id").before_end("c.occurred_at", window, "_c")
        rows = self._all(
            "WITH firsts AS MATERIALIZED ("  # noqa: S608 - clauses are constants
            " SELECT r.referrer AS who,"
            f" min((SELECT min(c.occurred_at) FROM conversions AS c WHERE {first.sql()})) AS at"
            f" FROM referrals AS r WHERE {q.sql()} GROUP BY r.referrer),"
            " deltas AS MATERIALIZED ("
            f" SELECT {_micros('f.at')} - {_micros('e.at')} AS d FROM firsts AS f"
            " JOIN (SELECT owner, min(created_at) AS at FROM codes GROUP BY owner) AS e"
            " ON e.owner = f.who WHERE f.at IS NOT NULL)"
            " SELECT d FROM deltas ORDER BY d"
            " LIMIT 2 - (SELECT count(*) FROM deltas) % 2"
            " OFFSET ((SELECT count(*) FROM deltas) - 1) / 2",
            {**q.params, **first.params},
        )
        return median_micros([int(d) for (d,) in rows])

    def visitor_clicks(
        self, visitor: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[Click]:
        """The clicks stored under ``visitor`` in ``[since, until]``, oldest first."""
        q = _Query().add("visitor = :v", v=visitor)
        if since is not None:
            q.add("occurred_at >= :since", since=encode_time(since))
        if until is not None:
            q.add("occurred_at <= :until", until=encode_time(until))
        rows = self._all(
            "SELECT id, code, occurred_at, channel, campaign FROM clicks"  # noqa: S608 - clauses are constants
            f" WHERE {q.sql()} ORDER BY occurred_at, id",
            q.params,
        )
        return [
            Click(
                code=code,
                visitor=visitor,
                occurred_at=datetime.fromisoformat(at),
                channel=channel,
                campaign=campaign,
                id=int(click_id),
            )
            for click_id, code, at, channel, campaign in rows
        ]

    def programme_facts(self, window: Window) -> ProgrammeFacts:
        """The programme comparison's sums per source (`_sqlite_programmes`)."""
        return programme_facts(self._c, window)


class SQLiteMetricsSource:
    """`MetricsSource` of an `SQLiteStore`: each view is one read transaction.

    ``connection`` returns the calling thread's connection; ``lock`` (for a shared
    ``":memory:"`` connection) serialises the view with the store's units of work.
    """

    def __init__(
        self,
        connection: Callable[[], sqlite3.Connection],
        lock: threading.RLock | None = None,
        path: str = "",
    ) -> None:
        self._connection = connection
        self._lock = lock
        self._path = path

    @contextmanager
    def snapshot(self) -> Iterator[SQLiteMetricsView]:
        """A consistent read: one deferred transaction (or the caller's, if one is open)."""
        conn = self._connection()
        if self._lock is not None:
            self._lock.acquire()
        try:
            own = not conn.in_transaction
            try:
                if own:
                    conn.execute("BEGIN")
                yield SQLiteMetricsView(conn)
            except sqlite3.Error as exc:
                raise StorageError(
                    f"SQLite error reading metrics on {self._path!r}: {exc}"
                ) from exc
            finally:
                if own and conn.in_transaction:
                    conn.execute("ROLLBACK")
        finally:
            if self._lock is not None:
                self._lock.release()
