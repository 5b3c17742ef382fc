"""The SQLAlchemy store's programme comparison: `ProgrammeFacts` from ``GROUP BY`` statements.

The same sums as the SQLite store's queries (`_sqlite_programmes`), by the rule in
`referralkit.metrics._programme_facts`, in SQLAlchemy Core that runs on PostgreSQL and
SQLite alike; nothing loads orders or rewards into Python. Each statement returns one
row per source (partner, post) and currency. An order's source is worked out once in
the ``src`` common table: the partner the order was typed with at checkout, else the
partner whose code the buyer's referral used (none: the customer referrals).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select, true

from referralkit.metrics._programme_facts import (
    REVENUE_DAYS,
    PartnerProfile,
    PostProfile,
    ProgrammeFacts,
    SourceCounts,
    SourceMoney,
)
from referralkit.metrics._source import Window
from referralkit.storage._sqlalchemy_tables import Tables

__all__ = ["ACCOUNT_REASONS", "programme_facts"]

_NINETY_DAYS_MICROS = int(REVENUE_DAYS.total_seconds()) * 1_000_000
#: A partner's account referral (`referralkit.program.Partners`), as its reasons are
#: stored: the record their commissions hang off, never an attribution, so no metric
#: counts it. A bare literal: PostgreSQL reads it as the JSONB it is compared with.
ACCOUNT_REASONS: ColumnElement[Any] = literal_column("""'["partner.account"]'""")

Rows = Callable[[Select[Any]], list[Any]]
Micros = Callable[[ColumnElement[Any]], ColumnElement[int]]


def _within(column: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    out = [] if window.since is None else [column >= window.since]
    return out + _before_end(column, window)


def _before_end(column: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    return [] if window.until is None else [column < window.until]


def _standing(r: Any) -> ColumnElement[bool]:
    """A referral (``r``: its columns) that is an attribution and was not rejected."""
    return and_(r.status != "rejected", r.reasons != ACCOUNT_REASONS)


def _key(source: tuple[Any, ...]) -> tuple[bool, str, bool, str]:
    partner, post = source[0], source[1]
    return (partner is not None, partner or "", post is not None, post or "")


class _Sums:
    """The counts and money per source while the statements' rows come in."""

    def __init__(self) -> None:
        self.counts: dict[tuple[Any, Any], dict[str, int]] = defaultdict(dict)
        self.money: dict[tuple[Any, Any, str], dict[str, int]] = defaultdict(dict)

    def count(self, partner: Any, post: Any, name: str, n: object) -> None:
        row = self.counts[partner, post]
        row[name] = row.get(name, 0) + int(n or 0)  # type: ignore[call-overload]

    def add(self, partner: Any, post: Any, currency: str, name: str, n: object) -> None:
        row = self.money[partner, post, currency]
        row[name] = row.get(name, 0) + int(n or 0)  # type: ignore[call-overload]


def _orders(rows: Rows, t: Tables, micros: Micros, window: Window, sums: _Sums) -> None:
    """Orders and revenue, the acquired customers, their repeats and 90-day revenue."""
    c, r, o, pc = t.conversions.c, t.referrals.c, t.partner_orders.c, t.partner_codes.c
    typed = o.order_id.is_(None)
    src = (
        select(
            c.order_id,
            c.referee,
            c.occurred_at.label("at"),
            c.first_order,
            c.currency,
            (c.amount_minor - c.refunded_minor).label("net"),
            case((typed, pc.partner_id), else_=o.partner_id).label("partner"),
            case((typed, pc.post_id), else_=o.post_id).label("post"),
        )
        .select_from(
            t.conversions.outerjoin(t.partner_orders, o.order_id == c.order_id)
            .outerjoin(t.referrals, and_(r.id == c.referral_id, _standing(r)))
            .outerjoin(t.partner_codes, pc.code == r.code)
        )
        .where(or_(o.order_id.is_not(None), r.id.is_not(None)), *_within(c.occurred_at, window))
        .cte("src")
    )
    for partner, post, currency, n, net in rows(
        select(
            src.c.partner, src.c.post, src.c.currency, func.count(), func.sum(src.c.net)
        ).group_by(src.c.partner, src.c.post, src.c.currency)
    ):
        sums.count(partner, post, "orders", n)
        sums.add(partner, post, currency, "revenue", net)
    a = src.alias("a")
    c2t = t.conversions.alias("c2")
    c2 = c2t.c
    ninety = and_(
        c2.occurred_at >= a.c.at,
        micros(c2.occurred_at) < micros(a.c.at) + _NINETY_DAYS_MICROS,
    )
    per = (
        select(
            a.c.order_id,
            a.c.partner,
            a.c.post,
            c2.currency,
            func.sum(case((c2.amount_minor > c2.refunded_minor, 1), else_=0)).label("kept"),
            func.coalesce(
                func.sum(case((ninety, c2.amount_minor - c2.refunded_minor), else_=0)), 0
            ).label("r90"),
        )
        .select_from(a.join(c2t, c2.referee == a.c.referee))
        .where(a.c.first_order == true(), *_before_end(c2.occurred_at, window))
        .group_by(a.c.order_id, a.c.partner, a.c.post, c2.currency)
        .cte("per")
    )
    each = (
        select(per.c.partner, per.c.post, func.sum(per.c.kept).label("kept"))
        .group_by(per.c.order_id, per.c.partner, per.c.post)
        .subquery("each")
    )
    for partner, post, n, repeat in rows(
        select(
            each.c.partner,
            each.c.post,
            func.count(),
            func.sum(case((each.c.kept >= 2, 1), else_=0)),  # noqa: PLR2004 - a repeat
        ).group_by(each.c.partner, each.c.post)
    ):
        sums.count(partner, post, "customers", n)
        sums.count(partner, post, "repeat_customers", repeat)
    for partner, post, currency, r90 in rows(
        select(per.c.partner, per.c.post, per.c.currency, func.sum(per.c.r90)).group_by(
            per.c.partner, per.c.post, per.c.currency
        )
    ):
        sums.add(partner, post, currency, "revenue_90d", r90)


