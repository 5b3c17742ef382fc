"""How well the default guards tell fraud from honest referrals, on a labelled population.

A seeded generator builds a realistic population and plays it through a real
`ReferralProgram` on `MemoryStore` with the default guards, then reports, per kind of
referral, how many were allowed, sent to review and blocked.

Honest kinds: friends at other homes, household members (same home IP and postal
address), office colleagues (same office IP), namesakes (similar email addresses),
and anyone on a mobile carrier's shared addresses. Fraud kinds: self-referral with an
email alias, with a second device and a fresh email at home, with the same card, with
the same phone; an existing customer under a new account; throwaway emails; bursts
from a bot farm behind a few proxy networks; rings (A refers B refers A).

Referrals are attributed at checkout (the code typed there), so the card is known.
"Flagged" means review or block. Targets: every self-referral kind that leaves a
signal flagged at least 99% of the time; honest households never blocked; overall
false-block rate under 0.5%.

Partner codes at checkout (the second table) run the partner rules with their defaults
(`OwnCode`, `LeakedCode(limit=50, window=1h)`). Honest kinds: buyers who clicked the
partner's link, buyers who typed a code they heard at a normal pace, and a popular
partner's viral post (hundreds of orders in two hours, every buyer clicked). Fraud
kinds: the partner buying through their own code with an email alias, with their
device, with their card, or from a customer account that holds their signals; and a
code leaked to a coupon site (a burst of orders with no click). Targets: own-code
recall 100% on every kind, under 0.5% of honest orders flagged, each leak caught from
the order past the limit on. The honest orders flagged are buyers the generator put at
the partner's postal address (its town has 2,400 addresses: a household, as far as a
shop can tell) and orders without a click typed during a leak of the same code.
Run: ``python bench/fraud_eval.py [seed] [scale]``.
"""

from __future__ import annotations

import random
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import attrs

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed, PercentOfOrder
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"fraud-eval-secret-0123456789abcdef-0123"
HONEST = ("friend", "household", "colleague", "namesake")
SELF_REFERRAL = ("self_alias", "self_second_device", "self_same_card", "self_same_phone")
OTHER_FRAUD = ("existing_customer", "disposable", "burst", "ring")
#: The reasons that are meant to catch each fraud kind (for precision).
DETECTORS: dict[str, tuple[str, ...]] = {
    "self_alias": ("self_referral.email",),
    "self_second_device": ("self_referral.ip", "self_referral.address"),
    "self_same_card": ("self_referral.payment",),
    "self_same_phone": ("self_referral.phone",),
    "existing_customer": ("duplicate_referee.",),
    "disposable": ("disposable_email",),
    "burst": ("velocity.", "shared_signals."),
    "ring": ("referral_cycle",),
}

FIRST = [
    "ann",
    "bob",
    "cara",
    "dan",
    "eve",
    "finn",
    "gus",
    "hana",
    "ivan",
    "jo",
    "kai",
    "lea",
    "max",
    "nia",
    "omar",
    "pia",
    "raj",
    "sue",
    "tom",
    "uma",
]
LAST = [
    "smith",
    "jones",
    "khan",
    "garcia",
    "muller",
    "rossi",
    "novak",
    "dubois",
    "silva",
    "tanaka",
    "olsen",
    "brown",
]
PROVIDERS = ["gmail.com"] * 5 + ["outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de"]
STREETS = ["Baker Street", "High Street", "Elm Avenue", "Mill Road", "Park Lane", "Oak Drive"]
STREET_FORMS = {
    "Street": ["Street", "St", "St.", "street"],
    "Avenue": ["Avenue", "Ave", "ave."],
    "Road": ["Road", "Rd", "rd."],
    "Lane": ["Lane", "Ln"],
    "Drive": ["Drive", "Dr."],
}
DISPOSABLE = [
    "mailinator.com",
    "yopmail.com",
    "guerrillamail.com",
    "sharklasers.com",
    "10minutemail.com",
]


@dataclass
class Person:
    """Everything a shop might learn about one human being."""

    email: str
    phone: str
    device: str
    card: str
    home_ip: str
    address: str


