"""The SQLAlchemy store's moments, deliveries, display names and claims, in SQL.

The same rules as the SQLite store's (`referralkit.moments.MomentRepository`,
`DeliveryRepository`, `referralkit.invitee.DisplayNameRepository`, `ClaimRepository`):
each fact is recorded once by its key (``ON CONFLICT DO NOTHING``, then read back), and
the statistics per moment type are one query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from referralkit.moments import DecisionRecord, MomentRecord, MomentStats
from referralkit.storage._sqlalchemy_session import Session
from referralkit.storage._sqlalchemy_tables import Tables, UTCDateTime

__all__ = [
    "MomentStatements",
    "SQLAlchemyClaims",
    "SQLAlchemyDeliveries",
    "SQLAlchemyDisplayNames",
    "SQLAlchemyMoments",
]


class MomentStatements:
    """The statements of the four repositories, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        p = bindparam
        m, d, s = tables.moments, tables.moment_decisions, tables.moment_shares
        self.moment_columns = (
            m.c.customer_id,
            m.c.moment,
            m.c.key,
            m.c.occurred_at,
            m.c.score,
            m.c.order_id,
        )
        self.moment_insert = insert(m).on_conflict_do_nothing(
            index_elements=[m.c.customer_id, m.c.key]
        )
        self.moment_by_key = select(*self.moment_columns).where(
            m.c.customer_id == p("customer_id"), m.c.key == p("key")
        )
        self.latest_score = (
            select(*self.moment_columns)
            .where(m.c.customer_id == p("customer_id"), m.c.score.is_not(None))
            .order_by(m.c.occurred_at.desc(), m.c.seq.desc())
            .limit(1)
        )
        c = tables.conversions.c
        self.last_order_refunded = (
            select(c.refunded_minor)
            .where(c.referee == p("customer_id"))
            .order_by(c.occurred_at.desc(), c.order_number.desc(), c.order_id.desc())
            .limit(1)
        )
        self.decision_columns = (
            d.c.id,
            d.c.customer_id,
            d.c.moment,
            d.c.invite,
            d.c.reason,
            d.c.decided_at,
            d.c.follow_until,
            d.c.key,
            d.c.next_allowed_at,
            # As text: psycopg's float result processor wants a column type the
            # direct path does not give it; the text form of a double reads back exact.
            cast(d.c.exploration, Text),
        )
        self.decision_insert = insert(d).on_conflict_do_nothing()
        self.decision_by_key = select(*self.decision_columns).where(
            d.c.customer_id == p("customer_id"), d.c.key == p("key")
        )
        self.decision_by_id = select(*self.decision_columns).where(d.c.id == p("id"))
        self.invited_since = (
            select(d.c.decided_at)
            .where(
                d.c.customer_id == p("customer_id"),
                d.c.invite.is_(True),
                d.c.decided_at >= p("since"),
            )
            .order_by(d.c.decided_at)
        )
        self.share_insert = insert(s).on_conflict_do_nothing(index_elements=[s.c.decision_id])
        self.decided, self.stats = _stats(tables)

        dl = tables.deliveries
        self.delivery_insert = insert(dl).on_conflict_do_nothing(index_elements=[dl.c.order_id])
        self.delivery_by_order = select(dl.c.delivered_at).where(dl.c.order_id == p("order_id"))

        n = tables.display_names
        upsert = insert(n)
        self.name_put = upsert.on_conflict_do_update(
            index_elements=[n.c.customer_id],
            set_={"name": upsert.excluded.name, "updated_at": upsert.excluded.updated_at},
        )
        self.name_delete = delete(n).where(n.c.customer_id == p("customer_id"))
        self.name_get = select(n.c.name).where(n.c.customer_id == p("customer_id"))

        k = tables.claims
        self.claim_insert = insert(k).on_conflict_do_nothing(index_elements=[k.c.token_id])
        self.claim_owner = select(k.c.customer_id).where(k.c.token_id == p("token_id"))


def _window(column: Any) -> Any:
    """``column`` within the optional ``[since, until)`` window of the stats binds."""
    lo: BindParameter[Any] = bindparam("since", type_=UTCDateTime())
    hi: BindParameter[Any] = bindparam("until", type_=UTCDateTime())
    return and_(or_(lo.is_(None), column >= lo), or_(hi.is_(None), column < hi))


