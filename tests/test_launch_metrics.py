"""Invitations and the waitlist in the metrics report: defined once, equal on every store
that keeps them, printed by their labels in the text report, on the HTML page and by the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import referralkit as rk
from referralkit.cli import main
from referralkit.metrics import DEFINITIONS, format_report, render_html
from referralkit.metrics._render import INVITATIONS_TITLE
from referralkit.metrics._report import INVITATION_FIGURES, WAITLIST_FIGURES
from referralkit.policies import Fixed
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = b"launch-metrics-secret-0123456789abcdef"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rk.Store]:
    opened: rk.Store = (
        MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "l.db")
    )
    yield opened
    opened.close()


def _play(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    """Ann's invitation (3 uses) signs up two; Lee joins the waitlist and brings Max."""
    program = rk.ReferralProgram(
        store=store, secret=SECRET, policy=Fixed(rk.Money("5", "USD")), guards=[], clock=clock
    )
    invitation = program.invitations.issue("ann", uses=3)
    program.invitations.redeem(invitation.code, "bob")
    program.invitations.redeem(invitation.code, "cy")
    program.invitations.redeem(invitation.code, "cy")  # a retry: the same sign-up
    program.waitlist.join("lee")
    program.waitlist.join("max", code=program.waitlist.code("lee"))
    program.waitlist.join("ned")
    clock.advance(hours=1)
    program.waitlist.admit(1)  # lee, moved up by max; issued an invitation of their own
    return program


def test_the_figures_follow_their_definitions(store: rk.Store) -> None:
    report = _play(store, FrozenClock(T0)).metrics()
    assert {*INVITATION_FIGURES, *WAITLIST_FIGURES} <= set(DEFINITIONS)
    assert report.invitations_issued == 2  # ann's, and lee's on admission
    assert report.invitations_redeemed == 2
    assert report.invitation_uses == 4  # 3 for ann, the default 1 for lee
    assert report.invitation_conversion_rate == Decimal("0.5")
    assert (report.waitlist_joined, report.waitlist_size, report.waitlist_admitted) == (3, 2, 1)
    assert report.waitlist_referred_joins == 1
    assert report.waitlist_places_gained == 5  # the default places per referral


def test_the_window_counts_invitations_issued_in_it(store: rk.Store) -> None:
    clock = FrozenClock(T0)
    program = _play(store, clock)
    later = program.metrics(since=T0 + timedelta(minutes=30))
    assert later.invitations_issued == 1  # lee's, on admission
    assert later.invitations_redeemed == 0
    assert program.metrics(until=T0).invitations_issued is None


def test_a_program_without_invitations_or_a_waitlist_leaves_them_out(store: rk.Store) -> None:
    program = rk.ReferralProgram(store=store, secret=SECRET, policy=Fixed(rk.Money("1", "USD")))
    report = program.metrics()
    assert all(getattr(report, n) is None for n in (*INVITATION_FIGURES, *WAITLIST_FIGURES))
    assert INVITATIONS_TITLE not in format_report(report)


def test_text_html_and_cli_print_every_figure_by_its_label(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "launch.db"
    store = SQLiteStore(path)
    report = _play(store, FrozenClock(T0)).metrics()
    store.close()
    text = format_report(report)
    page = render_html(report, plotly_js="https://cdn.example/plotly.js")
    assert main(["metrics", "--db", str(path)]) == 0
    printed = capsys.readouterr().out
    for out in (text, printed, page):
        assert INVITATIONS_TITLE in out
        block = out.split(INVITATIONS_TITLE, 1)[1]
        for name in (*INVITATION_FIGURES, *WAITLIST_FIGURES):
            assert DEFINITIONS[name].label in block
    assert printed.split("referralkit metrics", 1)[1] == text.split("referralkit metrics", 1)[1]
