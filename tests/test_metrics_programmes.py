"""The programme comparison: customer referrals, affiliates and influencers side by side.

Per partner and per post, per programme, audience band and region; the same figures on
the memory store (Python), SQLite (SQL ``GROUP BY``) and SQLAlchemy Core on SQLite and
PostgreSQL for generated shops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from _store_copy import SQLALCHEMY_KINDS, copy_sqlite_rows, fresh_sqlalchemy
from referralkit.errors import ReferralError
from referralkit.metrics import DEFINITIONS
from referralkit.metrics._programmes import (
    REFERRALS,
    PartnerRow,
    ProgrammeComparison,
    ProgrammeRow,
    audience_band,
)
from referralkit.policies import Fixed, PercentOfOrder
from referralkit.storage import MemoryStore, SQLAlchemyStore, SQLiteStore
from referralkit.testing import FrozenClock
from strategies import programme_scripts

SECRET = b"programme comparison secret, 32 bytes"
TEN_PERCENT = PercentOfOrder(Decimal("0.10"), kind="cash")
#: id, kind, audience, region of the generated shops' partners.
PARTNERS = (
    ("nina", "influencer", 5_000, "be"),
    ("mika", "influencer", 40_000, "nl"),
    ("affy", "affiliate", 0, None),
    ("maxi", "influencer", 250_000, "be"),
)


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


def _program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(usd("5")),
        hold=timedelta(days=1),
        clock=clock,
        link_base="https://shop.example/r",
    )


class _Shop:
    """Plays a generated script of steps on one store."""

    def __init__(self, store: rk.Store) -> None:
        self.clock = FrozenClock()
        self.start = self.clock()
        self.program = _program(store, self.clock)
        self.codes: list[str] = []
        self.checkout: list[str] = []
        self.posts: list[str] = []
        self.orders: list[tuple[str, int]] = []
        self.refunds = 0
        for pid, kind, audience, region in PARTNERS:
            terms = Fixed(usd("7")) if kind == "affiliate" else TEN_PERCENT
            self.program.partners.add(
                pid, name=pid.title(), kind=kind, audience=audience, region=region, terms=terms
            )
            code = self.program.partners.code(pid, vanity=f"{pid.upper()}10").code
            self.codes.append(code)
            self.checkout.append(code)
        for i in range(6):
            self.codes.append(self.program.enroll(f"r{i}").code)

    def play(self, step: tuple[Any, ...]) -> None:
        with contextlib.suppress(ReferralError):  # a refused step (a duplicate referee) is fine
            getattr(self, step[0])(*step[1:])

    def refer(self, referrer: int, friend: int) -> None:
        self.program.attribute(code=self.codes[4 + referrer], referee=f"c{friend}")

    def partner_signup(self, partner: int, friend: int) -> None:
        self.program.attribute(code=self.codes[partner], referee=f"c{friend}")

    def click(self, code: int) -> None:
        self.program.track_click(self.codes[code], visitor=f"v{len(self.orders)}")

    def order(self, customer: int, cents: int, code: int | None) -> None:
        order_id = f"o{len(self.orders)}"
        amount = rk.Money.from_minor(cents, "USD")
        typed = None if code is None else self.checkout[code % len(self.checkout)]
        self.program.convert(referee=f"c{customer}", order_id=order_id, amount=amount, code=typed)
        self.orders.append((order_id, cents))

    def refund(self, order: int, percent: int) -> None:
        if not self.orders:
            return
        order_id, cents = self.orders[order % len(self.orders)]
        part = cents * percent // 100
        if part:
            self.refunds += 1
            self.program.refund(
                order_id=order_id,
                amount=rk.Money.from_minor(part, "USD"),
                refund_id=f"re{self.refunds}",
            )

    def post(self, partner: int, cents: int) -> None:
        pid = PARTNERS[partner][0]
        post_id = f"{pid}-p{len(self.posts)}"
        self.program.partners.post(
            pid, post_id, channel="instagram", cost=rk.Money.from_minor(cents, "USD")
        )
        self.posts.append(post_id)
        code = f"{pid.upper()}P{len(self.posts)}"
        self.checkout.append(self.program.partners.code(pid, vanity=code, post=post_id).code)

    def engagement(self, post: int, impressions: int, engagements: int) -> None:
        if self.posts:
            self.program.partners.engagement(
                self.posts[post % len(self.posts)],
                as_of=self.clock(),
                impressions=impressions,
                engagements=engagements,
            )

    def advance(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))


def _compare(program: rk.ReferralProgram, **window: datetime | None) -> ProgrammeComparison:
    report = program.metrics(by="programme", **window)
    assert report.programmes is not None
    return report.programmes


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=programme_scripts,
    since=st.none() | st.integers(0, 24 * 60),
    length=st.none() | st.integers(1, 24 * 90),
)
def test_memory_and_sqlite_compare_programmes_alike(
    script: list[tuple[Any, ...]], since: int | None, length: int | None
) -> None:
    """The same shop gives the same comparison in Python (memory) and in SQL (SQLite)."""
    memory, sqlite = _Shop(MemoryStore()), _Shop(SQLiteStore(":memory:"))
    for step in script:
        memory.play(step)
        sqlite.play(step)
    lo = None if since is None else memory.start + timedelta(hours=since)
    hi = None if length is None else (lo or memory.start) + timedelta(hours=length)
    mine = _compare(memory.program, since=lo, until=hi)
    assert mine == _compare(sqlite.program, since=lo, until=hi)
    _check_sums(mine)


def _total(rows: list[PartnerRow] | list[ProgrammeRow], name: str) -> int:
    return sum(getattr(r, name) for r in rows)


def _check_sums(comparison: ProgrammeComparison) -> None:
    """Bands, regions and partners each add up to the partner programmes."""
    partners = [r for r in comparison.programmes if r.programme != REFERRALS]
    for name in ("new_customers", "source_orders", "source_clicks", "signups", "impressions"):
        whole = _total(partners, name)
        assert _total(comparison.by_band, name) == whole
        assert _total(comparison.by_region, name) == whole
        assert _total(comparison.partners, name) == whole
    for row in comparison.partners:
        posts = [p for p in comparison.posts if p.partner_id == row.partner_id]
        assert _total(posts, "impressions") == row.impressions
        assert _total(posts, "source_orders") <= row.source_orders


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_a_known_shop_gives_the_figures_worked_out_by_hand(make: Any) -> None:
    """Referrals, an affiliate's fixed fee and an influencer's post, figure by figure."""
    shop = _Shop(make())
    p = shop.program
    p.partners.post("mika", "ig-1", channel="instagram", cost=usd("150"))
    post_code = p.partners.code("mika", vanity="MIKA-IG-1", post="ig-1").code
    shop.advance(1)
    p.partners.engagement("ig-1", as_of=shop.clock(), impressions=40_000, engagements=2_100)
    p.track_click(shop.codes[4], visitor="v1")
    p.track_click(post_code, visitor="v2")
    p.track_click(post_code, visitor="v3")
    p.attribute(code=shop.codes[4], referee="c1")
    p.convert(referee="c1", order_id="o1", amount=usd("80"))
    p.convert(referee="c1", order_id="o2", amount=usd("20"))
    p.convert(referee="c2", order_id="o3", amount=usd("60"), code=post_code)
    p.convert(referee="c2", order_id="o4", amount=usd("60"))  # no code: nobody's order
    p.convert(referee="c3", order_id="o5", amount=usd("50"), code=shop.codes[2])
    p.refund(order_id="o5", amount=usd("10"), refund_id="re1")
    comparison = _compare(p)

    referrals = comparison.programme(REFERRALS)
    assert referrals is not None
    assert (referrals.new_customers, referrals.source_orders, referrals.source_clicks) == (1, 2, 1)
    assert referrals.net_revenue == {"USD": Decimal("100.00")}
    assert referrals.total_cost == {"USD": Decimal("10.00")}  # 5 USD per order
    assert referrals.cpa == {"USD": Decimal("10.00")}
    assert referrals.source_roi == {"USD": Decimal(9)}
    assert referrals.acquired_repeat_rate == 1
    assert referrals.revenue_90d_per_customer == {"USD": Decimal("100.00")}

    affiliate = comparison.programme("affiliate")
    assert affiliate is not None
    assert affiliate.net_revenue == {"USD": Decimal("40.00")}
    assert affiliate.commission == {"USD": Decimal("7.00")}
    assert affiliate.acquired_repeat_rate == 0

    post = next(r for r in comparison.posts if r.post_id == "ig-1")
    assert (post.source_clicks, post.source_orders, post.new_customers) == (2, 1, 1)
    assert post.fees == {"USD": Decimal("150.00")}
    assert post.commission == {"USD": Decimal("6.00")}
    assert post.total_cost == {"USD": Decimal("156.00")}
    assert post.engagement_rate == Decimal("0.0525")
    assert post.cpm == {"USD": Decimal("3.90")}
    assert post.orders_per_mille == Decimal("0.025")
    assert post.source_conversion_rate == Decimal("0.5")
    assert post.revenue_90d_per_customer == {"USD": Decimal("120.00")}  # o3 and o4
    assert post.acquired_repeat_rate == 1

    bands = {(r.programme, r.band): (r.partners, r.new_customers) for r in comparison.by_band}
    assert bands == {
        ("affiliate", "nano"): (1, 1),
        ("influencer", "nano"): (1, 0),
        ("influencer", "micro"): (1, 1),
        ("influencer", "macro"): (1, 0),
    }
    regions = {r.region: r.partners for r in comparison.by_region if r.programme == "influencer"}
    assert regions == {"be": 2, "nl": 1}


def test_the_engagement_rate_reads_each_posts_latest_report() -> None:
    """Figures arrive late and grow: the comparison reads the latest as-of, not the sum."""
    shop = _Shop(SQLiteStore(":memory:"))
    p = shop.program
    p.partners.post("nina", "tt-1", channel="tiktok", cost=usd("40"))
    for impressions, engagements in ((1_000, 10), (5_000, 400), (9_000, 900)):
        shop.advance(2)
        p.partners.engagement(
            "tt-1", as_of=shop.clock(), impressions=impressions, engagements=engagements
        )
    row = _compare(p).partner("nina")
    assert row is not None
    assert (row.impressions, row.engagements, row.engagement_rate) == (9_000, 900, Decimal("0.1"))


@given(st.integers(0, 10**7))
def test_audience_bands_split_at_ten_thousand_and_a_hundred_thousand(audience: int) -> None:
    """nano < 10k <= micro <= 100k < macro."""
    band = audience_band(audience)
    expected = "nano" if audience < 10_000 else "micro" if audience <= 100_000 else "macro"
    assert band == expected


def test_every_comparison_figure_is_defined_once() -> None:
    """Each figure of a comparison row is in DEFINITIONS, scoped to sources."""
    figures = set(ProgrammeRow.model_fields) - {"programme", "band", "region"}
    assert figures <= set(DEFINITIONS)
    assert all(DEFINITIONS[f].scope == "source" for f in figures)
    assert set(PartnerRow.model_fields) - {
        "partner_id",
        "post_id",
        "name",
        "kind",
        "band",
        "region",
        "channel",
        "audience",
        "niches",
    } <= set(DEFINITIONS)


def test_without_by_programme_the_report_carries_no_comparison() -> None:
    """The comparison costs queries: only by='programme' runs them."""
    shop = _Shop(MemoryStore())
    assert shop.program.metrics().programmes is None
    assert shop.program.metrics(by=["referrer", "programme"]).breakdowns.keys() == {"referrer"}


def test_the_html_page_and_the_text_report_show_the_comparison() -> None:
    """Programmes, bands, regions, partners and posts, under their DEFINITIONS labels."""
    from referralkit.metrics import format_report, render_html

    shop = _Shop(MemoryStore())
    p = shop.program
    p.partners.post("mika", "ig-1", channel="instagram", cost=usd("150"))
    p.convert(referee="c1", order_id="o1", amount=usd("80"), code=shop.codes[1])
    report = p.metrics(by="programme")
    page = render_html(report, plotly_js="https://cdn.example/plotly.js")
    text = format_report(report)
    for title in ("Programmes: customer referrals", "by audience band", "by region", "Per post"):
        assert title in page
        assert title in text
    for name in ("cpa", "source_roi", "acquired_repeat_rate", "revenue_90d_per_customer"):
        assert DEFINITIONS[name].label in page
    assert "mika/ig-1" in page


@pytest.fixture(params=SQLALCHEMY_KINDS)
def sqlalchemy_stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], tuple[SQLAlchemyStore, Path]]:
    """Makes an empty `SQLAlchemyStore` and a folder for the SQLite shop copied into it."""

    def make() -> tuple[SQLAlchemyStore, Path]:
        folder = tmp_path_factory.mktemp("sa")
        return fresh_sqlalchemy(request.param, request, folder), folder

    return make


def played_on_sqlalchemy(
    script: list[tuple[Any, ...]], make: Callable[[], tuple[SQLAlchemyStore, Path]]
) -> rk.ReferralProgram:
    """A program on an `SQLAlchemyStore` holding the rows ``script`` leaves in SQLite."""
    store, folder = make()
    shop = _Shop(SQLiteStore(folder / "shop.db"))
    for step in script:
        shop.play(step)
    shop.program.store.close()
    copy_sqlite_rows(folder / "shop.db", store.engine)
    return _program(store, shop.clock)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    script=programme_scripts,
    since=st.none() | st.integers(0, 24 * 60),
    length=st.none() | st.integers(1, 24 * 90),
)
def test_sqlalchemy_compares_programmes_as_the_memory_store_does(
    script: list[tuple[Any, ...]],
    since: int | None,
    length: int | None,
    sqlalchemy_stores: Callable[[], tuple[SQLAlchemyStore, Path]],
) -> None:
    """SQLAlchemy Core on SQLite and PostgreSQL: the comparison the memory store makes."""
    memory = _Shop(MemoryStore())
    for step in script:
        memory.play(step)
    other = played_on_sqlalchemy(script, sqlalchemy_stores)
    lo = None if since is None else memory.start + timedelta(hours=since)
    hi = None if length is None else (lo or memory.start) + timedelta(hours=length)
    mine = _compare(memory.program, since=lo, until=hi)
    assert _compare(other, since=lo, until=hi) == mine
    other.store.close()
