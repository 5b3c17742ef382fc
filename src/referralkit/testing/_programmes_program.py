"""A fixed shop with customer referrals, affiliates and influencers, for the comparison.

`programmes_program` drives a `ReferralProgram` through its public API: customers
refer friends, two influencers (a nano one with a region and niches, a macro one) post
with flat fees and report growing engagement, an affiliate earns a fixed fee; there
are clicks on every kind of code, a sign-up through an influencer's code, checkout
orders with partners' codes (a friend's referee among the buyers), repeat orders, and
partial and full refunds. The same calls give the same facts on every store, so their
programme comparisons must be identical.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from referralkit.money import Money
from referralkit.policies import Fixed, PercentOfOrder
from referralkit.program import ReferralProgram
from referralkit.protocols import Store
from referralkit.testing._clock import FrozenClock

__all__ = ["PROGRAMMES_START", "programmes_program"]

#: When the shop starts (a Monday).
PROGRAMMES_START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
_SECRET = b"referralkit-contract-programmes-secret"


def _usd(cents: int) -> Money:
    return Money.from_minor(cents, "USD")


class _Shop:
    """The fixed shop's day by day: each method one kind of activity."""

    def __init__(self, store: Store) -> None:
        self.clock = FrozenClock(PROGRAMMES_START)
        self.program = ReferralProgram(
            store=store,
            secret=_SECRET,
            policy=Fixed(_usd(500)),
            hold=timedelta(days=2),
            clock=self.clock,
            rng=random.Random(14).randbytes,
            link_base="https://shop.example/r",
        )
        program, partners = self.program, self.program.partners
        self.friend_codes = [program.enroll(f"cust-{i}").code for i in range(4)]
        partners.add(
            "nina",
            name="Nina",
            kind="influencer",
            audience=6_000,
            region="be",
            niches=("food", "local"),
            terms=PercentOfOrder(Decimal("0.1"), kind="cash"),
        )
        partners.add(
            "maxi", name="Maxi", kind="influencer", audience=250_000, terms=PercentOfOrder("15%")
        )
        partners.add("deals", name="Deals", kind="affiliate", audience=0, terms=Fixed(_usd(700)))
        self.nina = partners.code("nina", vanity="NINA10").code
        partners.post("nina", "nina-ig-1", channel="instagram", cost=_usd(15_000))
        partners.post("maxi", "maxi-yt-1", channel="youtube", cost=_usd(40_000))
        self.checkout = (
            partners.code("deals", vanity="DEALS7").code,
            self.nina,
            partners.code("nina", vanity="NINA-IG-1", post="nina-ig-1").code,
            partners.code("maxi", vanity="MAXI-YT-1", post="maxi-yt-1").code,
        )
        self.orders = 0

    def order(self, buyer: str, cents: int, code: str | None = None) -> str:
        self.orders += 1
        order_id = f"ord-{self.orders}"
        self.program.convert(referee=buyer, order_id=order_id, amount=_usd(cents), code=code)
        return order_id

    def clicks(self, day: int) -> None:
        for n, code in enumerate((*self.friend_codes, *self.checkout)):
            channel = "instagram" if n >= len(self.friend_codes) else "whatsapp"
            for v in range((day + n) % 3):
                url = self.program.link(code, channel=channel)
                self.program.track_click(url, visitor=f"visitor-{day}-{n}-{v}")

    def friends(self, day: int) -> None:
        """Every third day a customer's friend signs up and orders (some twice, some refund)."""
        friend = f"friend-{day}"
        self.program.attribute(code=self.friend_codes[day % 4], referee=friend)
        first = self.order(friend, 3_000 + 100 * day)
        if day % 2:
            self.order(friend, 2_000)
        if day % 9 == 0:
            self.program.refund(order_id=first, amount=_usd(1_000), refund_id=f"re-{day}")

    def fans(self, day: int) -> None:
        """A partner's fan types their code at checkout (some come back, some refund in full)."""
        fan, code = f"fan-{day}", self.checkout[(day // 4) % 4]
        first = self.order(fan, 4_000 + 50 * day, code)
        if day % 8 == 1:
            self.order(fan, 2_500, code)
        if day % 12 == 5:
            self.program.refund(order_id=first, refund_id=f"re-fan-{day}")

    def engagement(self, day: int) -> None:
        for post, reach in (("nina-ig-1", 5_000), ("maxi-yt-1", 90_000)):
            self.program.partners.engagement(
                post,
                as_of=self.clock() - timedelta(hours=1),
                impressions=reach * (day + 1),
                engagements=reach * (day + 1) // 20,
            )

    def day(self, day: int) -> None:
        self.clock.advance(timedelta(days=1))
        self.clicks(day)
        if day % 3 == 0:
            self.friends(day)
        if day % 4 == 1:
            self.fans(day)
        if day % 7 == 2:  # a follower signs up with Nina's code, then orders without one
            follower = f"follower-{day}"
            self.program.attribute(code=self.nina, referee=follower)
            self.order(follower, 5_500)
        if day == 10:
            self.order("friend-3", 6_000, self.checkout[3])  # a friend's referee types Maxi's
            self.order("walk-in", 2_000)  # nobody's order
        if day % 5 == 0:
            self.engagement(day)
        self.program.release_due()


def programmes_program(store: Store) -> ReferralProgram:
    """Run the fixed shop on ``store`` (six weeks); returns the program."""
    shop = _Shop(store)
    for day in range(42):
        shop.day(day)
    return shop.program
