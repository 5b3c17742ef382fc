"""How referralkit on SQLite holds up as the file grows: time and bytes per lifecycle, by window.

One lifecycle = enrol a new referrer, attribute a new referee to their code, convert
the referee's first order; held rewards are released as their hold ends (a
``release_due`` every 100 lifecycles, timed with them). Three programs grow side by
side, each in its own file, and take turns window by window (so the machine's drift
hits all three alike):

- ``bare``: ``guards=[]``, no identities;
- ``guarded``: the default guards, both sides with an identity (email, phone, device,
  IP): distinct people, one in five on one of a few hundred shared networks (offices,
  cafés, carriers);
- ``budget``: ``bare`` under a `referralkit.policies.Budget` that never runs out, so
  every conversion reads the program's spend (the running totals the store's triggers
  keep); at every window's end the totals are checked against a full sum of the
  rewards, and both reads are timed.

Per window: microseconds per lifecycle (and per step), the guarded/bare ratio, the
budget's conversion cost, bytes in use per lifecycle. At the end: bytes per lifecycle
per table and index (``dbstat``), and the rate of the last window against the first.
With ``--runs N`` the whole growth is repeated and every figure is the median.

Run: ``python bench/growth.py`` (100,000 lifecycles, windows of 10,000), or small:
``python bench/growth.py --lifecycles 5000 --window 1000``.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import referralkit as rk
from referralkit.policies import Budget, DoubleSided, Fixed
from referralkit.storage import SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"bench-secret-0123456789abcdef-0123456789"
MODES = ("bare", "guarded", "budget")
STEPS = ("enrol", "attribute", "convert", "release")
RELEASE_EVERY = 100
SHARED_NETWORKS = 300
#: Ten minutes between lifecycles: 144 a day, so 100,000 span about two years.
GAP = timedelta(minutes=10)
AMOUNT = rk.Money("80", "USD")


def _policy(mode: str) -> rk.RewardPolicy:
    both = DoubleSided(referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD")))
    if mode == "budget":
        return Budget(both, total=rk.Money("1000000000", "USD"))
    return both


def person(n: int, rng: random.Random) -> rk.Identity:
    """Person ``n``: their own email, phone and device; a network of their own, or a shared one."""
    if rng.random() < 0.2:
        shared = rng.randrange(SHARED_NETWORKS)
        ip = f"100.{64 + shared // 256}.{shared % 256}.{rng.randrange(1, 255)}"
    else:
        ip = f"{11 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}.{rng.randrange(1, 255)}"
    return rk.Identity(
        email=f"person{n}@mail{n % 97}.example.com",
        phone=f"+1415{n:07d}",
        device_id=f"device-{n:08d}",
        ip=ip,
    )


class Grower:
    """One program growing its file, lifecycle by lifecycle, timing each step."""

    def __init__(self, mode: str, path: Path) -> None:
        self.mode = mode
        self.path = path
        self.clock = FrozenClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
        self.store = SQLiteStore(path)
        self.program = rk.ReferralProgram(
            store=self.store,
            secret=SECRET,
            policy=_policy(mode),
            guards=None if mode == "guarded" else [],
            hold=timedelta(days=14),
            clock=self.clock,
        )
        self.done = 0
        self.rng = random.Random(7)  # the same people in every run

    def window(self, n: int) -> dict[str, float]:
        """Run ``n`` lifecycles; seconds spent per step."""
        spent = dict.fromkeys(STEPS, 0.0)
        cpu = time.process_time()
        program, clock, rng = self.program, self.clock, self.rng
        guarded = self.mode == "guarded"
        tick = time.perf_counter
        for i in range(self.done, self.done + n):
            referrer, referee = f"cust-{2 * i}", f"cust-{2 * i + 1}"
            ids = (person(2 * i, rng), person(2 * i + 1, rng)) if guarded else (None, None)
            t0 = tick()
            code = program.enroll(referrer, identity=ids[0]).code
            t1 = tick()
            program.attribute(code=code, referee=referee, identity=ids[1])
            t2 = tick()
            program.convert(referee=referee, order_id=f"order-{i}", amount=AMOUNT)
            t3 = tick()
            spent["enrol"] += t1 - t0
            spent["attribute"] += t2 - t1
            spent["convert"] += t3 - t2
            clock.advance(GAP)
            if (i + 1) % RELEASE_EVERY == 0:
                t4 = tick()
                program.release_due()
                spent["release"] += tick() - t4
        self.done += n
        spent["cpu"] = time.process_time() - cpu
        return spent

    def spend_reads(self) -> tuple[float, float]:
        """Microseconds to read the spend as the budget does, and as a sum over every reward."""
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("SELECT count(*) FROM schema_version").fetchone()  # the schema, read
            start = time.perf_counter()
            totals = conn.execute(
                "SELECT amount_minor FROM spend_totals WHERE currency = 'USD'"
            ).fetchone()
            kept = time.perf_counter() - start
            start = time.perf_counter()
            summed = conn.execute(
                "SELECT sum(amount_minor) FROM rewards WHERE state <> 'reversed'"
                " AND currency = 'USD'"
            ).fetchone()
            scanned = time.perf_counter() - start
        finally:
            conn.close()
        if totals[0] != summed[0]:
            raise AssertionError(f"spend totals {totals[0]} != the rewards' sum {summed[0]}")
        return kept * 1e6, scanned * 1e6

    def statuses(self) -> dict[str, int]:
        conn = sqlite3.connect(self.path)
        try:
            return dict(conn.execute("SELECT status, count(*) FROM referrals GROUP BY status"))
        finally:
            conn.close()


def in_use(path: Path, by_table: bool = False) -> tuple[int, dict[str, int]]:
    """Bytes in pages not on the free list (WAL included), and per table or index."""
    conn = sqlite3.connect(path)
    try:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (free,) = conn.execute("PRAGMA freelist_count").fetchone()
        per: dict[str, int] = {}
        if by_table:
            per = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        return (pages - free) * page_size, per
    finally:
        conn.close()


def grow(folder: Path, total: int, window: int, run: int) -> dict[str, Any]:
    """One run: the three programs grown side by side to ``total`` lifecycles."""
    growers = {m: Grower(m, folder / f"{m}-{run}.db") for m in MODES}
    rows: list[dict[str, dict[str, float]]] = []
    order = list(MODES)
    while growers["bare"].done < total:
        n = min(window, total - growers["bare"].done)
        row: dict[str, dict[str, float]] = {}
        for mode in order:
            spent = growers[mode].window(n)
            used, _ = in_use(growers[mode].path)
            row[mode] = {
                "us": sum(spent[step] for step in STEPS) / n * 1e6,
                **{step: s / n * 1e6 for step, s in spent.items()},
                "bytes": used / growers[mode].done,
            }
        kept, scanned = growers["budget"].spend_reads()
        row["budget"]["spend_kept_us"] = kept
        row["budget"]["spend_scan_us"] = scanned
        rows.append(row)
        order = order[1:] + order[:1]  # who goes first turns too
        print(
            f"  run {run + 1} window {len(rows):>3} ({growers['bare'].done:>7} lifecycles):"
            + "".join(f" {m} {row[m]['us']:5.0f} us ({row[m]['cpu']:5.0f} cpu)" for m in MODES),
            flush=True,
        )
    tables = {}
    for mode, grower in growers.items():
        grower.store.close()
        tables[mode] = in_use(grower.path, by_table=True)
    statuses = growers["guarded"].statuses()
    for grower in growers.values():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{grower.path}{suffix}").unlink(missing_ok=True)
    return {"rows": rows, "tables": tables, "statuses": statuses}


Runs = list[dict[str, Any]]


def _fig(runs: Runs, w: int, mode: str, key: str) -> float:
    """The median over runs of one figure of window ``w``."""
    return statistics.median(r["rows"][w][mode][key] for r in runs)


def _ratio(runs: Runs, w: int, a: str, b: str, key: str = "us") -> float:
    """The median over runs of ``a``'s figure over ``b``'s, each run's own ratio."""
    return statistics.median(r["rows"][w][a][key] / r["rows"][w][b][key] for r in runs)


