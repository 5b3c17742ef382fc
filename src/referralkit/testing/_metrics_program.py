"""A generated referral program that touches every figure of the metrics report.

`generated_program` drives a `ReferralProgram` through its public API from a seed:
enrolments in two campaigns, clicks by tracked visitors on several channels, sign-ups
by typed code, by link and by visitor (first- or last-touch), self-referrals and
guard rejections, reviews approved and rejected, orders in two currencies, repeat
orders, partial and full refunds, releases, payouts and operator reassignments. The
same seed gives the same facts on every store, so their reports must be identical.
"""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from referralkit.context import Decision, GuardContext, Verdict
from referralkit.errors import ReferralError
from referralkit.model import Referral, ReferralStatus
from referralkit.money import Money
from referralkit.policies import AllOf, DoubleSided, FirstOrderOnly, Fixed, PercentOfOrder
from referralkit.program import ReferralProgram
from referralkit.protocols import Store
from referralkit.testing._clock import FrozenClock

__all__ = ["GENERATED_START", "corners_program", "generated_program"]

#: When a generated program starts (a Monday).
GENERATED_START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
_CHANNELS = ("email", "whatsapp", "sms", "x")
_SECRET = b"referralkit-contract-metrics-secret!"


class _Screen:
    """A guard for the generated program: sends some referees to review, blocks others."""

    name = "screen"

    def check(self, context: GuardContext) -> Verdict:
        """Referees whose id ends in 7 wait for review; in 9 are blocked."""
        if context.referee.endswith("7"):
            return Verdict(Decision.REVIEW, ("screen.review",), 0.5)
        if context.referee.endswith("9"):
            return Verdict(Decision.BLOCK, ("screen.blocked",), 1.0)
        return Verdict.allow()


def generated_program(
    store: Store, seed: int, *, customers: int = 40, days: int = 40
) -> ReferralProgram:
    """Run ``days`` of a generated program on ``store``; returns the program."""
    rng = random.Random(seed)
    clock = FrozenClock(GENERATED_START)
    program = ReferralProgram(
        store=store,
        secret=_SECRET,
        policy=DoubleSided(
            referrer=PercentOfOrder(Decimal("0.1")),
            referee=Fixed({"USD": "5", "EUR": "5", "JPY": "500"}),
        ),
        guards=[_Screen()],
        link_base="https://shop.example/r",
        hold=timedelta(days=7),
        clock=clock,
        rng=rng.randbytes,
        attribution="first_touch" if seed % 2 else "last_touch",
    )
    codes: dict[str, str] = {}
    orders: list[tuple[str, str, str]] = []
    referees: list[str] = []
    for day in range(days):
        clock.advance(hours=rng.randint(20, 28), minutes=rng.randint(0, 59))
        who = f"cust-{rng.randrange(customers):03d}"
        if who not in codes:
            campaign = "spring" if rng.random() < 0.3 else None
            codes[who] = program.enroll(who, campaign=campaign).code
        _visit(program, rng, codes, day)
        referee = _sign_up(program, rng, codes, day)
        if referee is not None:
            referees.append(referee)
        _buy(program, rng, referees, orders, day)
        _operate(program, rng, codes, referees, orders)
    return program


def _visit(program: ReferralProgram, rng: random.Random, codes: dict[str, str], day: int) -> None:
    for n in range(rng.randint(0, 3)):
        code = codes[rng.choice(sorted(codes))]
        visitor = f"v-{day - rng.randint(0, 2)}-{n}"
        if rng.random() < 0.7:
            program.track_click(program.link(code, channel=rng.choice(_CHANNELS)), visitor=visitor)
        else:
            program.track_click(code, visitor=visitor, channel=rng.choice(_CHANNELS))


