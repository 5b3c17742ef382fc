"""One SQLite file shared by threads and processes.

Every order is rewarded once, and a killed process leaves no trace.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import referralkit as rk
from _together import run_together
from _workers import deliver, program_on

pytestmark = pytest.mark.sqlite

WORKERS = Path(__file__).with_name("_workers.py")
ORDERS = 1000


def _prepare(path: Path, referees: int) -> None:
    program = program_on(str(path))
    codes = [program.enroll(f"referrer-{n}").code for n in range(50)]
    for i in range(referees):
        program.attribute(code=codes[i % len(codes)], referee=f"referee-{i}")
    program.store.close()


def _check_consistent(path: Path) -> None:
    """No reward without its conversion, no conversion of a referee without its rewards."""
    db = sqlite3.connect(path)
    try:
        orphans = db.execute(
            "SELECT count(*) FROM rewards r LEFT JOIN conversions c ON c.order_id = r.order_id"
            " WHERE c.order_id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        unrewarded = db.execute(
            "SELECT count(*) FROM conversions c WHERE c.referral_id IS NOT NULL AND"
            " (SELECT count(*) FROM rewards r WHERE r.order_id = c.order_id) <> 2"
        ).fetchone()[0]
        assert unrewarded == 0
        entries = db.execute(
            "SELECT count(*) FROM rewards r WHERE (SELECT count(*) FROM ledger l"
            " WHERE l.reward_id = r.id) <> 1"
        ).fetchone()[0]
        assert entries == 0
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()


@pytest.mark.slow
def test_threads_and_processes_reward_each_order_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    _prepare(path, ORDERS)
    run_together(
        [
            [sys.executable, str(WORKERS), "deliver", str(path), str(ORDERS), str(seed)]
            for seed in range(4)
        ],
        lambda i: deliver(str(path), ORDERS, 100 + i),
        threads=8,
    )
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM conversions").fetchone()[0] == ORDERS
        per_order = db.execute(
            "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM rewards GROUP BY order_id)"
        ).fetchone()
        assert per_order == (2, 2)
        assert db.execute("SELECT count(*) FROM rewards").fetchone()[0] == 2 * ORDERS
    finally:
        db.close()
    _check_consistent(path)


@pytest.mark.slow
def test_sigkill_mid_stream_leaves_a_consistent_file(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    _prepare(path, 1000)
    proc = subprocess.Popen(
        [sys.executable, str(WORKERS), "stream", str(path), "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    committed = 0
    for line in proc.stdout:
        committed = int(line) + 1
        if committed >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert committed >= 300
    _check_consistent(path)
    # The file is still usable: the next process picks up where the last one died.
    program = program_on(str(path))
    rewards = program.convert(
        referee="referee-1", order_id="after-crash", amount=rk.Money("20", "USD")
    )
    assert len(rewards) == 2
    program.store.close()
