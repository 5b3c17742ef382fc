"""The SQLAlchemy store's programme comparison: the customer referrals' sources only.

`SQLAlchemyStore` has no partner tables yet, so every order, click, sign-up and reward
is the customer referrals' (`referralkit.metrics._programme_facts`): the comparison
reports that one programme, with its partner rows empty. Each figure family is one
aggregate statement, the same on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select, true

from referralkit.metrics._programme_facts import (
    REVENUE_DAYS,
    ProgrammeFacts,
    SourceCounts,
    SourceMoney,
)
from referralkit.metrics._source import Window
from referralkit.storage._sqlalchemy_tables import Tables

__all__ = ["programme_facts"]

_NINETY_DAYS_MICROS = int(REVENUE_DAYS.total_seconds()) * 1_000_000


def _within(column: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    out = [] if window.since is None else [column >= window.since]
    return out + _before_end(column, window)


def _before_end(column: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    return [] if window.until is None else [column < window.until]


def programme_facts(
    rows: Callable[[Select[Any]], list[Any]],
    t: Tables,
    micros: Callable[[ColumnElement[Any]], ColumnElement[int]],
    window: Window,
) -> ProgrammeFacts:
    """The customer referrals' sums over ``window`` (``rows`` runs a statement)."""
    r, c, w, k = t.referrals.c, t.conversions.c, t.rewards.c, t.clicks.c
    referred = t.conversions.join(t.referrals, r.id == c.referral_id)
    standing = r.status != "rejected"
    money: dict[str, dict[str, int]] = {}

    def put(currency: str, name: str, value: object) -> None:
        money.setdefault(currency, {})[name] = int(value or 0)  # type: ignore[call-overload]

    orders = 0
    for currency, n, net in rows(
        select(c.currency, func.count(), func.sum(c.amount_minor - c.refunded_minor))
        .select_from(referred)
        .where(standing, *_within(c.occurred_at, window))
        .group_by(c.currency)
    ):
        orders += int(n)
        put(currency, "revenue", net)
    acquired = (
        select(c.order_id, c.referee, c.occurred_at.label("at"))
        .select_from(referred)
        .where(standing, c.first_order == true(), *_within(c.occurred_at, window))
        .cte("acquired")
    )
    c2 = t.conversions.alias("c2")
    ninety = and_(
        c2.c.occurred_at >= acquired.c.at,
        micros(c2.c.occurred_at) < micros(acquired.c.at) + _NINETY_DAYS_MICROS,
    )
    per = (
        select(
            acquired.c.order_id,
            c2.c.currency,
            func.sum(case((c2.c.amount_minor > c2.c.refunded_minor, 1), else_=0)).label("kept"),
            func.coalesce(
                func.sum(case((ninety, c2.c.amount_minor - c2.c.refunded_minor), else_=0)), 0
            ).label("r90"),
        )
        .select_from(acquired.join(c2, c2.c.referee == acquired.c.referee))
        .where(*_before_end(c2.c.occurred_at, window))
        .group_by(acquired.c.order_id, c2.c.currency)
        .cte("per")
    )
    each = select(func.sum(per.c.kept).label("kept")).group_by(per.c.order_id).subquery("each")
    ((customers, repeat),) = rows(
        select(func.count(), func.coalesce(func.sum(case((each.c.kept >= 2, 1), else_=0)), 0))  # noqa: PLR2004 - a repeat
    )
    for currency, r90 in rows(select(per.c.currency, func.sum(per.c.r90)).group_by(per.c.currency)):
        put(currency, "revenue_90d", r90)
    ((clicks,),) = rows(
        select(func.count()).select_from(t.clicks).where(*_within(k.occurred_at, window))
    )
    ((signups,),) = rows(
        select(func.count())
        .select_from(t.referrals)
        .where(standing, *_within(r.attributed_at, window))
    )
    cost = case(
        (w.state == "reversed", func.coalesce(w.clawback_minor, 0)),
        else_=func.coalesce(w.amount_minor, 0),
    ) - func.coalesce(w.recovered_minor, 0)
    for currency, spent in rows(
        select(w.currency, func.sum(cost))
        .select_from(t.rewards.join(t.referrals, r.id == w.referral_id))
        .where(standing, w.currency.is_not(None), *_within(w.created_at, window))
        .group_by(w.currency)
    ):
        put(currency, "commission", spent)
    counts = SourceCounts(
        None,
        None,
        clicks=int(clicks),
        signups=int(signups),
        orders=orders,
        customers=int(customers),
        repeat_customers=int(repeat),
    )
    return ProgrammeFacts(
        counts=(counts,),
        money=tuple(SourceMoney(None, None, cur, **m) for cur, m in sorted(money.items())),
    )
