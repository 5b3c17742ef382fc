"""The customer-referral figures leave partners out: their codes, clicks and sign-ups.

Partners' codes (those mapped to a partner) are not customers' codes: their owners are
not enrolled customers, their clicks are not customer-referral clicks, and a sign-up
made with one is the partner programme's (its row in the programme comparison), not a
customer referral. So adding partners, their audience's clicks, sign-ups and orders to
a shop changes none of the customer-referral figures, on every store.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from _store_copy import SQLALCHEMY_KINDS, copy_sqlite_rows, fresh_sqlalchemy
from referralkit.errors import ReferralError
from referralkit.policies import Fixed, PercentOfOrder
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock
from strategies import shops_with_partners

SECRET = b"customers only metrics secret, 32 bytes"
#: id, kind, audience of the partners a shop may have.
PARTNERS = (
    ("nina", "influencer", 5_000),
    ("mika", "influencer", 40_000),
    ("affy", "affiliate", 0),
    ("maxi", "influencer", 250_000),
)
Step = tuple[Any, ...]


class Play(Protocol):
    """Plays a script on a fresh store (with ``partners``: partners registered first)."""

    def __call__(self, script: list[Step], *, partners: bool) -> rk.ReferralProgram: ...


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


class _Shop:
    """Six enrolled customers referring friends; with ``partners``, partners beside them."""

    def __init__(self, store: rk.Store, *, partners: bool) -> None:
        self.clock = FrozenClock()
        self.start = self.clock()
        self.program = rk.ReferralProgram(
            store=store,
            secret=SECRET,
            policy=Fixed(usd("5")),
            hold=timedelta(days=1),
            clock=self.clock,
            link_base="https://shop.example/r",
        )
        self.codes = [self.program.enroll(f"r{i}").code for i in range(6)]
        self.orders: list[tuple[str, int]] = []
        self.fan_orders: list[tuple[str, int]] = []
        self.partner_codes: list[str] = []
        self.clicks = self.refunds = 0
        if partners:
            for pid, kind, audience in PARTNERS:
                terms = Fixed(usd("7")) if kind == "affiliate" else PercentOfOrder(Decimal("0.1"))
                self.program.partners.add(
                    pid, name=pid.title(), kind=kind, audience=audience, terms=terms
                )
                code = self.program.partners.code(pid, vanity=f"{pid.upper()}10")
                self.partner_codes.append(code.code)

    def play(self, step: Step) -> None:
        with contextlib.suppress(ReferralError):  # a refused step (a duplicate referee) is fine
            getattr(self, step[0])(*step[1:])

    # -- customer referrals -------------------------------------------------------------

    def refer(self, referrer: int, friend: int) -> None:
        self.program.attribute(code=self.codes[referrer], referee=f"c{friend}")

    def click(self, code: int) -> None:
        self.clicks += 1
        url = self.program.link(self.codes[code], channel="whatsapp")
        self.program.track_click(url, visitor=f"v{self.clicks}")

    def order(self, customer: int, cents: int) -> None:
        order_id = f"o{len(self.orders)}"
        self.program.convert(
            referee=f"c{customer}", order_id=order_id, amount=rk.Money.from_minor(cents, "USD")
        )
        self.orders.append((order_id, cents))

    def _refund(self, orders: list[tuple[str, int]], order: int, percent: int) -> None:
        if not orders:
            return
        order_id, cents = orders[order % len(orders)]
        if part := cents * percent // 100:
            self.refunds += 1
            self.program.refund(
                order_id=order_id,
                amount=rk.Money.from_minor(part, "USD"),
                refund_id=f"re{self.refunds}",
            )

    def refund(self, order: int, percent: int) -> None:
        self._refund(self.orders, order, percent)

    def advance(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    # -- partners and their audience ------------------------------------------------------

    def partner_click(self, partner: int) -> None:
        self.clicks += 1
        url = self.program.link(self.partner_codes[partner], channel="instagram")
        self.program.track_click(url, visitor=f"fan-v{self.clicks}")

    def partner_signup(self, partner: int, fan: int) -> None:
        self.program.attribute(code=self.partner_codes[partner], referee=f"fan{fan}")

    def fan_order(self, fan: int, cents: int, code: int | None) -> None:
        order_id = f"fan-o{len(self.fan_orders)}"
        typed = None if code is None else self.partner_codes[code % len(self.partner_codes)]
        amount = rk.Money.from_minor(cents, "USD")
        self.program.convert(referee=f"fan{fan}", order_id=order_id, amount=amount, code=typed)
        self.fan_orders.append((order_id, cents))

    def fan_refund(self, order: int, percent: int) -> None:
        self._refund(self.fan_orders, order, percent)

    def partner_post(self, partner: int, cents: int) -> None:
        pid = PARTNERS[partner][0]
        post_id = f"{pid}-p{len(self.partner_codes)}"
        self.program.partners.post(pid, post_id, cost=rk.Money.from_minor(cents, "USD"))
        code = f"{pid.upper()}P{len(self.partner_codes)}"
        self.partner_codes.append(self.program.partners.code(pid, vanity=code, post=post_id).code)


def _script(customers: list[Step], partners: list[tuple[int, Step]]) -> list[Step]:
    """The customers' steps, with each partner step put in its place."""
    out = list(customers)
    for place, step in sorted(partners, key=lambda p: p[0], reverse=True):
        out.insert(min(place, len(out)), step)
    return out