@dataclass
class World:
    """The seeded random source and the address spaces people live in."""

    rng: random.Random
    serial: int = 0
    homes: list[str] = field(default_factory=list)
    carriers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = self.rng
        self.homes = [
            f"{rng.randrange(11, 220)}.{rng.randrange(256)}.{rng.randrange(256)}"
            for _ in range(3000)
        ]
        self.carriers = [f"100.64.{rng.randrange(256)}" for _ in range(16)]  # CGNAT pools

    def next(self) -> int:
        self.serial += 1
        return self.serial

    def ip_in(self, prefix: str) -> str:
        return f"{prefix}.{self.rng.randrange(1, 255)}"

    def signup_ip(self, person: Person) -> str:
        """Where someone signs up from: home mostly, a mobile carrier's shared pool sometimes."""
        if self.rng.random() < 0.25:
            return self.ip_in(self.rng.choice(self.carriers))
        return person.home_ip

    def phone(self) -> str:
        rng = self.rng
        return f"{rng.randrange(201, 990)}{rng.randrange(200, 999)}{rng.randrange(10000):04d}"

    def person(self, *, home_ip: str | None = None, address: str | None = None) -> Person:
        rng, n = self.rng, self.next()
        local = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{n}"
        return Person(
            email=f"{local}@{rng.choice(PROVIDERS)}",
            phone=self.phone(),
            device=str(uuid.UUID(int=rng.getrandbits(128))),
            card=f"card_{rng.getrandbits(64):016x}",
            home_ip=home_ip or self.ip_in(rng.choice(self.homes)),
            address=address or f"{rng.randrange(1, 400)} {rng.choice(STREETS)}, Springfield",
        )


