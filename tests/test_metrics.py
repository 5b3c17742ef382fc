"""The metrics report on a small program whose every figure is worked out by hand."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.metrics import DEFINITIONS, MetricsReport, definitions_markdown, format_report
from referralkit.policies import DoubleSided, FirstOrderOnly, Fixed
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday
DOCS = Path(__file__).parent.parent / "docs"


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


@pytest.fixture
def shop(store: rk.Store) -> rk.ReferralProgram:
    """Ann brings p1 (two orders) and p2 (a partly refunded order); Bob brings p3 (no order)
    and, a week later, p4 (a EUR order refunded in full). Ann tries to refer herself and
    Bob to steal p1: both rejected. Dan enrols on day 20."""
    clock = FrozenClock(T0)
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=FirstOrderOnly(
            DoubleSided(
                referrer=Fixed({"USD": "10", "EUR": "9"}), referee=Fixed({"USD": "5", "EUR": "4"})
            )
        ),
        link_base="https://shop.example/r",
        clock=clock,
    )
    ann, bob = program.enroll("ann").code, program.enroll("bob").code
    program.enroll("cat")
    program.track_click(program.link(ann, channel="email"), visitor="v1")
    program.track_click(program.link(ann, channel="email"), visitor="v2")
    program.track_click(program.link(bob, channel="sms"), visitor="v3")
    clock.advance(days=1)
    program.attribute(referee="p1", link=program.link(ann, channel="email"))
    program.attribute(referee="p2", code=ann)
    clock.advance(days=1)
    program.attribute(referee="p3", visitor="v3")
    program.attribute(referee="ann", code=ann)
    program.attribute(referee="p1", code=bob)
    clock.advance(days=1)
    program.convert(referee="p1", order_id="o1", amount=usd("100"))
    clock.advance(days=1)
    program.convert(referee="p2", order_id="o3", amount=usd("40"))
    clock.advance(days=1)
    program.convert(referee="p1", order_id="o2", amount=usd("50"))
    clock.advance(days=1)
    program.refund(order_id="o3", amount=usd("10"))
    clock.advance(days=2)  # day 8: the next week
    program.attribute(referee="p4", code=bob)
    program.convert(referee="p4", order_id="o4", amount=rk.Money("30", "EUR"))
    program.refund(order_id="o4")
    clock.advance(days=12)
    program.enroll("dan")
    return program


def d(text: str) -> Decimal:
    return Decimal(text)


def test_every_figure_of_the_whole_program(shop: rk.ReferralProgram) -> None:
    r = shop.metrics()
    assert (r.enrolled, r.participants, r.participation_rate) == (4, 2, d("0.5"))
    # p4's only order was refunded in full: p4 does not count as converted.
    assert (r.clicks, r.referrals, r.converted) == (3, 4, 2)
    assert r.conversion_rate == r.first_order_rate == d("0.5")
    # 4 referrals for 3 clicks: two codes were typed. The rate is bounded by 1.
    assert r.click_to_signup_rate == d("1")
    assert r.invites_per_participant == d("2")
    assert r.k_factor == d("0.5")
    assert (r.repeat_customers, r.repeat_purchase_rate) == (1, d("0.5"))
    assert r.viral_cycle_time == timedelta(days=5, hours=12)  # median of 3 and 8 days
    assert (r.attributions, r.rejected, r.fraud_rate) == (6, 2, d("0.333333"))
    assert r.fraud_reasons == {
        "duplicate_referee.already_referred": 1,
        "self_referral.customer_id": 1,
    }
    assert r.review_backlog == 0
    eur, us = r.currencies
    assert us.model_dump() == {
        "currency": "USD",
        "orders": 3,
        "referred_revenue": d("180.00"),
        "refunded": d("10.00"),
        "rewards_cost": d("30.00"),  # Bob's and p4's rewards were reversed by the refund
        "cac": d("15.00"),  # per converted referee: p1 and p2
        "roi": d("5"),
        "average_order_value": d("63.33"),
        "ltv": d("90.00"),
    }
    assert eur.model_dump() == {
        "currency": "EUR",
        "orders": 1,
        "referred_revenue": d("0.00"),
        "refunded": d("30.00"),
        "rewards_cost": d("0.00"),
        "cac": d("0.00"),
        "roi": None,  # nothing spent in EUR: no return to speak of
        "average_order_value": d("30.00"),
        "ltv": d("0.00"),
    }
    assert [(c.week, c.referrals, c.converted, c.repeat_customers) for c in r.cohorts] == [
        (date(2026, 3, 2), 3, 2, 1),
        (date(2026, 3, 9), 1, 0, 0),
    ]


def test_active_customers_is_the_base_of_participation_and_k_factor(shop) -> None:
    r = shop.metrics(active_customers=30)
    assert (r.participation_rate, r.k_factor) == (d("0.066667"), d("0.066667"))  # 2 converted / 30
    # A base smaller than the customers who took part would make a share above 100 %.
    for too_few in (0, 1):
        with pytest.raises(rk.InvalidInput) as caught:
            shop.metrics(active_customers=too_few)
        assert caught.value.field == "active_customers"
    assert shop.metrics(active_customers=2).participation_rate == d("1")


def test_the_referrer_breakdown_is_a_leaderboard(shop) -> None:
    (ann, bob) = shop.metrics(by="referrer").breakdowns["referrer"]
    assert (ann.key, ann.clicks, ann.attributions, ann.rejected, ann.referrals) == (
        "ann",
        2,
        3,
        1,
        2,
    )
    assert (ann.converted, ann.conversion_rate, ann.repeat_customers) == (2, d("1"), 1)
    assert (ann.referred_revenue, ann.rewards_cost) == ({"USD": d("180")}, {"USD": d("30")})
    assert (bob.key, bob.clicks, bob.referrals, bob.converted) == ("bob", 1, 2, 0)
    assert (bob.referred_revenue, bob.rewards_cost) == ({"EUR": d("0")}, {})
    top = shop.metrics(by="referrer", top=1).breakdowns["referrer"]
    assert [row.key for row in top] == ["ann"]


def test_channel_and_campaign_breakdowns(shop) -> None:
    r = shop.metrics(by=["channel", "campaign"])
    assert [(b.key, b.clicks, b.referrals, b.converted) for b in r.breakdowns["channel"]] == [
        (None, 0, 2, 1),  # typed codes have no channel; p4's order was refunded in full
        ("email", 2, 1, 1),
        ("sms", 1, 1, 0),
    ]
    (default,) = r.breakdowns["campaign"]
    assert (default.key, default.clicks, default.referrals) == ("default", 3, 4)


def test_a_window_follows_the_referrals_attributed_in_it(shop) -> None:
    second_week = shop.metrics(since=T0 + timedelta(days=7))
    assert (second_week.referrals, second_week.converted, second_week.attributions) == (1, 0, 1)
    assert second_week.clicks == 0
    assert second_week.participants == 1  # Bob's code brought p4
    first_week = shop.metrics(until=T0 + timedelta(days=7))
    assert (first_week.enrolled, first_week.referrals, first_week.converted) == (3, 3, 2)
    (us,) = first_week.currencies
    assert (us.orders, us.referred_revenue) == (3, d("180.00"))
    before_orders = shop.metrics(until=T0 + timedelta(days=3))
    assert (before_orders.referrals, before_orders.converted) == (3, 0)
    assert before_orders.viral_cycle_time is None


def test_an_empty_program_has_no_made_up_rates(store) -> None:
    program = rk.ReferralProgram(store=store, secret=SECRET, policy=Fixed(usd("1")))
    r = program.metrics(by="referrer")
    assert (r.enrolled, r.referrals, r.clicks) == (0, 0, 0)
    assert r.conversion_rate is r.k_factor is r.fraud_rate is r.viral_cycle_time is None
    assert r.currencies == []
    assert r.breakdowns == {"referrer": []}
    assert program.metrics(active_customers=0).k_factor is None


def test_the_report_round_trips_through_json(shop) -> None:
    report = shop.metrics(by=["referrer", "channel"])
    text = report.model_dump_json()
    assert json.loads(text)["k_factor"] == "0.500000"
    assert MetricsReport.model_validate_json(text) == report


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": T0, "until": T0},
        {"since": datetime(2026, 1, 1)},  # noqa: DTZ001 - the point of the test
        {"until": "2026-01-01"},
        {"since": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))},  # year 0 in UTC
        {"until": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))},
        {"by": "week"},
        {"by": ["referrer", "country"]},
        {"by": 3},
        {"active_customers": -1},
        {"active_customers": True},
        {"top": 0},
    ],
)
def test_bad_report_arguments_raise_invalid_input(shop, kwargs) -> None:
    with pytest.raises(rk.InvalidInput):
        shop.metrics(**kwargs)


def test_a_store_without_metrics_is_a_config_error() -> None:
    class Bare:
        def __init__(self) -> None:
            self.inner = MemoryStore()

        def transaction(self):  # type: ignore[no-untyped-def]
            return self.inner.transaction()

        def close(self) -> None:
            pass

    program = rk.ReferralProgram(store=Bare(), secret=SECRET, policy=Fixed(usd("1")))
    with pytest.raises(rk.ConfigError, match="metrics_source"):
        program.metrics()


def test_the_text_report_shows_each_section(shop) -> None:
    text = format_report(shop.metrics(by="referrer"))
    for heading in ("Funnel", "Fraud and review", "Money (USD)", "Money (EUR)", "Leaderboard"):
        assert heading in text
    assert "k-factor" in text
    assert "50.0 %" in text


def test_each_figure_is_defined_once_and_documented() -> None:
    """The report's fields are the definitions; the reference page prints them verbatim."""
    fields = set(MetricsReport.model_fields) - {
        "since",
        "until",
        "active_customers",
        "currencies",
        "breakdowns",
        "cohorts",
        "moments",
        "programmes",
    }
    assert fields <= set(DEFINITIONS)
    reference = (DOCS / "reference" / "metrics.md").read_text()
    assert definitions_markdown() in reference


