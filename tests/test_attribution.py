"""Clicks, the attribution model (first / last touch in a window), typed codes, reassignment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.metrics import Attribution, Click, resolve_attribution, winning_click
from referralkit.model import Beneficiary, ReferralStatus
from referralkit.policies import DoubleSided, Fixed
from referralkit.testing import FrozenClock

SECRET = b"0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def make(
    store: rk.Store, clock: FrozenClock, attribution: Attribution | str | None = None
) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        link_base="https://shop.example/r",
        clock=clock,
        attribution=attribution,  # type: ignore[arg-type]
    )


def two_clicks(program: rk.ReferralProgram, clock: FrozenClock) -> tuple[str, str]:
    """Ann's link is clicked first (email), Bob's a day later (sms), by the same visitor."""
    ann, bob = program.enroll("ann").code, program.enroll("bob").code
    program.track_click(program.link(ann, channel="email"), visitor="cookie-1")
    clock.advance(days=1)
    program.track_click(program.link(bob, channel="sms", campaign="spring"), visitor="cookie-1")
    clock.advance(hours=2)
    return ann, bob


def test_last_touch_credits_the_latest_click(store, clock) -> None:
    program = make(store, clock)
    two_clicks(program, clock)
    ref = program.attribute(referee="cat", visitor="cookie-1")
    assert (ref.referrer, ref.channel, ref.campaign) == ("bob", "sms", "spring")


def test_first_touch_credits_the_earliest_click(store, clock) -> None:
    program = make(store, clock, "first_touch")
    two_clicks(program, clock)
    ref = program.attribute(referee="cat", visitor="cookie-1")
    assert (ref.referrer, ref.channel, ref.campaign) == ("ann", "email", "default")


def test_clicks_older_than_the_window_do_not_count(store, clock) -> None:
    program = make(store, clock, Attribution("first_touch", timedelta(hours=12)))
    two_clicks(program, clock)
    assert program.attribute(referee="cat", visitor="cookie-1").referrer == "bob"
    clock.advance(days=40)
    # A visitor with no click in the window is a plain sign-up: nothing to attribute.
    assert program.attribute(referee="dan", visitor="cookie-1") is None
    assert program.attribution_for("cookie-1") is None


def test_default_window_is_thirty_days(store, clock) -> None:
    program = make(store, clock)
    assert program.attribution == Attribution("last_touch", timedelta(days=30))
    two_clicks(program, clock)
    clock.advance(days=29)
    click = program.attribution_for("cookie-1")
    assert click is not None
    assert click.code == program.code_for("bob").code  # type: ignore[union-attr]
    clock.advance(days=2)
    assert program.attribution_for("cookie-1") is None


def test_a_typed_code_beats_any_click(store, clock) -> None:
    program = make(store, clock)
    ann, _ = two_clicks(program, clock)
    ref = program.attribute(referee="cat", code=ann.lower(), visitor="cookie-1")
    assert ref.referrer == "ann"
    assert ref.channel is None


def test_the_link_in_hand_is_a_touch_too(store, clock) -> None:
    """First touch keeps an earlier tracked click over the link the visitor arrives with."""
    first = make(store, clock, "first_touch")
    _, bob = two_clicks(first, clock)
    cat = first.enroll("cat").code
    url = first.link(cat, channel="x")
    assert first.attribute(referee="dan", link=url, visitor="cookie-1").referrer == "ann"
    last = make(store, clock, "last_touch")
    assert last.attribute(referee="eve", link=url, visitor="cookie-1").referrer == "cat"
    assert last.attribute(referee="fay", link=url).referrer == "cat"
    assert bob != cat


def test_attribution_is_permanent_until_an_operator_reassigns(store, clock) -> None:
    program = make(store, clock)
    ann, bob = two_clicks(program, clock)
    first = program.attribute(referee="cat", code=ann)
    program.convert(referee="cat", order_id="o-1", amount=rk.Money("50", "USD"))
    # Another referrer's code later does not steal the referee.
    again = program.attribute(referee="cat", code=bob)
    assert again.status is ReferralStatus.REJECTED
    assert again.reasons == ("duplicate_referee.already_referred",)
    moved = program.reassign(referee="cat", code=bob, note="ticket 42")
    assert (moved.id, moved.referrer, moved.status) == (first.id, "bob", ReferralStatus.QUALIFIED)
    assert "reassign.operator" in moved.reasons
    assert program.reassign(referee="cat", code=bob) == moved  # idempotent
    events = [e for e in program.pending_events(100) if e.type == "referral.reassigned"]
    assert len(events) == 1
    assert events[0].payload["previous_referrer"] == "ann"
    assert events[0].payload["note"] == "ticket 42"
    # Later orders earn for the new referrer.
    later = program.convert(referee="cat", order_id="o-2", amount=rk.Money("50", "USD"))
    assert {r.customer_id for r in later if r.beneficiary is Beneficiary.REFERRER} == {"bob"}
    assert program.status("bob").qualified == 1
    assert program.status("ann").qualified == 0


def test_reassign_attributes_a_referee_who_had_no_referral(store, clock) -> None:
    program = make(store, clock)
    ann = program.enroll("ann").code
    ref = program.reassign(referee="newbie", code=ann)
    assert (ref.referrer, ref.status, ref.reasons) == (
        "ann",
        ReferralStatus.PENDING,
        ("reassign.operator",),
    )


def test_reassign_refuses_self_referral_and_unknown_codes(store, clock) -> None:
    program = make(store, clock)
    ann = program.enroll("ann").code
    with pytest.raises(rk.InvalidInput):
        program.reassign(referee="ann", code=ann)
    with pytest.raises(rk.UnknownCode):
        program.reassign(referee="bob", code=rk.generate_code())


def test_a_click_is_a_fact_with_its_visitor_channel_and_campaign_not_an_event(store, clock) -> None:
    """A click is stored in the clicks, under the visitor's keyed hash; the outbox stays empty."""
    program = make(store, clock)
    ann = program.enroll("ann", campaign="spring").code
    click = program.track_click(ann.lower(), visitor="cookie-9", channel="qr")
    assert (click.code, click.visitor, click.channel, click.campaign) == (
        ann,
        "cookie-9",
        "qr",
        "spring",
    )
    assert [e for e in program.pending_events(10) if e.type == "click"] == []
    with store.transaction() as uow:
        (stored,) = uow.clicks.for_visitor(
            [program._core.hasher.digest("visitor", "cookie-9")], T0, T0
        )
        assert uow.clicks.for_visitor(["cookie-9"], T0, T0) == []  # never the id itself
    assert (stored.code, stored.channel, stored.campaign, stored.occurred_at) == (
        ann,
        "qr",
        "spring",
        T0,
    )
    assert stored.id == click.id


