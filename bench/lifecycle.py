"""Full referral lifecycle per second: referralkit on MemoryStore and SQLiteStore,
against plain sqlite3 doing the same writes and lookups, and against the
framework-agnostic ``stripe-referral`` package's create-code + track-referral.

One cycle = enrol a referrer, attribute a referee, convert one order, release its
rewards. The floor issues the very statements referralkit issues, on its schema,
with plain ``sqlite3``: the ratio is the library's own cost. A second, leaner floor
uses a minimal hand-made schema (fewer columns and indexes, smaller payloads).
Run: ``python bench/lifecycle.py [cycles]`` (``pip install stripe-referral`` for the
last peer; it is skipped with a note if missing).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.storage._schema import MIGRATIONS
from referralkit.testing import FrozenClock

SECRET = b"bench-secret-0123456789abcdef-0123456789"
# referralkit reads rows by these column lists (no ``SELECT *``); the floor does too.
CODE_COLUMNS = "code, owner, campaign, kind, created_at, expires_at, max_uses"
REFERRAL_COLUMNS = (
    "id, code, referrer, referee, status, reasons, attributed_at, campaign, policy_version,"
    " channel, qualified_at"
)
CONVERSION_COLUMNS = (
    "order_id, referee, currency, amount_minor, refunded_minor, occurred_at, first_order,"
    " referral_id, order_number, recorded_at"
)
REWARD_COLUMNS = (
    "id, key, referral_id, beneficiary, customer_id, kind, currency, amount_minor,"
    " granted_minor, points, granted_points, state, order_id, policy, explanation,"
    " created_at, hold_until, perk, coupon_code, proportional, clawback_minor, clawback_points,"
    " netted_minor, recovered_minor, redeemed_order, payout_id, expires_at"
)
#: As long as the version referralkit derives from the policy (16 hex characters).
POLICY_VERSION = "0123456789abcdef"


def _program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        hold=timedelta(days=14),
        clock=clock,
    )


def _referralkit_cycles(program: rk.ReferralProgram, clock: FrozenClock, cycles: int) -> None:
    amount = rk.Money("80", "USD")
    for i in range(cycles):
        code = program.enroll(f"referrer-{i}").code
        program.attribute(code=code, referee=f"referee-{i}")
        program.convert(referee=f"referee-{i}", order_id=f"order-{i}", amount=amount)
    clock.advance(days=15)
    while program.release_due(limit=1000):
        pass


def run_referralkit(store: rk.Store, cycles: int) -> float:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    program = _program(store, clock)
    start = time.perf_counter()
    _referralkit_cycles(program, clock, cycles)
    elapsed = time.perf_counter() - start
    store.close()
    return cycles / elapsed


def new_id() -> str:
    """A version 4 UUID in hex, drawn the way referralkit draws its ids (no UUID object)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def _open_floor(path: Path) -> sqlite3.Connection:
    # The very schema referralkit uses (same tables, indexes, triggers and constraints), so
    # the floor pays for the same database work and the ratio isolates the library's cost.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    for step in MIGRATIONS:
        for statement in step:
            db.execute(statement)
    return db


_dumps = json.JSONEncoder(separators=(",", ":")).encode
_EVENT = "INSERT INTO events (type, payload, occurred_at) VALUES (?, ?, ?)"
_LEDGER = (
    "INSERT INTO ledger (reward_id, customer_id, bucket, currency, amount_minor, points,"
    " occurred_at, reason) VALUES (?, ?, ?, 'USD', ?, 0, ?, ?)"
)
_INSERT_REWARD = (
    f"INSERT INTO rewards ({REWARD_COLUMNS}) VALUES (?, ?, ?, ?, ?, 'credit', 'USD', ?, ?,"
    " 0, 0, 'held', ?, ?, ?, ?, ?, NULL, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, NULL)"
    " ON CONFLICT (customer_id, key) DO NOTHING"
)
_RELEASE = (
    "UPDATE rewards SET amount_minor = ?, state = 'available', hold_until = ?,"
    " clawback_minor = NULL, points = 0, clawback_points = 0, netted_minor = NULL,"
    " recovered_minor = NULL, redeemed_order = NULL, payout_id = NULL, expires_at = NULL"
    " WHERE id = ?"
)
# Payloads as referralkit stores them: [shape, values...] (see PAYLOAD_SHAPES).
_REWARD_SHAPE = 6
_CONVERSION_SHAPE = 5
#: A reward's hold end as its events carry it (the 14-day hold of `_program`).
_HOLD_IN_PAYLOAD = "2026-01-15T00:00:00+00:00"


