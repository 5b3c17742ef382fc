"""The SQLAlchemy store's invitations: `referralkit.program.InvitationRepository` in SQL.

The same rules as the SQLite store's: the database decides who takes a use, in one
conditional ``UPDATE ... SET used = used + 1 WHERE code = :code AND used < uses AND
(expires_at IS NULL OR expires_at > :now)`` checked by its row count; a redemption is
inserted ``ON CONFLICT (code, customer) DO NOTHING``; and a holder's quota is counted by
the very ``INSERT ... SELECT ... WHERE (SELECT count(*) ...) < :quota`` that inserts,
under the holder's advisory lock on PostgreSQL (so two issues for one holder take
turns, the second counting the first). Nothing here reads a row to decide a later write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, distinct, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from referralkit.metrics._invitations import InvitationFacts
from referralkit.model import Invitation, Redemption
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlalchemy_session import Session
from referralkit.storage._sqlalchemy_tables import IdText, Tables, UTCDateTime

__all__ = ["InvitationStatements", "SQLAlchemyInvitations"]


def _time(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=UTCDateTime())


def _id(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=IdText())


def _int(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=Integer())


class InvitationStatements:
    """The statements of the invitations repository, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        p = bindparam
        i, r = tables.invitations, tables.invitation_redemptions
        ic, rc = i.c, r.c
        self.columns = (
            ic.code,
            ic.holder,
            ic.campaign,
            ic.uses,
            ic.used,
            ic.created_at,
            ic.expires_at,
        )
        invitations = select(*self.columns)
        self.by_code = invitations.where(ic.code == p("code"))
        self.for_holder = invitations.where(ic.holder == p("holder")).order_by(ic.seq)

        # A taken code inserts nothing (the caller tells it from a full quota); the
        # quota is counted by the statement that inserts.
        values = select(
            _id("code"),
            _id("holder"),
            _id("campaign"),
            _int("uses"),
            literal(0, Integer()),
            _time("created_at"),
            _time("expires_at"),
        )
        held = select(func.count()).where(ic.holder == _id("holder")).scalar_subquery()
        self.insert = insert(i).on_conflict_do_nothing().returning(ic.seq)
        self.insert_within_quota = (
            insert(i)
            .from_select(self.columns, values.where(held < _int("quota")))
            .on_conflict_do_nothing()
            .returning(ic.seq)
        )
        self.take_use = (
            update(i)
            .where(
                ic.code == p("icode"),
                ic.used < ic.uses,
                or_(ic.expires_at.is_(None), ic.expires_at > _time("now")),
            )
            .values(used=ic.used + 1)
        )

        self.redemption_insert = insert(r).on_conflict_do_nothing(
            index_elements=[rc.code, rc.customer]
        )
        self.redemption = select(rc.code, rc.customer, rc.referral_id, rc.redeemed_at).where(
            rc.code == p("code"), rc.customer == p("customer")
        )

        lo, hi = _time("since"), _time("until")
        issued = and_(or_(lo.is_(None), ic.created_at >= lo), or_(hi.is_(None), ic.created_at < hi))
        self.facts = select(
            func.count(),
            func.coalesce(func.sum(ic.uses), literal(0)),
            func.coalesce(func.sum(ic.used), literal(0)),
            func.count(distinct(ic.holder)),
        ).where(issued)


def _invitation(row: Any) -> Invitation:
    code, holder, campaign, uses, used, created_at, expires_at = row
    return Invitation(
        code=code,
        holder=holder,
        campaign=campaign,
        uses=int(uses),
        used=int(used),
        created_at=created_at,
        expires_at=expires_at,
    )


class SQLAlchemyInvitations:
    """`referralkit.program.InvitationRepository` for `referralkit.storage.SQLAlchemyStore`."""

    __slots__ = ("_q", "_s")

    def __init__(self, session: Session, statements: InvitationStatements) -> None:
        self._s = session
        self._q = statements

    def add(self, invitation: Invitation, quota: int | None) -> bool:
        """Insert ``invitation`` unless the holder has ``quota`` invitations; whether it was."""
        params: dict[str, Any] = {
            "code": invitation.code,
            "holder": invitation.holder,
            "campaign": invitation.campaign,
            "uses": invitation.uses,
            "used": 0,
            "created_at": invitation.created_at,
            "expires_at": invitation.expires_at,
        }
        if quota is None:
            inserted = self._s.run(self._q.insert, params).first()
        else:
            # The holder's issues take turns on PostgreSQL: the count below sees them all.
            self._s.locks.customer(invitation.holder)
            del params["used"]
            inserted = self._s.run(self._q.insert_within_quota, {**params, "quota": quota}).first()
        if inserted is not None:
            return True
        if self.get(invitation.code) is not None:
            raise CodeTaken(
                f"invitation code {invitation.code!r} is already issued", value=invitation.code
            )
        return False

    def get(self, code: str) -> Invitation | None:
        """The invitation with this code (canonical text)."""
        row = self._s.run(self._q.by_code, {"code": code}).first()
        return None if row is None else _invitation(row)

    def for_holder(self, holder: str) -> list[Invitation]:
        """The holder's invitations, oldest first."""
        return [_invitation(r) for r in self._s.rows(self._q.for_holder, {"holder": holder})]

    def take_use(self, code: str, now: datetime) -> bool:
        """Take one use in one conditional update; whether one was taken."""
        return bool(self._s.run(self._q.take_use, {"icode": code, "now": now}).rowcount == 1)

    def add_redemption(self, redemption: Redemption) -> bool:
        """Insert a redemption unless (code, customer) exists; whether this call inserted it."""
        params = {
            "code": redemption.code,
            "customer": redemption.customer,
            "referral_id": redemption.referral_id,
            "redeemed_at": redemption.redeemed_at,
        }
        return bool(self._s.run(self._q.redemption_insert, params).rowcount == 1)

    def redemption(self, code: str, customer: str) -> Redemption | None:
        """The customer's redemption of the invitation, if any."""
        params = {"code": code, "customer": customer}
        row = self._s.run(self._q.redemption, params).first()
        return None if row is None else Redemption(row[0], row[1], row[2], row[3])

    def facts(self, since: datetime | None, until: datetime | None) -> InvitationFacts:
        """Aggregates over the invitations issued in ``[since, until)``, in SQL."""
        row = self._s.run(self._q.facts, {"since": since, "until": until}).first()
        issued, uses, redeemed, holders = row
        return InvitationFacts(
            issued=int(issued), uses=int(uses), redeemed=int(redeemed), holders=int(holders)
        )