def phone_layout(rng: random.Random, digits: str) -> str:
    """One US number as people type it."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice(
        [f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}", digits]
    )


def address_layout(rng: random.Random, address: str) -> str:
    """One postal address as people type it: case, commas, abbreviations."""
    for word, forms in STREET_FORMS.items():
        if word in address:
            address = address.replace(word, rng.choice(forms))
    address = rng.choice([address, address.upper(), address.lower(), address.replace(",", "")])
    return f" {address} " if rng.random() < 0.2 else address


def email_alias(rng: random.Random, email: str) -> str:
    """Another address that reaches the same mailbox."""
    local, domain = email.split("@")
    if domain == "gmail.com":
        local = local.replace(".", "") if "." in local else local
        local = ".".join(local[i : i + 3] for i in range(0, len(local), 3))
        domain = rng.choice(["gmail.com", "googlemail.com", "GMAIL.com"])
    tag = (
        rng.choice(["", "+promo", "+2", "+ref"])
        if domain.lower() != "gmail.com" or rng.random() < 0.5
        else ""
    )
    if not tag and domain == email.split("@")[1]:
        tag = "+again"
    return f"{rng.choice([local, local.capitalize(), local.upper()])}{tag}@{domain}"


def identity(
    world: World, person: Person, *, ip: str | None = None, **override: str | None
) -> rk.Identity:
    """What the shop learns at checkout: email, device, card, IP; phone and address often."""
    rng = world.rng
    values: dict[str, str | None] = {
        "email": person.email,
        "phone": phone_layout(rng, person.phone) if rng.random() < 0.6 else None,
        "device_id": person.device,
        "payment_fingerprint": person.card,
        "ip": ip or world.signup_ip(person),
        "address": address_layout(rng, person.address) if rng.random() < 0.8 else None,
    }
    values.update(override)
    return rk.Identity(**values)


@dataclass
class Case:
    """One attribution to play: who refers whom, with what the shop sees, and the truth."""

    kind: str
    referrer: str
    referee: str
    identity: rk.Identity
    group: str = ""


@dataclass
class Population:
    """Referrers (enrolled with their identity) and the cases to play, built kind by kind."""

    world: World
    scale: float
    referrers: dict[str, tuple[Person, rk.Identity]] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)
    rings: list[Case] = field(default_factory=list)

    @property
    def rng(self) -> random.Random:
        return self.world.rng

    def count(self, n: int) -> int:
        return max(int(n * self.scale), 1)

    def referrer(self, ip: str | None = None) -> tuple[str, Person]:
        cid = f"c{self.world.next()}"
        person = self.world.person()
        self.referrers[cid] = (person, identity(self.world, person, ip=ip or person.home_ip))
        return cid, person

    def add(self, kind: str, referrer: str, who: rk.Identity, group: str = "") -> None:
        self.cases.append(Case(kind, referrer, f"c{self.world.next()}", who, group))

    def fresh(self, **override: str | None) -> rk.Identity:
        return identity(self.world, self.world.person(), **override)

    def honest(self) -> None:
        rng, world = self.rng, self.world
        for _ in range(self.count(2000)):  # friends at other homes: 1-5 each
            cid, _ = self.referrer()
            for _ in range(rng.choice([1, 1, 2, 3, 5])):
                self.add("friend", cid, self.fresh())
        for _ in range(self.count(1200)):  # a partner or flatmate at the same address
            cid, person = self.referrer()
            mate = world.person(home_ip=person.home_ip, address=person.address)
            self.add("household", cid, identity(world, mate))
        for office in range(self.count(80)):  # colleagues behind one office IP
            office_ip = world.ip_in(rng.choice(world.homes))
            cid, _ = self.referrer(ip=office_ip)
            for _ in range(rng.randrange(2, 12)):
                self.add("colleague", cid, self.fresh(ip=office_ip), f"o{office}")
        for _ in range(self.count(300)):  # different people with look-alike addresses
            cid, person = self.referrer()
            local, domain = person.email.split("@")
            self.add("namesake", cid, self.fresh(email=f"{local.replace('.', '')}1@{domain}"))

    def self_referrals(self) -> None:
        rng, world = self.rng, self.world
        for _ in range(self.count(300)):  # the referrer again under an email alias
            cid, person = self.referrer()
            device = (
                person.device if rng.random() < 0.5 else str(uuid.UUID(int=rng.getrandbits(128)))
            )
            card = person.card if rng.random() < 0.3 else f"card_{rng.getrandbits(64):016x}"
            alias = email_alias(rng, person.email)
            who = identity(world, person, email=alias, device_id=device, payment_fingerprint=card)
            self.add("self_alias", cid, who)
        for _ in range(self.count(200)):  # a fresh mailbox and a second device, at home
            cid, person = self.referrer()
            home = address_layout(rng, person.address)
            self.add("self_second_device", cid, self.fresh(ip=person.home_ip, address=home))
        for _ in range(self.count(200)):  # fresh mailbox and device, anywhere; the same card
            cid, person = self.referrer()
            self.add("self_same_card", cid, self.fresh(payment_fingerprint=person.card))
        for _ in range(self.count(150)):  # fresh mailbox and device; the same (verified) phone
            cid, person = self.referrer()
            phone = phone_layout(rng, person.phone)  # the shop verifies phones: it has both
            self.referrers[cid] = (person, attrs.evolve(self.referrers[cid][1], phone=phone))
            self.add("self_same_phone", cid, self.fresh(phone=phone_layout(rng, person.phone)))

    def other_fraud(self) -> None:
        rng, world = self.rng, self.world
        for _ in range(self.count(150)):  # an existing customer signs up again via a friend
            cid, _ = self.referrer()
            old_cid, old = self.referrer()
            alias = email_alias(rng, old.email)
            who = identity(
                world, old, email=alias, device_id=str(uuid.UUID(int=rng.getrandbits(128)))
            )
            self.add("existing_customer", cid, who, old_cid)
        for _ in range(self.count(200)):  # throwaway mailboxes
            cid, _ = self.referrer()
            self.add(
                "disposable", cid, self.fresh(email=f"x{world.next()}@{rng.choice(DISPOSABLE)}")
            )
        for burst in range(self.count(10)):  # a bot farm: 40 accounts behind 3 proxy networks
            cid, _ = self.referrer()
            proxies = [rng.choice(world.homes) for _ in range(3)]
            for _ in range(40):
                ip = world.ip_in(rng.choice(proxies))
                self.add("burst", cid, self.fresh(ip=ip, address=None, phone=None), f"b{burst}")
        for ring in range(self.count(40)):  # A refers B refers (C refers) A, each its own
            size = rng.choice([2, 3])
            members = [self.referrer()[0] for _ in range(size)]
            for i, member in enumerate(members):
                nxt = members[(i + 1) % size]
                person = self.referrers[nxt][0]
                who = identity(world, person, ip=world.signup_ip(person))
                self.rings.append(Case("ring", member, nxt, who, f"r{ring}"))

    def days(self) -> list[list[Case]]:
        """The cases spread over 30 days; each ring on one day in order, bursts packed."""
        rng = self.rng
        rng.shuffle(self.cases)
        days: list[list[Case]] = [[] for _ in range(30)]
        for case in self.cases:
            days[rng.randrange(30)].append(case)
        ring_groups: dict[str, list[Case]] = defaultdict(list)
        for case in self.rings:
            ring_groups[case.group].append(case)
        for group in ring_groups.values():
            days[rng.randrange(30)].extend(group)
        for day in days:
            day.sort(key=lambda c: (c.kind == "burst", c.group))
        return days


def play(seed: int, scale: float) -> list[tuple[Case, rk.Referral]]:
    built = Population(World(random.Random(seed)), scale)
    built.honest()
    built.self_referrals()
    built.other_fraud()
    referrers, days = built.referrers, built.days()
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    clock = FrozenClock(start)
    program = rk.ReferralProgram(
        store=MemoryStore(),
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        clock=clock,
    )
    codes = {cid: program.enroll(cid, identity=who).code for cid, (_, who) in referrers.items()}
    results = []
    for number, day in enumerate(days, start=1):
        clock.now = start + timedelta(days=number)
        step = timedelta(hours=20) / max(len(day), 1)
        for case in day:
            clock.advance(timedelta(minutes=3) if case.kind == "burst" else step)
            ref = program.attribute(
                code=codes[case.referrer], referee=case.referee, identity=case.identity
            )
            results.append((case, ref))
    return results


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:6.1f}%" if whole else "     -"


def report(results: list[tuple[Case, rk.Referral]]) -> bool:
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    for case, ref in results:
        outcome[case.kind][ref.status.value] += 1
    print(
        f"{'kind':<20}{'label':<8}{'n':>6}{'allowed':>9}{'review':>8}{'blocked':>9}{'flagged':>9}{'blocked%':>9}{'precision':>10}"
    )
    honest_blocked = honest_total = 0
    ok = True
    for kind in (*HONEST, *SELF_REFERRAL, *OTHER_FRAUD):
        c = outcome[kind]
        n = sum(c.values())
        flagged = c["review"] + c["rejected"]
        fraud = kind not in HONEST
        precision = "-"
        if fraud:
            hits = [
                case
                for case, ref in results
                if any(r.startswith(DETECTORS[kind]) for r in ref.reasons)
            ]
            if hits:
                precision = pct(
                    sum(1 for case in hits if case.kind not in HONEST), len(hits)
                ).strip()
        else:
            honest_total += n
            honest_blocked += c["rejected"]
        label = "fraud" if fraud else "honest"
        print(
            f"{kind:<20}{label:<8}{n:>6}{c['pending']:>9}{c['review']:>8}{c['rejected']:>9}"
            f"{pct(flagged, n):>9}{pct(c['rejected'], n):>9}{precision:>10}"
        )
    print()
    groups: dict[str, dict[str, bool]] = {"burst": {}, "ring": {}}
    for case, ref in results:
        if case.kind in groups:
            caught = groups[case.kind].get(case.group, False)
            groups[case.kind][case.group] = caught or ref.status.value != "pending"
    for kind, caught in groups.items():
        print(f"{kind}s with at least one referral flagged: {sum(caught.values())}/{len(caught)}")
    checks: list[tuple[str, Callable[[], bool]]] = [
        *[
            (f"recall >= 99% on {kind}", lambda k=kind: _recall(outcome[k]) >= 0.99)
            for kind in SELF_REFERRAL
        ],
        ("honest households never blocked", lambda: outcome["household"]["rejected"] == 0),
        ("overall false-block rate < 0.5%", lambda: honest_blocked / honest_total < 0.005),
    ]
    rate = pct(honest_blocked, honest_total).strip()
    print(f"false-block rate over {honest_total} honest referrals: {rate}")
    for name, check in checks:
        passed = check()
        ok &= passed
        print(f"[{'PASS' if passed else 'FAIL'}] {name}")
    return ok


def _recall(counts: Counter[str]) -> float:
    n = sum(counts.values())
    return (counts["review"] + counts["rejected"]) / n if n else 0.0


# -- partner codes at checkout -------------------------------------------------------------

PARTNER_HONEST = ("clicked", "typed", "viral_clicked")
PARTNER_FRAUD = ("own_alias", "own_device", "own_card", "own_account", "leak")
#: The reason meant to catch each partner fraud kind.
PARTNER_DETECTORS = {
    "own_alias": "partner.own_code",
    "own_device": "partner.own_code",
    "own_card": "partner.own_code",
    "own_account": "partner.own_code",
    "leak": "partner.leaked_code",
}


@dataclass
class Order:
    """One order with a partner's code: when, by whom, what the shop sees, and the truth."""

    kind: str
    partner: str
    buyer: str
    at: datetime
    identity: rk.Identity | None
    clicked: bool = False
    group: str = ""
    enrol: rk.Identity | None = None


