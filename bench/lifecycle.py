"""Full referral lifecycle per second: referralkit on MemoryStore and SQLiteStore,
against plain sqlite3 doing the same writes and lookups, and against the
framework-agnostic ``stripe-referral`` package's create-code + track-referral.

One cycle = enrol a referrer, attribute a referee, convert one order, release its
rewards. Run: ``python bench/lifecycle.py [cycles]`` (``pip install stripe-referral``
for the last peer; it is skipped with a note if missing).
"""

from __future__ import annotations

import json
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
from referralkit.testing import FrozenClock

SECRET = b"bench-secret-0123456789abcdef-0123456789"


def run_referralkit(store: rk.Store, cycles: int) -> float:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        hold=timedelta(days=14),
        clock=clock,
    )
    amount = rk.Money("80", "USD")
    start = time.perf_counter()
    for i in range(cycles):
        code = program.enroll(f"referrer-{i}").code
        program.attribute(code=code, referee=f"referee-{i}")
        program.convert(referee=f"referee-{i}", order_id=f"order-{i}", amount=amount)
    clock.advance(days=15)
    while program.release_due(limit=1000):
        pass
    elapsed = time.perf_counter() - start
    store.close()
    return cycles / elapsed


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


def run_plain_sqlite(path: Path, cycles: int) -> float:
    """The floor: the same inserts and lookups, hand-written, no library."""
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
        rid = uuid.uuid4().hex
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
            wid = uuid.uuid4().hex
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

        memory = best_of(3, lambda: run_referralkit(MemoryStore(), cycles))
        sqlite_rk = best_of(3, lambda: run_referralkit(SQLiteStore(fresh("rk")), cycles))
        floor = best_of(3, lambda: run_plain_sqlite(fresh("floor"), cycles))
        peer = best_of(3, lambda: run_stripe_referral(fresh("stripe"), cycles))
    assert memory
    assert sqlite_rk
    assert floor
    print(f"cycles per run: {cycles} (enrol + attribute + convert + release), best of 3")
    print(f"referralkit MemoryStore      {memory:10.0f} lifecycles/s")
    print(f"referralkit SQLiteStore      {sqlite_rk:10.0f} lifecycles/s")
    print(f"plain sqlite3 (floor)        {floor:10.0f} lifecycles/s")
    print(
        f"  referralkit overhead vs floor: {floor / sqlite_rk:.2f}x the floor's time (target <= 3x)"
    )
    if peer is None:
        print("stripe-referral              not installed (pip install stripe-referral)")
    else:
        print(f"stripe-referral (SQLite)     {peer:10.0f} create+track/s")
        print(
            f"  referralkit full lifecycle vs stripe-referral create+track: {sqlite_rk / peer:.1f}x"
        )


if __name__ == "__main__":
    main()
