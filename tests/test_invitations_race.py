"""Four processes x four threads redeem one invitation with three uses on one SQLite file.

Each process tries its own six customers and three customers every process shares. The
store decides the count (one conditional UPDATE, a unique (invitation, customer)):
exactly three customers are signed up, each once, with one referral and one event each.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import referralkit as rk
from _invitation_workers import program_on

pytestmark = [pytest.mark.sqlite, pytest.mark.slow]  # it spawns processes

WORKERS = Path(__file__).with_name("_invitation_workers.py")
PROCESSES = 4
USES = 3
# The workers import the referralkit this test imported (a checkout's src, not an install).
ENV = {**os.environ, "PYTHONPATH": str(Path(rk.__file__).parents[1])}


def test_racing_redeems_sign_up_exactly_as_many_customers_as_the_uses(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    program = program_on(str(path))
    code = program.invitations.issue("ann", uses=USES).code
    program.store.close()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), "redeem", str(path), code, str(k)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for k in range(PROCESSES)
    ]
    outs = []
    for p in procs:
        stdout, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(json.loads(stdout))

    signed = {c for out in outs for c in out["signed"]}
    assert len(signed) == USES
    assert sum(out["refused"] for out in outs) > 0  # the race was real
    db = sqlite3.connect(path)
    (used,) = db.execute("SELECT used FROM invitations WHERE code = ?", (code,)).fetchone()
    redeemed = {c for (c,) in db.execute("SELECT customer FROM invitation_redemptions")}
    referrals = Counter(
        r for (r,) in db.execute("SELECT referee FROM referrals WHERE status = 'pending'")
    )
    events = db.execute("SELECT COUNT(*) FROM events WHERE type = 'invitation.redeemed'")
    (event_count,) = events.fetchone()
    db.close()
    assert used == USES
    assert redeemed == signed
    assert referrals == Counter(dict.fromkeys(signed, 1))
    assert event_count == USES