def _stats(tables: Tables) -> tuple[Select[Any], Select[Any]]:
    """Decisions per moment, and per moment what followed its invitations.

    An invitation's window ends at its ``follow_until`` or at the customer's next
    invitation, whichever is first; a friend counts for the invitation whose window
    their (standing) referral falls in.
    """
    d, s = tables.moment_decisions, tables.moment_shares
    r, c = tables.referrals, tables.conversions
    since: BindParameter[Any] = bindparam("since", type_=UTCDateTime())
    until: BindParameter[Any] = bindparam("until", type_=UTCDateTime())
    decided = (
        select(d.c.moment, func.count())
        .where(_window(d.c.decided_at))
        .group_by(d.c.moment)
        .order_by(d.c.moment)
    )
    next_at = (
        func.lead(d.c.decided_at)
        .over(partition_by=d.c.customer_id, order_by=(d.c.decided_at, d.c.id))
        .label("next_at")
    )
    ordered = (
        select(d.c.id, d.c.customer_id, d.c.moment, d.c.decided_at, d.c.follow_until, next_at)
        .where(d.c.invite.is_(True), or_(since.is_(None), d.c.decided_at >= since))
        .subquery("ordered")
    )
    o = ordered.c
    invited = select(
        o.id,
        o.customer_id,
        o.moment,
        o.decided_at,
        case(
            (and_(o.next_at.is_not(None), o.next_at < o.follow_until), o.next_at),
            else_=o.follow_until,
        ).label("ends_at"),
    ).cte("invited")
    i = invited.c
    has_order = exists().where(c.c.referral_id == r.c.id)
    friends = (
        select(
            i.id.label("decision_id"),
            func.count().label("friends"),
            func.sum(case((has_order, 1), else_=0)).label("ordered"),
        )
        .select_from(
            invited.join(
                r,
                and_(
                    r.c.referrer == i.customer_id,
                    r.c.status != "rejected",
                    r.c.attributed_at >= i.decided_at,
                    r.c.attributed_at < i.ends_at,
                ),
            )
        )
        .group_by(i.id)
        .subquery("friends")
    )
    f = friends.c
    stats = (
        select(
            i.moment,
            func.count(),
            func.count(s.c.decision_id),
            func.count(f.decision_id),
            func.coalesce(func.sum(f.friends), literal(0)),
            func.coalesce(func.sum(f.ordered), literal(0)),
        )
        .select_from(
            invited.outerjoin(friends, f.decision_id == i.id).outerjoin(s, s.c.decision_id == i.id)
        )
        .where(or_(until.is_(None), i.decided_at < until))
        .group_by(i.moment)
    )
    return decided, stats


class _Repo:
    __slots__ = ("_q", "_s")

    def __init__(self, session: Session, statements: MomentStatements) -> None:
        self._s = session
        self._q = statements


def _moment(row: Any) -> MomentRecord:
    customer, moment, key, at, score, order_id = row
    return MomentRecord(
        customer_id=customer,
        moment=moment,
        key=key,
        occurred_at=at,
        score=None if score is None else int(score),
        order_id=order_id,
    )


def _decision(row: Any) -> DecisionRecord:
    i, customer, moment, invite, reason, decided, until, key, allowed, exploration = row
    return DecisionRecord(
        id=i,
        customer_id=customer,
        moment=moment,
        invite=bool(invite),
        reason=reason,
        decided_at=decided,
        follow_until=until,
        key=key,
        next_allowed_at=allowed,
        exploration=None if exploration is None else float(exploration),
    )