def _reward_payload(
    wid: str, customer: str, side: str, *, money: str, state: str, order: str, rid: str, policy: str
) -> str:
    return _dumps(
        [
            _REWARD_SHAPE,
            wid,
            customer,
            side,
            "credit",
            [money, "USD"],
            0,
            None,
            None,
            state,
            order,
            rid,
            policy,
            _HOLD_IN_PAYLOAD,
            None,
        ]
    )


def _floor_cycle(db: sqlite3.Connection, i: int, now: str, hold: str) -> None:
    """One lifecycle but its release, as the statements referralkit issues."""
    referrer, referee, order = f"referrer-{i}", f"referee-{i}", f"order-{i}"
    code = uuid.uuid4().hex[:8].upper()
    # enrol
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        f"INSERT INTO codes ({CODE_COLUMNS}, lookup_key) VALUES (?, ?, 'default', 'generated', ?,"
        " NULL, NULL, ?) ON CONFLICT DO NOTHING",
        (code, referrer, now, code),  # a generated code is its own lookup key
    )
    db.execute(_EVENT, ("code.enrolled", _dumps([0, referrer, code, "default"]), now))
    db.execute("COMMIT")
    # attribute
    db.execute("BEGIN IMMEDIATE")
    owner = db.execute(f"SELECT {CODE_COLUMNS} FROM codes WHERE code = ?", (code,)).fetchone()[1]
    # Whether the code is a partner's (a partner not approved attributes nobody).
    db.execute("SELECT code, partner_id, post_id FROM partner_codes WHERE code = ?", (code,))
    db.execute(
        f"SELECT {REFERRAL_COLUMNS} FROM referrals WHERE referee = ? AND status <> 'rejected'",
        (referee,),
    ).fetchone()
    rid = new_id()
    db.execute(
        "INSERT INTO referrals (id, code, referrer, referee, status, reasons, attributed_at,"
        " campaign, policy_version, channel) VALUES (?, ?, ?, ?, 'pending', '[]', ?,"
        " 'default', ?, NULL) ON CONFLICT DO NOTHING",
        (rid, code, owner, referee, now, POLICY_VERSION),
    )
    db.execute(
        _EVENT,
        ("referral.pending", _dumps([1, rid, owner, referee, code, [], None]), now),
    )
    db.execute("COMMIT")
    # convert
    db.execute("BEGIN IMMEDIATE")
    db.execute(f"SELECT {CONVERSION_COLUMNS} FROM conversions WHERE order_id = ?", (order,))
    ref = db.execute(
        f"SELECT {REFERRAL_COLUMNS} FROM referrals WHERE referee = ? AND status <> 'rejected'",
        (referee,),
    ).fetchone()
    number = (
        db.execute("SELECT count(*) FROM conversions WHERE referee = ?", (referee,)).fetchone()[0]
        + 1
    )
    db.execute(
        f"INSERT INTO conversions ({CONVERSION_COLUMNS}) VALUES (?, ?, 'USD', 8000, 0, ?, 1, ?,"
        " ?, ?) ON CONFLICT DO NOTHING",
        (order, referee, now, ref[0], number, now),
    )
    db.execute(
        _EVENT,
        (
            "conversion.recorded",
            _dumps([_CONVERSION_SHAPE, order, referee, ["80", "USD"], ref[0], ref[2], number]),
            now,
        ),
    )
    db.execute(
        "UPDATE referrals SET status = ?, qualified_at = ? WHERE id = ?"
        f" RETURNING {REFERRAL_COLUMNS}",
        ("qualified", now, ref[0]),
    ).fetchone()
    db.execute(_EVENT, ("referral.qualified", _dumps([3, ref[0], ref[2], order]), now))
    for side, customer, minor, money in (
        ("referrer", ref[2], 1000, "10.00"),
        ("referee", referee, 500, "5.00"),
    ):
        if side == "referrer":  # the referrer's tier: qualified referrals so far
            db.execute(
                "SELECT count(*) FROM referrals WHERE referrer = ? AND status = 'qualified'"
                " AND qualified_at <= ?",
                (customer, now),
            ).fetchone()
        wid = new_id()
        policy = f"fixed({money} USD)"
        db.execute(
            _INSERT_REWARD,
            (
                wid,
                f"{order}:{side}:{policy}",
                ref[0],
                side,
                customer,
                minor,
                minor,
                order,
                policy,
                f"a fixed credit of {money} USD for this referral",
                now,
                hold,
            ),
        )
        db.executemany(_LEDGER, [(wid, customer, "held", minor, now, "grant")])
        db.execute(
            _EVENT,
            (
                "reward.granted",
                _reward_payload(
                    wid,
                    customer,
                    side,
                    money=money,
                    state="held",
                    order=order,
                    rid=ref[0],
                    policy=policy,
                ),
                now,
            ),
        )
    db.execute("COMMIT")


