"""Bytes per referral lifecycle in a SQLite file, and what pruning the outbox gives back.

One lifecycle = enrol a referrer, attribute a referee, convert one order, release its
rewards after the hold; default guards, both sides with an identity (email, IP, device).
Measured on a file of ``cycles`` lifecycles (default 3000): the bytes in use (pages not
on the free list) per lifecycle, per table and index (``dbstat``), before pruning, after
acknowledging every event and ``prune_events(older_than=timedelta(0))``, and the file
size after a ``VACUUM``. Run: ``python bench/outbox_size.py [cycles]``.

On a referralkit without ``prune_events`` it measures the file before pruning only.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"bench-secret-0123456789abcdef-0123456789"


def lifecycles(path: Path, cycles: int) -> rk.ReferralProgram:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    program = rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        hold=timedelta(days=14),
        clock=clock,
    )
    for i in range(cycles):
        # Each person on a network (a /24) of their own: the velocity guard sees no burst.
        referrer = rk.Identity(
            email=f"referrer{i}@example.com",
            ip=f"10.{i // 250}.{i % 250}.1",
            device_id=f"device-r{i}",
        )
        referee = rk.Identity(
            email=f"friend{i}@example.org",
            ip=f"172.{16 + i // 250}.{i % 250}.9",
            device_id=f"device-f{i}",
        )
        code = program.enroll(f"referrer-{i}", identity=referrer).code
        program.attribute(code=code, referee=f"referee-{i}", identity=referee)
        program.convert(referee=f"referee-{i}", order_id=f"order-{i}", amount=rk.Money("80", "USD"))
        clock.advance(minutes=10)
    clock.advance(days=15)
    while program.release_due():
        pass
    return program


def in_use(path: Path) -> tuple[int, dict[str, int]]:
    """Bytes in pages not on the free list, and bytes per table or index."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (free,) = db.execute("PRAGMA freelist_count").fetchone()
        per: dict[str, int] = defaultdict(int)
        for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            per[name] += size
        return (pages - free) * page_size, dict(per)
    finally:
        db.close()


def show(label: str, used: int, per: dict[str, int], cycles: int) -> None:
    print(f"{label}: {used / cycles:,.0f} bytes per lifecycle ({used / 1e6:.2f} MB in use)")
    for name, size in sorted(per.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {name:36} {size / cycles:8,.0f} B/lifecycle  {size / used:5.1%}")


def main(cycles: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lifecycles.db"
        program = lifecycles(path, cycles)
        events = program.pending_events(10**7)
        kinds = Counter(e.type for e in events)
        print(f"{cycles} lifecycles, {len(events)} events ({len(events) / cycles:.1f} each)")
        print("    " + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())))
        used, per = in_use(path)
        show("before pruning", used, per, cycles)
        if not hasattr(program, "prune_events"):
            return
        program.ack(e.id for e in events)
        clock = program.clock
        assert isinstance(clock, FrozenClock)
        clock.advance(seconds=1)
        pruned = program.prune_events(older_than=timedelta(0))
        after, per_after = in_use(path)
        show(f"after pruning {pruned} acknowledged events", after, per_after, cycles)
        print(f"    pruning gave back {1 - after / used:.1%} of the bytes in use")
        program.store.close()
        db = sqlite3.connect(path)
        db.execute("VACUUM")
        db.close()
        print(f"file after VACUUM: {path.stat().st_size / cycles:,.0f} bytes per lifecycle")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