def partner_orders(  # noqa: C901 - one loop per kind of order, read top to bottom
    world: World, scale: float, start: datetime
) -> tuple[dict[str, Person], list[Order]]:
    """Partners (with their identity) and their orders over 30 days, labelled."""
    rng = world.rng
    partners = {f"p{i}": world.person() for i in range(max(int(40 * scale), 2))}
    names = list(partners)
    orders: list[Order] = []

    def at_random() -> datetime:
        return start + timedelta(minutes=rng.randrange(30 * 24 * 60))

    def buyer() -> str:
        return f"b{world.next()}"

    for pid in names:  # honest buyers: most clicked a link, some typed a code they heard
        for _ in range(rng.randrange(20, 60)):
            who = identity(world, world.person())
            orders.append(Order("clicked", pid, buyer(), at_random(), who, clicked=True))
        orders.extend(
            Order("typed", pid, buyer(), at_random(), identity(world, world.person()))
            for _ in range(rng.randrange(5, 25))
        )
    for viral in range(max(int(3 * scale), 1)):  # a viral post: 200-400 orders in 2 hours
        pid, begin = rng.choice(names), at_random()
        for _ in range(rng.randrange(200, 400)):
            when = begin + timedelta(seconds=rng.randrange(2 * 3600))
            who = identity(world, world.person())
            orders.append(
                Order("viral_clicked", pid, buyer(), when, who, clicked=True, group=f"v{viral}")
            )
    for _ in range(max(int(60 * scale), 1)):  # the partner buying through their own code
        pid = rng.choice(names)
        me = partners[pid]
        fresh = world.person()
        kind = rng.choice(["own_alias", "own_device", "own_card", "own_account"])
        if kind == "own_alias":
            who = identity(
                world,
                me,
                email=email_alias(rng, me.email),
                device_id=fresh.device,
                payment_fingerprint=fresh.card,
                phone=None,
                address=None,
            )
        elif kind == "own_device":
            who = identity(world, fresh, device_id=me.device, phone=None, address=None)
        elif kind == "own_card":
            who = identity(world, fresh, payment_fingerprint=me.card, phone=None, address=None)
        else:
            who = identity(world, me, email=email_alias(rng, me.email))
        enrol = who if kind == "own_account" else None
        orders.append(Order(kind, pid, buyer(), at_random(), None if enrol else who, enrol=enrol))
    for leak in range(max(int(8 * scale), 1)):  # a code on a coupon site: 120-300 orders in 90 min
        pid, begin = rng.choice(names), at_random()
        for _ in range(rng.randrange(120, 300)):
            when = begin + timedelta(seconds=rng.randrange(90 * 60))
            orders.append(
                Order("leak", pid, buyer(), when, identity(world, world.person()), group=f"l{leak}")
            )
    orders.sort(key=lambda o: o.at)
    return partners, orders


