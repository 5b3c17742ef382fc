"""The SQLite store's moments (`referralkit.moments.MomentRepository`), in plain SQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from referralkit.moments import DecisionRecord, MomentRecord, MomentStats
from referralkit.storage._sqlite_codec import (
    decode_optional_time,
    decode_time,
    encode_optional_time,
    encode_time,
)

__all__ = ["SQLiteMoments"]

_MOMENT_COLUMNS = "customer_id, moment, key, occurred_at, score, order_id"
_DECISION_COLUMNS = (
    "id, customer_id, moment, invite, reason, decided_at, follow_until, key, next_allowed_at,"
    " exploration"
)

# Each invitation's window ends at its follow_until, or at the customer's next invitation.
# LEAD looks forward only, so decisions before ``since`` can be left out before it runs.
_STATS = """
WITH invited AS (
    SELECT id, customer_id, moment, decided_at,
        CASE WHEN next_at IS NOT NULL AND next_at < follow_until THEN next_at
             ELSE follow_until END AS ends_at
    FROM (SELECT id, customer_id, moment, decided_at, follow_until,
            LEAD(decided_at) OVER (PARTITION BY customer_id ORDER BY decided_at, id) AS next_at
          FROM moment_decisions WHERE invite = 1 AND (? IS NULL OR decided_at >= ?)) AS d
),
friends AS (
    SELECT i.id AS decision_id, count(*) AS friends,
        sum(CASE WHEN EXISTS (SELECT 1 FROM conversions c WHERE c.referral_id = r.id)
                 THEN 1 ELSE 0 END) AS ordered
    FROM invited i JOIN referrals r
        ON r.referrer = i.customer_id AND r.status <> 'rejected'
        AND r.attributed_at >= i.decided_at AND r.attributed_at < i.ends_at
    GROUP BY i.id
)
SELECT i.moment, count(*), count(s.decision_id), count(f.decision_id),
    coalesce(sum(f.friends), 0), coalesce(sum(f.ordered), 0)
