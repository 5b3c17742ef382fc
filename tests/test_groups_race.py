"""Four processes x eight threads race to fill group-buys on one SQLite file.

500 groups of 3 to 5 (the initiator counted); most have more joiners than places, one in
five fewer than it needs. Every (group, member) pair is tried by two workers. Then four
processes expire what is due at once. No group holds more than its size, each completed
group rewarded each member exactly once with one ``group.completed``, each expired group
rewarded nobody with one ``group.expired``. The memory store runs the same race with
eight threads (processes cannot share it).
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from _group_workers import REWARD, program_on

pytestmark = pytest.mark.slow  # processes, or threads by the hundred joins

WORKERS = Path(__file__).with_name("_group_workers.py")
PROCESSES = 4
GROUPS = 500


def _seed(path: Path, rng: random.Random) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Start the groups; the (code, member) pairs the workers try, and each code's size."""
    program = program_on(str(path))
    deadline = datetime.now(timezone.utc) + timedelta(hours=1)
    sizes: dict[str, int] = {}
    pairs: list[tuple[str, str]] = []
    for n in range(GROUPS):
        size = rng.randint(3, 5)
        group = program.groups.start(f"init-{n % 125}", size=size, deadline=deadline, reward=REWARD)
        sizes[group.code] = size
        # one in five cannot fill: fewer joiners than places; the rest up to three too many
        joiners = size - 2 if n % 5 == 0 else size - 1 + rng.randint(1, 3)
        pairs += [(group.code, f"g{n}-m{j}") for j in range(joiners)]
    program.store.close()
    return sizes, pairs


def _run(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKERS), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _outputs(procs: list[subprocess.Popen[str]]) -> list[object]:
    out = []
    for p in procs:
        stdout, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        out.append(json.loads(stdout))
    return out


@pytest.mark.sqlite
def test_racing_joiners_fill_each_group_once_and_expiry_rewards_nobody(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    rng = random.Random(15)
    sizes, pairs = _seed(path, rng)
    lists = []
    for k in range(PROCESSES):  # each pair goes to two of the four workers
        mine = [p for i, p in enumerate(pairs) if i % PROCESSES in {k, (k + 1) % PROCESSES}]
        lists.append(tmp_path / f"pairs-{k}.txt")
        lists[-1].write_text("".join(f"{c} {m}\n" for c, m in mine), encoding="utf-8")
    joins = _outputs([_run(["join", str(path), str(f), str(k)]) for k, f in enumerate(lists)])
    expired_lists = _outputs([_run(["expire", str(path)]) for _ in range(PROCESSES)])

    placed = {(c, m) for out in joins for c, m, ok in out["placed"] if ok == "True"}  # type: ignore[index]
    # the race was real: joiners turned away from full groups, retried pairs answered alike
    refused = Counter[str]()
    for out in joins:
        refused.update(out["closed"])  # type: ignore[index]
    assert refused["completed"] + refused["full"] > 0
    assert sum(len(out["placed"]) for out in joins) > len(placed)  # type: ignore[index]
    expired = [code for codes in expired_lists for code in codes]  # type: ignore[attr-defined]
    assert len(expired) == len(set(expired))  # each group expired by one worker only

    db = sqlite3.connect(path)
    groups = {
        code: (gid, state, filled, size)
        for gid, code, state, filled, size in db.execute(
            "SELECT id, code, state, filled, size FROM groups"
        )
    }
    members = Counter(gid for (gid,) in db.execute("SELECT group_id FROM group_members"))
    rewards = Counter(
        key.split(":")[1]
        for (key,) in db.execute("SELECT key FROM rewards WHERE key LIKE 'group:%'")
    )
    per_member = db.execute(
        "SELECT COUNT(*) FROM (SELECT customer_id, key FROM rewards WHERE key LIKE 'group:%'"
        " GROUP BY customer_id, key HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    events = Counter(
        (kind, json.loads(payload)["group_id"])
        for kind, payload in db.execute(
            "SELECT type, payload FROM events WHERE type IN ('group.completed', 'group.expired')"
        )
    )
    db.close()

    assert len(groups) == GROUPS
    assert per_member == 0
    completed = {c for c, (_, state, _, _) in groups.items() if state == "completed"}
    assert set(expired) == {c for c, (_, state, _, _) in groups.items() if state == "expired"}
    assert completed | set(expired) == set(groups)  # nothing left open, nothing cancelled
    for code, (gid, state, filled, size) in groups.items():
        assert size == sizes[code]
        assert filled <= size
        assert members[gid] == filled  # a place per member, none beyond the count
        assert filled - 1 == sum(1 for c, _ in placed if c == code)
        if state == "completed":
            assert filled == size
            assert rewards[gid] == size  # every member once, initiator included
            assert events["group.completed", gid] == 1
            assert events["group.expired", gid] == 0
        else:
            assert rewards[gid] == 0
            assert events["group.expired", gid] == 1
            assert events["group.completed", gid] == 0
    # the groups with enough joiners all filled; the short ones all expired
    assert len(completed) == GROUPS - GROUPS // 5


def _race_threads(store: object) -> None:
    """Eight threads join 100 groups of 3 to 5, each pair twice: each fills once, rewarded once."""
    import contextlib
    import threading

    import referralkit as rk

    assert isinstance(store, rk.Store)
    program = rk.ReferralProgram(
        store=store,
        secret=b"group-race secret, 32 bytes or more!!",
        policy=REWARD,
        guards=[],
    )
    rng = random.Random(7)
    deadline = datetime.now(timezone.utc) + timedelta(hours=1)
    sizes: dict[str, int] = {}
    pairs: list[tuple[str, str]] = []
    for n in range(100):
        size = rng.randint(3, 5)
        group = program.groups.start(f"init-{n % 25}", size=size, deadline=deadline, reward=REWARD)
        sizes[group.code] = size
        pairs += [(group.code, f"g{n}-m{j}") for j in range(size + 2)] * 2
    rng.shuffle(pairs)

    def join(code: str, member: str) -> None:
        with contextlib.suppress(rk.GroupClosed):
            program.groups.join(code, member)

    def run(mine: list[tuple[str, str]]) -> None:
        for code, member in mine:
            join(code, member)

    threads = [threading.Thread(target=run, args=(pairs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    completed = Counter(
        e.payload["code"] for e in program.pending_events(100_000) if e.type == "group.completed"
    )
    for code, size in sizes.items():
        group = program.groups.get(code)
        assert group.filled == size
        assert completed[code] == 1
        rewarded = [
            m
            for m in group.members
            for r in program.rewards(m)
            if r.key.startswith(f"group:{group.id}:")
        ]
        assert sorted(rewarded) == sorted(group.members)


@pytest.mark.memory
def test_racing_threads_fill_each_group_once_on_the_memory_store() -> None:
    """The same race, eight threads on one `MemoryStore` (processes cannot share one)."""
    from referralkit.storage import MemoryStore

    _race_threads(MemoryStore())


@pytest.mark.postgres
def test_racing_threads_fill_each_group_once_on_postgres(postgres_engine: object) -> None:
    """The same race on `SQLAlchemyStore` over PostgreSQL: the database decides every place."""
    from conftest import empty_postgres
    from referralkit.storage import SQLAlchemyStore

    empty_postgres(postgres_engine)
    store = SQLAlchemyStore(postgres_engine)  # type: ignore[arg-type]
    try:
        _race_threads(store)
    finally:
        store.close()
