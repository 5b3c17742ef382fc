"""A realistic simulated shop, run by ``referralkit demo``.

Hundreds of customers enrol, share links on several channels, friends sign up with
links or typed codes, place first and repeat orders; a few refund, a few cheat (with
their own id or a second account under an email alias: the default guards block
them), and partners at one home are held for review, which the shop approves weekly.
Everything goes through the public `ReferralProgram` API on an SQLite file, and the
run ends with the program's metrics report.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from referralkit.errors import ReferralError
from referralkit.metrics import format_report
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


# How the simulated shop behaves, per day.
SHARE_BY_LINK = 0.7  # the rest type the code at checkout
FRIEND_BUYS = 0.6
SELF_REFERRAL_ATTEMPT = 0.3
ALIAS_ACCOUNT = 0.5  # of cheats: a second account under an email alias, not their own id
HOUSEHOLD_FRIEND = 0.1
REVIEW_EVERY_DAYS = 7  # a partner at the referrer's home, on the same IP and address
REPEAT_ORDER = 0.5
REFUND = 0.15
HOST_PAYS_OUT = 0.5


class _Shop:
    """The simulated shop: customers, their codes and orders, driven day by day."""

    def __init__(self, program: ReferralProgram, rng: random.Random, customers: int) -> None:
        self.program = program
        self.rng = rng
        population = [f"cust-{n:04d}" for n in range(customers)]
        self.members = population[: customers // 2]
        self.prospects = population[customers // 2 :]
        rng.shuffle(self.prospects)
        self.codes: dict[str, str] = {}
        self.orders: list[tuple[str, str]] = []
        self.counts: Counter[str] = Counter()

    def enrol_some(self) -> None:
        for member in self.rng.sample(self.members, k=max(1, len(self.members) // 20)):
            if member not in self.codes:
                self.codes[member] = self.program.enroll(member, identity=self.home(member)).code
                self.counts["enrolled"] += 1

    @staticmethod
    def home(customer: str) -> Identity:
        """A customer's own email, and the IP and address of their home."""
        n = int(customer.removeprefix("cust-"))
        return Identity(
            email=f"{customer}@example.com",
            ip=f"198.51.{n // 250}.{n % 250 + 1}",
            address=f"{n} Market Street, Springfield",
        )

    def invite_some(self) -> None:
        for referrer in self.rng.sample(sorted(self.codes), k=min(len(self.codes), 3)):
            if not self.prospects:
                return
            self.invite(referrer, self.prospects.pop())

    def invite(self, referrer: str, friend: str) -> None:
        self.counts["invited"] += 1
        code = self.codes[referrer]
        identity = Identity(email=f"{friend}@example.org")
        if self.rng.random() < HOUSEHOLD_FRIEND:
            home = self.home(referrer)
            identity = Identity(email=identity.email, ip=home.ip, address=home.address)
        try:
            if self.rng.random() < SHARE_BY_LINK:
                url = self.program.link(code, channel=self.rng.choice(CHANNELS))
                self.program.track_click(url, visitor=f"visitor-{friend}")
                ref = self.program.attribute(
                    referee=friend, visitor=f"visitor-{friend}", identity=identity
                )
            else:
                ref = self.program.attribute(code=code.lower(), referee=friend, identity=identity)
        except ReferralError:
            self.counts["refused"] += 1
            return
        if ref is None:  # followed no link after all: a plain sign-up
            self.counts["refused"] += 1
            return
        self.members.append(friend)
        if ref.status is not ReferralStatus.REJECTED and self.rng.random() < FRIEND_BUYS:
            order_id = f"order-{len(self.orders) + 1}"
            amount = Money.from_minor(self.rng.randint(1500, 20000), "USD")
            self.program.convert(referee=friend, order_id=order_id, amount=amount)
            self.program.convert(referee=friend, order_id=order_id, amount=amount)  # a retry
            self.orders.append((order_id, friend))

    def browse(self) -> None:
        """Some shared links are clicked by people who never sign up."""
        for referrer in self.rng.sample(sorted(self.codes), k=min(len(self.codes), 4)):
            url = self.program.link(self.codes[referrer], channel=self.rng.choice(CHANNELS))
            self.program.track_click(url, visitor=f"browser-{self.rng.randrange(10**6)}")

    def cheat_sometimes(self) -> None:
        if self.codes and self.rng.random() < SELF_REFERRAL_ATTEMPT:
            cheat = self.rng.choice(sorted(self.codes))
            self.counts["fraud_attempts"] += 1
            if self.rng.random() >= ALIAS_ACCOUNT:
                self.program.attribute(code=self.codes[cheat], referee=cheat)
                return
            # A second account, signing up as "first.last+deals" from the same home.
            n = self.counts["fraud_attempts"]
            alias = Identity(email=f"{cheat}+deals{n}@example.com", ip=self.home(cheat).ip)
            self.program.attribute(
                code=self.codes[cheat], referee=f"{cheat}-alt{n}", identity=alias
            )

    def review(self) -> None:
        """The shop's support team works the review queue: households are approved."""
        for referral in self.program.review_queue():
            self.program.approve(referral.id)
            self.counts["approved"] += 1

    def repeat_orders(self, day: int) -> None:
        for order_id, customer in self.rng.sample(self.orders, k=min(len(self.orders), 2)):
            if self.rng.random() < REPEAT_ORDER:
                repeat = f"{order_id}-r{day}"
                self.program.convert(
                    referee=customer, order_id=repeat, amount=Money("42.50", "USD")
                )
                self.orders.append((repeat, customer))

    def refund_sometimes(self) -> None:
        if self.orders and self.rng.random() < REFUND:
            order_id, _ = self.rng.choice(self.orders)
            try:
                self.program.refund(order_id=order_id)
                self.counts["refunds"] += 1
            except ReferralError:
                self.counts["refused"] += 1

    def pay_out(self) -> None:
        for reward in self.program.release_due():
            if self.rng.random() < HOST_PAYS_OUT:
                self.program.mark_paid(reward.id)


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
    shop = _Shop(program, rng, customers)
    for day in range(days):
        clock.now += timedelta(days=1)
        shop.enrol_some()
        shop.invite_some()
        shop.browse()
        shop.cheat_sometimes()
        if (day + 1) % REVIEW_EVERY_DAYS == 0:
            shop.review()
        shop.repeat_orders(day)
        shop.refund_sometimes()
        shop.pay_out()
        if (day + 1) % 10 == 0:
            c = shop.counts
            out(
                f"  day {day + 1:>3}: {c['enrolled']} enrolled, {c['invited']} invited,"
                f" {len(shop.orders)} orders, {c['refunds']} refunds"
            )
    _summary(program, sorted(shop.codes), out)
    out("")
    out(format_report(program.metrics(by="referrer", top=5)).rstrip("\n"))
    store.close()
    return dict(shop.counts)


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
        earned = (
            sum((m.amount for m in status.held.values()), 0)
            + sum((m.amount for m in status.available.values()), 0)
            + sum((m.amount for m in status.paid.values()), 0)
        )
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