class _CountingConnection:
    """Hands SQL to SQLite and counts the rows that come back into Python."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.rows = 0

    def execute(self, sql, params=()):
        rows = self.conn.execute(sql, params).fetchall()
        self.rows += len(rows)
        return _Rows(rows)


class _Rows(list):
    def fetchall(self):
        return list(self)

    def fetchone(self):
        return self[0] if self else None


@pytest.mark.sqlite
@pytest.mark.parametrize("days", [30, 90])
def test_sqlite_hands_python_aggregates_not_rows(tmp_path: Path, days: int) -> None:
    """However many facts are stored, the report reads a bounded number of rows."""
    import sqlite3

    from referralkit.metrics import build_report
    from referralkit.storage._sqlite_metrics import SQLiteMetricsView
    from referralkit.testing._metrics_program import generated_program

    db = tmp_path / "program.db"
    store = SQLiteStore(db)
    generated_program(store, 5, days=days, customers=20)
    store.close()
    conn = sqlite3.connect(db)
    stored = sum(
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("referrals", "conversions", "rewards", "events")
    )
    counting = _CountingConnection(conn)
    report = build_report(
        SQLiteMetricsView(counting), by=("campaign", "channel", "referrer"), top=3
    )
    conn.close()
    # A row per week, per reason, per currency; per breakdown at most top keys x currencies.
    per_breakdown = 3 + 3 * 2 + 3 * 3 + 3  # funnel, revenue, rewards (or points), clicks
    bound = len(report.cohorts) + 2 + len(report.fraud_reasons) + 15 + 3 * per_breakdown
    assert counting.rows <= bound < stored


class _Reviews:
    """Sends every referee to review, citing ``velocity.burst`` (reviewers decide)."""

    name = "reviews"

    def check(self, context: object) -> rk.Verdict:
        return rk.Verdict(rk.Decision.REVIEW, ("velocity.burst",), 0.5)


@settings(max_examples=15, deadline=None)
@given(
    verdicts=st.lists(
        st.sampled_from(["approve", "velocity.burst", "review.rejected", "keep"]), max_size=6
    )
)
def test_fraud_reasons_count_rejected_attributions_not_citations(verdicts) -> None:
    """A reviewer who rejects for the guard's own reason still makes one rejected attribution."""
    for store in (MemoryStore(), SQLiteStore(":memory:")):
        program = rk.ReferralProgram(
            store=store, secret=SECRET, policy=Fixed(usd("1")), guards=[_Reviews()]
        )
        code = program.enroll("ann").code
        rejected: list[tuple[str, ...]] = []
        for n, verdict in enumerate(verdicts):
            ref = program.attribute(referee=f"friend-{n}", code=code)
            if verdict == "approve":
                program.approve(ref.id)
            elif verdict != "keep":
                rejected.append(program.reject(ref.id, reason=verdict).reasons)
        report = program.metrics()
        expected = {
            reason: sum(reason in reasons for reasons in rejected)
            for reason in {r for reasons in rejected for r in reasons}
        }
        assert report.rejected == len(rejected)
        assert report.fraud_reasons == expected
        assert all(n <= report.rejected for n in report.fraud_reasons.values())
        store.close()


