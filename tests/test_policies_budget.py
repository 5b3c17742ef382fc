"""A budget shared by threads and processes on one SQLite file is never overspent.

Every worker delivers every order (in its own shuffled order), so conversions race for
the last of the budget and for the referrer's milestone; the program evaluates policies
inside its serialised transaction, so the budget ends exactly spent, never over, and the
milestone is paid once.
"""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path

import pytest

import referralkit as rk
from _together import run_together
from referralkit.policies import AllOf, Budget, DoubleSided, Fixed, Milestone
from referralkit.storage import SQLiteStore

SECRET = b"budget-concurrency-secret-0123456789ab"
BUDGET = rk.Money("1000", "USD")
FRIENDS = 120  # 120 orders x 15 USD asked for = 1800 USD > the budget
HERE = Path(__file__).parent


def budget_program(path: str) -> rk.ReferralProgram:
    """The program every worker builds on the shared file (the same terms everywhere)."""
    return rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=SECRET,
        guards=[],
        policy=Budget(
            DoubleSided(
                referrer=AllOf(
                    Fixed(rk.Money("10", "USD")), Milestone({50: Fixed(rk.Money("7", "USD"))})
                ),
                referee=Fixed(rk.Money("5", "USD")),
            ),
            total=BUDGET,
        ),
    )


def deliver(path: str, seed: int) -> None:
    """Deliver every order once, in a shuffled order."""
    program = budget_program(path)
    friends = list(range(FRIENDS))
    random.Random(seed).shuffle(friends)
    for i in friends:
        program.convert(referee=f"f{i}", order_id=f"o-{i}", amount=rk.Money("30", "USD"))
    program.store.close()


WORKER = (
    "import sys; sys.path.insert(0, sys.argv[1]); import {module} as m;"
    " m.deliver(sys.argv[2], int(sys.argv[3]))"
)


@pytest.mark.slow
def test_concurrent_workers_never_overspend_a_budget_nor_pay_a_milestone_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "budget.db"
    program = budget_program(str(path))
    code = program.enroll("ann").code
    for i in range(FRIENDS):
        program.attribute(code=code, referee=f"f{i}")
    program.store.close()

    script = WORKER.format(module=Path(__file__).stem)
    run_together(
        [[sys.executable, "-c", script, str(HERE), str(path), str(seed)] for seed in range(3)],
        lambda i: deliver(str(path), 100 + i),
        threads=6,
    )

    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM conversions").fetchone()[0] == FRIENDS
    finally:
        db.close()
    program = budget_program(str(path))
    try:
        rewards = [
            r for c in ("ann", *(f"f{i}" for i in range(FRIENDS))) for r in program.rewards(c)
        ]
        spent = sum((r.amount for r in rewards if r.amount is not None), rk.Money.zero("USD"))
        assert spent == BUDGET  # used up exactly: enough was asked for, and never more
        milestones = [r for r in rewards if r.key.startswith("milestone:")]
        assert len(milestones) == 1
        assert len({r.order_id for r in rewards}) == len(
            {r.order_id for r in rewards if r.order_id}
        )
    finally:
        program.store.close()