class SQLAlchemyMoments(_Repo):
    """`referralkit.moments.MomentRepository` in SQL."""

    __slots__ = ()

    def add(self, moment: MomentRecord) -> tuple[MomentRecord, bool]:
        """Record ``moment`` unless one is recorded under its key; returns the stored one."""
        params = {
            "customer_id": moment.customer_id,
            "moment": moment.moment,
            "key": moment.key,
            "occurred_at": moment.occurred_at,
            "score": moment.score,
            "order_id": moment.order_id,
        }
        if self._s.run(self._q.moment_insert, params).rowcount == 1:
            return moment, True
        row = self._s.run(
            self._q.moment_by_key, {"customer_id": moment.customer_id, "key": moment.key}
        ).first()
        return _moment(row), False

    def latest_score(self, customer_id: str) -> MomentRecord | None:
        """The customer's latest moment with a score."""
        row = self._s.run(self._q.latest_score, {"customer_id": customer_id}).first()
        return None if row is None else _moment(row)

    def last_order_refunded(self, customer_id: str) -> bool | None:
        """Whether the customer's latest order was refunded (None: no order)."""
        found = self._s.run(self._q.last_order_refunded, {"customer_id": customer_id}).first()
        return None if found is None else int(found[0]) > 0

    def add_decision(self, decision: DecisionRecord) -> tuple[DecisionRecord, bool]:
        """Record ``decision`` unless one is recorded under its key; returns the stored one."""
        params = {
            "id": decision.id,
            "customer_id": decision.customer_id,
            "moment": decision.moment,
            "invite": decision.invite,
            "reason": decision.reason,
            "decided_at": decision.decided_at,
            "follow_until": decision.follow_until,
            "key": decision.key,
            "next_allowed_at": decision.next_allowed_at,
            "exploration": decision.exploration,
        }
        if self._s.run(self._q.decision_insert, params).rowcount == 1:
            return decision, True
        row = self._s.run(
            self._q.decision_by_key, {"customer_id": decision.customer_id, "key": decision.key}
        ).first()
        return _decision(row), False

    def decision(self, decision_id: str) -> DecisionRecord | None:
        """The decision recorded under ``decision_id``."""
        row = self._s.run(self._q.decision_by_id, {"id": decision_id}).first()
        return None if row is None else _decision(row)

    def invited_since(self, customer_id: str, since: datetime) -> list[datetime]:
        """When the customer was invited, since ``since``, oldest first."""
        rows = self._s.rows(self._q.invited_since, {"customer_id": customer_id, "since": since})
        return [row[0] for row in rows]

    def add_share(self, decision_id: str, channel: str | None, at: datetime) -> bool:
        """Record a share of the decision's invitation, once per decision."""
        params = {"decision_id": decision_id, "channel": channel, "shared_at": at}
        return bool(self._s.run(self._q.share_insert, params).rowcount == 1)

    def stats(self, since: datetime | None, until: datetime | None) -> list[MomentStats]:
        """Per moment type: decisions, invitations, shares, and what followed them."""
        window = {"since": since, "until": until}
        decided = {str(m): int(n) for m, n in self._s.rows(self._q.decided, window)}
        invited = {
            str(m): tuple(int(v) for v in rest) for m, *rest in self._s.rows(self._q.stats, window)
        }
        return [
            MomentStats(name, n, *invited.get(name, (0, 0, 0, 0, 0)))
            for name, n in sorted(decided.items())
        ]


class SQLAlchemyDeliveries(_Repo):
    """`referralkit.moments.DeliveryRepository` in SQL: the first report stands."""

    __slots__ = ()

    def add(
        self, order_id: str, delivered_at: datetime, recorded_at: datetime
    ) -> tuple[datetime, bool]:
        """Record the delivery unless recorded; returns the stored time."""
        params = {"order_id": order_id, "delivered_at": delivered_at, "recorded_at": recorded_at}
        if self._s.run(self._q.delivery_insert, params).rowcount == 1:
            return delivered_at, True
        stored = self.get(order_id)
        assert stored is not None  # noqa: S101 - inserted before, or just now
        return stored, False

    def get(self, order_id: str) -> datetime | None:
        """When ``order_id`` was delivered, if reported."""
        row = self._s.run(self._q.delivery_by_order, {"order_id": order_id}).first()
        return None if row is None else row[0]


class SQLAlchemyDisplayNames(_Repo):
    """`referralkit.invitee.DisplayNameRepository` in SQL."""

    __slots__ = ()

    def put(self, customer_id: str, name: str | None, at: datetime) -> None:
        """Set the customer's display name (None removes it)."""
        if name is None:
            self._s.run(self._q.name_delete, {"customer_id": customer_id})
            return
        self._s.run(self._q.name_put, {"customer_id": customer_id, "name": name, "updated_at": at})

    def get(self, customer_id: str) -> str | None:
        """The customer's display name, if set."""
        row = self._s.run(self._q.name_get, {"customer_id": customer_id}).first()
        return None if row is None else str(row[0])


class SQLAlchemyClaims(_Repo):
    """`referralkit.invitee.ClaimRepository` in SQL: the primary key spends a token once."""

    __slots__ = ()

    def add(self, token_id: str, customer_id: str, at: datetime) -> tuple[str, bool]:
        """Spend ``token_id`` for ``customer_id`` unless spent; returns who spent it."""
        params = {"token_id": token_id, "customer_id": customer_id, "claimed_at": at}
        if self._s.run(self._q.claim_insert, params).rowcount == 1:
            return customer_id, True
        row = self._s.run(self._q.claim_owner, {"token_id": token_id}).first()
        return str(row[0]), False