def _rates_of(model: object, where: str = "report") -> Iterator[tuple[str, object]]:
    """Every figure defined as a rate, anywhere in a report (sections, breakdowns, cohorts)."""
    from pydantic import BaseModel

    if isinstance(model, list | tuple):
        for n, item in enumerate(model):
            yield from _rates_of(item, f"{where}[{n}]")
    elif isinstance(model, dict):
        for key, item in model.items():
            yield from _rates_of(item, f"{where}[{key!r}]")
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            value = getattr(model, name)
            definition = DEFINITIONS.get(name)
            if definition is not None and definition.unit == "rate":
                yield f"{where}.{name}", value
            yield from _rates_of(value, f"{where}.{name}")


@settings(max_examples=25, deadline=None)
@given(
    corners=st.booleans(),
    seed=st.integers(0, 10**6),
    days=st.integers(3, 40),
    since=st.none() | st.integers(0, 45),
    length=st.none() | st.integers(1, 45),
    active_customers=st.none() | st.integers(0, 60),
)
def test_every_rate_is_a_share_between_0_and_1(
    corners: bool,
    seed: int,
    days: int,
    since: int | None,
    length: int | None,
    active_customers: int | None,
) -> None:
    """On generated programs, over any window and base: each rate is in [0, 1] or None."""
    from referralkit.testing._metrics_program import (
        GENERATED_START,
        corners_program,
        generated_program,
    )

    build = corners_program if corners else generated_program
    program = build(MemoryStore(), seed, days=days)
    start = None if since is None else GENERATED_START + timedelta(days=since)
    end = None if length is None else (start or GENERATED_START) + timedelta(days=length)
    took_part = program.metrics(since=start, until=end).participants
    kwargs = {"since": start, "until": end, "active_customers": active_customers}
    if active_customers is not None and active_customers < took_part:
        # A base smaller than the customers who took part is refused, not divided by.
        with pytest.raises(rk.InvalidInput) as refused:
            program.metrics(**kwargs)
        assert refused.value.field == "active_customers"
        return
    report = program.metrics(**kwargs, by=["campaign", "channel", "referrer"])
    rates = dict(_rates_of(report))
    assert "report.click_to_signup_rate" in rates
    assert any(".breakdowns[" in where for where in rates) or not report.referrals
    for where, value in rates.items():
        assert value is None or 0 <= value <= 1, (where, value)


