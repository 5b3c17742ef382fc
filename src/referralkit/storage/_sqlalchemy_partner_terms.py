"""What partner terms read in the SQLAlchemy store, part of `SQLAlchemyPartners`.

A partner's period revenue (volume tiers) and the program's period spend (budgets per
period) are added up in SQL, each under the lock the decision needs on PostgreSQL (the
partner's, the spend's), so a tier or a budget sees every order committed before this
one; an order's attributes are inserted once (``ON CONFLICT (order_id) DO NOTHING``); a
customer's first order with a partner is a ``MIN`` over the partner's orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from referralkit.model import RewardState
from referralkit.money import Money
from referralkit.storage._sqlalchemy_tables import Tables, id_param, time_param

if TYPE_CHECKING:
    from referralkit.storage._sqlalchemy_session import Session

__all__ = ["SQLAlchemyTermsReads", "TermsStatements"]


class _TermsReads(Protocol):
    """What the mixin reads of the repository's statements (no import of their module)."""

    @property
    def terms(self) -> TermsStatements: ...


class TermsStatements:
    """The statements partner terms read with, built once per installation and dialect."""

    def __init__(self, tables: Tables, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        t = tables
        c, o = t.conversions.c, t.partner_orders.c
        before = t.conversions.alias("before")
        b = before.c
        cutoff = (
            select(func.coalesce(b.recorded_at, b.occurred_at))
            .where(b.order_id == id_param("before"))
            .scalar_subquery()
        )
        self.revenue = (
            select(c.currency, func.coalesce(func.sum(c.amount_minor - c.refunded_minor), 0))
            .select_from(t.partner_orders.join(t.conversions, c.order_id == o.order_id))
            .where(
                o.partner_id == id_param("pid"),
                c.occurred_at >= time_param("since"),
                c.occurred_at < time_param("until"),
                c.order_id != id_param("before"),
                func.coalesce(c.recorded_at, c.occurred_at) <= cutoff,
            )
            .group_by(c.currency)
            .order_by(c.currency)
        )
        w = t.rewards.c
        currency = func.coalesce(w.currency, literal(""))
        self.period_spend = (
            select(
                currency,
                func.coalesce(func.sum(func.coalesce(w.amount_minor, 0)), 0),
                func.coalesce(func.sum(w.points), 0),
            )
            .where(
                w.state != RewardState.REVERSED.value,
                w.created_at >= time_param("since"),
                w.created_at < time_param("until"),
            )
            .group_by(currency)
            .order_by(currency)
        )
        self.first_attributed = select(func.min(o.attributed_at)).where(
            o.partner_id == id_param("pid"), o.customer_id == id_param("customer")
        )
        a = t.order_attributes
        self.attributes_insert = insert(a).on_conflict_do_nothing(index_elements=[a.c.order_id])
        self.attributes = select(a.c.attributes).where(a.c.order_id == id_param("order"))


class SQLAlchemyTermsReads:
    """The methods of `referralkit.program.PartnerRepository` that partner terms read (a mixin)."""

    __slots__ = ()
    _s: Session
    _q: _TermsReads

    def revenue(
        self, partner_id: str, since: datetime, until: datetime, *, before: str
    ) -> list[Money]:
        """Net revenue of the partner's orders in ``[since, until)`` recorded before ``before``.

        Read under the partner's lock, as their caps are: a volume tier sees every order
        committed before this one.
        """
        self._s.locks.customer(partner_id)
        params = {"pid": partner_id, "since": since, "until": until, "before": before}
        rows = self._s.rows(self._q.terms.revenue, params)
        return [Money.from_minor(int(minor), currency) for currency, minor in rows]

    def period_spend(self, since: datetime, until: datetime) -> tuple[list[Money], int]:
        """What the program granted in ``[since, until)``, not reversed: money and points.

        Read under the spend lock, as the program's budget is.
        """
        self._s.locks.spend()
        money: list[Money] = []
        points = 0
        for currency, minor, pts in self._s.rows(
            self._q.terms.period_spend, {"since": since, "until": until}
        ):
            points += int(pts)
            if currency:
                money.append(Money.from_minor(int(minor), currency))
        return money, points

    def add_order_attributes(
        self, order_id: str, attributes: Mapping[str, tuple[str, ...]]
    ) -> Mapping[str, tuple[str, ...]]:
        """Store an order's attributes unless stored; what is stored."""
        document = {k: list(v) for k, v in sorted(attributes.items())}
        self._s.run(self._q.terms.attributes_insert, {"order_id": order_id, "attributes": document})
        stored = self.order_attributes(order_id)
        assert stored is not None  # noqa: S101 - inserted, or there already
        return stored

    def order_attributes(self, order_id: str) -> Mapping[str, tuple[str, ...]] | None:
        """The attributes stored with the order, if any."""
        row = self._s.run(self._q.terms.attributes, {"order": order_id}).first()
        if row is None:
            return None
        return {str(k): tuple(v) for k, v in row[0].items()}

    def first_attributed(self, partner_id: str, customer_id: str) -> datetime | None:
        """When the partner's first checkout order from this customer was attributed.

        The customer's orders take turns under the customer's lock (the order's
        attribution took it), so this sees every earlier one.
        """
        params = {"pid": partner_id, "customer": customer_id}
        found: datetime | None = self._s.run(self._q.terms.first_attributed, params).scalar()
        return found
