"""The SQLAlchemy store's waitlist: `referralkit.program.WaitlistRepository` in SQL.

The same rules as the SQLite store's: the insert assigns the join sequence (``seq``,
the table's identity: BIGSERIAL on PostgreSQL, the rowid on SQLite) and keeps one entry
per member and per code (``INSERT ... SELECT ... WHERE NOT EXISTS``, ``ON CONFLICT DO
NOTHING``, so a retry draws no number); a referrer's count grows by ``UPDATE ... SET
referred = referred + 1``; a position is one ``count(*)`` over the score; admission is
``UPDATE ... WHERE state = 'waiting'`` checked by its row count, of the top read ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL (concurrent admits take different people). Nothing
here reads a row to decide a later write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from referralkit.metrics._waitlist import WaitlistFacts
from referralkit.model import WaitlistEntry, WaitlistState
from referralkit.storage._errors import CodeTaken
from referralkit.storage._sqlalchemy_session import Session
from referralkit.storage._sqlalchemy_tables import IdText, Tables, UTCDateTime

__all__ = ["SQLAlchemyWaitlist", "WaitlistStatements"]

_STATE = {s.value: s for s in WaitlistState}
_WAITING = WaitlistState.WAITING.value
_ADMITTED = WaitlistState.ADMITTED.value


def _id(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=IdText())


class WaitlistStatements:
    """The statements of the waitlist repository, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        p = bindparam
        w = tables.waitlist
        wc = w.c
        self.columns = (
            wc.member,
            wc.code,
            wc.campaign,
            wc.seq,
            wc.joined_at,
            wc.state,
            wc.referred_by,
            wc.referred,
            wc.admitted_at,
        )
        entries = select(*self.columns)
        self.by_member = entries.where(wc.member == p("member"))
        self.by_code = entries.where(wc.code == p("code"))

        # Nothing is inserted (and no sequence number drawn) when the member or the code
        # is on the list; a racing insert of either is left to the unique constraints.
        taken = exists().where(or_(wc.member == _id("member"), wc.code == _id("code")))
        values = select(
            _id("member"),
            _id("code"),
            _id("campaign"),
            bindparam("joined_at", type_=UTCDateTime()),
            literal(_WAITING, IdText()),
            _id("referred_by"),
            literal(0, Integer()),
        ).where(~taken)
        self.insert = (
            insert(w)
            .from_select(
                (
                    wc.member,
                    wc.code,
                    wc.campaign,
                    wc.joined_at,
                    wc.state,
                    wc.referred_by,
                    wc.referred,
                ),
                values,
            )
            .on_conflict_do_nothing()
        )
        self.credit = update(w).where(wc.member == p("mid")).values(referred=wc.referred + 1)

        per = bindparam("per", type_=Integer())
        me = w.alias("me")
        ahead = w.alias("ahead")
        score, my_score = ahead.c.seq - per * ahead.c.referred, me.c.seq - per * me.c.referred
        before = (
            select(func.count())
            .where(
                ahead.c.state == _WAITING,
                or_(
                    score < my_score,
                    and_(score == my_score, ahead.c.seq < me.c.seq),
                ),
            )
            .correlate(me)
            .scalar_subquery()
        )
        self.position = select(literal(1, Integer()) + before).where(
            me.c.member == p("member"), me.c.state == _WAITING
        )
        # The top are read to be admitted: on PostgreSQL their rows are locked, skipping
        # those another unit of work is admitting, so concurrent admits take different
        # people (each admission is still conditional on the person waiting).
        self.top = (
            entries.where(wc.state == _WAITING)
            .order_by(wc.seq - per * wc.referred, wc.seq)
            .limit(p("limit"))
            .with_for_update(skip_locked=True)
        )
        self.admit = (
            update(w)
            .where(wc.member == p("mid"), wc.state == _WAITING)
            .values(state=_ADMITTED, admitted_at=bindparam("now", type_=UTCDateTime()))
        )

        def count(state: str) -> Any:
            return func.coalesce(func.sum(case((wc.state == state, 1), else_=0)), literal(0))

        self.facts = select(
            func.count(),
            count(_WAITING),
            count(_ADMITTED),
            func.coalesce(func.sum(wc.referred), literal(0)),
        )


def _entry(row: Any) -> WaitlistEntry:
    member, code, campaign, seq, joined_at, state, referred_by, referred, admitted_at = row
    return WaitlistEntry(
        member=member,
        code=code,
        campaign=campaign,
        seq=int(seq),
        joined_at=joined_at,
        state=_STATE[state],
        referred_by=referred_by,
        referred=int(referred),
        admitted_at=admitted_at,
    )


class SQLAlchemyWaitlist:
    """`referralkit.program.WaitlistRepository` for `referralkit.storage.SQLAlchemyStore`."""

    __slots__ = ("_q", "_s")

    def __init__(self, session: Session, statements: WaitlistStatements) -> None:
        self._s = session
        self._q = statements

    def _one(self, statement: Any, params: dict[str, Any]) -> WaitlistEntry | None:
        row = self._s.run(statement, params).first()
        return None if row is None else _entry(row)

    def add(self, entry: WaitlistEntry) -> tuple[WaitlistEntry, bool]:
        """Insert ``entry`` unless its member is on the list; stored (``seq`` set), and new?"""
        params = {
            "member": entry.member,
            "code": entry.code,
            "campaign": entry.campaign,
            "joined_at": entry.joined_at,
            "referred_by": entry.referred_by,
        }
        inserted = self._s.run(self._q.insert, params).rowcount == 1
        found = self.get(entry.member)
        if not inserted:  # the member (a retry) or the code (another waitlister) is taken
            if found is None:
                raise CodeTaken(f"waitlist code {entry.code!r} is already issued", value=entry.code)
            return found, False
        assert found is not None  # noqa: S101 - inserted just now
        return found, True

    def get(self, member: str) -> WaitlistEntry | None:
        """The member's entry."""
        return self._one(self._q.by_member, {"member": member})

    def by_code(self, code: str) -> WaitlistEntry | None:
        """The entry whose waitlist code is ``code`` (canonical text)."""
        return self._one(self._q.by_code, {"code": code})

    def credit(self, member: str) -> bool:
        """Count one more accepted friend for ``member``; whether the member exists."""
        return bool(self._s.run(self._q.credit, {"mid": member}).rowcount == 1)

    def position(self, member: str, per_referral: int) -> int | None:
        """The waiting member's 1-based position, in one query; None when admitted or unknown."""
        found = self._s.run(self._q.position, {"member": member, "per": per_referral}).scalar()
        return None if found is None else int(found)

    def top(self, limit: int, per_referral: int) -> list[WaitlistEntry]:
        """Up to ``limit`` waiting entries in position order, locked (none another admits)."""
        rows = self._s.rows(self._q.top, {"per": per_referral, "limit": limit})
        return [_entry(r) for r in rows]

    def admit(self, member: str, now: datetime) -> bool:
        """Admit a waiting member in one conditional update; whether this call admitted them."""
        return bool(self._s.run(self._q.admit, {"mid": member, "now": now}).rowcount == 1)

    def facts(self, per_referral: int) -> WaitlistFacts:
        """Aggregates over every entry, in SQL."""
        joined, waiting, admitted, referred = self._s.run(self._q.facts).first()
        return WaitlistFacts(
            joined=int(joined),
            waiting=int(waiting),
            admitted=int(admitted),
            referred_joins=int(referred),
            places_gained=per_referral * int(referred),
        )