def test_the_rate_check_sees_a_rate_out_of_bounds(shop) -> None:
    """The property above would catch the old click-to-sign-up rate (referrals / clicks)."""
    report = shop.metrics()
    old = report.model_copy(update={"click_to_signup_rate": Decimal(report.referrals) / 3})
    assert dict(_rates_of(old))["report.click_to_signup_rate"] > 1


def _visitor(program: rk.ReferralProgram, code: str, n: int) -> None:
    program.track_click(program.link(code, channel="sms"), visitor=f"v{n}")
    program.attribute(referee=f"friend-{n}", visitor=f"v{n}")


#: How a friend arrives: a typed code (no click), a tracked visitor, a bare link, or
#: a browser who clicks and never signs up.
_ARRIVALS = {
    "typed": lambda program, code, n: program.attribute(referee=f"friend-{n}", code=code),
    "visitor": _visitor,
    "link": lambda program, code, n: program.attribute(
        referee=f"friend-{n}", link=program.link(code, channel="email")
    ),
    "browse": lambda program, code, n: program.track_click(
        program.link(code, channel="x"), visitor=f"b{n}"
    ),
}


@settings(max_examples=40, deadline=None)
@given(
    actions=st.lists(
        st.sampled_from(["typed", "visitor", "link", "browse", "self", "buy", "refund"]),
        max_size=30,
    ),
    active_customers=st.none() | st.integers(0, 5),
)
def test_every_rate_is_a_share_however_friends_arrive(
    actions: list[str], active_customers: int | None
) -> None:
    """Typed codes (no click), visitors, bare links, browsers who never sign up, cheats."""
    clock = FrozenClock(T0)
    program = rk.ReferralProgram(
        store=MemoryStore(),
        secret=SECRET,
        policy=DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))),
        link_base="https://shop.example/r",
        clock=clock,
        guards=[],
    )
    ann = program.enroll("ann").code
    friends: list[str] = []
    for n, action in enumerate(actions):
        clock.advance(hours=1)
        if action in _ARRIVALS:
            _ARRIVALS[action](program, ann, n)
            friends += [f"friend-{n}"] if action != "browse" else []
        elif action == "self":
            program.attribute(referee="ann", code=ann)
        elif action == "buy" and friends:
            program.convert(referee=friends[-1], order_id=f"o{n}", amount=usd("30"))
        elif action == "refund":
            with contextlib.suppress(rk.ReferralError):  # no such order, or refunded
                program.refund(order_id=f"o{n - 1}")
    if active_customers is not None and active_customers < program.metrics().participants:
        with pytest.raises(rk.InvalidInput):
            program.metrics(active_customers=active_customers)
        return
    report = program.metrics(active_customers=active_customers, by="channel")
    for where, value in _rates_of(report):
        assert value is None or 0 <= value <= 1, (where, value)