def _floor_release(db: sqlite3.Connection, later: str) -> None:
    """``release_due(limit=1000)`` until none is due, as the statements referralkit issues."""
    while True:
        db.execute("BEGIN IMMEDIATE")
        due = db.execute(
            f"SELECT {REWARD_COLUMNS} FROM rewards WHERE state = 'held' AND hold_until <= ?"
            " ORDER BY hold_until, id LIMIT ?",
            (later, 1000),
        ).fetchall()
        for row in due:
            wid, rid, side, customer, minor = row[0], row[2], row[3], row[4], row[7]
            db.execute(_RELEASE, (minor, row[16], wid))
            db.executemany(
                _LEDGER,
                [
                    (wid, customer, "held", -minor, later, "release"),
                    (wid, customer, "available", minor, later, "release"),
                ],
            )
            money = f"{minor / 100:.2f}"
            db.execute(
                _EVENT,
                (
                    "reward.available",
                    _reward_payload(
                        wid,
                        customer,
                        side,
                        money=money,
                        state="available",
                        order=row[12],
                        rid=rid,
                        policy=row[13],
                    ),
                    later,
                ),
            )
            # The debts the reward nets against (referralkit nets credit as it releases).
            db.execute(
                f"SELECT {REWARD_COLUMNS} FROM rewards WHERE customer_id = ? AND currency = ?"
                " AND clawback_minor > coalesce(recovered_minor, 0) ORDER BY seq",
                (customer, "USD"),
            ).fetchall()
        db.execute("COMMIT")
        if not due:
            break


_NOW = "2026-01-01T00:00:00.000000+00:00"
_HOLD = "2026-01-15T00:00:00.000000+00:00"
_LATER = "2026-01-16T00:00:00.000000+00:00"


def run_plain_sqlite(path: Path, cycles: int) -> float:
    """The floor: the same statements referralkit issues, hand-written, no library."""
    db = _open_floor(path)
    start = time.perf_counter()
    for i in range(cycles):
        _floor_cycle(db, i, _NOW, _HOLD)
    _floor_release(db, _LATER)
    elapsed = time.perf_counter() - start
    db.close()
    return cycles / elapsed


_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+\b|\bNULL\b")


def _statements(conn: sqlite3.Connection, run: Callable[[], None]) -> tuple[list[str], int]:
    """The statements ``run`` issues on ``conn``, values blanked, and their expanded length."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    shapes = [" ".join(_LITERAL.sub("?", s).split()) for s in seen]
    return shapes, sum(len(s) for s in seen)


def check_floor(root: Path, cycles: int = 2) -> None:
    """Refuse to run if the floor no longer issues what referralkit issues (statements, bytes)."""
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    store = SQLiteStore(root / "check-rk.db")
    program = _program(store, clock)
    ours, our_length = _statements(
        store._conn(),  # noqa: SLF001 - the bench traces the store's own connection
        lambda: _referralkit_cycles(program, clock, cycles),
    )
    store.close()
    db = _open_floor(root / "check-floor.db")

    def floor() -> None:
        for i in range(cycles):
            _floor_cycle(db, i, _NOW, _HOLD)
        _floor_release(db, _LATER)

    theirs, their_length = _statements(db, floor)
    db.close()
    if ours != theirs or our_length != their_length:
        diff = difflib.unified_diff(theirs, ours, "floor", "referralkit", lineterm="", n=1)
        raise SystemExit(
            "the floor is out of date: it must issue the statements referralkit issues\n"
            + "\n".join(diff)
            + f"\nexpanded length: referralkit {our_length}, floor {their_length}"
        )


FLOOR_SCHEMA = """
CREATE TABLE codes (code TEXT PRIMARY KEY, owner TEXT NOT NULL, campaign TEXT NOT NULL,
    created_at TEXT NOT NULL, UNIQUE (owner, campaign));