def _sign_up(
    program: ReferralProgram, rng: random.Random, codes: dict[str, str], day: int
) -> str | None:
    referee = f"ref-{day:03d}"
    owner = rng.choice(sorted(codes))
    how = rng.random()
    ref: Referral | None
    try:
        if how < 0.1:
            program.attribute(referee=owner, code=codes[owner])  # self-referral: rejected
            return None
        if how < 0.4:
            ref = program.attribute(referee=referee, code=codes[owner].lower())
        elif how < 0.7:
            url = program.link(codes[owner], channel=rng.choice(_CHANNELS))
            ref = program.attribute(referee=referee, link=url)
        else:
            ref = program.attribute(referee=referee, visitor=f"v-{day}-0")  # may be None
    except ReferralError:
        return None
    if ref is None:
        return None  # a visitor who clicked nothing
    return None if ref.status is ReferralStatus.REJECTED else referee


def _buy(
    program: ReferralProgram,
    rng: random.Random,
    referees: list[str],
    orders: list[tuple[str, str, str]],
    day: int,
) -> None:
    for n, referee in enumerate(rng.sample(referees, k=min(len(referees), 3))):
        if rng.random() < 0.5:
            continue
        currency = "EUR" if referee.endswith(("3", "5")) else "USD"
        amount = Money.from_minor(rng.randint(900, 20000), currency)
        order_id = f"o-{day}-{n}"
        program.convert(referee=referee, order_id=order_id, amount=amount)
        orders.append((order_id, referee, currency))


def _operate(
    program: ReferralProgram,
    rng: random.Random,
    codes: dict[str, str],
    referees: list[str],
    orders: list[tuple[str, str, str]],
) -> None:
    if orders and rng.random() < 0.15:
        order_id, _, currency = rng.choice(orders)
        part = Money.from_minor(rng.randint(100, 800), currency) if rng.random() < 0.5 else None
        with contextlib.suppress(ReferralError):  # already refunded, or less left than asked
            program.refund(order_id=order_id, amount=part)
    for reward in program.release_due():
        if rng.random() < 0.5:
            program.mark_paid(reward.id)
    for referral in program.review_queue(2):
        if rng.random() < 0.3:
            program.approve(referral.id)
        elif rng.random() < 0.3:
            program.reject(referral.id)
    if referees and rng.random() < 0.1:
        referee = rng.choice(referees)
        owner = rng.choice(sorted(codes))
        if owner != referee:
            program.reassign(referee=referee, code=codes[owner], note="support ticket")


class _Reviews:
    """Sends referees whose id ends in 7 to review and blocks those ending in 9 (two reasons)."""

    name = "reviews"

    def check(self, context: GuardContext) -> Verdict:
        """Review ``*7``, block ``*9`` citing two reasons, allow the rest."""
        if context.referee.endswith("7"):
            return Verdict(Decision.REVIEW, ("screen.review",), 0.5)
        if context.referee.endswith("9"):
            return Verdict(Decision.BLOCK, ("screen.blocked", "screen.network"), 1.0)
        return Verdict.allow()


