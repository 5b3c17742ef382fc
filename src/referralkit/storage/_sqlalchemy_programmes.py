"""The SQLAlchemy store's programme comparison: `ProgrammeFacts` from ``GROUP BY`` queries.

The same queries as the SQLite store's (`referralkit.storage._sqlite_programmes`), in
SQLAlchemy Core, so they run on PostgreSQL and SQLite alike: one row per source
(partner, post) and currency, by the rule in `referralkit.metrics._programme_facts`.
A source is worked out once per order in the ``src`` subquery: the partner the order
was typed with at checkout, else the partner whose code the buyer's referral used
(none: the customer referrals). Times are compared as microseconds since the epoch
where a span is added (an acquired customer's 90 days), so the SQL is one for both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.sql import Select

from referralkit.metrics._programme_facts import (
    REVENUE_DAYS,
    PartnerProfile,
    PostProfile,
    ProgrammeFacts,
)
from referralkit.metrics._source import Window
from referralkit.model import ReferralStatus, RewardState
from referralkit.storage._sqlalchemy_tables import ACCOUNT_REASONS, Tables
from referralkit.storage._sqlite_programmes import facts_of

__all__ = ["programme_facts"]

_Run = Callable[[Select[Any]], list[Any]]
_Micros = Callable[[ColumnElement[Any]], ColumnElement[int]]
_REVENUE_MICROS = int(REVENUE_DAYS.total_seconds()) * 1_000_000


def _within(column: Any, window: Window) -> list[ColumnElement[bool]]:
    """``since <= column < until``, the open sides left out."""
    return [
        *([column >= window.since] if window.since is not None else []),
        *([column < window.until] if window.until is not None else []),
    ]


def _before_end(column: Any, window: Window) -> list[ColumnElement[bool]]:
    return [column < window.until] if window.until is not None else []


class _Queries:
    """The comparison's statements over one window."""

    def __init__(self, t: Tables, window: Window, micros: _Micros) -> None:
        self.t, self.window, self.micros = t, window, micros

    def _attributed(self, r: Any) -> ColumnElement[bool]:
        """A referral that stands and is no partner's account record."""
        return and_(r.status != ReferralStatus.REJECTED.value, r.reasons != ACCOUNT_REASONS)

    def sources(self) -> Any:
        """Every order of the window with its source (partner, post; None: the referrals)."""
        t = self.t
        c, o, r, pc = t.conversions.c, t.partner_orders.c, t.referrals.c, t.partner_codes.c
        typed = o.order_id.is_(None)
        joined = (
            t.conversions.outerjoin(t.partner_orders, o.order_id == c.order_id)
            .outerjoin(t.referrals, and_(r.id == c.referral_id, self._attributed(r)))
            .outerjoin(t.partner_codes, pc.code == r.code)
        )
        return (
            select(
                c.order_id,
                c.referee,
                c.occurred_at,
                c.first_order,
                c.currency,
                (c.amount_minor - c.refunded_minor).label("net"),
                case((typed, pc.partner_id), else_=o.partner_id).label("partner"),
                case((typed, pc.post_id), else_=o.post_id).label("post"),
            )
            .select_from(joined)
            .where(
                or_(o.order_id.is_not(None), r.id.is_not(None)),
                *_within(c.occurred_at, self.window),
            )
            .subquery("src")
        )

    def orders(self, src: Any) -> Select[Any]:
        s = src.c
        return select(s.partner, s.post, s.currency, func.count(), func.sum(s.net)).group_by(
            s.partner, s.post, s.currency
        )

    def acquired(self, src: Any) -> Any:
        s = src.c
        return (
            select(s.referee, s.partner, s.post, s.occurred_at.label("at"))
            .where(s.first_order.is_(True))
            .subquery("a")
        )

    def customers(self, a: Any) -> Select[Any]:
        c2 = self.t.conversions.alias("c2")
        orders = (
            select(func.count())
            .where(
                c2.c.referee == a.c.referee,
                c2.c.amount_minor > c2.c.refunded_minor,
                *_before_end(c2.c.occurred_at, self.window),
            )
            .scalar_subquery()
        )
        repeat = func.coalesce(func.sum(case((orders >= 2, 1), else_=0)), 0)  # noqa: PLR2004 - two orders make a repeat customer
        return select(a.c.partner, a.c.post, func.count(), repeat).group_by(a.c.partner, a.c.post)

    def revenue_90d(self, a: Any) -> Select[Any]:
        c2 = self.t.conversions.alias("c2")
        cc = c2.c
        net = cc.amount_minor - cc.refunded_minor
        joined = a.join(
            c2,
            and_(
                cc.referee == a.c.referee,
                cc.occurred_at >= a.c.at,
                self.micros(cc.occurred_at) < self.micros(a.c.at) + _REVENUE_MICROS,
                *_before_end(cc.occurred_at, self.window),
            ),
        )
        return (
            select(a.c.partner, a.c.post, cc.currency, func.sum(net))
            .select_from(joined)
            .group_by(a.c.partner, a.c.post, cc.currency)
        )

    def clicks(self) -> Select[Any]:
        t = self.t
        k, pc = t.clicks.c, t.partner_codes.c
        return (
            select(pc.partner_id, pc.post_id, func.count())
            .select_from(t.clicks.outerjoin(t.partner_codes, pc.code == k.code))
            .where(*_within(k.occurred_at, self.window))
            .group_by(pc.partner_id, pc.post_id)
        )

    def signups(self) -> Select[Any]:
        t = self.t
        r, pc = t.referrals.c, t.partner_codes.c
        return (
            select(pc.partner_id, pc.post_id, func.count())
            .select_from(t.referrals.outerjoin(t.partner_codes, pc.code == r.code))
            .where(self._attributed(r), *_within(r.attributed_at, self.window))
            .group_by(pc.partner_id, pc.post_id)
        )

    def costs(self) -> Select[Any]:
        t = self.t
        w, r, p = t.rewards.c, t.referrals.c, t.partners.c
        o, pp, pc = t.partner_orders.c, t.partner_posts.c, t.partner_codes.c
        cost = case(
            (w.state == RewardState.REVERSED.value, func.coalesce(w.clawback_minor, 0)),
            else_=func.coalesce(w.amount_minor, 0),
        ) - func.coalesce(w.recovered_minor, 0)
        partner_reward = p.id.is_not(None)
        on_order = or_(p.id.is_(None), w.order_id.is_not(None))
        partner = case((p.id.is_(None), pc.partner_id), else_=p.id)
        post = case((p.id.is_(None), pc.post_id), (w.order_id.is_(None), pp.id), else_=o.post_id)
        joined = (
            t.rewards.join(t.referrals, r.id == w.referral_id)
            .outerjoin(t.partners, p.account_referral == w.referral_id)
            .outerjoin(t.partner_orders, and_(partner_reward, o.order_id == w.order_id))
            .outerjoin(
                t.partner_posts,
                and_(partner_reward, w.order_id.is_(None), pp.reward_id == w.id),
            )
            .outerjoin(t.partner_codes, and_(p.id.is_(None), pc.code == r.code))
        )
        return (
            select(
                partner,
                post,
                w.currency,
                func.sum(case((on_order, cost), else_=0)),
                func.sum(case((on_order, 0), else_=cost)),
            )
            .select_from(joined)
            .where(
                w.currency.is_not(None),
                or_(partner_reward, self._attributed(r)),
                *_within(w.created_at, self.window),
            )
            .group_by(partner, post, w.currency)
        )

    def engagement(self) -> Select[Any]:
        t = self.t
        p, e = t.partner_posts.c, t.partner_engagement.c
        e2 = t.partner_engagement.alias("e2")
        latest = (
            select(func.max(e2.c.as_of))
            .where(e2.c.post_id == p.id, *_before_end(e2.c.as_of, self.window))
            .scalar_subquery()
        )
        return (
            select(p.partner_id, p.id, e.impressions, e.engagements)
            .select_from(
                t.partner_posts.join(
                    t.partner_engagement, and_(e.post_id == p.id, e.as_of == latest)
                )
            )
            .where(*_within(p.created_at, self.window))
        )


