"""Partner statements and the programme comparison over a big SQLite file, against hand SQL.

Generates a programme file directly with bulk SQL on referralkit's schema, in the shape
the store writes (partners with their account referral and codes, influencers' posts
with fees and engagement reports, orders typed with partner codes at checkout and their
commissions, customer referrals and their rewards, organic orders, clicks): 1,000,000
orders at full size. Then measures, in the same run, each in a fresh process, the
median of three:

- the statement of the busiest partner for one calendar month: referralkit
  (``SQLiteStore`` + the partner repository + ``PartnerStatement``) against the
  hand-written ``GROUP BY`` over the same file;
- the programme comparison over a year: referralkit (``programme_facts`` on the store's
  metrics view + ``compare_programmes``) against hand-written SQL that builds the
  order sources once in a temporary table and groups it; the sums are checked equal;
- ``tracemalloc``'s Python peak of each, at both sizes: it must not grow with the rows.

Run: ``python bench/partners.py [orders ...]`` (default: 100000 1000000). Files are
cached in the system temp directory (``referralkit-bench/``) and reused. Exits non-zero
if the sums differ, or if at the largest size referralkit takes more than twice as long
as the hand SQL (a statement at 100,000 orders takes milliseconds: its ratio is noise).
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from referralkit.storage._schema import MIGRATIONS, SCHEMA_VERSION

PARTNERS = 200
POSTS_PER_INFLUENCER = 2
REPORTS_PER_POST = 3
RUNS = 3
START = "2025-01-06"
MONTH = (datetime(2025, 6, 1, tzinfo=timezone.utc), datetime(2025, 7, 1, tzinfo=timezone.utc))
YEAR = (datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone.utc))
REGIONS = ("be", "nl", "de", "fr")
ACCOUNT = '["partner.account"]'


def _cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "referralkit-bench"
    path.mkdir(exist_ok=True)
    return path


def _h(expr: str, salt: int) -> str:
    """Deterministic pseudo-random integers from a row number, in SQL."""
    return f"((({expr}) * 2654435761 + {salt * 40503}) % 4294967291)"


def _ts(day_expr: str) -> str:
    """A fixed-width UTC timestamp ``day_expr`` days (fractional) after the start."""
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', '{START}', '+' || ({day_expr}) || ' days')"
        " || '.000000+00:00'"
    )


def _plus_days(column: str, days: str) -> str:
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', substr({column}, 1, 19), '+' || ({days}) || ' days')"
        " || '.000000+00:00'"
    )


def generate(path: Path, orders: int) -> None:
    """Write a programme with about ``orders`` orders: 35 % through partners' codes."""
    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -200000"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    for step in MIGRATIONS:
        for statement in step:
            db.execute(statement)
    started = time.perf_counter()
    db.execute("BEGIN")
    db.execute(
        "CREATE TEMP TABLE seq AS WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1"
        " FROM s WHERE n + 1 < ?) SELECT n FROM s",
        (orders,),
    )
    # A small table to fan rows out by (joining ``seq`` itself would scan it per row).
    db.execute("CREATE TEMP TABLE small AS SELECT n FROM seq WHERE n < 8")
    regions = "json_array(" + ", ".join(f"'{r}'" for r in REGIONS) + ")"
    # Partners: every fourth an affiliate, the rest influencers of 2k to 300k followers.
    db.execute(
        "INSERT INTO codes (code, owner, campaign, kind, created_at)"
        " SELECT printf('PA%05d', n), printf('p%05d', n), printf('partner:p%05d', n),"
        f" 'generated', {_ts('0')} FROM seq WHERE n < {PARTNERS}"
    )
    db.execute(
        "INSERT INTO referrals (id, code, referrer, referee, status, reasons, attributed_at,"
        " campaign, policy_version, channel)"
        " SELECT printf('acct-p%05d', n), printf('PA%05d', n), printf('p%05d', n),"
        f" printf('p%05d', n), 'rejected', '{ACCOUNT}', {_ts('0')}, printf('partner:p%05d', n),"
        f" 'terms', 'partner' FROM seq WHERE n < {PARTNERS}"
    )
    db.execute(
        "INSERT INTO partners (id, name, kind, state, created_at, account_referral, audience,"
        " niches, region, payout_ref, terms_version, group_id)"
        " SELECT printf('p%05d', n), printf('Partner %d', n),"
        " CASE WHEN n % 4 = 0 THEN 'affiliate' ELSE 'influencer' END, 'approved',"
        f" {_ts('0')}, printf('acct-p%05d', n), 2000 + {_h('n', 1)} % 300000, '[\"food\"]',"
        f" json_extract({regions}, '$[' || (n % 4) || ']'), NULL, 'terms', NULL"
        f" FROM seq WHERE n < {PARTNERS}"
    )
    db.execute(
        "INSERT INTO codes (code, owner, campaign, kind, created_at)"
        " SELECT printf('PV%05d', n), printf('p%05d', n), printf('partner:p%05d:V', n),"
        f" 'vanity', {_ts('0')} FROM seq WHERE n < {PARTNERS}"
    )
    db.execute(
        "INSERT INTO partner_codes (code, partner_id, post_id)"
        " SELECT code, owner, NULL FROM codes WHERE code LIKE 'P_%' ORDER BY code"
    )
    # Posts: two per influencer over the year, a fee each (a reward), three reports each.
    post_day = f"10 + {_h('p.n * 2 + k.n', 2)} % 340"
    db.execute(
        "CREATE TEMP TABLE posts AS SELECT printf('post-%05d-%d', p.n, k.n) AS id,"
        " printf('p%05d', p.n) AS partner, p.n AS pn, k.n AS kn,"
        f" {_ts(post_day)} AS at,"
        f" 10000 + {_h('p.n * 2 + k.n', 3)} % 40000 AS fee"
        f" FROM seq AS p JOIN small AS k ON k.n < {POSTS_PER_INFLUENCER}"
        f" WHERE p.n < {PARTNERS} AND p.n % 4 <> 0"
    )
    db.execute(
        "INSERT INTO partner_posts (id, partner_id, channel, created_at, currency, cost_minor,"
        " reward_id) SELECT id, partner, 'instagram', at, 'USD', fee, 'fee-' || id FROM posts"
    )
    db.execute(
        "INSERT INTO rewards (id, key, referral_id, beneficiary, customer_id, kind, currency,"
        " amount_minor, granted_minor, points, granted_points, state, order_id, policy,"
        " explanation, created_at, hold_until, proportional)"
        " SELECT 'fee-' || id, 'partner:' || partner || ':post:' || id, 'acct-' || partner,"
        " 'referrer', partner, 'cash', 'USD', fee, fee, 0, 0, 'paid', NULL,"
        " 'partner.post_fee', 'fee', at, NULL, 0 FROM posts"
    )
    db.execute(
        "INSERT INTO codes (code, owner, campaign, kind, created_at)"
        " SELECT printf('PP%05d%d', pn, kn), partner, 'partner:' || partner || ':' || id,"
        " 'vanity', at FROM posts"
    )
    db.execute(
        "INSERT INTO partner_codes (code, partner_id, post_id)"
        " SELECT printf('PP%05d%d', pn, kn), partner, id FROM posts"
    )
    db.execute(
        "INSERT INTO partner_engagement (post_id, as_of, recorded_at, impressions, reach,"
        " engagements, likes, comments, shares, saves)"
        f" SELECT p.id, {_plus_days('p.at', 'k.n * 3 + 1')}, {_plus_days('p.at', 'k.n * 3 + 1')},"
        f" (k.n + 1) * (1000 + {_h('p.pn', 4)} % 50000), (k.n + 1) * 900,"
        f" (k.n + 1) * (30 + {_h('p.pn', 5)} % 2000), 0, 0, 0, 0"
        f" FROM posts AS p JOIN small AS k ON k.n < {REPORTS_PER_POST}"
    )
    # Customer referrals: a referrer per 20 orders, a referral per 4; 5 % rejected.
    referrers, referrals = max(1, orders // 20), max(1, orders // 4)
    db.execute(
        "INSERT INTO codes (code, owner, campaign, kind, created_at)"
        f" SELECT printf('C%08d', n), printf('cust-%08d', n), 'default', 'generated',"
        f" {_ts('0')} FROM seq WHERE n < {referrers}"
    )
    db.execute(
        "INSERT INTO referrals (id, code, referrer, referee, status, reasons, attributed_at,"
        " campaign, policy_version, channel)"
        " SELECT printf('r%09d', n), printf('C%08d', s.who), printf('cust-%08d', s.who),"
        " printf('ref-%09d', n), CASE WHEN b < 5 THEN 'rejected' ELSE 'qualified' END,"
        f" CASE WHEN b < 5 THEN '[\"self_referral.email\"]' ELSE '[]' END,"
        f" {_ts(f'n * 365.0 / {referrals}')}, 'default', 'v1', 'email'"
        f" FROM (SELECT n, {_h('n', 6)} % 100 AS b, {_h('n', 7)} % {referrers} AS who"
        f" FROM seq WHERE n < {referrals}) AS s"
    )
    # Orders: per qualified referral 1 to 3 (about 40 % of all orders, the first one is
    # the customer's first); through partners' codes 35 %; the rest organic.
    db.execute(
        "INSERT INTO conversions (order_id, referee, currency, amount_minor, refunded_minor,"
        " occurred_at, first_order, referral_id, order_number)"
        " SELECT printf('o%09d-%d', r.rowid, k.n), r.referee, 'USD',"
        f" 1500 + {_h('r.rowid * 4 + k.n', 8)} % 18500,"
        f" CASE WHEN {_h('r.rowid * 4 + k.n', 9)} % 20 = 0 THEN 1500 ELSE 0 END,"
        f" {_plus_days('r.attributed_at', 'k.n * 20 + 1')}, k.n = 0, r.id, k.n + 1"
        f" FROM referrals AS r JOIN small AS k ON k.n < 1 + {_h('r.rowid', 10)} % 3"
        " WHERE r.status = 'qualified'"
    )
    buyers = orders * 35 // 100 * 2 // 3  # a third of partners' orders are repeats
    # Partner buyers: p = the partner, post = one of theirs for half the influencers' orders.
    db.execute(
        "CREATE TEMP TABLE pbuy AS SELECT n, printf('p%05d', p) AS partner,"
        " CASE WHEN p % 4 <> 0 AND n % 2 = 0 THEN printf('post-%05d-%d', p, n % 4 / 2)"
        " END AS post, CASE WHEN p % 4 <> 0 AND n % 2 = 0"
        " THEN printf('PP%05d%d', p, n % 4 / 2) ELSE printf('PV%05d', p) END AS code,"
        f" {_ts(f'n * 365.0 / {max(buyers, 1)}')} AS at"
        f" FROM (SELECT n, {_h('n', 11)} % {PARTNERS} AS p FROM seq WHERE n < {buyers})"
    )
    db.execute(
        "INSERT INTO conversions (order_id, referee, currency, amount_minor, refunded_minor,"
        " occurred_at, first_order, referral_id, order_number)"
        " SELECT printf('po%09d-%d', b.n, k.n), printf('pb-%09d', b.n), 'USD',"
        f" 1000 + {_h('b.n * 2 + k.n', 12)} % 9000, 0, {_plus_days('b.at', 'k.n * 30')},"
        f" k.n = 0, NULL, k.n + 1 FROM pbuy AS b JOIN small AS k ON k.n < 1 + b.n % 4 / 3"
    )
    db.execute(
        "INSERT INTO partner_orders (order_id, partner_id, code, customer_id, terms_version,"
        " attributed_at, post_id) SELECT printf('po%09d-0', n), partner, code,"
        " printf('pb-%09d', n), 'terms', at, post FROM pbuy"
    )
    # Commission: 10 % of each partner order, under the partner's account.
    db.execute(
        "INSERT INTO rewards (id, key, referral_id, beneficiary, customer_id, kind, currency,"
        " amount_minor, granted_minor, points, granted_points, state, order_id, policy,"
        " explanation, created_at, hold_until, proportional)"
        " SELECT 'c-' || o.order_id, o.order_id || ':partner:' || o.partner_id || ':pct',"
        " 'acct-' || o.partner_id, 'referrer', o.partner_id, 'cash', 'USD',"
        " c.amount_minor / 10, c.amount_minor / 10, 0, 0, 'available', o.order_id, 'pct',"
        " 'commission', o.attributed_at, NULL, 1"
        " FROM partner_orders AS o JOIN conversions AS c ON c.order_id = o.order_id"
    )
    # A referrer's 10 USD per referred first order.
    db.execute(
        "INSERT INTO rewards (id, key, referral_id, beneficiary, customer_id, kind, currency,"
        " amount_minor, granted_minor, points, granted_points, state, order_id, policy,"
        " explanation, created_at, hold_until, proportional)"
        " SELECT 'w-' || c.order_id, c.order_id || ':referrer:fixed', r.id, 'referrer',"
        " r.referrer, 'credit', 'USD', 1000, 1000, 0, 0, 'held', c.order_id, 'fixed',"
        " 'fixed', c.occurred_at, NULL, 0"
        " FROM conversions AS c JOIN referrals AS r ON r.id = c.referral_id"
        " WHERE c.first_order = 1"
    )
    (placed,) = db.execute("SELECT count(*) FROM conversions").fetchone()
    organic = max(0, orders - placed)
    db.execute(
        "INSERT INTO conversions (order_id, referee, currency, amount_minor, refunded_minor,"
        " occurred_at, first_order, referral_id, order_number)"
        f" SELECT printf('org%09d', n), printf('shopper-%09d', n), 'USD',"
        f" 1000 + {_h('n', 13)} % 9000, 0, {_ts(f'n * 365.0 / {max(organic, 1)}')}, 1, NULL, 1"
        f" FROM seq WHERE n < {organic}"
    )
    # Clicks: one per two orders, on customers' and partners' codes.
    db.execute(
        "INSERT INTO clicks (campaign, channel, code, visitor, occurred_at)"
        " SELECT 'default', 'email', CASE WHEN n % 3 = 0"
        f" THEN printf('C%08d', {_h('n', 14)} % {referrers})"
        f" WHEN n % 3 = 1 THEN printf('PV%05d', {_h('n', 15)} % {PARTNERS})"
        f" ELSE printf('PP%05d%d', 1 + 4 * ({_h('n', 16)} % {PARTNERS // 4 - 1}), n % 2) END,"
        f" printf('v%09d', n), {_ts(f'n * 365.0 / {max(orders // 2, 1)}')}"
        f" FROM seq WHERE n < {orders // 2}"
    )
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    tmp.rename(path)
    print(f"  generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)


def counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    tables = ("conversions", "partner_orders", "referrals", "rewards", "clicks", "partner_posts")
    out = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    db.close()
    return out


def busiest(path: Path) -> str:
    db = sqlite3.connect(path)
    (pid,) = db.execute(
        "SELECT partner_id FROM partner_orders GROUP BY partner_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    db.close()
    return str(pid)


# -- measured work (in a child process) -------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


_STATEMENT_MONEY = ("revenue", "commission", "fees", "held", "available", "paid")


def ours_statement(path: Path, partner: str) -> Callable[[], Any]:
    """Open the store (outside the clock), then time one statement."""
    from referralkit.metrics._partners import PartnerStatement
    from referralkit.program import PARTNERS as CAPABILITY
    from referralkit.storage import SQLiteStore

    store = SQLiteStore(path)

    def work() -> Any:
        with store.transaction() as uow:
            figures = CAPABILITY.repository(uow, store=store).figures(partner, *MONTH)
        lines = PartnerStatement.of(partner, *MONTH, figures).lines
        return [
            [x.currency, x.orders, *(int(getattr(x, n) * 100) for n in _STATEMENT_MONEY)]
            for x in lines
        ]

    return work


def floor_statement(path: Path, partner: str) -> Callable[[], Any]:
    db = sqlite3.connect(path)
    return lambda: _floor_statement(db, partner)


def _floor_statement(db: sqlite3.Connection, partner: str) -> Any:
    """Hand SQL: the partner's orders and rewards of the month, by currency."""
    lo, hi = _iso(MONTH[0]), _iso(MONTH[1])
    orders = db.execute(
        "SELECT c.currency, count(*), sum(c.amount_minor - c.refunded_minor)"
        " FROM partner_orders o JOIN conversions c USING (order_id)"
        " WHERE o.partner_id = ? AND c.occurred_at >= ? AND c.occurred_at < ?"
        " GROUP BY c.currency",
        (partner, lo, hi),
    ).fetchall()
    rewards = db.execute(
        "SELECT currency, sum(iif(order_id IS NULL, 0, granted_minor)),"
        " sum(iif(order_id IS NULL, granted_minor, 0)),"
        " sum(iif(state = 'held', amount_minor, 0)),"
        " sum(iif(state = 'available', amount_minor, 0)),"
        " sum(iif(state = 'paid', amount_minor, 0))"
        " FROM rewards WHERE referral_id = (SELECT account_referral FROM partners WHERE id = ?)"
        " AND customer_id = ? AND created_at >= ? AND created_at < ? GROUP BY currency",
        (partner, partner, lo, hi),
    ).fetchall()
    by = {cur: [n, net] for cur, n, net in orders}
    for cur, *sums in rewards:
        by.setdefault(cur, [0, 0]).extend(int(v or 0) for v in sums)
    return [[cur, *by[cur]] for cur in sorted(by)]


def ours_comparison(path: Path, _: str) -> Callable[[], Any]:
    from referralkit.metrics._programmes import compare_programmes
    from referralkit.metrics._source import Window
    from referralkit.storage import SQLiteStore

    store = SQLiteStore(path)

    def work() -> Any:
        with store.metrics_source().snapshot() as view:
            facts = view.programme_facts(Window(*YEAR))
        compare_programmes(facts)
        return _facts_sums(facts)

    return work


def _facts_sums(facts: Any) -> dict[str, int]:
    """The facts' grand totals per figure: what the floor must match."""
    out: dict[str, int] = {}
    for row in (*facts.counts, *facts.money):
        for name in (
            "orders",
            "customers",
            "repeat_customers",
            "clicks",
            "signups",
            "impressions",
            "engagements",
            "revenue",
            "revenue_90d",
            "commission",
            "fees",
        ):
            if hasattr(row, name):
                kind = "partner" if row.partner is not None else "referrals"
                key = f"{kind}.{name}"
                out[key] = out.get(key, 0) + getattr(row, name)
    return dict(sorted((k, v) for k, v in out.items() if v))


def floor_comparison(path: Path, _: str) -> Callable[[], Any]:
    db = sqlite3.connect(path)
    return lambda: _floor_comparison(db)


def _floor_comparison(db: sqlite3.Connection) -> Any:
    """Hand SQL: the order sources once into a temporary table, then plain GROUP BYs."""
    p = {"lo": _iso(YEAR[0]), "hi": _iso(YEAR[1])}
    db.execute(
        "CREATE TEMP TABLE src AS"
        " SELECT c.order_id, c.referee, c.occurred_at AS at, c.first_order, c.currency,"
        " c.amount_minor - c.refunded_minor AS net, o.partner_id AS partner, o.post_id AS post"
        " FROM partner_orders o JOIN conversions c ON c.order_id = o.order_id"
        " WHERE c.occurred_at >= :lo AND c.occurred_at < :hi"
        " UNION ALL SELECT c.order_id, c.referee, c.occurred_at, c.first_order, c.currency,"
        " c.amount_minor - c.refunded_minor, pc.partner_id, pc.post_id"
        " FROM conversions c JOIN referrals r ON r.id = c.referral_id"
        " LEFT JOIN partner_codes pc ON pc.code = r.code"
        f" WHERE r.status <> 'rejected' AND r.reasons <> '{ACCOUNT}'"
        " AND c.occurred_at >= :lo AND c.occurred_at < :hi"
        " AND NOT EXISTS (SELECT 1 FROM partner_orders o WHERE o.order_id = c.order_id)",
        p,
    )
    db.execute(
        "CREATE TEMP TABLE acq AS SELECT referee, partner, post, at FROM src WHERE first_order"
    )
    db.execute("CREATE INDEX temp.acq_by_referee ON acq(referee)")
    out: dict[str, int] = {}

    def add(kind: str, name: str, value: object) -> None:
        out[f"{kind}.{name}"] = out.get(f"{kind}.{name}", 0) + int(value or 0)  # type: ignore[call-overload]

    for partner, n, net in db.execute(
        "SELECT partner IS NOT NULL, count(*), sum(net) FROM src GROUP BY 1"
    ):
        kind = "partner" if partner else "referrals"
        add(kind, "orders", n)
        add(kind, "revenue", net)
    for partner, n, repeat, rev in db.execute(
        "SELECT a.partner IS NOT NULL, count(DISTINCT a.rowid),"
        " count(DISTINCT CASE WHEN c.n2 >= 2 THEN a.rowid END), sum(c.r90) FROM acq a"
        " JOIN (SELECT a2.rowid AS id, sum(c.amount_minor > c.refunded_minor) AS n2,"
        " sum(CASE WHEN c.occurred_at < strftime('%Y-%m-%dT%H:%M:%S', substr(a2.at, 1, 19),"
        " '+90 days') || substr(a2.at, 20) AND c.occurred_at >= a2.at"
        " THEN c.amount_minor - c.refunded_minor END) AS r90"
        " FROM acq a2 JOIN conversions c ON c.referee = a2.referee AND c.occurred_at < :hi"
        " GROUP BY a2.rowid) AS c ON c.id = a.rowid GROUP BY 1",
        p,
    ):
        kind = "partner" if partner else "referrals"
        add(kind, "customers", n)
        add(kind, "repeat_customers", repeat)
        add(kind, "revenue_90d", rev)
    for partner, n in db.execute(
        "SELECT pc.partner_id IS NOT NULL, count(*) FROM clicks k"
        " LEFT JOIN partner_codes pc ON pc.code = k.code"
        " WHERE k.occurred_at >= :lo AND k.occurred_at < :hi GROUP BY 1",
        p,
    ):
        add("partner" if partner else "referrals", "clicks", n)
    for partner, n in db.execute(
        "SELECT pc.partner_id IS NOT NULL, count(*) FROM referrals r"
        " LEFT JOIN partner_codes pc ON pc.code = r.code"
        f" WHERE r.status <> 'rejected' AND r.reasons <> '{ACCOUNT}'"
        " AND r.attributed_at >= :lo AND r.attributed_at < :hi GROUP BY 1",
        p,
    ):
        add("partner" if partner else "referrals", "signups", n)
    cost = (
        "iif(w.state = 'reversed', coalesce(w.clawback_minor, 0), coalesce(w.amount_minor, 0))"
        " - coalesce(w.recovered_minor, 0)"
    )
    for commission, fees in db.execute(
        f"SELECT sum(iif(w.order_id IS NULL, 0, {cost})), sum(iif(w.order_id IS NULL, {cost}, 0))"
        " FROM rewards w JOIN partners pa ON pa.account_referral = w.referral_id"
        " WHERE w.currency IS NOT NULL AND w.created_at >= :lo AND w.created_at < :hi",
        p,
    ):
        add("partner", "commission", commission)
        add("partner", "fees", fees)
    for partner, commission in db.execute(
        f"SELECT pc.partner_id IS NOT NULL, sum({cost}) FROM rewards w"
        " JOIN referrals r ON r.id = w.referral_id LEFT JOIN partner_codes pc ON pc.code = r.code"
        f" WHERE r.status <> 'rejected' AND r.reasons <> '{ACCOUNT}' AND w.currency IS NOT NULL"
        " AND w.created_at >= :lo AND w.created_at < :hi GROUP BY 1",
        p,
    ):
        add("partner" if partner else "referrals", "commission", commission)
    for impressions, engagements in db.execute(
        "SELECT sum(e.impressions), sum(e.engagements) FROM partner_posts po"
        " JOIN partner_engagement e ON e.post_id = po.id AND e.as_of = (SELECT max(as_of)"
        " FROM partner_engagement e2 WHERE e2.post_id = po.id AND e2.as_of < :hi)"
        " WHERE po.created_at >= :lo AND po.created_at < :hi",
        p,
    ):
        add("partner", "impressions", impressions)
        add("partner", "engagements", engagements)
    return dict(sorted((k, v) for k, v in out.items() if v))


_WORK: dict[str, Callable[[Path, str], Callable[[], Any]]] = {
    "ours_statement": ours_statement,
    "floor_statement": floor_statement,
    "ours_comparison": ours_comparison,
    "floor_comparison": floor_comparison,
}


def _measure(kind: str, path: Path, partner: str, traced: bool) -> None:
    """Imports and opening the file happen before the clock starts; the query after.

    ``traced``: under tracemalloc, for the Python peak (it slows allocations, so the
    timed runs go without it).
    """
    work = _WORK[kind](path, partner)
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    print(json.dumps({"seconds": elapsed, "py_peak": peak, "result": result}, default=str))


def measure(kind: str, path: Path, partner: str) -> dict[str, Any]:
    """The median of `RUNS` timed runs and one traced run, each in a fresh process."""
    runs = []
    for traced in [False] * RUNS + [True]:
        out = subprocess.run(
            [sys.executable, __file__, "--measure", kind, str(path), partner, str(int(traced))],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout))
    return {
        "seconds": statistics.median(r["seconds"] for r in runs[:RUNS]),
        "py_peak": runs[-1]["py_peak"],
        "result": runs[0]["result"],
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        _measure(argv[1], Path(argv[2]), argv[3], argv[4] == "1")
        return 0
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    print(
        f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    ok = True
    peaks: dict[str, list[float]] = {}
    for size in sizes:
        path = _cache_dir() / f"partners-v{SCHEMA_VERSION}-{size}.db"
        generate(path, size)
        partner = busiest(path)
        print(f"{size:,} orders: {counts(path)}; statement of {partner}", flush=True)
        for what in ("statement", "comparison"):
            ours = measure(f"ours_{what}", path, partner)
            floor = measure(f"floor_{what}", path, partner)
            ratio = ours["seconds"] / floor["seconds"]
            same = ours["result"] == floor["result"]
            ok &= same
            if size == sizes[-1]:  # the aim is at full size: milliseconds below it are noise
                ok &= ratio <= 2
            peaks.setdefault(what, []).append(ours["py_peak"] / 2**20)
            print(
                f"  {what:<10} referralkit {ours['seconds']:7.3f} s, hand SQL"
                f" {floor['seconds']:7.3f} s: {ratio:.2f}x; python peak"
                f" {ours['py_peak'] / 2**20:6.2f} MiB; same sums: {same}",
                flush=True,
            )
            if not same:
                print(f"    ours  {ours['result']}\n    floor {floor['result']}")
    if len(sizes) > 1:
        for what, values in peaks.items():
            print(
                f"{what} python peak from {sizes[0]:,} to {sizes[-1]:,} orders: "
                + " -> ".join(f"{v:.2f} MiB" for v in values)
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