def corners_program(store: Store, seed: int, *, days: int = 30) -> ReferralProgram:
    """The corners `generated_program` leaves out, from a seed, on ``store``.

    Points and perk rewards beside money ones (reversed by full refunds), three
    currencies (JPY has no minor unit), orders dated by the host (some before their
    referral), channels given at attribution, events at the same instant, reviewers
    rejecting for the guard's own reason, reassignments, and referrers whose codes are
    only clicked. Read the event times with ``pending_events`` for window edges.
    """
    rng = random.Random(seed)
    clock = FrozenClock(GENERATED_START)
    program = ReferralProgram(
        store=store,
        secret=_SECRET,
        policy=AllOf(
            DoubleSided(referrer=PercentOfOrder(Decimal("0.1")), referee=Fixed(100)),
            FirstOrderOnly(
                DoubleSided(
                    referrer=Fixed("vip-month"),
                    referee=Fixed({"USD": "3", "EUR": "3", "JPY": "300"}),
                )
            ),
        ),
        guards=[_Reviews()],
        link_base="https://shop.example/r",
        hold=timedelta(days=rng.choice([0, 3])),
        clock=clock,
        rng=rng.randbytes,
        attribution="first_touch" if seed % 2 else "last_touch",
    )
    codes: dict[str, str] = {}
    referees: list[str] = []
    orders: list[tuple[str, str]] = []
    for day in range(days):
        clock.advance(hours=rng.choice([0, 1, 23, 24]), minutes=rng.choice([0, 0, 17]))
        who = f"c{rng.randrange(12)}"
        if who not in codes:
            codes[who] = program.enroll(who, campaign=rng.choice([None, "spring"])).code
        for _ in range(rng.randint(0, 3)):
            code = codes[rng.choice(sorted(codes))]
            visitor = f"v{rng.randrange(8)}"
            if rng.random() < 0.5:
                link = program.link(code, channel=rng.choice(["email", "sms", None]))
                program.track_click(link, visitor=visitor)
            else:
                program.track_click(code, visitor=visitor, channel=rng.choice(["email", None]))
        _corner_sign_up(program, rng, codes, referees, f"r{day:02d}{rng.randrange(10)}")
        _corner_orders(program, rng, referees, orders, day)
        _corner_operate(program, rng, codes, referees, orders)
    return program


def _corner_sign_up(
    program: ReferralProgram,
    rng: random.Random,
    codes: dict[str, str],
    referees: list[str],
    referee: str,
) -> None:
    owner = rng.choice(sorted(codes))
    how = rng.random()
    with contextlib.suppress(ReferralError):
        if how < 0.1:
            program.attribute(referee=owner, code=codes[owner])
        elif how < 0.4:
            channel = rng.choice([None, "qr"])
            program.attribute(referee=referee, code=codes[owner], channel=channel)
        elif how < 0.6:
            program.attribute(referee=referee, link=program.link(codes[owner], channel="sms"))
        elif how < 0.8:
            program.attribute(referee=referee, visitor=f"v{rng.randrange(8)}")
        else:  # an attributed referee tries again: recorded, and rejected
            again = rng.choice(referees) if referees else referee
            program.attribute(referee=again, code=codes[owner])
        referees.append(referee)


def _corner_orders(
    program: ReferralProgram,
    rng: random.Random,
    referees: list[str],
    orders: list[tuple[str, str]],
    day: int,
) -> None:
    for referee in rng.sample(referees, k=min(3, len(referees))):
        if rng.random() < 0.5:
            continue
        currency = rng.choice(["USD", "USD", "EUR", "JPY"])
        order_id = f"o{day}-{referee}"
        backdated = rng.random() < 0.3
        when = program.clock() - timedelta(days=rng.randint(0, 10)) if backdated else None
        with contextlib.suppress(ReferralError):
            program.convert(
                referee=referee,
                order_id=order_id,
                amount=Money.from_minor(rng.randint(0, 9000), currency),
                occurred_at=when,
            )
            orders.append((order_id, currency))


def _corner_operate(
    program: ReferralProgram,
    rng: random.Random,
    codes: dict[str, str],
    referees: list[str],
    orders: list[tuple[str, str]],
) -> None:
    if orders and rng.random() < 0.3:
        order_id, currency = rng.choice(orders)
        part = Money.from_minor(rng.randint(1, 500), currency) if rng.random() < 0.5 else None
        with contextlib.suppress(ReferralError):
            program.refund(order_id=order_id, amount=part)
    for reward in program.release_due():
        if rng.random() < 0.5:
            program.mark_paid(reward.id)
    for referral in program.review_queue(3):
        choice = rng.random()
        if choice < 0.3:
            program.approve(referral.id)
        elif choice < 0.6:
            program.reject(referral.id, reason=rng.choice(["review.rejected", "screen.review"]))
    if referees and rng.random() < 0.2:
        referee, owner = rng.choice(referees), rng.choice(sorted(codes))
        if owner != referee:
            with contextlib.suppress(ReferralError):
                program.reassign(referee=referee, code=codes[owner])
