"""The SQLAlchemy store's group-buys: `referralkit.program.GroupRepository` in SQL.

The same rules as the SQLite store's: the database decides who takes a place, in one
conditional ``UPDATE ... WHERE state = 'open' AND filled < size AND deadline > :now``
checked by the rows it returns (completing the group in the same statement), a unique
(group, member), closes conditional on ``state = 'open'``, and inserts ``ON CONFLICT
DO NOTHING``. Nothing here reads a row to decide a later write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, distinct, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from referralkit.metrics._groups import GroupFacts
from referralkit.model import Group, GroupState, Membership
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlalchemy_session import Session
from referralkit.storage._sqlalchemy_tables import Tables, UTCDateTime

__all__ = ["GroupStatements", "SQLAlchemyGroups"]

_STATE = {s.value: s for s in GroupState}


def _time(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=UTCDateTime())


class GroupStatements:
    """The statements of the group-buys repository, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        p = bindparam
        g, m = tables.groups, tables.group_members
        gc, mc = g.c, m.c
        self.group_columns = (
            gc.id,
            gc.code,
            gc.initiator,
            gc.campaign,
            gc.size,
            gc.state,
            gc.created_at,
            gc.deadline,
            gc.policy_version,
            gc.new_customers_only,
            gc.closed_at,
        )
        groups = select(*self.group_columns)
        # Any conflict: its id (a retry) or its code (another group's); the caller tells.
        self.group_insert = insert(g).on_conflict_do_nothing().returning(gc.id)
        self.group_by_id = groups.where(gc.id == p("id"))
        self.group_by_code = groups.where(gc.code == p("code"))
        self.members_of = select(mc.member).where(mc.group_id == p("id")).order_by(mc.seq)

        now = _time("now")
        last = gc.filled + 1 >= gc.size
        self.take_place = (
            update(g)
            .where(
                gc.id == p("gid"),
                gc.state == GroupState.OPEN.value,
                gc.filled < gc.size,
                gc.deadline > now,
                exists().where(mc.group_id == gc.id, mc.member == p("member")),
            )
            .values(
                filled=gc.filled + 1,
                state=case((last, GroupState.COMPLETED.value), else_=gc.state),
                closed_at=case((last, now), else_=gc.closed_at),
            )
            .returning(*self.group_columns)
        )
        self.cancel = (
            update(g)
            .where(gc.id == p("gid"), gc.state == GroupState.OPEN.value)
            .values(state=p("new_state"), closed_at=now)
        )
        self.expire = self.cancel.where(gc.deadline <= now)
        self.due = (
            groups.where(gc.state == GroupState.OPEN.value, gc.deadline <= now)
            .order_by(gc.deadline, gc.id)
            .limit(p("limit"))
        )
        self.open_for = (
            groups.where(
                gc.state == GroupState.OPEN.value,
                gc.id.in_(select(mc.group_id).where(mc.member == p("member"))),
            )
        ).order_by(gc.created_at, gc.id)

        self.place_columns = (
            mc.group_id,
            mc.member,
            mc.joined_at,
            mc.referral_id,
            mc.new_customer,
            mc.order_id,
        )
        places = select(*self.place_columns)
        self.member_insert = insert(m).on_conflict_do_nothing(
            index_elements=[mc.group_id, mc.member]
        )
        self.membership = places.where(mc.group_id == p("gid"), mc.member == p("member"))
        self.memberships = places.where(mc.group_id == p("gid")).order_by(mc.seq)
        self.by_order = places.where(mc.order_id == p("order_id"))
        other = m.alias("other")
        self.attach_order = (
            update(m)
            .where(
                mc.group_id == p("gid"),
                mc.member == p("mid"),
                mc.order_id.is_(None),
                ~exists().where(other.c.order_id == p("new_order")),
            )
            .values(order_id=p("new_order"))
        )
        self.counts, self.new_customers, self.fill_times = _facts(tables)


def _window(column: Any) -> Any:
    """``column`` within the optional ``[since, until)`` window of the facts' binds."""
    lo, hi = _time("since"), _time("until")
    return and_(or_(lo.is_(None), column >= lo), or_(hi.is_(None), column < hi))


def _facts(tables: Tables) -> tuple[Any, Any, Any]:
    """Counts per state, places and initiators; new customers; completed groups' times."""
    g, m = tables.groups, tables.group_members
    gc = g.c
    started = _window(gc.created_at)

    def count(state: GroupState) -> Any:
        return func.coalesce(func.sum(case((gc.state == state.value, 1), else_=0)), literal(0))

    counts = select(
        func.count(),
        count(GroupState.COMPLETED),
        count(GroupState.EXPIRED),
        count(GroupState.CANCELLED),
        func.coalesce(func.sum(gc.filled), literal(0)),
        func.count(distinct(gc.initiator)),
    ).where(started)
    new_customers = (
        select(func.count())
        .select_from(m.join(g, m.c.group_id == gc.id))
        .where(m.c.new_customer.is_(True), started)
    )
    # One row per completed group: the median time to fill needs each value.
    fill_times = (
        select(gc.created_at, gc.closed_at)
        .where(started, gc.state == GroupState.COMPLETED.value, gc.closed_at.is_not(None))
        .order_by(gc.created_at, gc.id)
    )
    return counts, new_customers, fill_times


def _place(row: Any) -> Membership:
    group_id, member, joined_at, referral_id, new_customer, order_id = row
    return Membership(
        group_id=group_id,
        member=member,
        joined_at=joined_at,
        referral_id=referral_id,
        new_customer=bool(new_customer),
        order_id=order_id,
    )


