"""The SQLite store's group-buys: `GroupRepository` over two tables.

The store decides who takes a place: one conditional ``UPDATE ... WHERE state = 'open'
AND filled < size AND deadline > ?`` checked by its row count, a primary key on
(group, member), and closes conditional on ``state = 'open'``. Nothing here reads a row
to decide a later write.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from referralkit.metrics._groups import GroupFacts
from referralkit.model import Group, GroupState, Membership
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlite_codec import decode_optional_time, decode_time, encode_time

__all__ = ["SQLiteGroups"]

_GROUP_COLUMNS = (
    "id, code, initiator, campaign, size, state, created_at, deadline, policy_version,"
    " new_customers_only, closed_at"
)
# Over the groups started in [since, until); a bound None is no bound. Parameters:
# (since, since, until, until).
_COUNTS = (
    "SELECT COUNT(*), COALESCE(SUM(state = 'completed'), 0),"
    " COALESCE(SUM(state = 'expired'), 0), COALESCE(SUM(state = 'cancelled'), 0),"
    " COALESCE(SUM(filled), 0), COUNT(DISTINCT initiator) FROM groups"
    " WHERE (? IS NULL OR created_at >= ?) AND (? IS NULL OR created_at < ?)"
)
_NEW_CUSTOMERS = (
    "SELECT COUNT(*) FROM group_members WHERE new_customer = 1 AND group_id IN"
    " (SELECT id FROM groups WHERE (? IS NULL OR created_at >= ?)"
    " AND (? IS NULL OR created_at < ?))"
)
_FILL_TIMES = (
    "SELECT created_at, closed_at FROM groups"
    " WHERE (? IS NULL OR created_at >= ?) AND (? IS NULL OR created_at < ?)"
    " AND state = 'completed'"
)
_PLACE_COLUMNS = "group_id, member, joined_at, referral_id, new_customer, order_id"


def _place(row: tuple[object, ...]) -> Membership:
    group_id, member, joined_at, referral_id, new_customer, order_id = row
    return Membership(
        group_id=str(group_id),
        member=str(member),
        joined_at=decode_time(str(joined_at)),
        referral_id=None if referral_id is None else str(referral_id),
        new_customer=bool(new_customer),
        order_id=None if order_id is None else str(order_id),
    )


class SQLiteGroups:
    """`referralkit.program.GroupRepository` for `referralkit.storage.SQLiteStore`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def _group(self, row: tuple[object, ...] | None) -> Group | None:
        if row is None:
            return None
        gid, code, initiator, campaign, size, state, created, deadline, version, new, closed = row
        members = self._c.execute(
            "SELECT member FROM group_members WHERE group_id = ? ORDER BY seq", (gid,)
        )
        return Group(
            id=str(gid),
            code=str(code),
            initiator=str(initiator),
            campaign=str(campaign),
            size=int(str(size)),
            state=GroupState(state),
            created_at=decode_time(str(created)),
            deadline=decode_time(str(deadline)),
            policy_version=str(version),
            members=tuple(m for (m,) in members),
            new_customers_only=bool(new),
            closed_at=decode_optional_time(None if closed is None else str(closed)),
        )

    def _one(self, where: str, *args: object) -> Group | None:
        row = self._c.execute(
            f"SELECT {_GROUP_COLUMNS} FROM groups WHERE {where}",  # noqa: S608 - fixed text
            args,
        ).fetchone()
        return self._group(row)

    def add(self, group: Group) -> tuple[Group, bool]:
        cur = self._c.execute(
            f"INSERT INTO groups ({_GROUP_COLUMNS}, filled) VALUES"  # noqa: S608 - fixed text
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 1) ON CONFLICT DO NOTHING",
            (
                group.id,
                group.code,
                group.initiator,
                group.campaign,
                group.size,
                GroupState.OPEN.value,
                encode_time(group.created_at),
                encode_time(group.deadline),
                group.policy_version,
                int(group.new_customers_only),
            ),
        )
        if cur.rowcount != 1:  # its id (a retry) or its code (another group) is taken
            found = self.get(group.id)
            if found is None:
                raise CodeTaken(f"group code {group.code!r} is already issued", value=group.code)
            return found, False
        self.add_member(Membership(group.id, group.initiator, group.created_at))
        stored = self.get(group.id)
        assert stored is not None  # noqa: S101 - inserted just now
        return stored, True

    def get(self, group_id: str) -> Group | None:
        return self._one("id = ?", group_id)

    def by_code(self, code: str) -> Group | None:
        return self._one("code = ?", code)

    def add_member(self, membership: Membership) -> bool:
        cur = self._c.execute(
            f"INSERT INTO group_members ({_PLACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL)"  # noqa: S608 - fixed text
            " ON CONFLICT (group_id, member) DO NOTHING",
            (
                membership.group_id,
                membership.member,
                encode_time(membership.joined_at),
                membership.referral_id,
                int(membership.new_customer),
            ),
        )
        return cur.rowcount == 1

    def take_place(self, group_id: str, member: str, now: datetime) -> Group | None:
        at = encode_time(now)
        cur = self._c.execute(
            "UPDATE groups SET filled = filled + 1,"
            " state = CASE WHEN filled + 1 >= size THEN 'completed' ELSE state END,"
            " closed_at = CASE WHEN filled + 1 >= size THEN ? ELSE closed_at END"
            " WHERE id = ? AND state = 'open' AND filled < size AND deadline > ?"
            " AND EXISTS (SELECT 1 FROM group_members WHERE group_id = ? AND member = ?)",
            (at, group_id, at, group_id, member),
        )
        return self.get(group_id) if cur.rowcount == 1 else None

    def close(self, group_id: str, state: GroupState, now: datetime) -> bool:
        at = encode_time(now)
        cur = self._c.execute(
            "UPDATE groups SET state = ?, closed_at = ? WHERE id = ? AND state = 'open'"
            " AND (? <> 'expired' OR deadline <= ?)",
            (state.value, at, group_id, state.value, at),
        )
        return cur.rowcount == 1

    def due(self, now: datetime, limit: int) -> list[Group]:
        rows = self._c.execute(
            f"SELECT {_GROUP_COLUMNS} FROM groups WHERE state = 'open' AND deadline <= ?"  # noqa: S608 - fixed text
            " ORDER BY deadline, id LIMIT ?",
            (encode_time(now), limit),
        ).fetchall()
        return [g for g in (self._group(r) for r in rows) if g is not None]

    def membership(self, group_id: str, member: str) -> Membership | None:
        row = self._c.execute(
            f"SELECT {_PLACE_COLUMNS} FROM group_members WHERE group_id = ? AND member = ?",  # noqa: S608 - fixed text
            (group_id, member),
        ).fetchone()
        return None if row is None else _place(row)

    def memberships(self, group_id: str) -> list[Membership]:
        rows = self._c.execute(
            f"SELECT {_PLACE_COLUMNS} FROM group_members WHERE group_id = ? ORDER BY seq",  # noqa: S608 - fixed text
            (group_id,),
        )
        return [_place(r) for r in rows]

    def attach_order(self, group_id: str, member: str, order_id: str) -> Membership | None:
        self._c.execute(
            "UPDATE group_members SET order_id = ? WHERE group_id = ? AND member = ?"
            " AND order_id IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM group_members WHERE order_id = ?)",
            (order_id, group_id, member, order_id),
        )
        return self.membership(group_id, member)

    def by_order(self, order_id: str) -> Membership | None:
        row = self._c.execute(
            f"SELECT {_PLACE_COLUMNS} FROM group_members WHERE order_id = ?",  # noqa: S608 - fixed text
            (order_id,),
        ).fetchone()
        return None if row is None else _place(row)

    def open_for(self, customer: str) -> list[Group]:
        rows = self._c.execute(
            f"SELECT {_GROUP_COLUMNS} FROM groups WHERE state = 'open' AND id IN"  # noqa: S608 - fixed text
            " (SELECT group_id FROM group_members WHERE member = ?) ORDER BY created_at, id",
            (customer,),
        ).fetchall()
        return [g for g in (self._group(r) for r in rows) if g is not None]

    def facts(self, since: datetime | None, until: datetime | None) -> GroupFacts:
        start = None if since is None else encode_time(since)
        end = None if until is None else encode_time(until)
        window = (start, start, end, end)
        started, completed, expired, cancelled, members, initiators = self._c.execute(
            _COUNTS, window
        ).fetchone()
        (new,) = self._c.execute(_NEW_CUSTOMERS, window).fetchone()
        times = self._c.execute(_FILL_TIMES, window).fetchall()
        return GroupFacts(
            started=started,
            completed=completed,
            expired=expired,
            cancelled=cancelled,
            members=members,
            new_customers=new,
            initiators=initiators,
            fill_seconds=tuple((decode_time(b) - decode_time(a)).total_seconds() for a, b in times),
        )
