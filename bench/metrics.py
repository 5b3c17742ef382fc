"""The full metrics report over a big SQLite programme, against hand-written SQL.

Generates a programme file directly with bulk SQL on referralkit's schema (codes,
referrals, orders, rewards, clicks: 1,000,000 referrals and 3,000,000 orders at
full size), then measures in the same run:

- referralkit: ``build_report`` over ``SQLiteStore.metrics_source()`` with every
  breakdown (campaign, channel, referrer) and the weekly cohorts;
- the floor: hand-written ``sqlite3`` aggregate queries computing the same figures
  on the same file, checked equal to referralkit's.

Each measurement runs in a fresh process, so the peak resident memory (``VmHWM``) is
that measurement's alone, SQLite's page cache included; ``tracemalloc`` gives the
peak of Python allocations.
Memory must not grow with the number of rows: compare the two sizes.

Run: ``python bench/metrics.py [referrals ...]`` (default: 100000 1000000). Files are
cached in the system temp directory (``referralkit-bench/``) and reused. Exits non-zero
if the figures differ from the floor's or referralkit takes more than twice as long.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

from referralkit.storage._schema import MIGRATIONS, SCHEMA_VERSION

ORDERS_PER_REFERRAL = 3
REFERRERS_PER_REFERRAL = 0.25
CLICKS_PER_REFERRAL = 2
CAMPAIGNS = ("default", "spring", "summer", "influencer")
CHANNELS = ("whatsapp", "email", "sms", "x", "facebook", "telegram", "line")
REASONS = (
    "self_referral.email",
    "self_referral.device",
    "duplicate_referee.already_referred",
    "velocity.referrer",
)


def _cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "referralkit-bench"
    path.mkdir(exist_ok=True)
    return path


# -- generation -----------------------------------------------------------------------------


# Deterministic pseudo-random integers from a row number, in SQL.
def _h(expr: str, salt: int) -> str:
    return f"((({expr}) * 2654435761 + {salt * 40503}) % 4294967291)"


def _ts(day_expr: str) -> str:
    """SQL for a fixed-width UTC timestamp ``day_expr`` days (fractional) after 2025-01-06."""
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', '2025-01-06', '+' || ({day_expr}) || ' days')"
        " || '.000000+00:00'"
    )


def generate(path: Path, referrals: int) -> None:
    """Write a programme with ``referrals`` referrals and three orders per referral."""
    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -200000")
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    for step in MIGRATIONS:
        for statement in step:
            db.execute(statement)
    referrers = max(1, int(referrals * REFERRERS_PER_REFERRAL))
    started = time.perf_counter()
    db.execute("BEGIN")
    db.execute(
        "CREATE TEMP TABLE seq AS WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1"
        " FROM s WHERE n + 1 < ?) SELECT n FROM s",
        (max(referrals, referrers) * CLICKS_PER_REFERRAL,),
    )
    db.execute("CREATE TEMP TABLE k7 AS SELECT n FROM seq WHERE n < 7")
    campaigns = "json_array(" + ", ".join(f"'{c}'" for c in CAMPAIGNS) + ")"
    channels = "json_array(" + ", ".join(f"'{c}'" for c in CHANNELS) + ")"
    reasons = "json_array(" + ", ".join(f"'{r}'" for r in REASONS) + ")"
    # Referrers enrol over the first 60 days.
    enrolled_at = _ts(f"{_h('n', 1)} % 86400 * 60 / 86400.0")
    db.execute(
        "INSERT INTO codes (code, owner, campaign, kind, created_at)"
        " SELECT printf('C%08d', n), printf('cust-%08d', n),"
        f" json_extract({campaigns}, '$[' || (n % {len(CAMPAIGNS)}) || ']'), 'generated',"
        f" {enrolled_at}"
        f" FROM seq WHERE n < {referrers}"
    )
    # Referrals over a year after that: 5% rejected, 1% in review, 60% qualified.
    db.execute(
        "INSERT INTO referrals (id, code, referrer, referee, status, reasons, attributed_at,"
        " campaign, policy_version, channel)"
        " SELECT printf('r%09d', n), c.code, c.owner, printf('ref-%09d', n),"
        " CASE WHEN b < 5 THEN 'rejected' WHEN b < 6 THEN 'review'"
        " WHEN b < 66 THEN 'qualified' ELSE 'pending' END,"
        f" CASE WHEN b < 5 THEN json_array(json_extract({reasons}, '$[' || (n % 4) || ']'))"
        " ELSE '[]' END,"
        f" {_ts(f'60 + n * 365.0 / {referrals}')}, c.campaign, 'v1',"
        f" CASE WHEN n % 8 = 7 THEN NULL ELSE json_extract({channels}, '$[' || (n % 7) || ']') END"
        f" FROM (SELECT n, {_h('n', 2)} % 100 AS b, {_h('n', 3)} % {referrers} AS who"
        f" FROM seq WHERE n < {referrals}) AS s"
        " JOIN codes AS c ON c.code = printf('C%08d', s.who)"
    )
    # Orders: 1 to 7 per qualified referral (about 4), the rest organic (no referral).
    db.execute(
        "INSERT INTO conversions (order_id, referee, currency, amount_minor, refunded_minor,"
        " occurred_at, first_order, referral_id)"
        " SELECT printf('o%09d-%d', r.rowid, k.n), r.referee, 'USD',"
        f" 1500 + {_h('r.rowid * 8 + k.n', 4)} % 18500,"
        f" CASE WHEN {_h('r.rowid * 8 + k.n', 5)} % 20 = 0 THEN 1500 ELSE 0 END,"
        " strftime('%Y-%m-%dT%H:%M:%S', substr(r.attributed_at, 1, 19),"
        " '+' || (k.n * 9 + 1) || ' days') || '.000000+00:00',"
        " k.n = 0, r.id"
        " FROM referrals AS r JOIN k7 AS k"
        f" ON k.n < 1 + {_h('r.rowid', 6)} % 7"
        " WHERE r.status = 'qualified'"
    )
    (referred,) = db.execute("SELECT count(*) FROM conversions").fetchone()
    organic = max(0, referrals * ORDERS_PER_REFERRAL - referred)
    db.execute(
        "INSERT INTO conversions (order_id, referee, currency, amount_minor, refunded_minor,"
        " occurred_at, first_order, referral_id)"
        f" SELECT printf('org%09d', n), printf('shopper-%09d', n), 'USD',"
        f" 1000 + {_h('n', 7)} % 9000, 0, {_ts(f'n * 400.0 / {max(organic, 1)}')}, 1, NULL"
        f" FROM seq WHERE n < {organic}"
    )
    # Two rewards per qualified referral (referrer 10 USD, referee 5 USD); 3% reversed.
    for side, amount, salt in (("referrer", 1000, 8), ("referee", 500, 9)):
        who = "r.referrer" if side == "referrer" else "r.referee"
        db.execute(
            "INSERT INTO rewards (id, key, referral_id, beneficiary, customer_id, kind,"
            " currency, amount_minor, granted_minor, points, granted_points, state, order_id,"
            " policy, explanation, created_at, hold_until, proportional)"
            f" SELECT printf('w%09d-{side}', r.rowid),"
            f" printf('o%09d-0:{side}:fixed', r.rowid), r.id, '{side}',"
            f" {who}, 'credit', 'USD', CASE WHEN b < 3 THEN 0 ELSE {amount} END, {amount},"
            " 0, 0, CASE WHEN b < 3 THEN 'reversed' WHEN b < 40 THEN 'held'"
            " WHEN b < 70 THEN 'available' ELSE 'paid' END,"
            " printf('o%09d-0', r.rowid), 'fixed', 'a fixed credit',"
            " strftime('%Y-%m-%dT%H:%M:%S', substr(r.attributed_at, 1, 19), '+1 days')"
            " || '.000000+00:00', NULL, 0"
            f" FROM (SELECT rowid, id, referrer, referee, attributed_at,"
            f" {_h('rowid', salt)} % 100 AS b FROM referrals WHERE status = 'qualified') AS r"
        )
    # Clicks: two per referral, on random codes, in the program's clicks table.
    db.execute(
        "INSERT INTO clicks (campaign, channel, code, visitor, occurred_at)"
        " SELECT c.campaign,"
        f" json_extract({channels}, '$[' || (s.n % 7) || ']'),"
        " c.code, printf('v%09d', s.n),"
        f" {_ts(f'59 + s.n * 366.0 / {referrals * CLICKS_PER_REFERRAL}')}"
        f" FROM (SELECT n, {_h('n', 10)} % {referrers} AS who FROM seq"
        f" WHERE n < {referrals * CLICKS_PER_REFERRAL}) AS s"
        " JOIN codes AS c ON c.code = printf('C%08d', s.who)"
    )
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    tmp.rename(path)
    print(f"  generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)


def counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    out = {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("codes", "referrals", "conversions", "rewards", "events")
    }
    db.close()
    return out


# -- measured work (run in a child process) ---------------------------------------------------

BREAKDOWNS = ("campaign", "channel", "referrer")
TOP = 10


def run_referralkit(path: Path) -> dict[str, object]:
    from referralkit.metrics import build_report, metrics_source
    from referralkit.storage import SQLiteStore

    store = SQLiteStore(path)
    with metrics_source(store).snapshot() as view:
        report = build_report(view, by=BREAKDOWNS, top=TOP)
    store.close()
    return figures_of_report(json.loads(report.model_dump_json()))


def figures_of_report(r: dict) -> dict[str, object]:
    """The figures both sides compute, in one comparable shape."""
    return {
        "enrolled": r["enrolled"],
        "participants": r["participants"],
        "clicks": r["clicks"],
        "attributions": r["attributions"],
        "rejected": r["rejected"],
        "review": r["review_backlog"],
        "referrals": r["referrals"],
        "converted": r["converted"],
        "repeated": r["repeat_customers"],
        "fraud_reasons": r["fraud_reasons"],
        "cycle_time_s": _seconds(r["viral_cycle_time"]),
        "money": {
            s["currency"]: [s["orders"], s["referred_revenue"], s["refunded"], s["rewards_cost"]]
            for s in r["currencies"]
        },
        "cohorts": [
            [c["week"], c["referrals"], c["converted"], c["repeat_customers"]] for c in r["cohorts"]
        ],
        "breakdowns": {
            dim: [
                [
                    row["key"],
                    row["clicks"],
                    row["attributions"],
                    row["referrals"],
                    row["converted"],
                    row["repeat_customers"],
                    {c: str(Decimal(v)) for c, v in row["referred_revenue"].items()},
                    {c: str(Decimal(v)) for c, v in row["rewards_cost"].items()},
                ]
                for row in rows
            ]
            for dim, rows in r["breakdowns"].items()
        },
    }


def _seconds(duration: object) -> float | None:
    if duration is None:
        return None
    text = str(duration)  # pydantic writes ISO 8601 durations: P3DT4H5M6.5S
    days = hours = minutes = seconds = 0.0
    body = text[1:]
    if "T" in body:
        date_part, time_part = body.split("T")
    else:
        date_part, time_part = body, ""
    if date_part.endswith("D"):
        days = float(date_part[:-1])
    number = ""
    for ch in time_part:
        if ch in "HMS":
            value = float(number)
            if ch == "H":
                hours = value
            elif ch == "M":
                minutes = value
            else:
                seconds = value
            number = ""
        else:
            number += ch
    return round(((days * 24 + hours) * 60 + minutes) * 60 + seconds, 3)


# -- the floor: hand-written sqlite3 aggregate queries -----------------------------------------

_ORDER_COUNTS = (
    "(SELECT referral_id, count(*) AS n, min(occurred_at) AS first_at FROM conversions"
    " WHERE referral_id IS NOT NULL GROUP BY referral_id)"
)
#: Customer referrals only: a partner's codes (and their referrals and clicks) are left out.
_CUSTOMERS = "NOT IN (SELECT code FROM partner_codes)"
_KEYS = {
    "campaign": "r.campaign",
    "channel": "r.channel",
    "referrer": "r.referrer",
    "week": "date(substr(r.attributed_at, 1, 10), '-6 days', 'weekday 1')",
}
_CLICK_KEYS = {
    "campaign": "e.campaign",
    "channel": "e.channel",
    "referrer": "cd.owner",
}


def _minor_text(minor: int) -> str:
    return str(Decimal(minor).scaleb(-2))


def floor_report(path: Path) -> dict[str, object]:
    """The same figures with plain sqlite3: the queries a person would write by hand."""
    db = sqlite3.connect(path)
    q = db.execute
    (enrolled,) = q(f"SELECT count(DISTINCT owner) FROM codes WHERE code {_CUSTOMERS}").fetchone()
    (participants,) = q(
        "SELECT count(DISTINCT owner) FROM codes WHERE code IN ("
        f" SELECT code FROM referrals WHERE status <> 'rejected' AND code {_CUSTOMERS}"
        f" UNION SELECT code FROM clicks WHERE code {_CUSTOMERS})"
    ).fetchone()
    (clicks,) = q(f"SELECT count(*) FROM clicks WHERE code {_CUSTOMERS}").fetchone()

    def funnel(key: str | None, top: int | None = None) -> list[tuple]:
        k = "NULL" if key is None else _KEYS[key]
        tail = "" if key is None else " GROUP BY k"
        if top is not None:
            tail += f" ORDER BY converted DESC, referrals DESC, k LIMIT {top}"
        return q(
            f"SELECT {k} AS k, count(*), sum(r.status = 'rejected'), sum(r.status = 'review'),"
            " sum(r.status <> 'rejected') AS referrals,"
            " sum(r.status <> 'rejected' AND coalesce(o.n, 0) >= 1) AS converted,"
            " sum(r.status <> 'rejected' AND coalesce(o.n, 0) >= 2)"
            f" FROM referrals AS r LEFT JOIN {_ORDER_COUNTS} AS o ON o.referral_id = r.id"
            f" WHERE r.code {_CUSTOMERS}{tail}"
        ).fetchall()

    (_, attributions, rejected, review, referrals, converted, repeated) = funnel(None)[0]
    reasons = dict(
        q(
            "SELECT j.value, count(*) FROM referrals AS r, json_each(r.reasons) AS j"
            f" WHERE r.status = 'rejected' AND r.code {_CUSTOMERS}"
            " GROUP BY j.value ORDER BY j.value"
        ).fetchall()
    )
    money = {}
    for currency, n, amount, refunded in q(
        "SELECT c.currency, count(*), sum(c.amount_minor), sum(c.refunded_minor)"
        " FROM conversions AS c JOIN referrals AS r ON r.id = c.referral_id"
        f" WHERE r.status <> 'rejected' AND r.code {_CUSTOMERS} GROUP BY c.currency"
    ):
        money[currency] = [n, _minor_text(amount - refunded), _minor_text(refunded), None]
    for currency, cost in q(
        "SELECT w.currency, sum(w.amount_minor) FROM rewards AS w"
        " JOIN referrals AS r ON r.id = w.referral_id"
        " WHERE r.status <> 'rejected' AND w.state <> 'reversed'"
        f" AND r.code {_CUSTOMERS} GROUP BY w.currency"
    ):
        money.setdefault(currency, [0, "0.00", "0.00", None])[3] = _minor_text(cost)
    deltas = (
        "SELECT (CAST(strftime('%s', substr(f.at, 1, 19)) AS INTEGER)"
        " - CAST(strftime('%s', substr(e.at, 1, 19)) AS INTEGER)) * 1000000"
        " + CAST(substr(f.at, 21, 6) AS INTEGER) - CAST(substr(e.at, 21, 6) AS INTEGER) AS d"
        " FROM (SELECT r.referrer AS who, min(o.first_at) AS at FROM referrals AS r"
        f" JOIN {_ORDER_COUNTS} AS o ON o.referral_id = r.id WHERE r.status <> 'rejected'"
        f" AND r.code {_CUSTOMERS} GROUP BY r.referrer) AS f"
        " JOIN (SELECT owner, min(created_at) AS at FROM codes GROUP BY owner) AS e"
        " ON e.owner = f.who"
    )
    db.execute(f"CREATE TEMP TABLE deltas AS {deltas}")
    (count,) = q("SELECT count(*) FROM deltas").fetchone()
    middle = [
        d
        for (d,) in q(
            "SELECT d FROM deltas ORDER BY d LIMIT ? OFFSET ?", (2 - count % 2, (count - 1) // 2)
        )
    ]
    cycle = None if not middle else round((middle[0] + middle[-1]) / 2 / 1e6, 3)
    cohorts = [
        [week, refs, conv, rep] for week, _, _, _, refs, conv, rep in sorted(funnel("week")) if refs
    ]
    breakdowns = {}
    for dim in BREAKDOWNS:
        rows = funnel(dim, TOP)
        keys = [row[0] for row in rows]
        marks = ", ".join("?" * len([k for k in keys if k is not None]))
        where = f"({_KEYS[dim]} IN ({marks})" + (
            f" OR {_KEYS[dim]} IS NULL)" if None in keys else ")"
        )
        args = [k for k in keys if k is not None]
        revenue: dict = {}
        for k, currency, net in q(
            f"SELECT {_KEYS[dim]}, c.currency, sum(c.amount_minor - c.refunded_minor)"
            " FROM conversions AS c JOIN referrals AS r ON r.id = c.referral_id"
            f" WHERE r.status <> 'rejected' AND r.code {_CUSTOMERS} AND {where} GROUP BY 1, 2",
            args,
        ):
            revenue.setdefault(k, {})[currency] = str(Decimal(_minor_text(net)))
        cost: dict = {}
        for k, currency, minor in q(
            f"SELECT {_KEYS[dim]}, w.currency, sum(w.amount_minor) FROM rewards AS w"
            " JOIN referrals AS r ON r.id = w.referral_id"
            f" WHERE r.status <> 'rejected' AND w.state <> 'reversed' AND r.code {_CUSTOMERS}"
            f" AND {where} GROUP BY 1, 2",
            args,
        ):
            cost.setdefault(k, {})[currency] = str(Decimal(_minor_text(minor)))
        join = " LEFT JOIN codes AS cd ON cd.code = e.code"
        click_where = where.replace(_KEYS[dim], _CLICK_KEYS[dim])
        click_counts = dict(
            q(
                f"SELECT {_CLICK_KEYS[dim]} AS k, count(*) FROM clicks AS e"
                f"{join if dim == 'referrer' else ''} WHERE e.code {_CUSTOMERS} AND {click_where}"
                " GROUP BY k",
                args,
            ).fetchall()
        )
        breakdowns[dim] = [
            [
                k,
                click_counts.get(k, 0),
                attr,
                refs,
                conv,
                rep,
                revenue.get(k, {}),
                cost.get(k, {}),
            ]
            for k, attr, _, _, refs, conv, rep in rows
        ]
    db.close()
    return {
        "enrolled": enrolled,
        "participants": participants,
        "clicks": clicks,
        "attributions": attributions,
        "rejected": rejected,
        "review": review,
        "referrals": referrals,
        "converted": converted,
        "repeated": repeated,
        "fraud_reasons": reasons,
        "cycle_time_s": cycle,
        "money": money,
        "cohorts": cohorts,
        "breakdowns": breakdowns,
    }


def _peak_rss_kib() -> int:
    """This process's own peak resident memory, in KiB.

    ``VmHWM`` belongs to the address space made at ``exec``; ``ru_maxrss`` would also
    count the parent's pages at ``fork``, and the parent has just generated the file.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure(kind: str, path: Path) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    result = run_referralkit(path) if kind == "referralkit" else floor_report(path)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = _peak_rss_kib()
    print(json.dumps({"seconds": elapsed, "py_peak": peak, "rss_kib": rss_kib, "result": result}))


