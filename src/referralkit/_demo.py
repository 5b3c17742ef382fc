"""A realistic simulated shop, run by ``referralkit demo``.

Hundreds of customers enrol, share links on several channels, friends sign up with
links or typed codes, place first and repeat orders; a few refund, a few cheat.
Everything goes through the public `ReferralProgram` API on an SQLite file.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from referralkit.errors import ReferralError
from referralkit.model import Identity, ReferralStatus, RewardState
from referralkit.money import Money
from referralkit.policies import DoubleSided, Fixed
from referralkit.program import ReferralProgram
from referralkit.storage import SQLiteStore

__all__ = ["run_demo"]

CHANNELS = ("whatsapp", "email", "sms", "x", "facebook", "telegram", "line", "copy")
DEMO_SECRET = b"referralkit-demo-secret-not-for-production!"


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(
    path: Path,
    *,
    customers: int = 400,
    days: int = 60,
    seed: int = 7,
    out: Callable[[str], None] = print,
) -> dict[str, int]:
    """Simulate ``days`` of a shop with ``customers`` customers; returns summary counts."""
    rng = random.Random(seed)
    _fresh(path)
    clock = _Clock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    store = SQLiteStore(path)
    program = ReferralProgram(
        store=store,
        secret=DEMO_SECRET,
        policy=DoubleSided(referrer=Fixed(Money("10", "USD")), referee=Fixed(Money("5", "USD"))),
        link_base="https://shop.example/r",
        hold=timedelta(days=14),
        clock=clock,
        rng=rng.randbytes,
    )
    out(f"referralkit demo: {customers} customers over {days} days -> {path}")
    population = [f"cust-{n:04d}" for n in range(customers)]
    members = population[: customers // 2]
    prospects = population[customers // 2 :]
    rng.shuffle(prospects)
    codes: dict[str, str] = {}
    orders: list[tuple[str, str]] = []
    counts: Counter[str] = Counter()
    for day in range(days):
        clock.now += timedelta(days=1)
        for member in rng.sample(members, k=max(1, len(members) // 20)):
            if member not in codes:
                email = f"{member}@example.com"
                codes[member] = program.enroll(member, identity=Identity(email=email)).code
                counts["enrolled"] += 1
        for referrer in rng.sample(sorted(codes), k=min(len(codes), 3)):
            if not prospects:
                break
            friend = prospects.pop()
            counts["invited"] += 1
            try:
                if rng.random() < 0.7:
                    url = program.link(codes[referrer], channel=rng.choice(CHANNELS))
                    ref = program.attribute(link=url, referee=friend)
                else:
                    ref = program.attribute(code=codes[referrer].lower(), referee=friend)
            except ReferralError:
                counts["refused"] += 1
                continue
            members.append(friend)
            if ref.status is not ReferralStatus.REJECTED and rng.random() < 0.6:
                order_id = f"order-{len(orders) + 1}"
                amount = Money.from_minor(rng.randint(1500, 20000), "USD")
                program.convert(referee=friend, order_id=order_id, amount=amount)
                program.convert(referee=friend, order_id=order_id, amount=amount)  # a webhook retry
                orders.append((order_id, friend))
        if codes and rng.random() < 0.3:
            cheat = rng.choice(sorted(codes))
            program.attribute(code=codes[cheat], referee=cheat)  # self-referral attempt
            counts["fraud_attempts"] += 1
        for order_id, customer in rng.sample(orders, k=min(len(orders), 2)):
            if rng.random() < 0.5:
                repeat = f"{order_id}-r{day}"
                program.convert(referee=customer, order_id=repeat, amount=Money("42.50", "USD"))
                orders.append((repeat, customer))
        if orders and rng.random() < 0.15:
            order_id, _ = rng.choice(orders)
            try:
                program.refund(order_id=order_id)
                counts["refunds"] += 1
            except ReferralError:
                pass
        for reward in program.release_due():
            if rng.random() < 0.5:
                program.mark_paid(reward.id)
        if (day + 1) % 10 == 0:
            out(
                f"  day {day + 1:>3}: {counts['enrolled']} enrolled, {counts['invited']} invited,"
                f" {len(orders)} orders, {counts['refunds']} refunds"
            )
    _summary(program, sorted(codes), out)
    store.close()
    return dict(counts)


def _summary(program: ReferralProgram, referrers: list[str], out: Callable[[str], None]) -> None:
    statuses: Counter[str] = Counter()
    reward_states: Counter[str] = Counter()
    reward_totals: dict[str, Money] = {}
    leaderboard = []
    customers = set(referrers)
    for referrer in referrers:
        status = program.status(referrer)
        statuses["pending"] += status.pending
        statuses["qualified"] += status.qualified
        statuses["review"] += status.in_review
        statuses["rejected"] += status.rejected
        earned = sum((m.amount for m in status.held.values()), 0) + sum(
            (m.amount for m in status.available.values()), 0
        ) + sum((m.amount for m in status.paid.values()), 0)
        leaderboard.append((status.qualified, earned, referrer))
    with program.store.transaction() as uow:
        for referrer in referrers:
            customers.update(uow.referrals.referees_of(referrer))
    for customer in sorted(customers):
        for reward in program.rewards(customer):
            reward_states[reward.state.value] += 1
            value = reward.amount if reward.state is not RewardState.REVERSED else None
            if value is not None:
                key = reward.state.value
                reward_totals[key] = reward_totals.get(key, Money.zero("USD")) + value
    out("")
    out("referrals")
    for name in ("pending", "qualified", "review", "rejected"):
        out(f"  {name:<12}{statuses[name]:>8}")
    out("rewards by state")
    for state in RewardState:
        total = reward_totals.get(state.value)
        out(f"  {state.value:<12}{reward_states[state.value]:>8}  {total or '-'}")
    out("top referrers")
    out(f"  {'customer':<12}{'qualified':>10}{'earned':>12}")
    for qualified, earned, referrer in sorted(leaderboard, reverse=True)[:5]:
        out(f"  {referrer:<12}{qualified:>10}{earned:>12}")
