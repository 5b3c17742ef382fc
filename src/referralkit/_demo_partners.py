"""The demo shop's partner programmes: two influencers and an affiliate, day by day.

Lena (a nano influencer, 8,000 followers in the shop's town) and Marco (a micro
influencer, 45,000 food followers nationwide) are paid a flat fee per post and 10 or 8
% of the orders placed with their posts' codes; DealHub (an affiliate, a coupon site of
120,000 visitors) earns a fixed 12 USD per order with its code. Their followers click
the posts' links and some buy with the code at checkout; posts report their impressions
and engagements as they grow. The partner activity draws on its own random generator
(`PartnerShop.rng`) and the program's ids come from it while it runs, so adding it
leaves the customer referrals of a seed's run as they were.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import attrs

from referralkit.errors import ReferralError
from referralkit.model import Reward
from referralkit.money import Money
from referralkit.policies import Fixed, PercentOfOrder
from referralkit.program import ReferralProgram

__all__ = ["PartnerShop", "SwitchableBytes"]


class SwitchableBytes:
    """The program's random bytes, from one generator or another (see the module)."""

    def __init__(self, source: random.Random) -> None:
        self.source = source

    def __call__(self, n: int) -> bytes:
        return self.source.randbytes(n)


@attrs.frozen
class _Post:
    post_id: str
    code: str
    day: int
    fee: str
    channel: str


@attrs.frozen
class _Partner:
    """A partner as the demo plays them: how their audience clicks and buys."""

    partner_id: str
    name: str
    kind: str
    audience: int
    niches: tuple[str, ...]
    region: str | None
    terms: Callable[[], PercentOfOrder | Fixed]
    clicks: tuple[int, int]  # per live post and day, low and high
    buys: float  # of clicks
    repeat: float  # a buyer's chance of coming back with a second order
    engagement: float  # engagements per impression
    posts: tuple[_Post, ...] = ()


def _cash(percent: str) -> Callable[[], PercentOfOrder]:
    return lambda: PercentOfOrder(Decimal(percent), kind="cash")


PARTNERS = (
    _Partner(
        "lena",
        "Lena Bakes",
        "influencer",
        8_000,
        ("vegan", "baking"),
        "springfield",
        _cash("0.10"),
        clicks=(4, 14),
        buys=0.09,
        repeat=0.45,
        engagement=0.071,
        posts=(
            _Post("lena-ig-1", "LENA-IG-1", 4, "60", "instagram"),
            _Post("lena-ig-2", "LENA-IG-2", 30, "60", "instagram"),
        ),
    ),
    _Partner(
        "marco",
        "Marco Eats",
        "influencer",
        45_000,
        ("food",),
        "national",
        _cash("0.08"),
        clicks=(15, 45),
        buys=0.04,
        repeat=0.25,
        engagement=0.028,
        posts=(
            _Post("marco-yt-1", "MARCO-YT-1", 9, "400", "youtube"),
            _Post("marco-ig-1", "MARCO-IG-1", 35, "250", "instagram"),
        ),
    ),
    _Partner(
        "dealhub",
        "DealHub",
        "affiliate",
        120_000,
        ("coupons",),
        "national",
        lambda: Fixed(Money("12", "USD"), kind="cash"),
        clicks=(6, 18),
        buys=0.12,
        repeat=0.1,
        engagement=0.0,
    ),
)
#: How long a post keeps bringing clicks, and the affiliate's code.
POST_DAYS = 12
AFFILIATE_CODE = "DEALHUB12"


class PartnerShop:
    """The partners of the demo shop and their audiences' orders."""

    def __init__(self, program: ReferralProgram, rng: random.Random, ids: SwitchableBytes) -> None:
        self.program = program
        self.rng = rng
        self._ids = ids
        self._main = ids.source
        self.buyers: list[tuple[str, str]] = []  # (customer, partner), for repeat orders
        self.fans = 0
        self.ids = frozenset(p.partner_id for p in PARTNERS)
        with self._own_ids():
            for p in PARTNERS:
                program.partners.add(
                    p.partner_id,
                    name=p.name,
                    kind=p.kind,
                    audience=p.audience,
                    niches=p.niches,
                    region=p.region,
                    terms=p.terms(),
                    payout_ref=f"acct_{p.partner_id}",
                )
            program.partners.code("dealhub", vanity=AFFILIATE_CODE)

    def _own_ids(self) -> _Switch:
        return _Switch(self._ids, self.rng, self._main)

    def is_partner_reward(self, reward: Reward) -> bool:
        """A partner's commission or fee (the host pays partners on their own schedule)."""
        return reward.customer_id in self.ids

    def day(self, day: int) -> None:
        """Posts go up, their figures grow, followers click and buy, some come back."""
        with self._own_ids():
            for p in PARTNERS:
                for post in p.posts:
                    if post.day == day:
                        self._publish(p, post)
                    if post.day <= day < post.day + POST_DAYS:
                        self._traffic(p, post.code, day - post.day)
                        self._report(p, post, day - post.day)
                if not p.posts:
                    self._traffic(p, AFFILIATE_CODE, 0)
            self._repeat_orders(day)

    def _publish(self, p: _Partner, post: _Post) -> None:
        self.program.partners.post(
            p.partner_id, post.post_id, channel=post.channel, cost=Money(post.fee, "USD")
        )
        self.program.partners.code(p.partner_id, vanity=post.code, post=post.post_id)

    def _traffic(self, p: _Partner, code: str, age: int) -> None:
        low, high = p.clicks
        fading = max(1, (high - low) * (POST_DAYS - age) // POST_DAYS)
        clicks = low // 2 + self.rng.randrange(fading)
        url = self.program.link(code, channel=p.kind)
        for _ in range(clicks):
            self.fans += 1
            visitor = f"fan-{self.fans:05d}"
            self.program.track_click(url, visitor=visitor)
            if self.rng.random() < p.buys:
                self._order(visitor, p, code, f"{visitor}-1")

    def _order(self, customer: str, p: _Partner, code: str | None, order_id: str) -> None:
        amount = Money.from_minor(self.rng.randint(2000, 9000), "USD")
        try:
            self.program.convert(referee=customer, order_id=order_id, amount=amount, code=code)
        except ReferralError:
            return
        if code is not None:
            self.buyers.append((customer, p.partner_id))

    def _report(self, p: _Partner, post: _Post, age: int) -> None:
        if age % 3:
            return
        seen = p.audience * (age + 1) // 3 + self.rng.randrange(1 + p.audience // 10)
        engaged = int(seen * p.engagement * (0.8 + 0.4 * self.rng.random()))
        self.program.partners.engagement(
            post.post_id,
            as_of=self.program.clock() - timedelta(hours=1),
            impressions=seen,
            engagements=engaged,
        )

    def _repeat_orders(self, day: int) -> None:
        by_id = {p.partner_id: p for p in PARTNERS}
        for customer, partner in self.rng.sample(self.buyers, k=min(len(self.buyers), 3)):
            if self.rng.random() < by_id[partner].repeat / 4:
                self._order(customer, by_id[partner], None, f"{customer}-r{day}")


class _Switch:
    """While open, the program's ids come from the partner generator."""

    def __init__(self, ids: SwitchableBytes, partner: random.Random, main: random.Random) -> None:
        self._ids, self._partner, self._main = ids, partner, main

    def __enter__(self) -> None:
        self._ids.source = self._partner

    def __exit__(self, *exc: object) -> None:
        self._ids.source = self._main