def _played(store: rk.Store, script: list[Step], *, partners: bool) -> _Shop:
    shop = _Shop(store, partners=partners)
    for step in script:
        shop.play(step)
    return shop


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        *SQLALCHEMY_KINDS,
    ]
)
def play(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Play:
    """Plays a script on a fresh store of the param's kind and returns its program.

    `SQLAlchemyStore` cannot run partner calls yet: the script plays on SQLite and the
    rows are copied over (`_store_copy`), so its metrics SQL reads the same facts.
    """

    def run(script: list[Step], *, partners: bool) -> rk.ReferralProgram:
        folder = tmp_path_factory.mktemp("shop")
        if request.param == "memory":
            return _played(MemoryStore(), script, partners=partners).program
        if request.param == "sqlite":
            return _played(SQLiteStore(folder / "shop.db"), script, partners=partners).program
        shop = _played(SQLiteStore(folder / "shop.db"), script, partners=partners)
        shop.program.store.close()
        store = fresh_sqlalchemy(request.param, request, folder)
        copy_sqlite_rows(folder / "shop.db", store.engine)
        return rk.ReferralProgram(
            store=store, secret=SECRET, policy=Fixed(usd("5")), clock=shop.clock
        )

    return run


def _customer_figures(program: rk.ReferralProgram, **window: Any) -> dict[str, Any]:
    report = program.metrics(by=["campaign", "channel", "referrer"], **window)
    return report.model_dump(exclude={"programmes"})


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(shop=shops_with_partners, since=st.none() | st.integers(0, 24 * 30))
def test_adding_partners_never_changes_the_customer_referral_figures(
    shop: tuple[list[Step], list[tuple[int, Step]]], since: int | None, play: Play
) -> None:
    """Partners, their clicks, sign-ups, orders and posts leave every customer figure as it was."""
    customers, partners = shop
    start = FrozenClock()()
    window = {"since": None if since is None else start + timedelta(hours=since)}
    alone = _customer_figures(play(customers, partners=False), **window)
    beside = play(_script(customers, partners), partners=True)
    assert _customer_figures(beside, **window) == alone


def test_partners_codes_clicks_and_sign_ups_are_no_customer_referrals(play: Play) -> None:
    """A known shop: one customer referral beside a partner's clicks, sign-up and orders."""
    script: list[Step] = [
        ("click", 0),
        ("click", 0),
        ("refer", 0, 1),
        ("order", 1, 4_000),
        ("partner_click", 1),
        ("partner_click", 1),
        ("partner_click", 2),
        ("partner_signup", 1, 1),
        ("fan_order", 1, 6_000, None),  # the fan signed up with mika's code
        ("fan_order", 2, 5_000, 2),  # affy's code typed at checkout
    ]
    program = play(script, partners=True)
    report = program.metrics(by=["referrer", "campaign"])
    assert (report.enrolled, report.participants) == (6, 1)
    assert (report.clicks, report.referrals, report.attributions, report.converted) == (2, 1, 1, 1)
    assert report.click_to_signup_rate == Decimal("0.5")
    (usd_section,) = report.currencies
    assert usd_section.orders == 1
    assert usd_section.referred_revenue == Decimal("40.00")
    assert [row.key for row in report.breakdowns["referrer"]] == ["r0"]
    assert all(not (row.key or "").startswith("partner:") for row in report.breakdowns["campaign"])
    assert sum(c.referrals for c in report.cohorts) == 1
    comparison = program.metrics(by="programme").programmes
    assert comparison is not None
    mika = comparison.partner("mika")
    assert mika is not None
    assert (mika.signups, mika.source_clicks, mika.source_orders) == (1, 2, 1)
