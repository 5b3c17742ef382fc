"""Drainer processes on one SQLite file: each event delivered, none twice while leased.

Four drainers over 10,000 events: the first hangs mid-batch, holding a lease over
events it has partly delivered; three more start beside it and it is SIGKILLed while
they drain. They finish everything else without touching its events. Drainers whose
clock has passed the lease's end (started ahead of real time, so the test never waits
for it) then deliver the dead one's events: at least once, the half it had sent before
dying a second time.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from _workers import DRAIN_LEASE, program_on

pytestmark = [pytest.mark.sqlite, pytest.mark.slow]  # it spawns processes (2-5 s)

WORKERS = Path(__file__).with_name("_workers.py")
EVENTS = 10_000
BATCH = 100
STUCK_AFTER = 150  # the victim dies halfway through its second batch


def _seed(path: Path) -> list[int]:
    program = program_on(str(path))
    now = datetime.now(timezone.utc)
    with program.store.transaction() as uow:
        ids = [uow.events.add("order.shipped", {"n": i}, now).id for i in range(EVENTS)]
    program.store.close()
    return ids


def _drainer(path: Path, name: str, out: Path, *, ahead: float = 0, stuck_after: int = -1):
    command = [sys.executable, str(WORKERS), "drain", str(path), name, str(out)]
    return subprocess.Popen(
        [*command, str(ahead), str(stuck_after)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err


def _kill(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.communicate()


def _delivered(folder: Path) -> Counter[int]:
    return Counter(int(line) for f in folder.glob("*.log") for line in f.read_text().split())


def test_drainers_deliver_every_event_and_a_killed_ones_after_its_lease(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    ids = _seed(path)
    logs = tmp_path / "logs"
    logs.mkdir()

    started = time.perf_counter()
    victim = _drainer(path, "victim", logs / "victim.log", stuck_after=STUCK_AFTER)
    others: list[subprocess.Popen[str]] = []
    try:
        assert victim.stdout is not None
        # The others start once the victim hangs with its second batch leased: started
        # together, on a loaded machine they could drain everything before it claims twice.
        assert victim.stdout.readline() == "stuck\n", victim.communicate()[1]
        others = [_drainer(path, f"w{i}", logs / f"w{i}.log") for i in range(3)]
        victim.send_signal(signal.SIGKILL)  # while the others drain
        victim.communicate()
        _finish(others)
    finally:  # whatever failed, no drainer outlives the test
        _kill([victim, *others])
    first_phase = time.perf_counter() - started

    leased = _unacknowledged(path)
    assert len(leased) == BATCH
    assert {worker for _, worker, _ in leased} == {"victim"}
    held = {event_id for event_id, _, _ in leased}
    sent_by_victim = {int(line) for line in (logs / "victim.log").read_text().split()}
    half_sent = held & sent_by_victim
    assert len(half_sent) == STUCK_AFTER - BATCH  # sent, never acknowledged
    counts = _delivered(logs)
    assert max(counts.values()) == 1  # nothing twice while the leases held
    assert set(counts) == set(ids) - (held - half_sent)  # all but the victim's unsent ones

    restarted = time.perf_counter()
    ahead = DRAIN_LEASE.total_seconds() + 1
    late = [_drainer(path, f"late{i}", logs / f"late{i}.log", ahead=ahead) for i in range(3)]
    try:
        _finish(late)
    finally:
        _kill(late)
    second_phase = time.perf_counter() - restarted

    counts = _delivered(logs)
    assert set(counts) == set(ids)  # every event delivered
    assert {i for i, n in counts.items() if n > 1} == half_sent  # at least once: those twice
    assert max(counts.values()) == 2
    assert _unacknowledged(path) == []
    assert _attempts(path, held) == {2}
    print(  # the figures the report quotes (pytest -s)
        f"\n{EVENTS} events, 4 drainers: {first_phase:.2f} s until the three survivors were"
        f" done; {len(held)} leased events delivered by 3 late drainers in {second_phase:.2f} s"
    )


def _unacknowledged(path: Path) -> list[tuple[int, str | None, int]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT id, worker, attempts FROM events WHERE acked = 0 ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def _attempts(path: Path, ids: set[int]) -> set[int]:
    db = sqlite3.connect(path)
    try:
        marks = ", ".join("?" * len(ids))
        rows = db.execute(f"SELECT attempts FROM events WHERE id IN ({marks})", sorted(ids))
        return {n for (n,) in rows}
    finally:
        db.close()