def programme_facts(run: _Run, tables: Tables, micros: _Micros, window: Window) -> ProgrammeFacts:
    """The comparison's sums per source over ``window``, each family one query.

    ``run`` executes a statement on the metrics view's connection, ``micros`` spells a
    time as microseconds since the epoch in its dialect.
    """
    q = _Queries(tables, window, micros)
    src = q.sources()
    a = q.acquired(src)
    counts: dict[tuple[Any, Any], dict[str, int]] = defaultdict(dict)
    money: dict[tuple[Any, Any, str], dict[str, int]] = defaultdict(dict)
    for partner, post, currency, n, net in run(q.orders(src)):
        counts[partner, post]["orders"] = counts[partner, post].get("orders", 0) + int(n)
        money[partner, post, currency]["revenue"] = int(net)
    for partner, post, n, repeat in run(q.customers(a)):
        counts[partner, post].update(customers=int(n), repeat_customers=int(repeat))
    for partner, post, currency, net in run(q.revenue_90d(a)):
        money[partner, post, currency]["revenue_90d"] = int(net)
    for name, statement in (("clicks", q.clicks()), ("signups", q.signups())):
        for partner, post, n in run(statement):
            counts[partner, post][name] = int(n)
    for partner, post, currency, commission, fees in run(q.costs()):
        money[partner, post, currency].update(commission=int(commission), fees=int(fees))
    for partner, post, impressions, engagements in run(q.engagement()):
        counts[partner, post].update(impressions=int(impressions), engagements=int(engagements))
    p, pp = tables.partners.c, tables.partner_posts.c
    partners = tuple(
        PartnerProfile(i, n, k, int(au), r, tuple(niches))
        for i, n, k, au, r, niches in run(
            select(p.id, p.name, p.kind, p.audience, p.region, p.niches).order_by(p.id)
        )
    )
    posts = tuple(
        PostProfile(i, partner, channel)
        for i, partner, channel in run(select(pp.id, pp.partner_id, pp.channel).order_by(pp.id))
    )
    return facts_of(partners, posts, counts, money)