def _flat(runs: Runs, mode: str, key: str) -> float:
    """The rate of the last window over the first's (time first / time last), median of runs."""
    return statistics.median(r["rows"][0][mode][key] / r["rows"][-1][mode][key] for r in runs)


def _report_times(runs: Runs, window: int) -> None:
    windows = len(runs[0]["rows"])
    print("us per lifecycle by window, wall (cpu); the budget's conversion, and its spend read:")
    print(
        f"{'lifecycles':>10} {'bare':>11} {'guarded':>11} {'g/b wall':>8} {'g/b cpu':>7}"
        f" {'budget':>11} {'conv bare':>9} {'conv budg':>9} {'spend kept':>10} {'spend sum':>10}"
    )
    for w in range(windows):
        cells = [f"{(w + 1) * window:>10}"]
        cells += [
            f"{_fig(runs, w, mode, 'us'):>5.0f} ({_fig(runs, w, mode, 'cpu'):>4.0f})"
            for mode in ("bare", "guarded")
        ]
        cells.append(f"{_ratio(runs, w, 'guarded', 'bare'):>7.2f}x")
        cells.append(f"{_ratio(runs, w, 'guarded', 'bare', 'cpu'):>6.2f}x")
        cells.append(
            f"{_fig(runs, w, 'budget', 'us'):>5.0f} ({_fig(runs, w, 'budget', 'cpu'):>4.0f})"
        )
        cells.append(f"{_fig(runs, w, 'bare', 'convert'):>9.0f}")
        cells.append(f"{_fig(runs, w, 'budget', 'convert'):>9.0f}")
        cells.append(f"{_fig(runs, w, 'budget', 'spend_kept_us'):>8.0f}us")
        cells.append(f"{_fig(runs, w, 'budget', 'spend_scan_us'):>8.0f}us")
        print(" ".join(cells))
    print("per step, us per lifecycle (wall), first window -> last:")
    for mode in MODES:
        parts = [
            f"{step} {_fig(runs, 0, mode, step):.0f}->{_fig(runs, windows - 1, mode, step):.0f}"
            for step in STEPS
        ]
        print(f"  {mode:<8} " + ", ".join(parts))
    print("rate of the last window / the first (1.00 = flat), wall and cpu:")
    for mode in MODES:
        print(f"  {mode:<8} {_flat(runs, mode, 'us'):.2f}  {_flat(runs, mode, 'cpu'):.2f}")
    for key, label in (("us", "wall"), ("cpu", "cpu")):
        ratios = [_ratio(runs, w, "guarded", "bare", key) for w in range(windows)]
        print(f"guarded/bare ({label}), median over windows: {statistics.median(ratios):.2f}x")