@pytest.mark.parametrize(
    ("target", "visitor", "error"),
    [
        ("NOT A CODE!", "v", rk.InvalidCode),
        ("https://shop.example/r?ref=ABCD", "v", rk.InvalidLink),
        (None, "v", rk.InvalidInput),
        ("{code}", "", rk.InvalidInput),
        ("{code}", "x" * 500, rk.InvalidInput),
    ],
)
def test_bad_clicks_raise_clear_errors(store, clock, target, visitor, error) -> None:
    program = make(store, clock)
    code = program.enroll("ann").code
    text = target.format(code=code) if isinstance(target, str) else target
    with pytest.raises(error):
        program.track_click(text, visitor=visitor)


def test_an_unknown_code_cannot_be_clicked(store, clock) -> None:
    program = make(store, clock)
    with pytest.raises(rk.UnknownCode):
        program.track_click(rk.generate_code(), visitor="v")


def test_a_bad_attribution_setting_is_a_config_error(store, clock) -> None:
    with pytest.raises(rk.ConfigError):
        make(store, clock, "middle_touch")
    with pytest.raises(rk.ConfigError):
        Attribution("first_touch", timedelta(0))


# -- the rules as properties ------------------------------------------------------------------

times = st.integers(min_value=0, max_value=60 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))
clicks = st.lists(
    st.builds(
        Click,
        code=st.sampled_from(["AAAA", "BBBB", "CCCC"]),
        visitor=st.just("v"),
        occurred_at=times,
        id=st.integers(min_value=1, max_value=10**6),
    ),
    max_size=12,
    unique_by=lambda c: c.id,
)


@given(clicks=clicks, now=times, days=st.integers(min_value=1, max_value=60))
def test_the_winner_is_the_first_or_last_click_inside_the_window(clicks, now, days) -> None:
    window = timedelta(days=days)
    inside = sorted(
        (c for c in clicks if now - window <= c.occurred_at <= now),
        key=lambda c: (c.occurred_at, c.id),
    )
    first = winning_click(clicks, model="first_touch", window=window, now=now)
    last = winning_click(clicks, model="last_touch", window=window, now=now)
    assert first == (inside[0] if inside else None)
    assert last == (inside[-1] if inside else None)


@given(clicks=clicks, now=times, typed=st.sampled_from(["DDDD", "AAAA"]))
def test_a_typed_code_always_wins(clicks, now, typed) -> None:
    for model in ("first_touch", "last_touch"):
        assert resolve_attribution(clicks, typed, model=model, now=now) == typed  # type: ignore[arg-type]


@pytest.mark.parametrize("visitor", ["", "   ", 42, "x" * 500, "tab\there"])
def test_a_bad_visitor_is_refused_even_beside_a_typed_code(store, clock, visitor) -> None:
    """The typed code wins, but a visitor id that could never be tracked is still an error."""
    program = make(store, clock)
    ann = program.enroll("ann").code
    with pytest.raises(rk.InvalidInput) as caught:
        program.attribute(referee="cat", code=ann, visitor=visitor)
    assert caught.value.field == "visitor"
    with store.transaction() as uow:
        assert uow.referrals.active_for_referee("cat") is None


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_channel_or_campaign_is_refused_for_links_as_for_codes(store, clock, blank) -> None:
    """A link's channel is not silently kept when the caller passes an empty one."""
    program = make(store, clock)
    ann = program.enroll("ann").code
    url = program.link(ann, channel="sms")
    for target in (url, ann):
        for field in ("channel", "campaign"):
            with pytest.raises(rk.InvalidInput) as caught:
                program.track_click(target, visitor="v", **{field: blank})
            assert caught.value.field == field
    assert [e for e in program.pending_events(10) if e.type == "click"] == []
