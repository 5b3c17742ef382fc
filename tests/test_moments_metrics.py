"""Moments in the metrics report: one row per moment type, equal on every store, printed
by its labels in the text report, on the HTML page and by the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.cli import main
from referralkit.metrics import DEFINITIONS, MomentRow, format_report, render_html
from referralkit.metrics._render import MOMENT_COLUMNS, MOMENTS_TITLE
from referralkit.metrics._report import moment_row
from referralkit.moments import MomentRules, MomentStats
from referralkit.policies import Fixed
from referralkit.protocols import Store
from referralkit.storage import SQLiteStore
from referralkit.testing import FrozenClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = b"moments-metrics-secret-0123456789abcdef"


def _play(store: Store, clock: FrozenClock) -> rk.ReferralProgram:
    """Ann is asked twice after deliveries and shares once; two friends join, one orders.

    Cy is asked after a low review (score 1) and refused; nobody follows.
    """
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(rk.Money("10", "USD")),
        guards=[],
        clock=clock,
        moment_rules=MomentRules(cooldown=timedelta(0)),
    )
    code = program.enroll("ann").code
    first = program.moments.should_invite("ann", "order_delivered")
    program.moments.should_invite("ann", "order_delivered")
    program.moments.shared(first.id, channel="whatsapp")
    clock.advance(hours=1)
    program.attribute(code=code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=rk.Money("30", "USD"))
    program.attribute(code=code, referee="dee")
    program.moments.report("cy", "review", score=1)
    program.moments.should_invite("cy", "review")
    return program


def test_the_report_carries_each_moment_type_as_its_stats_say(store: Store) -> None:
    program = _play(store, FrozenClock(T0))
    report = program.metrics()
    stats = {s.moment: s for s in program.moments.stats()}
    assert [row.moment for row in report.moments] == sorted(stats)
    delivered = {row.moment: row for row in report.moments}["order_delivered"]
    assert delivered == moment_row(stats["order_delivered"])
    assert (delivered.moment_decisions, delivered.moment_invitations) == (2, 2)
    assert (delivered.moment_shares, delivered.moment_friends, delivered.moment_orders) == (
        1,
        2,
        1,
    )
    assert delivered.moment_share_rate == Decimal("0.5")
    assert delivered.referrals_per_invite == Decimal(1)
    assert delivered.moment_conversion_rate == Decimal("0.5")
    review = {row.moment: row for row in report.moments}["review"]
    assert (review.moment_decisions, review.moment_invitations) == (1, 0)
    assert review.moment_invite_rate == Decimal(0)
    assert review.moment_share_rate is None  # no invitation: no share rate, never a made-up 0


def test_the_window_counts_decisions_made_in_it(store: Store) -> None:
    clock = FrozenClock(T0)
    program = _play(store, clock)
    assert program.metrics(until=T0).moments == []
    assert program.metrics(since=clock() + timedelta(seconds=1)).moments == []
    assert len(program.metrics(since=T0).moments) == 2


@settings(max_examples=200, deadline=None)
@given(
    decided=st.integers(0, 50),
    invited=st.integers(0, 50),
    shared=st.integers(0, 50),
    friends=st.integers(0, 50),
    ordered=st.integers(0, 50),
)
def test_a_row_s_rates_follow_their_definitions(
    decided: int, invited: int, shared: int, friends: int, ordered: int
) -> None:
    """Shares in [0, 1] when the counts nest; None exactly when the denominator is 0."""
    invited = min(invited, decided)
    shared = min(shared, invited)
    ordered = min(ordered, friends)
    row = moment_row(MomentStats("m", decided, invited, shared, min(1, friends), friends, ordered))
    for name in ("moment_invite_rate", "moment_share_rate", "moment_conversion_rate"):
        value = getattr(row, name)
        assert DEFINITIONS[name].unit == "rate"
        assert value is None or Decimal(0) <= value <= Decimal(1)
    assert (row.moment_invite_rate is None) == (decided == 0)
    assert (row.moment_share_rate is None) == (invited == 0)
    assert (row.moment_conversion_rate is None) == (friends == 0)
    if invited:
        assert row.referrals_per_invite == (Decimal(friends) / invited).quantize(
            Decimal("0.000001")
        )


def test_every_column_is_a_definition_and_a_field() -> None:
    assert set(MOMENT_COLUMNS) == set(MomentRow.model_fields) - {"moment"}
    assert all(DEFINITIONS[c].scope == "moment" for c in MOMENT_COLUMNS)


def test_text_html_and_cli_print_the_moments_by_their_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "moments.db"
    store = SQLiteStore(path)
    report = _play(store, FrozenClock(T0)).metrics()
    store.close()
    text = format_report(report)
    page = render_html(report, plotly_js="https://cdn.example/plotly.js")
    assert main(["metrics", "--db", str(path)]) == 0
    printed = capsys.readouterr().out
    for out in (text, printed, page):
        assert MOMENTS_TITLE in out
        block = out.split(MOMENTS_TITLE, 1)[1]
        assert "order_delivered" in block
        assert "review" in block
        for name in MOMENT_COLUMNS:
            assert DEFINITIONS[name].label in block
    for out in (text, printed):
        line = next(
            x for x in out.split(MOMENTS_TITLE, 1)[1].splitlines() if "order_delivered" in x
        )
        assert "50.0 %" in line  # the share rate and the friends' order rate


def test_a_program_without_moments_prints_no_moments_block(store: Store) -> None:
    program = rk.ReferralProgram(store=store, secret=SECRET, policy=Fixed(rk.Money("1", "USD")))
    report = program.metrics()
    assert report.moments == []
    assert MOMENTS_TITLE not in format_report(report)
