"""SQLAlchemyStore on PostgreSQL: lifecycles per second at 1-8 workers, and the report at scale.

**Lifecycle.** One cycle = enrol a referrer and attribute a referee (both with an
identity, under the default guards), convert one order, release its rewards. Each
worker is a process (an app server) with its own engine, running its own customers;
the workers start together, and the throughput is all their cycles over the wall time.

The floor, in the same run and on the same schema, is plain psycopg issuing the very
statements the store issues: they are traced from the store (SQLAlchemy's
``before_cursor_execute``, with ``begin``/``commit`` for the transaction boundaries)
for two cycles, and replayed for every cycle with that cycle's own ids, times and lock
keys (the values that differ between the two traced cycles). The ratio is the library's
cost: SQLAlchemy, the domain objects, the pool (with its pre-ping).

**Metrics.** A programme of N referrals (1,000,000 at full size) is generated with
``generate_series`` on referralkit's tables; the full report (every breakdown, the
cohorts) is built from ``SQLAlchemyStore.metrics_source()`` and compared, figure by
figure, with hand-written SQL computing the same figures.

Run: ``python bench/postgres.py [--cycles N] [--runs R] [--workers 1 2 4 8] [--referrals N ...]``.
It starts a throwaway server from Debian's ``postgresql`` binaries
(as the tests do). Prints medians of ``--runs`` runs; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import SQLAlchemyStore, upgrade
from referralkit.testing import FrozenClock

SECRET = b"bench-secret-0123456789abcdef-0123456789"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
WARMUP = 20


# -- the lifecycle ------------------------------------------------------------------------


def _program(url: str, clock: FrozenClock) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=SQLAlchemyStore(url, engine_options={"pool_size": 2}),
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        hold=timedelta(days=14),
        clock=clock,
    )


def _cycle(program: rk.ReferralProgram, clock: FrozenClock, worker: int, i: int) -> None:
    referrer, referee = f"rr{worker:02d}-{i:07d}", f"re{worker:02d}-{i:07d}"
    code = program.enroll(referrer, identity=rk.Identity(email=f"{referrer}@shop.example")).code
    program.attribute(
        code=code,
        referee=referee,
        identity=rk.Identity(email=f"{referee}@mail.example", device_id=f"dev-{referee}"),
    )
    program.convert(
        referee=referee, order_id=f"or{worker:02d}-{i:07d}", amount=rk.Money("80", "USD")
    )
    clock.advance(days=15)
    # With several workers, one may release another's rewards first: the work is the same.
    program.release_due(limit=1000)


def referralkit_worker(url: str, worker: int, cycles: int, barrier: Any) -> tuple[float, float]:
    clock = FrozenClock(START)
    program = _program(url, clock)
    for i in range(WARMUP):
        _cycle(program, clock, worker, cycles + i)
    barrier.wait()
    start = time.time()
    for i in range(cycles):
        _cycle(program, clock, worker, i)
    end = time.time()
    program.store.close()
    return start, end


# A traced statement: (sql, parameters, executemany), or a commit mark (None).
Step = tuple[str, Any, bool] | None


def trace(url: str) -> tuple[list[Step], list[Step]]:
    """Everything the store sends through psycopg in two cycles (its pre-ping included)."""
    clock = FrozenClock(START)
    program = _program(url, clock)
    steps: list[Step] = []
    execute, executemany, commit = (
        psycopg.Cursor.execute,
        psycopg.Cursor.executemany,
        psycopg.Connection.commit,
    )

    def traced_execute(cursor: Any, sql: Any, params: Any = None, **kw: Any) -> Any:
        steps.append((str(sql), params, False))
        return execute(cursor, sql, params, **kw)

    def traced_executemany(cursor: Any, sql: Any, params: Any, **kw: Any) -> Any:
        params = list(params)
        steps.append((str(sql), params, True))
        return executemany(cursor, sql, params, **kw)

    def traced_commit(conn: Any) -> Any:
        steps.append(None)
        return commit(conn)

    cycles = []
    psycopg.Cursor.execute = traced_execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = traced_executemany  # type: ignore[method-assign]
    psycopg.Connection.commit = traced_commit  # type: ignore[method-assign]
    try:
        for i in range(2):
            steps.clear()
            _cycle(program, clock, 99, i)
            cycles.append(list(steps))
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
        psycopg.Connection.commit = commit  # type: ignore[method-assign]
    program.store.close()
    first, second = cycles
    assert [s and s[0] for s in first] == [s and s[0] for s in second], "cycles differ in SQL"
    return first, second


def _varying(a: Any, b: Any, out: dict[Any, Any]) -> None:
    """Collect the atomic values of cycle ``a`` that differ in cycle ``b`` (with b's).

    Small ints are never per-cycle values (amounts, limits): two rows released in another
    order swap them, and that is not a value to replace.
    """
    if isinstance(a, Jsonb):
        _varying(a.obj, b.obj, out)
    elif isinstance(a, dict):
        for key in a:
            _varying(a[key], b[key], out)
    elif isinstance(a, list | tuple):
        for x, y in zip(a, b, strict=True):
            _varying(x, y, out)
    elif isinstance(a, int) and abs(a) < 2**31:
        return
    elif a != b and not (isinstance(a, str) and a[:1] in "{["):
        out[a] = b


class Replay:
    """Cycle ``j``'s parameters from the first traced cycle: its varying values replaced."""

    def __init__(self, first: list[Step], second: list[Step]) -> None:
        self.first = first
        self.varying: dict[Any, Any] = {}
        for x, y in zip(first, second, strict=True):
            if x is not None and y is not None:
                _varying(x[1], y[1], self.varying)

    def mapping(self, worker: int, j: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for a, b in self.varying.items():
            if isinstance(a, datetime):
                out[a] = a + j * (b - a)  # the clock moves on by the same step each cycle
            elif isinstance(a, int):
                digest = hashlib.blake2b(f"{a}/{worker}/{j}".encode(), digest_size=8).digest()
                out[a] = int.from_bytes(digest, "big", signed=True)
            elif isinstance(a, str):
                out[a] = f"{a}~{worker}.{j}"
            else:
                out[a] = b
        return out

    @staticmethod
    def apply(value: Any, mapping: dict[Any, Any], texts: list[tuple[str, str]]) -> Any:  # noqa: PLR0911
        if isinstance(value, Jsonb):
            return Jsonb(Replay.apply(value.obj, mapping, texts))
        if isinstance(value, dict):
            return {k: Replay.apply(v, mapping, texts) for k, v in value.items()}
        if isinstance(value, list):
            return [Replay.apply(v, mapping, texts) for v in value]
        if isinstance(value, tuple):
            return tuple(Replay.apply(v, mapping, texts) for v in value)
        if isinstance(value, str) and value[:1] in "{[":
            for old, new in texts:
                value = value.replace(old, new)
            return value
        try:
            return mapping.get(value, value)
        except TypeError:  # unhashable
            return value

    def cycle(self, worker: int, j: int) -> list[Step]:
        mapping = self.mapping(worker, j)
        texts = sorted(
            ((a, v) for a, v in mapping.items() if isinstance(a, str)),
            key=lambda kv: -len(kv[0]),
        )
        return [
            None if s is None else (s[0], self.apply(s[1], mapping, texts), s[2])
            for s in self.first
        ]


class _Floor:
    """Plain psycopg on one connection: the traced statements, COMMIT at each mark."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn)
        self.cur = self.conn.cursor()

    def execute(self, sql: str, params: Any, many: bool) -> list[Any]:
        try:
            if many:
                self.cur.executemany(sql, params)
                return []
            self.cur.execute(sql, params)
            return self.cur.fetchall() if self.cur.description is not None else []
        except psycopg.Error as exc:
            raise RuntimeError(f"{exc}: {sql} {params}") from None

    def run(self, steps: list[Step]) -> None:
        releasing = False
        for k, step in enumerate(steps):
            if step is None:
                self.conn.commit()
                releasing = False
            elif not releasing:  # a release's statements depend on the rows due: see below
                sql, params, many = step
                rows = self.execute(sql, params, many)
                if "SKIP LOCKED" in sql:
                    self.release(steps[k + 1 : k + 1 + len(_RELEASE_ROLES)], rows, params["now"])
                    releasing = True

    def release(self, texts: list[Step], rows: list[Any], now: datetime) -> None:
        """As the store does: release the rows this worker got (the others skip them)."""
        by_role = dict(zip(_RELEASE_ROLES, (s[0] for s in texts if s is not None), strict=True))
        for row in rows:
            for role, params, many in _release_row(row, now):
                self.execute(by_role[role], params, many)


def floor_worker(  # noqa: PLR0917 - the pool passes arguments by position
    dsn: str, first: list[Step], second: list[Step], worker: int, cycles: int, barrier: Any
) -> tuple[float, float]:
    """The same statements on one plain psycopg connection: implicit BEGIN, COMMIT per mark."""
    replay = Replay(first, second)
    plans = [replay.cycle(worker, j) for j in range(2, cycles + WARMUP + 2)]
    floor = _Floor(dsn)
    for plan in plans[:WARMUP]:
        floor.run(plan)
    barrier.wait()
    start = time.time()
    for plan in plans[WARMUP:]:
        floor.run(plan)
    end = time.time()
    floor.conn.close()
    return start, end


#: The statements of one reward's release: its state, two entries, an event, then the
#: debts it may net against (under the customer's lock).
_RELEASE_ROLES = ("update", "ledger", "event", "lock", "debts")


def _release_row(row: tuple[Any, ...], now: datetime) -> list[tuple[str, Any, bool]]:
    """One due reward's release, as the store writes it: its state, two entries, an event."""
    (rid, _key, referral_id, beneficiary, customer, kind, currency, amount, _granted, points,
     _gp, _state, order_id, policy, _expl, _created, hold_until, perk, coupon, _prop,
     clawback, clawback_points, netted, recovered, redeemed, payout, expires) = row  # fmt: skip
    lock = int.from_bytes(hashlib.blake2b(customer.encode(), digest_size=8).digest(), "big") >> 1
    entry = {"reward_id": rid, "customer_id": customer, "currency": currency, "reason": "release"}
    payload = {
        "reward_id": rid,
        "customer_id": customer,
        "beneficiary": beneficiary,
        "kind": kind,
        "amount": {"amount": str(Decimal(amount).scaleb(-2)), "currency": currency},
        "points": points,
        "perk": perk,
        "coupon_code": coupon,
        "state": "available",
        "order_id": order_id,
        "referral_id": referral_id,
        "policy": policy,
    }
    return [
        (
            "update",
            {
                "rid": rid,
                "new_amount": amount,
                "new_state": "available",
                "new_hold_until": hold_until,
                "new_clawback": clawback,
                "new_points": points,
                "new_clawback_points": clawback_points,
                "new_netted": netted,
                "new_recovered": recovered,
                "new_redeemed_order": redeemed,
                "new_payout_id": payout,
                "new_expires_at": expires,
            },
            False,
        ),
        (
            "ledger",
            [
                {
                    **entry,
                    "bucket": "held",
                    "amount_minor": -amount,
                    "points": -points,
                    "occurred_at": now,
                },
                {
                    **entry,
                    "bucket": "available",
                    "amount_minor": amount,
                    "points": points,
                    "occurred_at": now,
                },
            ],
            True,
        ),
        (
            "event",
            {"type": "reward.available", "payload": Jsonb(payload), "occurred_at": now},
            False,
        ),
        ("lock", {"key": lock}, False),
        ("debts", {"customer_id": customer, "currency": currency, "coalesce_1": 0}, False),
    ]


def _together(workers: int, target: Callable[..., tuple[float, float]], *args: Any) -> float:
    """Run ``workers`` processes of ``target`` started together; cycles per second."""
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ctx.Pool(workers) as pool:
            spans = pool.starmap(
                target, [(*args[:-1], w, args[-1], barrier) for w in range(workers)]
            )
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    return workers * args[-1] / (end - start)


def lifecycle(server: Any, cycles: int, runs: int, counts: list[int]) -> None:
    names = iter(range(10_000))

    def fresh() -> tuple[str, str]:
        name = f"bench{next(names)}"
        url = server.create_database(name)
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        return url, server.dsn(name)

    url, _ = fresh()
    first, second = trace(url)
    statements = sum(1 for s in first if s is not None)
    commits = sum(1 for s in first if s is None)
    print(f"  traced: {statements:.0f} statements in {commits:.0f} transactions per cycle")
    print(f"{'workers':>8} {'referralkit/s':>14} {'floor/s':>10} {'ratio':>6} {'speed-up':>9}")
    base = None
    for workers in counts:
        mine, floor = [], []
        for _ in range(runs):
            url, dsn = fresh()
            mine.append(_together(workers, referralkit_worker, url, cycles))
            url, dsn = fresh()
            floor.append(_together(workers, floor_worker, dsn, first, second, cycles))
        m, f = statistics.median(mine), statistics.median(floor)
        base = base or m
        print(f"{workers:>8} {m:>14.0f} {f:>10.0f} {f / m:>6.2f} {m / base:>8.2f}x", flush=True)


# -- metrics at scale -----------------------------------------------------------------------

CAMPAIGNS = ("default", "spring", "summer", "influencer")
CHANNELS = ("whatsapp", "email", "sms", "x", "facebook", "telegram", "line")
REASONS = ("self_referral.email", "self_referral.device", "duplicate_referee", "velocity.referrer")


def _h(expr: str, salt: int) -> str:
    return f"((({expr})::bigint * 2654435761 + {salt * 40503}) % 4294967291)"


def generate(url: str, referrals: int) -> None:
    """A programme of ``referrals`` referrals, ~3 orders each, two clicks each, on our tables."""
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    referrers = max(1, referrals // 4)
    campaigns = "ARRAY[" + ",".join(f"'{c}'" for c in CAMPAIGNS) + "]"
    channels = "ARRAY[" + ",".join(f"'{c}'" for c in CHANNELS) + "]"
    reasons = "ARRAY[" + ",".join(f"'{r}'" for r in REASONS) + "]"
    t0 = "timestamptz '2025-01-06 00:00:00+00'"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(
            "INSERT INTO referralkit_codes (code, owner, campaign, kind, created_at)"
            " SELECT 'C' || lpad(n::text, 8, '0'), 'cust-' || lpad(n::text, 8, '0'),"
            f" ({campaigns})[n % {len(CAMPAIGNS)} + 1], 'generated',"
            f" {t0} + ({_h('n', 1)} % 5184000) * interval '1 second'"
            f" FROM generate_series(0, {referrers - 1}) AS n"
        )
        conn.execute(
            "INSERT INTO referralkit_referrals (id, code, referrer, referee, status, reasons,"
            " attributed_at, campaign, policy_version, channel)"
            " SELECT 'r' || lpad(s.n::text, 9, '0'), c.code, c.owner,"
            " 'ref-' || lpad(s.n::text, 9, '0'),"
            " CASE WHEN b < 5 THEN 'rejected' WHEN b < 6 THEN 'review' WHEN b < 66 THEN 'qualified'"
            " ELSE 'pending' END,"
            f" CASE WHEN b < 5 THEN jsonb_build_array(({reasons})[s.n % 4 + 1])"
            " ELSE '[]'::jsonb END,"
            f" {t0} + interval '60 days' + (s.n * 365.0 / {referrals}) * interval '1 day',"
            f" c.campaign, 'v1', CASE WHEN s.n % 8 = 7 THEN NULL ELSE ({channels})[s.n % 7 + 1] END"
            f" FROM (SELECT n, {_h('n', 2)} % 100 AS b, {_h('n', 3)} % {referrers} AS who"
            f" FROM generate_series(0, {referrals - 1}) AS n) AS s"
            " JOIN referralkit_codes AS c ON c.code = 'C' || lpad(s.who::text, 8, '0')"
        )
        conn.execute(
            "INSERT INTO referralkit_conversions (order_id, referee, currency, amount_minor,"
            " refunded_minor, occurred_at, first_order, referral_id)"
            " SELECT 'o' || r.seq || '-' || k, r.referee, 'USD',"
            f" 1500 + {_h('r.seq * 8 + k', 4)} % 18500,"
            f" CASE WHEN {_h('r.seq * 8 + k', 5)} % 20 = 0 THEN 1500 ELSE 0 END,"
            " r.attributed_at + (k * 9 + 1) * interval '1 day', k = 0, r.id"
            " FROM referralkit_referrals AS r, generate_series(0, 6) AS k"
            f" WHERE r.status = 'qualified' AND k < 1 + {_h('r.seq', 6)} % 7"
        )
        for side, amount, salt in (("referrer", 1000, 8), ("referee", 500, 9)):
            who = "r.referrer" if side == "referrer" else "r.referee"
            conn.execute(
                "INSERT INTO referralkit_rewards (id, key, referral_id, beneficiary, customer_id,"
                " kind, currency, amount_minor, granted_minor, points, granted_points, state,"
                " order_id, policy, explanation, created_at, proportional)"
                f" SELECT 'w' || r.seq || '-{side}', 'o' || r.seq || '-0:{side}', r.id, '{side}',"
                f" {who}, 'credit', 'USD', CASE WHEN b < 3 THEN 0 ELSE {amount} END,"
                f" {amount}, 0, 0,"
                " CASE WHEN b < 3 THEN 'reversed' WHEN b < 40 THEN 'held'"
                " WHEN b < 70 THEN 'available'"
                " ELSE 'paid' END, 'o' || r.seq || '-0', 'fixed', 'a fixed credit',"
                " r.attributed_at + interval '1 day', false"
                " FROM (SELECT seq, id, referrer, referee, attributed_at,"
                f" {_h('seq', salt)} % 100 AS b"
                " FROM referralkit_referrals WHERE status = 'qualified') AS r"
            )
        conn.execute(
            "INSERT INTO referralkit_clicks (code, visitor, occurred_at, channel, campaign)"
            " SELECT c.code, 'v' || lpad(s.n::text, 9, '0'),"
            f" {t0} + interval '59 days' + (s.n * 366.0 / {referrals * 2}) * interval '1 day',"
            f" ({channels})[s.n % 7 + 1], c.campaign"
            f" FROM (SELECT n, {_h('n', 10)} % {referrers} AS who"
            f" FROM generate_series(0, {referrals * 2 - 1}) AS n) AS s"
            " JOIN referralkit_codes AS c ON c.code = 'C' || lpad(s.who::text, 8, '0')"
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


BREAKDOWNS = ("campaign", "channel", "referrer")
TOP = 10


def report_figures(url: str) -> tuple[float, dict[str, Any]]:
    from referralkit.metrics import build_report, metrics_source

    store = SQLAlchemyStore(url)
    start = time.perf_counter()
    with metrics_source(store).snapshot() as view:
        report = build_report(view, by=BREAKDOWNS, top=TOP)
    elapsed = time.perf_counter() - start
    store.close()
    r = json.loads(report.model_dump_json())
    usd = next(s for s in r["currencies"] if s["currency"] == "USD")
    return elapsed, {
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
        "money": [
            usd["orders"],
            str(Decimal(usd["referred_revenue"])),
            str(Decimal(usd["refunded"])),
            str(Decimal(usd["rewards_cost"])),
        ],
        "cohorts": [
            [c["week"], c["referrals"], c["converted"], c["repeat_customers"]] for c in r["cohorts"]
        ],
        "top": {
            dim: [[row["key"], row["converted"], row["referrals"]] for row in rows]
            for dim, rows in r["breakdowns"].items()
        },
    }


def floor_figures(dsn: str) -> tuple[float, dict[str, Any]]:
    """The same figures with hand-written SQL, the queries a person would write."""
    conn = psycopg.connect(dsn)
    q = conn.execute
    start = time.perf_counter()
    (enrolled,) = q("SELECT count(DISTINCT owner) FROM referralkit_codes").fetchone()
    (participants,) = q(
        "SELECT count(DISTINCT owner) FROM referralkit_codes WHERE code IN ("
        " SELECT code FROM referralkit_referrals WHERE status <> 'rejected'"
        " UNION SELECT code FROM referralkit_clicks)"
    ).fetchone()
    (clicks,) = q("SELECT count(*) FROM referralkit_clicks").fetchone()
    orders = (  # an order refunded in full converts nobody
        "(SELECT referral_id, count(*) AS n FROM referralkit_conversions"
        " WHERE referral_id IS NOT NULL AND amount_minor > refunded_minor GROUP BY referral_id)"
    )
    funnel = (
        "SELECT {k} AS k, count(*), count(*) FILTER (WHERE r.status = 'rejected'),"
        " count(*) FILTER (WHERE r.status = 'review'),"
        " count(*) FILTER (WHERE r.status <> 'rejected') AS referrals,"
        " count(*) FILTER (WHERE r.status <> 'rejected' AND o.n >= 1) AS converted,"
        " count(*) FILTER (WHERE r.status <> 'rejected' AND o.n >= 2)"
        f" FROM referralkit_referrals r LEFT JOIN {orders} o ON o.referral_id = r.id"
    )
    total = q(funnel.format(k="NULL")).fetchone()
    _, attributions, rejected, review, referrals, converted, repeated = total
    reasons = dict(
        q(
            "SELECT j, count(DISTINCT r.id) FROM referralkit_referrals r,"
            " jsonb_array_elements_text(r.reasons) j WHERE r.status = 'rejected'"
            " GROUP BY j ORDER BY j"
        ).fetchall()
    )
    money = q(
        "SELECT count(*), sum(c.amount_minor), sum(c.refunded_minor) FROM referralkit_referrals r"
        " JOIN referralkit_conversions c ON c.referral_id = r.id WHERE r.status <> 'rejected'"
    ).fetchone()
    (cost,) = q(  # a reversed reward costs its clawback; recoveries come off
        "SELECT sum(CASE WHEN w.state = 'reversed' THEN w.clawback_minor"
        " ELSE coalesce(w.amount_minor, 0) END - coalesce(w.recovered_minor, 0))"
        " FROM referralkit_referrals r JOIN referralkit_rewards w ON w.referral_id = r.id"
        " WHERE r.status <> 'rejected'"
        " AND (w.state <> 'reversed' OR w.clawback_minor IS NOT NULL)"
    ).fetchone()
    week = "to_char(date_trunc('week', r.attributed_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
    cohorts = q(funnel.format(k=week) + " GROUP BY 1 ORDER BY 1").fetchall()
    top = {}
    for dim in BREAKDOWNS:
        rows = q(
            funnel.format(k=f"r.{dim}")
            + f" GROUP BY 1 ORDER BY converted DESC, referrals DESC, 1 NULLS FIRST LIMIT {TOP}"
        ).fetchall()
        top[dim] = [[k, conv, refs] for k, _, _, _, refs, conv, _ in rows]
        # what the report shows per row besides: clicks, revenue and cost of those keys
        keys = [row[0] for row in rows]
        q(
            "SELECT r." + dim + ", sum(c.amount_minor) FROM referralkit_referrals r JOIN"
            " referralkit_conversions c ON c.referral_id = r.id WHERE r.status <> 'rejected'"
            f" AND r.{dim} = ANY(%s) GROUP BY 1",
            (keys,),
        ).fetchall()
    q(
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY f.at - e.at) FROM"
        " (SELECT r.referrer AS who, min(c.occurred_at) AS at FROM referralkit_referrals r JOIN"
        " referralkit_conversions c ON c.referral_id = r.id WHERE r.status <> 'rejected'"
        " GROUP BY r.referrer) f JOIN (SELECT owner, min(created_at) AS at FROM referralkit_codes"
        " GROUP BY owner) e ON e.owner = f.who"
    ).fetchone()
    elapsed = time.perf_counter() - start
    conn.close()

    def cents(minor: int) -> str:
        return str(Decimal(minor).scaleb(-2))

    return elapsed, {
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
        "money": [money[0], cents(money[1] - money[2]), cents(money[2]), cents(cost)],  # net
        "cohorts": [[k, refs, conv, rep] for k, _, _, _, refs, conv, rep in cohorts],
        "top": top,
    }


def metrics(server: Any, sizes: list[int], runs: int) -> None:
    print(f"{'referrals':>10} {'referralkit s':>14} {'floor s':>8} {'ratio':>6}")
    for n in sizes:
        name = f"metrics{n}"
        url = server.create_database(name)
        started = time.perf_counter()
        generate(url, n)
        print(f"  generated {n} referrals in {time.perf_counter() - started:.0f} s", flush=True)
        mine = [report_figures(url) for _ in range(runs)]
        floor = [floor_figures(server.dsn(name)) for _ in range(runs)]
        assert mine[0][1] == floor[0][1], (mine[0][1], floor[0][1])
        m = statistics.median(t for t, _ in mine)
        f = statistics.median(t for t, _ in floor)
        print(f"{n:>10} {m:>14.2f} {f:>8.2f} {m / f:>6.2f}   (figures equal)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300, help="timed cycles per worker")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median)")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--referrals", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--skip", choices=("lifecycle", "metrics"), action="append", default=[])
    args = parser.parse_args()
    from _postgres import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found: apt-get install postgresql")
    server = PostgresServer(bindir).start()
    try:
        print(f"PostgreSQL in {server.folder.name}, durability off (fsync, synchronous_commit)")
        if "lifecycle" not in args.skip:
            print(f"lifecycle: {args.cycles} cycles per worker, median of {args.runs}")
            lifecycle(server, args.cycles, args.runs, args.workers)
        if "metrics" not in args.skip:
            print(f"metrics: full report (breakdowns, cohorts), median of {args.runs}")
            metrics(server, args.referrals, args.runs)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