class SQLAlchemyGroups:
    """`referralkit.program.GroupRepository` for `referralkit.storage.SQLAlchemyStore`."""

    __slots__ = ("_q", "_s")

    def __init__(self, session: Session, statements: GroupStatements) -> None:
        self._s = session
        self._q = statements

    def _group(self, row: Any) -> Group | None:
        if row is None:
            return None
        gid, code, initiator, campaign, size, state, created, deadline, version, new, closed = row
        members = self._s.rows(self._q.members_of, {"id": gid})
        return Group(
            id=gid,
            code=code,
            initiator=initiator,
            campaign=campaign,
            size=int(size),
            state=_STATE[state],
            created_at=created,
            deadline=deadline,
            policy_version=version,
            members=tuple(str(r[0]) for r in members),
            new_customers_only=bool(new),
            closed_at=closed,
        )

    def _groups(self, rows: list[Any]) -> list[Group]:
        return [g for g in (self._group(r) for r in rows) if g is not None]

    def add(self, group: Group) -> tuple[Group, bool]:
        """Insert ``group`` (its initiator as member) unless its id exists; stored, and new?"""
        params = {
            "id": group.id,
            "code": group.code,
            "initiator": group.initiator,
            "campaign": group.campaign,
            "size": group.size,
            "filled": 1,
            "state": GroupState.OPEN.value,
            "created_at": group.created_at,
            "deadline": group.deadline,
            "policy_version": group.policy_version,
            "new_customers_only": group.new_customers_only,
        }
        if self._s.run(self._q.group_insert, params).first() is None:
            found = self.get(group.id)  # its id (a retry) or its code (another group) is taken
            if found is None:
                raise CodeTaken(f"group code {group.code!r} is already issued", value=group.code)
            return found, False
        self.add_member(Membership(group.id, group.initiator, group.created_at))
        stored = self.get(group.id)
        assert stored is not None  # noqa: S101 - inserted just now
        return stored, True

    def get(self, group_id: str) -> Group | None:
        """The group with this id, its members in join order."""
        return self._group(self._s.run(self._q.group_by_id, {"id": group_id}).first())

    def by_code(self, code: str) -> Group | None:
        """The group whose code is ``code`` (canonical text)."""
        return self._group(self._s.run(self._q.group_by_code, {"code": code}).first())

    def add_member(self, membership: Membership) -> bool:
        """Insert a membership unless (group, member) exists; whether this call inserted it."""
        params = {
            "group_id": membership.group_id,
            "member": membership.member,
            "joined_at": membership.joined_at,
            "referral_id": membership.referral_id,
            "new_customer": membership.new_customer,
        }
        return bool(self._s.run(self._q.member_insert, params).rowcount == 1)

    def take_place(self, group_id: str, member: str, now: datetime) -> Group | None:
        """Take one place in one conditional update (completing the group on its last)."""
        params = {"gid": group_id, "member": member, "now": now}
        return self._group(self._s.run(self._q.take_place, params).first())

    def close(self, group_id: str, state: GroupState, now: datetime) -> bool:
        """End an open group in ``state`` (expired: only once due); whether this call did."""
        statement = self._q.expire if state is GroupState.EXPIRED else self._q.cancel
        params = {"gid": group_id, "new_state": state.value, "now": now}
        return bool(self._s.run(statement, params).rowcount == 1)

    def due(self, now: datetime, limit: int) -> list[Group]:
        """Up to ``limit`` open groups whose deadline is at or before ``now``, oldest first."""
        return self._groups(self._s.rows(self._q.due, {"now": now, "limit": limit}))

    def membership(self, group_id: str, member: str) -> Membership | None:
        """The member's place in the group, if they hold one."""
        row = self._s.run(self._q.membership, {"gid": group_id, "member": member}).first()
        return None if row is None else _place(row)

    def memberships(self, group_id: str) -> list[Membership]:
        """Every place in the group, in join order (the initiator's first)."""
        return [_place(r) for r in self._s.rows(self._q.memberships, {"gid": group_id})]

    def attach_order(self, group_id: str, member: str, order_id: str) -> Membership | None:
        """Attach ``order_id`` unless the place has an order or the order a place; the place."""
        params = {"gid": group_id, "mid": member, "new_order": order_id}
        self._s.run(self._q.attach_order, params)
        return self.membership(group_id, member)

    def by_order(self, order_id: str) -> Membership | None:
        """The place ``order_id`` is attached to."""
        row = self._s.run(self._q.by_order, {"order_id": order_id}).first()
        return None if row is None else _place(row)

    def open_for(self, customer: str) -> list[Group]:
        """The open groups the customer is a member of, oldest first."""
        return self._groups(self._s.rows(self._q.open_for, {"member": customer}))

    def facts(self, since: datetime | None, until: datetime | None) -> GroupFacts:
        """Aggregates over the groups started in ``[since, until)``, in SQL."""
        window = {"since": since, "until": until}
        started, completed, expired, cancelled, members, initiators = self._s.run(
            self._q.counts, window
        ).first()
        new = self._s.run(self._q.new_customers, window).scalar()
        times = self._s.rows(self._q.fill_times, window)
        return GroupFacts(
            started=int(started),
            completed=int(completed),
            expired=int(expired),
            cancelled=int(cancelled),
            members=int(members),
            new_customers=int(new),
            initiators=int(initiators),
            fill_seconds=tuple((closed - created).total_seconds() for created, closed in times),
        )