def measure(kind: str, path: Path) -> dict:
    """One measurement in a fresh process, so its peak memory is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def _normalise(figures: dict) -> dict:
    """Money as exact decimals in text, so 12.5 and 12.50 compare equal."""
    text = json.dumps(figures, sort_keys=True, default=str)
    return json.loads(text, parse_float=Decimal)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        _measure(argv[1], Path(argv[2]))
        return 0
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    print(
        f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    summary = []
    for size in sizes:
        path = _cache_dir() / f"metrics-v{SCHEMA_VERSION}-{size}.db"
        generate(path, size)
        print(f"{size:,} referrals: {counts(path)}", flush=True)
        results = {}
        for kind in ("floor", "referralkit"):
            m = measure(kind, path)
            results[kind] = m
            print(
                f"  {kind:<12} {m['seconds']:7.2f} s  python peak {m['py_peak'] / 2**20:6.1f} MiB"
                f"  max RSS {m['rss_kib'] / 1024:6.1f} MiB",
                flush=True,
            )
        ours, floor = results["referralkit"], results["floor"]
        same = _normalise(ours["result"]) == _normalise(floor["result"])
        ratio = ours["seconds"] / floor["seconds"]
        print(f"  ratio {ratio:.2f}x the floor; same figures: {same}", flush=True)
        if not same:
            for key in ours["result"]:
                if _normalise(ours["result"][key]) != _normalise(floor["result"][key]):
                    print(
                        f"    differs: {key}: {ours['result'][key]!r} != {floor['result'][key]!r}"[
                            :600
                        ]
                    )
        summary.append((size, ratio, ours, same))
    if len(summary) > 1:
        (small, _, a, _), (big, _, b, _) = summary[0], summary[-1]
        print(
            f"memory from {small:,} to {big:,} referrals ({big // small}x the rows):"
            f" python peak {a['py_peak'] / 2**20:.1f} -> {b['py_peak'] / 2**20:.1f} MiB,"
            f" max RSS {a['rss_kib'] / 1024:.1f} -> {b['rss_kib'] / 1024:.1f} MiB"
        )
    return 0 if all(same and ratio <= 2 for _, ratio, _, same in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