def _report_bytes(runs: Runs, window: int, total: int) -> None:
    windows = len(runs[0]["rows"])
    print("bytes in use per lifecycle (file incl. WAL, free pages excluded), by window:")
    for w in range(windows):
        sizes = "".join(f" {m} {_fig(runs, w, m, 'bytes'):7,.0f}" for m in MODES)
        print(f"{(w + 1) * window:>10}{sizes}")
    print(f"bytes per lifecycle by table and index at {total} (dbstat, first run):")
    tables = runs[0]["tables"]
    names: dict[str, int] = defaultdict(int)
    for mode in ("bare", "guarded"):
        for name, size in tables[mode][1].items():
            names[name] = max(names[name], size)
    print(f"  {'':36} {'bare':>8} {'guarded':>8}")
    for name in sorted(names, key=lambda k: -names[k]):
        if names[name] > 4096:  # more than one page
            bare = tables["bare"][1].get(name, 0) / total
            guarded = tables["guarded"][1].get(name, 0) / total
            print(f"  {name:36} {bare:8,.0f} {guarded:8,.0f}")
    bare, guarded = tables["bare"][0] / total, tables["guarded"][0] / total
    print(f"  {'total in use':36} {bare:8,.0f} {guarded:8,.0f}")
    print("guarded referrals by status:", runs[0]["statuses"])


def report(runs: Runs, window: int, total: int) -> None:
    print()
    print(f"{total} lifecycles per program, windows of {window}, median of {len(runs)} run(s)")
    _report_times(runs, window)
    _report_bytes(runs, window, total)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lifecycles", type=int, default=100_000, help="per program")
    parser.add_argument("--window", type=int, default=None, help="default: a tenth")
    parser.add_argument("--runs", type=int, default=1, help="repeat, report medians")
    parser.add_argument("--dir", type=Path, default=None, help="where the files grow")
    args = parser.parse_args(argv)
    window = args.window or max(args.lifecycles // 10, 1)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        runs = [grow(Path(tmp), args.lifecycles, window, run) for run in range(args.runs)]
    report(runs, window, args.lifecycles)


if __name__ == "__main__":
    main()