CREATE TABLE referrals (id TEXT PRIMARY KEY, code TEXT NOT NULL REFERENCES codes(code),
    referrer TEXT NOT NULL, referee TEXT NOT NULL, status TEXT NOT NULL,
    attributed_at TEXT NOT NULL);
CREATE UNIQUE INDEX referrals_active ON referrals(referee) WHERE status <> 'rejected';
CREATE TABLE conversions (order_id TEXT PRIMARY KEY, referee TEXT NOT NULL, amount_minor INTEGER,
    referral_id TEXT REFERENCES referrals(id));
CREATE TABLE rewards (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, key TEXT NOT NULL,
    referral_id TEXT REFERENCES referrals(id), order_id TEXT, amount_minor INTEGER, state TEXT,
    hold_until TEXT, UNIQUE (customer_id, key));
CREATE INDEX rewards_due ON rewards(hold_until) WHERE state = 'held';
CREATE TABLE ledger (id INTEGER PRIMARY KEY, reward_id TEXT, customer_id TEXT, bucket TEXT,
    amount_minor INTEGER);
CREATE TABLE events (id INTEGER PRIMARY KEY, type TEXT, payload TEXT, acked INTEGER DEFAULT 0);
"""


def run_minimal_sqlite(path: Path, cycles: int) -> float:
    """A leaner floor: the same steps on a minimal hand-made schema (fewer columns and indexes)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.executescript(FLOOR_SCHEMA)
    now = "2026-01-01T00:00:00.000000+00:00"
    hold = "2026-01-15T00:00:00.000000+00:00"
    start = time.perf_counter()
    for i in range(cycles):
        referrer, referee, order = f"referrer-{i}", f"referee-{i}", f"order-{i}"
        code = uuid.uuid4().hex[:8].upper()
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO codes VALUES (?, ?, 'default', ?) ON CONFLICT DO NOTHING",
            (code, referrer, now),
        )
        db.execute(
            "INSERT INTO events (type, payload) VALUES ('code.enrolled', ?)",
            (json.dumps({"c": code}),),
        )
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        owner = db.execute("SELECT owner FROM codes WHERE code = ?", (code,)).fetchone()[0]
        db.execute(
            "SELECT id FROM referrals WHERE referee = ? AND status <> 'rejected'", (referee,)
        ).fetchone()
        rid = new_id()
        db.execute(
            "INSERT INTO referrals VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
            (rid, code, owner, referee, now),
        )
        db.execute(
            "INSERT INTO events (type, payload) VALUES ('referral.pending', ?)",
            (json.dumps({"r": rid}),),
        )
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT 1 FROM conversions WHERE order_id = ?", (order,)).fetchone()
        ref = db.execute(
            "SELECT id, referrer FROM referrals WHERE referee = ? AND status <> 'rejected'",
            (referee,),
        ).fetchone()
        db.execute(
            "INSERT INTO conversions VALUES (?, ?, 8000, ?) ON CONFLICT DO NOTHING",
            (order, referee, ref[0]),
        )
        db.execute("UPDATE referrals SET status = 'qualified' WHERE id = ?", (ref[0],))
        for customer, minor in ((ref[1], 1000), (referee, 500)):
            wid = new_id()
            db.execute(
                "INSERT INTO rewards VALUES (?, ?, ?, ?, ?, ?, 'held', ?) ON CONFLICT DO NOTHING",
                (wid, customer, f"{order}:fixed", ref[0], order, minor, hold),
            )
            db.execute(
                "INSERT INTO ledger (reward_id, customer_id, bucket, amount_minor)"
                " VALUES (?, ?, 'held', ?)",
                (wid, customer, minor),
            )
            db.execute(
                "INSERT INTO events (type, payload) VALUES ('reward.granted', ?)",
                (json.dumps({"w": wid}),),
            )
        db.execute(
            "INSERT INTO events (type, payload) VALUES ('conversion.recorded', ?)",
            (json.dumps({"o": order}),),
        )
        db.execute("COMMIT")
    later = "2026-01-16T00:00:00.000000+00:00"
    while True:
        db.execute("BEGIN IMMEDIATE")
        due = db.execute(
            "SELECT id, customer_id, amount_minor FROM rewards"
            " WHERE state = 'held' AND hold_until <= ?"
            " LIMIT 1000",
            (later,),
        ).fetchall()
        for wid, customer, minor in due:
            db.execute("UPDATE rewards SET state = 'available' WHERE id = ?", (wid,))
            db.executemany(
                "INSERT INTO ledger (reward_id, customer_id, bucket, amount_minor)"
                " VALUES (?, ?, ?, ?)",
                [(wid, customer, "held", -minor), (wid, customer, "available", minor)],
            )
            db.execute(
                "INSERT INTO events (type, payload) VALUES ('reward.available', ?)",
                (json.dumps({"w": wid}),),
            )
        db.execute("COMMIT")
        if not due:
            break
    elapsed = time.perf_counter() - start
    db.close()
    return cycles / elapsed