def play_partners(seed: int, scale: float) -> list[tuple[Order, tuple[str, ...]]]:
    """Every partner order through a real program; each order's review reasons (none: earns)."""
    world = World(random.Random(seed + 1))
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    partners, orders = partner_orders(world, scale, start)
    clock = FrozenClock(start)
    terms = PercentOfOrder("10%", kind="cash")
    program = rk.ReferralProgram(
        store=MemoryStore(),
        secret=SECRET,
        policy=terms,
        clock=clock,
        link_base="https://shop.example/r",
    )
    links = {}
    for pid, person in partners.items():
        program.partners.add(
            pid, name=pid, terms=terms, identity=identity(world, person, ip=person.home_ip)
        )
        links[pid] = program.link(program.partners.code(pid, vanity=f"{pid.upper()}CODE").code)
    for order in orders:
        if order.enrol is not None:
            clock.now = order.at - timedelta(days=1)
            program.enroll(order.buyer, identity=order.enrol)
        if order.clicked:
            clock.now = order.at - timedelta(minutes=world.rng.randrange(1, 30))
            program.track_click(
                links[order.partner], visitor=order.buyer, channel=None, campaign=None
            )
    for order in orders:
        clock.now = order.at
        program.convert(
            referee=order.buyer,
            order_id=f"o-{order.buyer}",
            amount=rk.Money("60", "USD"),
            code=f"{order.partner.upper()}CODE",
            identity=order.identity,
        )
    reviewed: dict[str, tuple[str, ...]] = {}
    after = None
    while True:
        page = program.partners.review_queue(limit=500, after=after)
        for review in page:
            if review.order_id is not None:
                reviewed[review.order_id] = review.reasons
        if len(page) < 500:
            break
        after = page[-1].id
    return [(order, reviewed.get(f"o-{order.buyer}", ())) for order in orders]


