"""A realistic simulated shop, run by ``referralkit demo``.

Hundreds of customers enrol, share links on several channels, friends sign up with
links or typed codes, place first and repeat orders; a few refund, a few cheat (with
their own id or a second account under an email alias: the default guards block
them), and partners at one home are held for review, which the shop approves weekly.
Every few days a member starts a group-buy of three that friends join (a credit for
each member once it fills, or nothing when its deadline passes), and when an order is
delivered the shop asks whether to invite the customer at that moment. People also join
the waitlist of a limited drop, move up by bringing others, and are admitted weekly with
an invitation of their own. Beside the customer referrals run two influencers and an
affiliate (`referralkit._demo_partners`): posts with fees and engagement, orders with
their codes at checkout, so the report's programme comparison shows all three.
Everything goes through the public `ReferralProgram` API on an SQLite file, and the
run ends with the program's metrics report: every figure the demo prints comes from
that report (`referralkit.metrics.DEFINITIONS`), except the ledger's rewards by state,
which say how they add up to the report's rewards cost.

The demo only ever replaces a database it made itself: its files carry
`DEMO_APPLICATION_ID` in the SQLite header (``PRAGMA application_id``).
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from referralkit._demo_partners import PartnerShop, SwitchableBytes
from referralkit.errors import InvalidInput, ReferralError
from referralkit.metrics import DEFINITIONS, format_report
from referralkit.model import GroupState, Identity, ReferralStatus, RewardState
from referralkit.moments import DELIVERED
from referralkit.money import Money
from referralkit.policies import DoubleSided, Fixed
from referralkit.program import ReferralProgram
from referralkit.storage import SQLiteStore

if TYPE_CHECKING:
    from referralkit.metrics import MetricsReport

__all__ = ["DEMO_APPLICATION_ID", "is_demo_database", "run_demo"]

CHANNELS = ("whatsapp", "email", "sms", "x", "facebook", "telegram", "line", "copy")
DEMO_SECRET = b"referralkit-demo-secret-not-for-production!"


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


#: ``PRAGMA application_id`` of a demo database ("RKDm"): the mark that lets a later run
#: replace it, and refuse any other file.
DEMO_APPLICATION_ID = 0x524B446D
_SQLITE_HEADER = b"SQLite format 3\x00"
_APPLICATION_ID_AT = slice(68, 72)  # in the database header, big-endian


def _companions(path: Path) -> list[Path]:
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


def is_demo_database(path: Path) -> bool:
    """True when ``path`` is an SQLite file the demo created (its header carries the mark)."""
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except OSError:
        return False
    return (
        header.startswith(_SQLITE_HEADER)
        and int.from_bytes(header[_APPLICATION_ID_AT], "big") == DEMO_APPLICATION_ID
    )


def _fresh(path: Path, *, force: bool) -> None:
    """Make ``path`` a new, marked demo database; replace only a previous demo's files.

    Anything else found there (another application's database, a live program, a
    leftover ``-wal``) is refused with `InvalidInput`, unless ``force``.
    """
    if path.is_dir():
        raise InvalidInput(
            f"{path} is a directory; give the demo a file,"
            f" e.g. --db {path / 'referralkit-demo.db'}",
            value=str(path),
            field="db",
        )
    if not path.parent.is_dir():
        raise InvalidInput(
            f"cannot create {path}: the folder {path.parent} does not exist",
            value=str(path),
            field="db",
        )
    found = [p for p in _companions(path) if p.exists() or p.is_symlink()]
    if found and not force and not is_demo_database(path):
        raise InvalidInput(
            f"{found[0]} exists and is not a database made by the demo: not replacing it;"
            " choose another --db, or pass --force to replace it",
            value=str(found[0]),
            field="db",
        )
    try:
        for p in found:
            p.unlink()
        conn = sqlite3.connect(path)
        try:
            conn.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
            conn.commit()
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        raise InvalidInput(f"cannot create {path}: {exc}", value=str(path), field="db") from exc


# How the simulated shop behaves, per day.
SHARE_BY_LINK = 0.7  # the rest type the code at checkout
FRIEND_BUYS = 0.6
SELF_REFERRAL_ATTEMPT = 0.3
ALIAS_ACCOUNT = 0.5  # of cheats: a second account under an email alias, not their own id
HOUSEHOLD_FRIEND = 0.1
REVIEW_EVERY_DAYS = 7  # a partner at the referrer's home, on the same IP and address
REPEAT_ORDER = 0.5
REFUND = 0.15
GROUP_EVERY_DAYS = 4  # a member starts a group-buy of three: 8 USD credit each once full
GROUP_JOIN = 0.6  # each day, the chance an open group gets a new member
DELIVERY_DAYS = 3  # an order arrives; the shop then asks whether to invite (moments)
SHARES_INVITATION = 0.5
WAITLIST_JOIN = 0.5  # each day, the chance someone joins the waitlist of the next drop
WAITLIST_BY_CODE = 0.5  # of them: through a waitlister's code, which moves that one up
ADMIT_EVERY_DAYS = 7  # the shop admits the top of the waitlist weekly
ADMIT = 2
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
        self.referees: list[str] = []
        self.cheats = 0
        self.day = 0
        self.open_groups: list[str] = []  # their codes
        self.to_deliver: list[tuple[int, str, str]] = []  # (day, order id, customer)
        self.waiting: list[str] = []
        self.partners: PartnerShop | None = None

    def customers(self) -> list[str]:
        """Everyone who may hold a reward: the enrolled and the friends attributed."""
        return sorted({*self.codes, *self.referees})

    def enrol_some(self) -> None:
        for member in self.rng.sample(self.members, k=max(1, len(self.members) // 20)):
            if member not in self.codes:
                self.codes[member] = self.program.enroll(member, identity=self.home(member)).code

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
            return  # e.g. the friend was already referred by someone else
        if ref is None:  # followed no link after all: a plain sign-up
            return
        self.members.append(friend)
        self.referees.append(friend)
        if ref.status is not ReferralStatus.REJECTED and self.rng.random() < FRIEND_BUYS:
            order_id = f"order-{len(self.orders) + 1}"
            amount = Money.from_minor(self.rng.randint(1500, 20000), "USD")
            self.program.convert(referee=friend, order_id=order_id, amount=amount)
            self.program.convert(referee=friend, order_id=order_id, amount=amount)  # a retry
            self.orders.append((order_id, friend))
            self.to_deliver.append((self.day + DELIVERY_DAYS, order_id, friend))

    def group_buys(self) -> None:
        """Groups past their deadline expire; now and then a member starts one; friends join."""
        program = self.program
        program.groups.expire_due()
        self.open_groups = [
            code
            for code in self.open_groups
            if (group := program.groups.get(code)) is not None and group.state is GroupState.OPEN
        ]
        if (self.day + 1) % GROUP_EVERY_DAYS == 0 and self.codes:
            initiator = self.rng.choice(sorted(self.codes))
            group = program.groups.start(
                initiator,
                size=3,
                deadline=program.clock() + timedelta(days=5),
                reward=Fixed(Money("8", "USD"), kind="credit"),
                identity=self.home(initiator),
            )
            self.open_groups.append(group.code)
        for code in self.open_groups:
            if self.prospects and self.rng.random() < GROUP_JOIN:
                friend = self.prospects.pop()
                place = program.groups.join(
                    code, friend, identity=Identity(email=f"{friend}@example.org")
                )
                if place.accepted:
                    self.members.append(friend)
                    self.referees.append(friend)

    def waitlist(self) -> None:
        """People join the waitlist (some through a waitlister's code); weekly the top get in.

        Each person admitted is issued an invitation, and brings a friend with it now and then.
        """
        program = self.program
        if self.prospects and self.rng.random() < WAITLIST_JOIN:
            person = self.prospects.pop()
            code = None
            if self.waiting and self.rng.random() < WAITLIST_BY_CODE:
                code = program.waitlist.code(self.rng.choice(self.waiting))
            program.waitlist.join(
                person, identity=Identity(email=f"{person}@example.net"), code=code
            )
            self.waiting.append(person)
        if (self.day + 1) % ADMIT_EVERY_DAYS:
            return
        for entry in program.waitlist.admit(ADMIT):
            self.waiting.remove(entry.member)
            invitations = program.invitations.held_by(entry.member)
            if invitations and self.prospects and self.rng.random() < FRIEND_BUYS:
                friend = self.prospects.pop()
                identity = Identity(email=f"{friend}@example.org")
                program.invitations.redeem(invitations[0].code, friend, identity=identity)
                self.members.append(friend)
                self.referees.append(friend)

    def ask_after_delivery(self) -> None:
        """Orders arrive; at that moment the shop asks whether to invite the customer."""
        due = [d for d in self.to_deliver if d[0] <= self.day]
        self.to_deliver = [d for d in self.to_deliver if d[0] > self.day]
        for _, order_id, customer in due:
            self.program.delivered(order_id)
            self.program.moments.report(customer, DELIVERED, order_id=order_id)
            decision = self.program.moments.should_invite(customer, DELIVERED)
            if decision.invite and self.rng.random() < SHARES_INVITATION:
                self.program.moments.shared(decision.id, channel=self.rng.choice(CHANNELS))
                if customer not in self.codes:
                    enrolled = self.program.enroll(customer, identity=self.home(customer))
                    self.codes[customer] = enrolled.code

    def browse(self) -> None:
        """Some shared links are clicked by people who never sign up."""
        for referrer in self.rng.sample(sorted(self.codes), k=min(len(self.codes), 4)):
            url = self.program.link(self.codes[referrer], channel=self.rng.choice(CHANNELS))
            self.program.track_click(url, visitor=f"browser-{self.rng.randrange(10**6)}")

    def cheat_sometimes(self) -> None:
        if self.codes and self.rng.random() < SELF_REFERRAL_ATTEMPT:
            cheat = self.rng.choice(sorted(self.codes))
            self.cheats += 1
            if self.rng.random() >= ALIAS_ACCOUNT:
                self.program.attribute(code=self.codes[cheat], referee=cheat)
                return
            # A second account, signing up as "first.last+deals" from the same home.
            n = self.cheats
            alias = Identity(email=f"{cheat}+deals{n}@example.com", ip=self.home(cheat).ip)
            self.referees.append(f"{cheat}-alt{n}")
            self.program.attribute(
                code=self.codes[cheat], referee=f"{cheat}-alt{n}", identity=alias
            )

    def review(self) -> None:
        """The shop's support team works the review queue: households are approved."""
        for referral in self.program.review_queue():
            self.program.approve(referral.id)

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
            with contextlib.suppress(ReferralError):  # e.g. refunded in full already
                self.program.refund(order_id=order_id)

    def pay_out(self) -> None:
        for reward in self.program.release_due():
            if self.partners is not None and self.partners.is_partner_reward(reward):
                continue  # partners are paid through payouts, on the host's schedule
            if self.rng.random() < HOST_PAYS_OUT:
                self.program.mark_paid(reward.id)


def run_demo(
    path: Path,
    *,
    customers: int = 400,
    days: int = 60,
    seed: int = 7,
    force: bool = False,
    out: Callable[[str], None] = print,
) -> MetricsReport:
    """Simulate ``days`` of a shop with ``customers`` customers; returns the final report.

    ``path`` must be free, or a previous demo's database (replaced), unless ``force``.
    """
    rng = random.Random(seed)
    _fresh(path, force=force)
    clock = _Clock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    ids = SwitchableBytes(rng)
    store = SQLiteStore(path)
    try:
        program = ReferralProgram(
            store=store,
            secret=DEMO_SECRET,
            policy=DoubleSided(
                referrer=Fixed(Money("10", "USD")), referee=Fixed(Money("5", "USD"))
            ),
            link_base="https://shop.example/r",
            hold=timedelta(days=14),
            clock=clock,
            rng=ids,
        )
        shop = _Shop(program, rng, customers)
        shop.partners = PartnerShop(program, random.Random(f"{seed}-partners"), ids)
        out(
            f"referralkit demo: a shop of {customers} customers ({len(shop.members)} at the"
            f" start, {len(shop.prospects)} friends they may invite) over {days} days -> {path}"
        )
        out("  progress, as the metrics report counts it (referralkit.metrics.DEFINITIONS):")
        for day in range(days):
            clock.now += timedelta(days=1)
            shop.day = day
            shop.enrol_some()
            shop.invite_some()
            shop.browse()
            shop.cheat_sometimes()
            shop.group_buys()
            shop.waitlist()
            shop.ask_after_delivery()
            if (day + 1) % REVIEW_EVERY_DAYS == 0:
                shop.review()
            shop.repeat_orders(day)
            shop.refund_sometimes()
            shop.partners.day(day)
            shop.pay_out()
            if (day + 1) % 10 == 0:
                out(f"  day {day + 1:>3}: {_progress(program.metrics())}")
        report = program.metrics(by=["referrer", "programme"], top=5)
        out("")
        for line in _ledger(program, shop.customers(), report):
            out(line)
        out("")
        out(
            f"{report.enrolled} of the shop's {customers} customers enrolled (own a code):"
            " the report's 'enrolled'."
        )
        out("")
        out(format_report(report).rstrip("\n"))
    finally:
        store.close()
    return report


#: The figures of the progress lines, by their `DEFINITIONS` names.
PROGRESS = ("enrolled", "attributions", "referrals", "converted", "orders")


def progress_figures(report: MetricsReport) -> dict[str, int]:
    """The figures of a progress line: the report's, orders in USD (the demo's currency)."""
    section = report.section("USD")
    figures = {n: getattr(report, n) for n in PROGRESS if n != "orders"}
    figures["orders"] = 0 if section is None else section.orders
    return figures


def _progress(report: MetricsReport) -> str:
    figures = progress_figures(report)
    return ", ".join(f"{figures[n]} {DEFINITIONS[n].label}" for n in PROGRESS)


def _ledger(program: ReferralProgram, customers: list[str], report: MetricsReport) -> list[str]:
    """Every reward by state, and how the states add up to the report's rewards cost."""
    counts: Counter[RewardState] = Counter()
    totals = dict.fromkeys(RewardState, Money.zero("USD"))
    owed = Money.zero("USD")  # what reversed rewards had already paid out (their clawback)
    recovered = Money.zero("USD")
    for customer in customers:
        for reward in program.rewards(customer):
            counts[reward.state] += 1
            # A reversed reward is worth nothing now: show what it was granted at.
            value = reward.granted if reward.state is RewardState.REVERSED else reward.amount
            if value is not None:
                totals[reward.state] += value
            if reward.state is RewardState.REVERSED and reward.clawback is not None:
                owed += reward.clawback
            if reward.recovered is not None:
                recovered += reward.recovered
    kept = sum((totals[s] for s in RewardState if s is not RewardState.REVERSED), Money.zero("USD"))
    kept = kept + owed - recovered
    section = report.section("USD")
    cost = Money.zero("USD") if section is None else Money(section.rewards_cost, "USD")
    lines = ["Rewards by state (the ledger)"]
    lines += [
        f"  {state.value:<12}{counts[state]:>8}  {totals[state].amount:>12,}"
        for state in RewardState
    ]
    lines.append(f"  {'recovered':<12}{'':>8}  {recovered.amount:>12,}")
    cost_label = DEFINITIONS["rewards_cost"].label
    lines.append(
        f"  held + available + paid - recovered = {kept.amount:,} USD, the report's"
        f" {cost_label} ({cost.amount:,} USD)"
    )
    lines.append(
        "  recovered: clawbacks of refunded paid rewards netted against later rewards"
        " or settled; a reversed reward's clawback not yet recovered still costs"
    )
    lines.append(
        "  reversed rewards (their orders were refunded) show what they were granted at;"
        " they cost nothing"
    )
    return lines
