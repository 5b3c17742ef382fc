"""The SQLAlchemy store's partner fraud signals and reviews, part of `SQLAlchemyPartners`.

A partner's hashed signals and each order's click check are inserted ``ON CONFLICT DO
NOTHING`` under their keys; the unclicked orders of a burst are counted in SQL under the
partner's lock (so two checkouts at the same instant count each other, one after the
other); a reward has one open review at most (a partial unique index the insert meets),
and a review is decided by one ``UPDATE ... WHERE decision IS NULL``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import BigInteger, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from referralkit.context import Signal
from referralkit.model import PartnerReview
from referralkit.storage._sqlalchemy_tables import Tables, id_param, time_param

if TYPE_CHECKING:
    from referralkit.storage._sqlalchemy_session import Session

__all__ = ["ReviewStatements", "SQLAlchemyReviews"]


class _ReviewReads(Protocol):
    """What the mixin reads of the repository's statements (no import of their module)."""

    @property
    def reviews(self) -> ReviewStatements: ...


class ReviewStatements:
    """The partner signals' and reviews' statements, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        signals, checks, reviews = (
            tables.partner_signals,
            tables.partner_checks,
            tables.partner_reviews,
        )
        sc, cc, rc = signals.c, checks.c, reviews.c
        self.signal_insert = insert(signals).on_conflict_do_nothing()
        self.signals = select(sc.kind, sc.digest).where(sc.partner_id == id_param("pid"))
        self.check_insert = insert(checks).on_conflict_do_nothing(index_elements=[cc.order_id])
        self.unclicked = select(func.count()).where(
            cc.partner_id == id_param("pid"),
            cc.clicked.is_(False),
            cc.checked_at > time_param("since"),
            cc.checked_at <= time_param("until"),
        )

        self.columns = (
            rc.id,
            rc.reward_id,
            rc.partner_id,
            rc.order_id,
            rc.reasons,
            rc.opened_at,
            rc.decision,
            rc.decided_at,
            rc.note,
        )
        picked = select(*self.columns)
        # Any conflict: the review's id (a retry) or the reward's open review.
        self.review_insert = insert(reviews).on_conflict_do_nothing()
        self.open_review = picked.where(rc.reward_id == id_param("rid"), rc.decision.is_(None))
        self.review = picked.where(rc.id == id_param("review"))
        after, partner, order, reason = (
            id_param("after"),
            id_param("pid"),
            id_param("order"),
            id_param("reason"),
        )
        earlier = reviews.alias("earlier")
        self.open_reviews = (
            picked.where(
                rc.decision.is_(None),
                or_(
                    after.is_(None),
                    rc.seq > select(earlier.c.seq).where(earlier.c.id == after).scalar_subquery(),
                ),
                or_(partner.is_(None), rc.partner_id == partner),
                or_(order.is_(None), rc.order_id == order),
                or_(reason.is_(None), _has_reason(rc.reasons, reason, dialect)),
            )
            .order_by(rc.seq)
            .limit(bindparam("limit", type_=BigInteger()))
        )
        self.decide = (
            update(reviews)
            .where(rc.id == id_param("review"), rc.decision.is_(None))
            .values(
                decision=id_param("new_decision"),
                decided_at=time_param("at"),
                note=id_param("new_note"),
            )
        )


def _has_reason(reasons: Any, reason: BindParameter[Any], dialect: str) -> Any:
    """Whether the JSON list ``reasons`` holds the text ``reason``."""
    if dialect == "postgresql":
        return reasons.op("@>")(func.jsonb_build_array(reason))
    value = func.json_each(reasons).table_valued("value")
    return exists(select(value.c.value).where(value.c.value == reason))


def _review(row: Any) -> PartnerReview | None:
    if row is None:
        return None
    rid, reward_id, partner_id, order_id, reasons, opened, decision, decided, note = row
    return PartnerReview(
        id=rid,
        reward_id=reward_id,
        partner_id=partner_id,
        order_id=order_id,
        reasons=tuple(reasons),
        opened_at=opened,
        decision=decision,
        decided_at=decided,
        note=note,
    )


class SQLAlchemyReviews:
    """The fraud signal and review methods of `referralkit.program.PartnerRepository`."""

    __slots__ = ()
    _s: Session
    _q: _ReviewReads

    def add_signals(self, partner_id: str, signals: Iterable[Signal]) -> None:
        """Remember these hashed identity signals for the partner (idempotent)."""
        rows = [{"partner_id": partner_id, "kind": k, "digest": d} for k, d in signals]
        if rows:
            self._s.run(self._q.reviews.signal_insert, rows)

    def signals(self, partner_id: str) -> frozenset[Signal]:
        """Every hashed identity signal known for the partner."""
        rows = self._s.rows(self._q.reviews.signals, {"pid": partner_id})
        return frozenset((str(kind), str(digest)) for kind, digest in rows)

    def check_order(self, order_id: str, partner_id: str, at: datetime, *, clicked: bool) -> bool:
        """Record once whether the buyer of ``order_id`` clicked the partner's links."""
        params = {
            "order_id": order_id,
            "partner_id": partner_id,
            "checked_at": at,
            "clicked": clicked,
        }
        return bool(self._s.run(self._q.reviews.check_insert, params).rowcount == 1)

    def unclicked(self, partner_id: str, since: datetime, until: datetime) -> int:
        """How many of the partner's checked orders had no click, at ``since < t <= until``."""
        self._s.locks.customer(partner_id)
        params = {"pid": partner_id, "since": since, "until": until}
        return int(self._s.run(self._q.reviews.unclicked, params).scalar() or 0)

    def add_review(self, review: PartnerReview) -> bool:
        """Open ``review`` unless its reward has an open review; whether this call opened it."""
        params = {
            "id": review.id,
            "reward_id": review.reward_id,
            "partner_id": review.partner_id,
            "order_id": review.order_id,
            "reasons": list(review.reasons),
            "opened_at": review.opened_at,
            "decision": review.decision,
            "decided_at": review.decided_at,
            "note": review.note,
        }
        return bool(self._s.run(self._q.reviews.review_insert, params).rowcount == 1)

    def open_review(self, reward_id: str) -> PartnerReview | None:
        """The reward's open review, if it has one."""
        return _review(self._s.run(self._q.reviews.open_review, {"rid": reward_id}).first())

    def open_reviews(
        self,
        limit: int,
        *,
        after: str | None = None,
        partner_id: str | None = None,
        order_id: str | None = None,
        reason: str | None = None,
    ) -> list[PartnerReview]:
        """Open reviews in the order they were opened, after the review ``after``, filtered."""
        params = {
            "limit": limit,
            "after": after,
            "pid": partner_id,
            "order": order_id,
            "reason": reason,
        }
        rows = self._s.rows(self._q.reviews.open_reviews, params)
        return [r for r in map(_review, rows) if r is not None]

    def get_review(self, review_id: str) -> PartnerReview | None:
        """The review with this id, open or decided."""
        return _review(self._s.run(self._q.reviews.review, {"review": review_id}).first())

    def decide(self, review_id: str, decision: str, note: str | None, at: datetime) -> bool:
        """Close an open review with ``decision``; whether this call closed it (once only)."""
        params = {"review": review_id, "new_decision": decision, "new_note": note, "at": at}
        return bool(self._s.run(self._q.reviews.decide, params).rowcount == 1)