def report_partners(results: list[tuple[Order, tuple[str, ...]]]) -> bool:
    """Per kind: orders, flagged (commission in review), and each detector's precision."""
    print(
        f"{'kind':<20}{'label':<8}{'n':>6}{'earns':>8}{'review':>8}{'flagged':>9}{'precision':>10}"
    )
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for order, reasons in results:
        by[order.kind]["review" if reasons else "earns"] += 1
    for kind in (*PARTNER_HONEST, *PARTNER_FRAUD):
        c = by[kind]
        n = c["earns"] + c["review"]
        precision = "-"
        if kind in PARTNER_FRAUD:
            reason = PARTNER_DETECTORS[kind]
            hits = [o for o, r in results if reason in r]
            targets = {k for k, v in PARTNER_DETECTORS.items() if v == reason}
            precision = pct(sum(1 for o in hits if o.kind in targets), len(hits)).strip()
        label = "fraud" if kind in PARTNER_FRAUD else "honest"
        print(
            f"{kind:<20}{label:<8}{n:>6}{c['earns']:>8}{c['review']:>8}"
            f"{pct(c['review'], n):>9}{precision:>10}"
        )
    print()
    leaks: dict[str, list[bool]] = defaultdict(list)
    for order, reasons in results:
        if order.kind == "leak":
            leaks[order.group].append(bool(reasons))
    caught = sum(1 for flags in leaks.values() if any(flags))
    print(f"leaked codes caught: {caught}/{len(leaks)}")
    honest_flagged = sum(by[k]["review"] for k in PARTNER_HONEST)
    honest_total = sum(by[k]["review"] + by[k]["earns"] for k in PARTNER_HONEST)
    rate = pct(honest_flagged, honest_total).strip()
    print(f"honest partner orders flagged: {honest_flagged}/{honest_total} ({rate})")
    checks = [
        *[(f"recall 100% on {k}", by[k]["earns"] == 0) for k in PARTNER_FRAUD if k != "leak"],
        ("honest partner orders flagged < 0.5%", honest_flagged / honest_total < 0.005),
        ("every leaked code caught", caught == len(leaks)),
    ]
    ok = True
    for name, passed in checks:
        ok &= passed
        print(f"[{'PASS' if passed else 'FAIL'}] {name}")
    return ok


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 2026
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    results = play(seed, scale)
    print(f"seed {seed}, scale {scale}: {len(results)} attributions", end="")
    print(" through ReferralProgram(MemoryStore) with the default guards")
    print()
    ok = report(results)
    print()
    partnered = play_partners(seed, scale)
    print(f"{len(partnered)} orders with a partner's code at checkout, default partner rules")
    print()
    ok &= report_partners(partnered)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
