"""The SQLite store's programme comparison: `ProgrammeFacts` from ``GROUP BY`` queries.

Each query returns one row per source (partner, post) and currency, by the rule in
`referralkit.metrics._programme_facts`; nothing loads orders or rewards into Python.
A source is worked out once per order in the ``src`` common table: the partner the
order was typed with at checkout, else the partner whose code the buyer's referral used
(none: the customer referrals).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

from referralkit.metrics._programme_facts import (
    PartnerProfile,
    PostProfile,
    ProgrammeFacts,
    SourceCounts,
    SourceMoney,
)
from referralkit.metrics._source import Window
from referralkit.storage._sqlite_codec import encode_time

__all__ = ["ORDER_SOURCES", "programme_facts"]


#: Every order of the window with its source (shared with the bench's hand-written SQL).
ORDER_SOURCES = (
    "SELECT c.order_id, c.referee, c.occurred_at, c.first_order, c.currency,"
    " c.amount_minor - c.refunded_minor AS net,"
    " CASE WHEN o.order_id IS NULL THEN pc.partner_id ELSE o.partner_id END AS partner,"
    " CASE WHEN o.order_id IS NULL THEN pc.post_id ELSE o.post_id END AS post"
    " FROM conversions AS c"
    " LEFT JOIN partner_orders AS o ON o.order_id = c.order_id"
    " LEFT JOIN referrals AS r ON r.id = c.referral_id"
    " AND r.status <> 'rejected' AND r.reasons <> '[\"partner.account\"]'"
    " LEFT JOIN partner_codes AS pc ON pc.code = r.code"
    " WHERE (o.order_id IS NOT NULL OR r.id IS NOT NULL)"
    " AND (:lo IS NULL OR c.occurred_at >= :lo) AND (:hi IS NULL OR c.occurred_at < :hi)"
)
# 90 days after a fixed-width UTC time, in the same form (whole seconds are exact).
_END_90 = "strftime('%Y-%m-%dT%H:%M:%S', substr(a.at, 1, 19), '+90 days') || substr(a.at, 20)"
#: Orders, acquisitions and their 90 days in one statement: the sources are worked out
#: once (``src``), the acquired customers' orders joined once (``per``: per customer and
#: currency, their orders not refunded in full and their 90-day revenue).
_ORDER_FAMILIES = (
    f"WITH src AS MATERIALIZED ({ORDER_SOURCES}),"  # noqa: S608 - fixed text
    " a AS MATERIALIZED (SELECT referee, partner, post, occurred_at AS at,"
    " row_number() OVER () AS id FROM src WHERE first_order = 1),"
    " per AS MATERIALIZED (SELECT a.id, a.partner, a.post, c2.currency,"
    " sum(c2.amount_minor > c2.refunded_minor) AS kept,"
    f" coalesce(sum(CASE WHEN c2.occurred_at >= a.at AND c2.occurred_at < {_END_90}"
    " THEN c2.amount_minor - c2.refunded_minor END), 0) AS r90"
    " FROM a JOIN conversions AS c2 ON c2.referee = a.referee"
    " AND (:hi IS NULL OR c2.occurred_at < :hi) GROUP BY a.id, c2.currency)"
    " SELECT 'orders', partner, post, currency, count(*), sum(net) FROM src"
    " GROUP BY partner, post, currency"
    " UNION ALL SELECT 'customers', partner, post, NULL, count(*), sum(kept >= 2)"
    " FROM (SELECT partner, post, sum(kept) AS kept FROM per GROUP BY id)"
    " GROUP BY partner, post"
    " UNION ALL SELECT 'revenue_90d', partner, post, currency, sum(r90), 0 FROM per"
    " GROUP BY partner, post, currency"
)
_CLICKS = (
    "SELECT pc.partner_id, pc.post_id, count(*) FROM clicks AS k"
    " LEFT JOIN partner_codes AS pc ON pc.code = k.code"
    " WHERE (:lo IS NULL OR k.occurred_at >= :lo) AND (:hi IS NULL OR k.occurred_at < :hi)"
    " GROUP BY pc.partner_id, pc.post_id"
)
_SIGNUPS = (
    "SELECT pc.partner_id, pc.post_id, count(*) FROM referrals AS r"
    " LEFT JOIN partner_codes AS pc ON pc.code = r.code"
    " WHERE r.status <> 'rejected' AND r.reasons <> '[\"partner.account\"]'"
    " AND (:lo IS NULL OR r.attributed_at >= :lo) AND (:hi IS NULL OR r.attributed_at < :hi)"
    " GROUP BY pc.partner_id, pc.post_id"
)
_COST = (
    "CASE WHEN w.state = 'reversed' THEN coalesce(w.clawback_minor, 0)"
    " ELSE coalesce(w.amount_minor, 0) END - coalesce(w.recovered_minor, 0)"
)
#: Rewards by source: a partner's account rewards (commission on orders, fees without
#: one, a post's fee by its reward), then every other standing referral's rewards.
_COSTS = (
    "SELECT p.id, CASE WHEN w.order_id IS NULL THEN pp.id ELSE o.post_id END, w.currency,"  # noqa: S608 - fixed text
    f" sum(CASE WHEN w.order_id IS NULL THEN 0 ELSE {_COST} END),"
    f" sum(CASE WHEN w.order_id IS NULL THEN {_COST} ELSE 0 END)"
    " FROM partners AS p JOIN rewards AS w ON w.referral_id = p.account_referral"
    " LEFT JOIN partner_orders AS o ON o.order_id = w.order_id"
    " LEFT JOIN partner_posts AS pp ON w.order_id IS NULL AND pp.reward_id = w.id"
    " WHERE w.currency IS NOT NULL"
    " AND (:lo IS NULL OR w.created_at >= :lo) AND (:hi IS NULL OR w.created_at < :hi)"
    " GROUP BY 1, 2, 3"
    f" UNION ALL SELECT pc.partner_id, pc.post_id, w.currency, sum({_COST}), 0"
    " FROM referrals AS r JOIN rewards AS w ON w.referral_id = r.id"
    " LEFT JOIN partner_codes AS pc ON pc.code = r.code"
    " WHERE r.status <> 'rejected' AND r.reasons <> '[\"partner.account\"]'"
    " AND w.currency IS NOT NULL"
    " AND (:lo IS NULL OR w.created_at >= :lo) AND (:hi IS NULL OR w.created_at < :hi)"
    " GROUP BY 1, 2, 3"
)
_ENGAGEMENT = (
    "SELECT p.partner_id, p.id, e.impressions, e.engagements FROM partner_posts AS p"
    " JOIN partner_engagement AS e ON e.post_id = p.id AND e.as_of = ("
    " SELECT max(e2.as_of) FROM partner_engagement AS e2 WHERE e2.post_id = p.id"
    " AND (:hi IS NULL OR e2.as_of < :hi))"
    " WHERE (:lo IS NULL OR p.created_at >= :lo) AND (:hi IS NULL OR p.created_at < :hi)"
)


def _key(source: tuple[Any, ...]) -> tuple[bool, str, bool, str]:
    partner, post = source[0], source[1]
    return (partner is not None, partner or "", post is not None, post or "")


def programme_facts(conn: sqlite3.Connection, window: Window) -> ProgrammeFacts:
    """The comparison's sums per source over ``window``, each family one query."""
    params = {
        "lo": None if window.since is None else encode_time(window.since),
        "hi": None if window.until is None else encode_time(window.until),
    }
    counts: dict[tuple[Any, Any], dict[str, int]] = defaultdict(dict)
    money: dict[tuple[Any, Any, str], dict[str, int]] = defaultdict(dict)
    for family, partner, post, currency, n, m in conn.execute(_ORDER_FAMILIES, params):
        if family == "orders":
            counts[partner, post]["orders"] = counts[partner, post].get("orders", 0) + int(n)
            money[partner, post, currency]["revenue"] = int(m)
        elif family == "customers":
            counts[partner, post].update(customers=int(n), repeat_customers=int(m))
        else:
            money[partner, post, currency]["revenue_90d"] = int(n)
    for name, sql in (("clicks", _CLICKS), ("signups", _SIGNUPS)):
        for partner, post, n in conn.execute(sql, params):
            counts[partner, post][name] = int(n)
    for partner, post, currency, commission, fees in conn.execute(_COSTS, params):
        row = money[partner, post, currency]
        row["commission"] = row.get("commission", 0) + int(commission)
        row["fees"] = row.get("fees", 0) + int(fees)
    for partner, post, impressions, engagements in conn.execute(_ENGAGEMENT, params):
        counts[partner, post].update(impressions=int(impressions), engagements=int(engagements))
    partners = tuple(
        PartnerProfile(
            str(i), str(n), str(k), int(a), None if r is None else str(r), tuple(json.loads(t))
        )
        for i, n, k, a, r, t in conn.execute(
            "SELECT id, name, kind, audience, region, niches FROM partners ORDER BY id"
        )
    )
    posts = tuple(
        PostProfile(str(i), str(p), None if c is None else str(c))
        for i, p, c in conn.execute("SELECT id, partner_id, channel FROM partner_posts ORDER BY id")
    )
    return ProgrammeFacts(
        partners=partners,
        posts=posts,
        counts=tuple(
            SourceCounts(partner, post, **row)
            for (partner, post), row in sorted(counts.items(), key=lambda kv: _key(kv[0]))
        ),
        money=tuple(
            SourceMoney(partner, post, currency, **row)
            for (partner, post, currency), row in sorted(
                money.items(), key=lambda kv: (*_key(kv[0]), kv[0][2])
            )
        ),
    )