def run_stripe_referral(path: Path, cycles: int) -> float | None:
    """stripe-referral's create_code + track_referral on SQLite (its own SQLAlchemy models)."""
    try:
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker
        from stripe_referral.database.Base import Base
        from stripe_referral.models.ReferralProgram import ReferralProgram
        from stripe_referral.services.referral_service import ReferralService
    except ImportError:
        return None
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    session = sessionmaker(bind=engine, autoflush=False)()
    session.add(
        ReferralProgram(
            name="bench",
            program_key="bench",
            reward_amount=10.0,
            reward_currency="USD",
            reward_type="one_time",
            adapter_type="manual",
        )
    )
    session.commit()
    start = time.perf_counter()
    for i in range(cycles):
        created = ReferralService.create_code(session, f"referrer-{i}", "bench")
        ReferralService.track_referral(session, created["code"], f"referee-{i}", f"order-{i}", 80.0)
    elapsed = time.perf_counter() - start
    session.close()
    engine.dispose()
    return cycles / elapsed


def best_of(runs: int, fn: Callable[[], float | None]) -> float | None:
    results = [fn() for _ in range(runs)]
    return None if results[0] is None else max(r for r in results if r is not None)


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def fresh(name: str) -> Path:
            return root / f"{name}-{uuid.uuid4().hex}.db"

        check_floor(root)
        memory = best_of(3, lambda: run_referralkit(MemoryStore(), cycles))
        sqlite_rk = best_of(3, lambda: run_referralkit(SQLiteStore(fresh("rk")), cycles))
        floor = best_of(3, lambda: run_plain_sqlite(fresh("floor"), cycles))
        minimal = best_of(3, lambda: run_minimal_sqlite(fresh("minimal"), cycles))
        peer = best_of(3, lambda: run_stripe_referral(fresh("stripe"), cycles))
    assert memory
    assert sqlite_rk
    assert floor
    assert minimal
    print(f"cycles per run: {cycles} (enrol + attribute + convert + release), best of 3")
    print(f"referralkit MemoryStore        {memory:10.0f} lifecycles/s")
    print(f"referralkit SQLiteStore        {sqlite_rk:10.0f} lifecycles/s")
    print(f"plain sqlite3, same SQL        {floor:10.0f} lifecycles/s  (the floor)")
    print(f"plain sqlite3, minimal schema  {minimal:10.0f} lifecycles/s")
    print(f"  referralkit time vs the floor:          {floor / sqlite_rk:.2f}x (target <= 3x)")
    print(f"  referralkit time vs the minimal schema: {minimal / sqlite_rk:.2f}x")
    if peer is None:
        print("stripe-referral              not installed (pip install stripe-referral)")
    else:
        print(f"stripe-referral (SQLite)     {peer:10.0f} create+track/s")
        print(
            f"  referralkit full lifecycle vs stripe-referral create+track: {sqlite_rk / peer:.1f}x"
        )


if __name__ == "__main__":
    main()