FROM invited i
LEFT JOIN friends f ON f.decision_id = i.id
LEFT JOIN moment_shares s ON s.decision_id = i.id
WHERE (? IS NULL OR i.decided_at < ?)
GROUP BY i.moment
"""
_DECIDED = """
SELECT moment, count(*) FROM moment_decisions
WHERE (? IS NULL OR decided_at >= ?) AND (? IS NULL OR decided_at < ?)
GROUP BY moment
"""


class SQLiteMoments:
    """`MomentRepository` on one connection, inside the store's unit of work."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def add(self, moment: MomentRecord) -> tuple[MomentRecord, bool]:
        cur = self._c.execute(
            f"INSERT INTO moments ({_MOMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608 - constant columns
            " ON CONFLICT (customer_id, key) DO NOTHING",
            (
                moment.customer_id,
                moment.moment,
                moment.key,
                encode_time(moment.occurred_at),
                moment.score,
                moment.order_id,
            ),
        )
        if cur.rowcount == 1:
            return moment, True
        row = self._c.execute(
            f"SELECT {_MOMENT_COLUMNS} FROM moments WHERE customer_id = ? AND key = ?",  # noqa: S608 - constant columns
            (moment.customer_id, moment.key),
        ).fetchone()
        return _moment(row), False

    def latest_score(self, customer_id: str) -> MomentRecord | None:
        row = self._c.execute(
            f"SELECT {_MOMENT_COLUMNS} FROM moments"  # noqa: S608 - constant columns
            " WHERE customer_id = ? AND score IS NOT NULL"
            " ORDER BY occurred_at DESC, seq DESC LIMIT 1",
            (customer_id,),
        ).fetchone()
        return None if row is None else _moment(row)

    def last_order_refunded(self, customer_id: str) -> bool | None:
        row = self._c.execute(
            "SELECT refunded_minor FROM conversions WHERE referee = ?"
            " ORDER BY occurred_at DESC, order_number DESC, order_id DESC LIMIT 1",
            (customer_id,),
        ).fetchone()
        return None if row is None else int(row[0]) > 0

    def add_decision(self, decision: DecisionRecord) -> tuple[DecisionRecord, bool]:
        cur = self._c.execute(
            f"INSERT INTO moment_decisions ({_DECISION_COLUMNS})"  # noqa: S608 - constant columns
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer_id, key) DO NOTHING",
            (
                decision.id,
                decision.customer_id,
                decision.moment,
                int(decision.invite),
                decision.reason,
                encode_time(decision.decided_at),
                encode_time(decision.follow_until),
                decision.key,
                encode_optional_time(decision.next_allowed_at),
                decision.exploration,
            ),
        )
        if cur.rowcount == 1:
            return decision, True
        row = self._c.execute(
            f"SELECT {_DECISION_COLUMNS} FROM moment_decisions"  # noqa: S608 - constant columns
            " WHERE customer_id = ? AND key = ?",
            (decision.customer_id, decision.key),
        ).fetchone()
        return _decision(row), False

    def decision(self, decision_id: str) -> DecisionRecord | None:
        row = self._c.execute(
            f"SELECT {_DECISION_COLUMNS} FROM moment_decisions WHERE id = ?",  # noqa: S608 - constant columns
            (decision_id,),
        ).fetchone()
        return None if row is None else _decision(row)

    def invited_since(self, customer_id: str, since: datetime) -> list[datetime]:
        rows = self._c.execute(
            "SELECT decided_at FROM moment_decisions"
            " WHERE customer_id = ? AND invite = 1 AND decided_at >= ? ORDER BY decided_at",
            (customer_id, encode_time(since)),
        )
        return [decode_time(r[0]) for r in rows]

    def add_share(self, decision_id: str, channel: str | None, at: datetime) -> bool:
        cur = self._c.execute(
            "INSERT INTO moment_shares (decision_id, channel, shared_at) VALUES (?, ?, ?)"
            " ON CONFLICT (decision_id) DO NOTHING",
            (decision_id, channel, encode_time(at)),
        )
        return cur.rowcount == 1

    def stats(self, since: datetime | None, until: datetime | None) -> list[MomentStats]:
        lo, hi = encode_optional_time(since), encode_optional_time(until)
        window = (lo, lo, hi, hi)
        decided = {str(m): int(n) for m, n in self._c.execute(_DECIDED, window)}
        invited = {
            str(m): tuple(int(v) for v in rest) for m, *rest in self._c.execute(_STATS, window)
        }
        return [
            MomentStats(name, n, *invited.get(name, (0, 0, 0, 0, 0)))
            for name, n in sorted(decided.items())
        ]


def _decision(row: tuple[Any, ...]) -> DecisionRecord:
    i, customer, moment, invite, reason, decided, until, key, allowed, exploration = row
    return DecisionRecord(
        id=i,
        customer_id=customer,
        moment=moment,
        invite=bool(invite),
        reason=reason,
        decided_at=decode_time(decided),
        follow_until=decode_time(until),
        key=key,
        next_allowed_at=decode_optional_time(allowed),
        exploration=exploration,
    )


def _moment(row: tuple[object, ...]) -> MomentRecord:
    customer, moment, key, at, score, order_id = row
    return MomentRecord(
        customer_id=str(customer),
        moment=str(moment),
        key=str(key),
        occurred_at=decode_time(str(at)),
        score=None if score is None else int(str(score)),
        order_id=None if order_id is None else str(order_id),
    )


class SQLiteDeliveries:
    """`referralkit.moments.DeliveryRepository` on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def add(
        self, order_id: str, delivered_at: datetime, recorded_at: datetime
    ) -> tuple[datetime, bool]:
        cur = self._c.execute(
            "INSERT INTO deliveries (order_id, delivered_at, recorded_at) VALUES (?, ?, ?)"
            " ON CONFLICT (order_id) DO NOTHING",
            (order_id, encode_time(delivered_at), encode_time(recorded_at)),
        )
        if cur.rowcount == 1:
            return delivered_at, True
        stored = self.get(order_id)
        assert stored is not None  # noqa: S101 - inserted before, or just now
        return stored, False

    def get(self, order_id: str) -> datetime | None:
        row = self._c.execute(
            "SELECT delivered_at FROM deliveries WHERE order_id = ?", (order_id,)
        ).fetchone()
        return None if row is None else decode_time(row[0])
