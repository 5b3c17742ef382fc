"""Guard overhead per attribution on MemoryStore: the default guards against none.

The same seeded population is attributed twice, once with ``guards=[]`` and once with
the default guards; the difference per attribution is the guards' cost (reading
their history and judging). Identities are hashed in both runs, so hashing is not
counted. Budget: 50 microseconds per attribution.
Run: ``python bench/guards.py [attributions] [rounds]``.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"bench-secret-0123456789abcdef-0123456789"
BUDGET_US = 50.0


def population(
    n: int, seed: int = 7
) -> tuple[list[tuple[str, rk.Identity]], list[tuple[int, str, rk.Identity]]]:
    """Referrers with identities, and referees each pointing at one referrer."""
    rng = random.Random(seed)
    referrers = [
        (
            f"ref-{i}",
            rk.Identity(
                email=f"referrer{i}@example.com",
                ip=f"10.{i % 200}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                device_id=f"dev-r{i}",
            ),
        )
        for i in range(max(n // 8, 1))
    ]
    referees = [
        (
            rng.randrange(len(referrers)),
            f"new-{j}",
            rk.Identity(
                email=f"friend{j}@mail.example",
                ip=f"172.{j % 16}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                device_id=f"dev-{j}",
                payment_fingerprint=f"card{j}",
            ),
        )
        for j in range(n)
    ]
    return referrers, referees


def run(guards: list[rk.Guard] | None, n: int) -> float:
    """Seconds spent attributing ``n`` referees (enrolment not counted)."""
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    program = rk.ReferralProgram(
        store=MemoryStore(),
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=guards,
        hold=timedelta(days=14),
        clock=clock,
    )
    referrers, referees = population(n)
    codes = [program.enroll(cid, identity=who).code for cid, who in referrers]
    start = time.perf_counter()
    for index, cid, who in referees:
        program.attribute(code=codes[index], referee=cid, identity=who)
        clock.advance(seconds=30)
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    bare, guarded = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        bare.append(run([], n) / n * 1e6)
        guarded.append(run(None, n) / n * 1e6)
    base, full = statistics.median(bare), statistics.median(guarded)
    print(f"attributions per round: {n}, rounds: {rounds}, MemoryStore")
    print(f"{'guards':<18}{'us/attribution (median)':>26}{'min':>10}")
    print(f"{'none (guards=[])':<18}{base:>26.1f}{min(bare):>10.1f}")
    print(f"{'default_guards()':<18}{full:>26.1f}{min(guarded):>10.1f}")
    overhead = full - base
    verdict = "within" if overhead <= BUDGET_US else "OVER"
    print(
        f"guard overhead: {overhead:.1f} us per attribution"
        f" ({verdict} the {BUDGET_US:.0f} us budget)"
    )


if __name__ == "__main__":
    main()
