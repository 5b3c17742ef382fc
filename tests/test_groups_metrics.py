"""Group-buy figures: defined once, equal on every store, in the report, text, HTML and CLI."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import referralkit as rk
from referralkit.cli import main
from referralkit.metrics import DEFINITIONS, format_report, render_html
from referralkit.policies import Fixed
from referralkit.storage import SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"group metrics secret, 32 bytes long"
FIGURES = (
    "groups_started",
    "groups_completed",
    "groups_expired",
    "group_fill_rate",
    "median_time_to_fill",
    "members_per_group",
    "new_customers_per_group",
    "group_k_factor",
)


def _play(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    """Ann fills a group of 3 in 2 h and one of 2 in 4 h; Ivy's group of 4 expires."""
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(rk.Money("5", "USD")),
        guards=[],
        link_base="https://shop.example/r",
        clock=clock,
    )
    reward = Fixed(rk.Money("10", "USD"), kind="credit")
    deadline = clock() + timedelta(days=1)
    three = program.groups.start("ann", size=3, deadline=deadline, reward=reward)
    two = program.groups.start("ann", size=2, deadline=deadline, reward=reward)
    four = program.groups.start("ivy", size=4, deadline=deadline, reward=reward)
    program.groups.join(four.code, "x1")
    clock.advance(hours=2)
    program.groups.join(three.code, "b1")
    program.groups.join(three.code, "b2")
    clock.advance(hours=2)
    program.convert(referee="old", order_id="o-old", amount=rk.Money("9", "USD"))
    program.groups.start("zed", size=2, deadline=deadline, reward=reward, new_customers_only=False)
    program.groups.join(two.code, "b3")
    clock.advance(days=1)
    program.groups.expire_due()
    return program


def test_the_figures_follow_their_definitions(store: rk.Store) -> None:
    report = _play(store, FrozenClock()).metrics()
    assert set(FIGURES) <= set(DEFINITIONS)
    assert report.groups_started == 4
    assert report.groups_completed == 2
    assert report.groups_expired == 2  # ivy's and zed's
    assert report.group_fill_rate == Decimal("0.5")
    assert report.median_time_to_fill == timedelta(hours=3)  # 2 h and 4 h
    assert report.members_per_group == Decimal(2)  # 3 + 2 + 2 + 1 places / 4 groups
    assert report.new_customers_per_group == Decimal(1)  # b1, b2, b3, x1
    assert report.group_k_factor == Decimal("1.333333")  # 4 new customers / 3 initiators


def test_the_window_counts_groups_started_in_it(store: rk.Store) -> None:
    clock = FrozenClock()
    start = clock()
    program = _play(store, clock)
    later = program.metrics(since=start + timedelta(hours=1))
    assert (later.groups_started, later.groups_expired, later.groups_completed) == (1, 1, 0)


def test_text_html_and_cli_print_every_figure_by_its_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "groups.db"
    store = SQLiteStore(path)
    report = _play(store, FrozenClock()).metrics()
    store.close()
    text = format_report(report)
    page = render_html(report, plotly_js="https://cdn.example/plotly.js")
    assert main(["metrics", "--db", str(path)]) == 0
    printed = capsys.readouterr().out
    for out in (text, printed):
        assert "Group-buys" in out
        block = out.split("Group-buys", 1)[1]
        for name in FIGURES:
            assert DEFINITIONS[name].label in block
        assert "50.0 %" in block
        assert "1.333" in block
        assert "0d 03h" in block
    assert "Group-buys" in page
    for name in FIGURES:
        assert DEFINITIONS[name].label in page


def test_a_window_without_groups_leaves_the_figures_out(store: rk.Store) -> None:
    clock = FrozenClock()
    start = clock()
    program = _play(store, clock)
    assert program.metrics(until=start).groups_started is None
    assert program.metrics(since=clock()).group_k_factor is None
    assert "Group-buys" not in format_report(program.metrics(until=start))


def test_a_store_without_groups_leaves_the_figures_out() -> None:
    from test_groups import NoGroupsStore

    program = rk.ReferralProgram(
        store=NoGroupsStore(), secret=SECRET, policy=Fixed(rk.Money("5", "USD"))
    )
    report = program.metrics()
    assert report.groups_started is None
    assert "Group-buys" not in format_report(report)