def _funnel(rows: Rows, t: Tables, window: Window, sums: _Sums) -> None:
    """Clicks and sign-ups by the code they used."""
    k, r, pc = t.clicks.c, t.referrals.c, t.partner_codes.c
    clicks = (
        select(pc.partner_id, pc.post_id, func.count())
        .select_from(t.clicks.outerjoin(t.partner_codes, pc.code == k.code))
        .where(*_within(k.occurred_at, window))
        .group_by(pc.partner_id, pc.post_id)
    )
    signups = (
        select(pc.partner_id, pc.post_id, func.count())
        .select_from(t.referrals.outerjoin(t.partner_codes, pc.code == r.code))
        .where(_standing(r), *_within(r.attributed_at, window))
        .group_by(pc.partner_id, pc.post_id)
    )
    for name, statement in (("clicks", clicks), ("signups", signups)):
        for partner, post, n in rows(statement):
            sums.count(partner, post, name, n)


def _costs(rows: Rows, t: Tables, window: Window, sums: _Sums) -> None:
    """Rewards by source: a partner's account rewards, then the standing referrals'.

    Under a partner's account, a reward on an order is commission (its post: the
    order's), one without an order is a fee (its post: the post it pays for).
    """
    w, r, p, o, pp, pc = (
        t.rewards.c,
        t.referrals.c,
        t.partners.c,
        t.partner_orders.c,
        t.partner_posts.c,
        t.partner_codes.c,
    )
    cost = case(
        (w.state == "reversed", func.coalesce(w.clawback_minor, 0)),
        else_=func.coalesce(w.amount_minor, 0),
    ) - func.coalesce(w.recovered_minor, 0)
    fee = w.order_id.is_(None)
    post = case((fee, pp.id), else_=o.post_id)
    accounts = (
        select(
            p.id,
            post,
            w.currency,
            func.sum(case((fee, 0), else_=cost)),
            func.sum(case((fee, cost), else_=0)),
        )
        .select_from(
            t.partners.join(t.rewards, w.referral_id == p.account_referral)
            .outerjoin(t.partner_orders, o.order_id == w.order_id)
            .outerjoin(t.partner_posts, and_(fee, pp.reward_id == w.id))
        )
        .where(w.currency.is_not(None), *_within(w.created_at, window))
        .group_by(p.id, post, w.currency)
    )
    referrals = (
        select(pc.partner_id, pc.post_id, w.currency, func.sum(cost), literal_column("0"))
        .select_from(
            t.referrals.join(t.rewards, w.referral_id == r.id).outerjoin(
                t.partner_codes, pc.code == r.code
            )
        )
        .where(_standing(r), w.currency.is_not(None), *_within(w.created_at, window))
        .group_by(pc.partner_id, pc.post_id, w.currency)
    )
    for statement in (accounts, referrals):
        for partner, post_id, currency, commission, fees in rows(statement):
            sums.add(partner, post_id, currency, "commission", commission)
            sums.add(partner, post_id, currency, "fees", fees)


def _engagement(rows: Rows, t: Tables, window: Window, sums: _Sums) -> None:
    """Each post made in the window: its latest report before the window's end."""
    pp, e = t.partner_posts.c, t.partner_engagement.c
    e2 = t.partner_engagement.alias("e2").c
    latest = (
        select(func.max(e2.as_of))
        .where(e2.post_id == pp.id, *_before_end(e2.as_of, window))
        .scalar_subquery()
    )
    for partner, post, impressions, engagements in rows(
        select(pp.partner_id, pp.id, e.impressions, e.engagements)
        .select_from(
            t.partner_posts.join(t.partner_engagement, and_(e.post_id == pp.id, e.as_of == latest))
        )
        .where(*_within(pp.created_at, window))
    ):
        sums.count(partner, post, "impressions", impressions)
        sums.count(partner, post, "engagements", engagements)


def programme_facts(rows: Rows, t: Tables, micros: Micros, window: Window) -> ProgrammeFacts:
    """The comparison's sums per source over ``window`` (``rows`` runs a statement)."""
    sums = _Sums()
    _orders(rows, t, micros, window, sums)
    _funnel(rows, t, window, sums)
    _costs(rows, t, window, sums)
    _engagement(rows, t, window, sums)
    p, pp = t.partners.c, t.partner_posts.c
    partners = tuple(
        PartnerProfile(
            str(i), str(n), str(k), int(a), None if g is None else str(g), tuple(niches or ())
        )
        for i, n, k, a, g, niches in rows(
            select(p.id, p.name, p.kind, p.audience, p.region, p.niches).order_by(p.id)
        )
    )
    posts = tuple(
        PostProfile(str(i), str(owner), None if ch is None else str(ch))
        for i, owner, ch in rows(select(pp.id, pp.partner_id, pp.channel).order_by(pp.id))
    )
    return ProgrammeFacts(
        partners=partners,
        posts=posts,
        counts=tuple(
            SourceCounts(partner, post, **row)
            for (partner, post), row in sorted(sums.counts.items(), key=lambda kv: _key(kv[0]))
        ),
        money=tuple(
            SourceMoney(partner, post, currency, **row)
            for (partner, post, currency), row in sorted(
                sums.money.items(), key=lambda kv: (*_key(kv[0]), kv[0][2])
            )
        ),
    )
