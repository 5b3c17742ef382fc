"""Trigger moments: the store contract on every store, the rules, the program, learning."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given

import referralkit as rk
from referralkit.errors import ConfigError, InvalidInput, NotFound
from referralkit.moments import (
    COOLDOWN,
    DELIVERED,
    EXPLORE,
    INVITE,
    LOW_SCORE,
    LOYALTY_MILESTONE,
    NPS,
    PERIOD_LIMIT,
    REFUNDED,
    REPEAT_PURCHASE,
    REVIEW,
    Learning,
    MomentContext,
    MomentRules,
    decide,
)
from referralkit.policies import Fixed
from referralkit.protocols import Store
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock, MomentsContract
from strategies import moment_histories

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = b"moments-test-secret-0123456789abcdef"
DAY = timedelta(days=1)


class TestBuiltinStoresKeepMoments(MomentsContract):
    """Memory, a SQLite file and SQLite in memory meet the moments contract."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store


def _program(
    store: Store, clock: FrozenClock, *, rules: MomentRules | None = None, **kw: object
) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(rk.Money("10", "USD")),
        guards=[],
        clock=clock,
        moment_rules=rules,
        **kw,  # type: ignore[arg-type]
    )


# -- the rules, pure -------------------------------------------------------------------------


@given(history=moment_histories())
def test_the_limits_allow_an_invitation_exactly_when_both_are_met(
    history: tuple[list[timedelta], timedelta, int, timedelta],
) -> None:
    """No invitation within the cool-down, fewer than N within the period: else a reason."""
    ago, cooldown, per_period, period = history
    rules = MomentRules(cooldown=cooldown, per_period=per_period, period=period)
    verdict = decide(MomentContext(REVIEW, T0, [T0 - a for a in ago]), rules)
    in_cooldown = any(a < cooldown for a in ago)
    in_period = sum(1 for a in ago if a < period)
    assert verdict.invite == (not in_cooldown and in_period < per_period)
    if in_cooldown:
        assert verdict.reason == COOLDOWN
        assert verdict.next_allowed_at == T0 - min(ago) + cooldown
    elif not verdict.invite:
        assert verdict.reason == PERIOD_LIMIT
        assert verdict.next_allowed_at is not None
        later = decide(MomentContext(REVIEW, verdict.next_allowed_at, [T0 - a for a in ago]), rules)
        earlier = decide(
            MomentContext(
                REVIEW, verdict.next_allowed_at - timedelta(seconds=1), [T0 - a for a in ago]
            ),
            rules,
        )
        assert later.reason != PERIOD_LIMIT
        assert earlier.reason == PERIOD_LIMIT
    else:
        assert verdict.reason == INVITE


def test_a_refund_or_a_low_score_means_no_whatever_the_limits() -> None:
    """Refunded last order, then a low latest score, are checked before the limits."""
    rules = MomentRules()
    ask = MomentContext(DELIVERED, T0, last_order_refunded=True, last_score=(REVIEW, 5))
    assert decide(ask, rules).reason == REFUNDED
    assert decide(MomentContext(NPS, T0, last_score=(NPS, 6)), rules).reason == LOW_SCORE
    assert decide(MomentContext(NPS, T0, last_score=(NPS, 7)), rules).reason == INVITE
    assert decide(MomentContext(REVIEW, T0, last_score=(REVIEW, 3)), rules).reason == LOW_SCORE
    mine = MomentRules(low_scores={"csat": 60})
    assert decide(MomentContext("x", T0, last_score=("csat", 60)), mine).reason == LOW_SCORE
    assert decide(MomentContext("x", T0, last_score=(REVIEW, 1)), mine).reason == INVITE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cooldown", timedelta(-1)),
        ("period", timedelta(0)),
        ("per_period", 0),
        ("per_period", True),
        ("low_scores", {"review": "3"}),
        ("follow_window", 7),
    ],
)
def test_rules_refuse_nonsense_naming_the_field(field: str, value: object) -> None:
    """A ConfigError whose path is the field."""
    with pytest.raises(ConfigError) as caught:
        MomentRules(**{field: value})  # type: ignore[arg-type]
    assert caught.value.path == field


# -- the program -----------------------------------------------------------------------------


def test_the_named_moments_are_known() -> None:
    """The library's moment names, as the issue lists them."""
    assert (DELIVERED, REVIEW, NPS, REPEAT_PURCHASE, LOYALTY_MILESTONE) == (
        "order_delivered",
        "review",
        "nps",
        "repeat_purchase",
        "loyalty_milestone",
    )


def test_should_invite_applies_cooldown_and_period_and_records_every_answer(store: Store) -> None:
    """Yes, then no within the cool-down, yes after it, then no at the period's limit."""
    clock = FrozenClock(T0)
    rules = MomentRules(cooldown=7 * DAY, per_period=2, period=30 * DAY)
    program = _program(store, clock, rules=rules)
    first = program.moments.should_invite("ann", DELIVERED)
    assert (first.invite, first.reason) == (True, INVITE)
    clock.advance(days=1)
    second = program.moments.should_invite("ann", REVIEW)
    assert (second.invite, second.reason) == (False, COOLDOWN)
    assert second.next_allowed_at == T0 + 7 * DAY
    clock.advance(days=7)
    assert program.moments.should_invite("ann", REVIEW).invite
    clock.advance(days=8)
    third = program.moments.should_invite("ann", "host_own_moment")
    assert (third.invite, third.reason) == (False, PERIOD_LIMIT)
    assert third.next_allowed_at == T0 + 30 * DAY
    assert program.moments.should_invite("bob", REVIEW).invite  # another customer
    stats = {s.moment: (s.decided, s.invited) for s in program.moments.stats()}
    assert stats == {DELIVERED: (1, 1), REVIEW: (3, 2), "host_own_moment": (1, 0)}


def test_asking_again_with_the_same_key_gives_the_recorded_answer(store: Store) -> None:
    """A re-rendered page (same key) is not refused by its own first view's cool-down."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    first = program.moments.should_invite("ann", DELIVERED, key="page-1")
    clock.advance(minutes=1)
    again = program.moments.should_invite("ann", DELIVERED, key="page-1")
    assert (again.id, again.invite, again.reason, again.decided_at) == (
        first.id,
        True,
        INVITE,
        T0,
    )
    assert program.moments.should_invite("ann", DELIVERED, key="page-2").reason == COOLDOWN
    with pytest.raises(rk.IdempotencyConflict):
        program.moments.should_invite("ann", REVIEW, key="page-1")
    stats = {s.moment: (s.decided, s.invited) for s in program.moments.stats()}
    assert stats == {DELIVERED: (2, 1)}


def test_a_low_review_or_a_refunded_last_order_stops_the_invitation(store: Store) -> None:
    """The latest scored moment and the latest order decide; a better one later lifts it."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    program.moments.report("ann", REVIEW, score=2, order_id="o-1")
    assert program.moments.should_invite("ann", DELIVERED).reason == LOW_SCORE
    clock.advance(hours=1)
    program.moments.report("ann", REVIEW, score=5, order_id="o-2")
    assert program.moments.should_invite("ann", REVIEW).reason == INVITE
    program.enroll("ann")
    program.convert(referee="cy", order_id="o-9", amount=rk.Money("20", "USD"))
    program.refund(order_id="o-9")
    assert program.moments.should_invite("cy", DELIVERED).reason == REFUNDED
    clock.advance(hours=1)
    program.convert(referee="cy", order_id="o-10", amount=rk.Money("20", "USD"))
    assert program.moments.should_invite("cy", DELIVERED).reason == INVITE


def test_a_moment_is_reported_once_per_key(store: Store) -> None:
    """The same key (or the same moment of the same order) again returns the first report."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    first = program.moments.report("ann", DELIVERED, order_id="o-1")
    clock.advance(hours=2)
    again = program.moments.report("ann", DELIVERED, order_id="o-1")
    assert again == first
    keyed = program.moments.report("ann", NPS, score=9, key="hook-1")
    assert program.moments.report("ann", NPS, score=3, key="hook-1") == keyed
    with pytest.raises(InvalidInput):
        program.moments.report("ann", NPS, score=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        program.moments.report("", NPS)


def test_what_followed_an_invitation_is_counted_per_moment(store: Store) -> None:
    """Shares, friends joining after an invitation and their orders, by the moment asked at."""
    clock = FrozenClock(T0)
    program = _program(store, clock, rules=MomentRules(cooldown=timedelta(0)))
    code = program.enroll("ann").code
    asked = program.moments.should_invite("ann", DELIVERED)
    assert program.moments.shared(asked.id, channel="whatsapp") is True
    assert program.moments.shared(asked.id) is False
    clock.advance(hours=1)
    program.attribute(code=code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=rk.Money("30", "USD"))
    clock.advance(hours=1)
    program.attribute(code=code, referee="cy")
    clock.advance(days=30)
    program.attribute(code=code, referee="dee")  # long after: no invitation's friend
    stats = {s.moment: s for s in program.moments.stats()}
    delivered = stats[DELIVERED]
    assert (delivered.invited, delivered.shared, delivered.friends, delivered.ordered) == (
        1,
        1,
        2,
        1,
    )
    assert delivered.referrals_per_invite == 2.0
    assert delivered.conversion_rate == 0.5
    assert program.moments.stats(since=T0 + DAY) == []
    refused = program.moments.should_invite("zed", DELIVERED)
    program.moments.report("zed", REVIEW, score=1)
    no = program.moments.should_invite("zed", REVIEW)
    assert refused.invite
    assert not no.invite
    with pytest.raises(InvalidInput):
        program.moments.shared(no.id)
    with pytest.raises(NotFound):
        program.moments.shared("no-such-decision")


def test_a_decision_has_a_json_form() -> None:
    """InviteDecision.to_dict() is JSON-safe, with its evidence."""
    clock = FrozenClock(T0)
    learning = Learning(moments=(DELIVERED, REVIEW), rng=random.Random(1), explore=1.0)
    program = _program(MemoryStore(), clock, learning=learning)
    decision = program.moments.should_invite("ann", DELIVERED)
    form = decision.to_dict()
    assert form["reason"] == EXPLORE
    assert form["exploration"] == 1.0
    assert [e["moment"] for e in form["evidence"]] == [DELIVERED, REVIEW]


# -- learning --------------------------------------------------------------------------------


def test_learning_finds_the_moment_that_brings_friends() -> None:
    """Simulated shop: friends follow an invitation at 'review' 50%, elsewhere 10%.

    Seeded; the learner must come to ask mostly at 'review', and its evidence must rank
    'review' first, with the exploration rate shown on every decision.
    """
    chance = {DELIVERED: 0.1, REVIEW: 0.5, REPEAT_PURCHASE: 0.1}
    world = random.Random(2026)
    learning = Learning(moments=tuple(chance), explore=0.1, rng=random.Random(7))
    clock = FrozenClock(T0)
    program = _program(
        MemoryStore(),
        clock,
        rules=MomentRules(cooldown=timedelta(0), per_period=None),
        learning=learning,
    )
    asked_at: list[str] = []
    friends = 0
    for customer in range(300):
        cid = f"c-{customer}"
        code = program.enroll(cid).code
        for moment in world.sample(list(chance), k=3):
            clock.advance(minutes=1)
            decision = program.moments.should_invite(cid, moment)
            assert decision.exploration == 0.1
            if decision.invite:
                asked_at.append(moment)
                if world.random() < chance[moment]:
                    friends += 1
                    program.attribute(code=code, referee=f"f-{friends}")
    last = asked_at[-150:]
    assert last.count(REVIEW) / len(last) > 0.7
    final = program.moments.should_invite("c-last", REVIEW)
    ranked = sorted(final.evidence, key=lambda e: e.mean, reverse=True)
    assert ranked[0].moment == REVIEW
    assert all(e.asked > 0 for e in final.evidence)  # exploration kept every type measured


def test_without_a_better_moment_learning_does_not_settle_on_one() -> None:
    """Control: when every moment is the same, no moment takes over the invitations."""
    world = random.Random(11)
    moments = (DELIVERED, REVIEW, REPEAT_PURCHASE)
    learning = Learning(moments=moments, explore=0.1, rng=random.Random(3))
    clock = FrozenClock(T0)
    program = _program(
        MemoryStore(),
        clock,
        rules=MomentRules(cooldown=timedelta(0), per_period=None),
        learning=learning,
    )
    asked_at: list[str] = []
    friends = 0
    for customer in range(200):
        cid = f"c-{customer}"
        code = program.enroll(cid).code
        for moment in world.sample(list(moments), k=3):
            clock.advance(minutes=1)
            if program.moments.should_invite(cid, moment).invite:
                asked_at.append(moment)
                if world.random() < 0.3:
                    friends += 1
                    program.attribute(code=code, referee=f"f-{friends}")
    shares = [asked_at.count(m) / len(asked_at) for m in moments]
    assert max(shares) < 0.6


def test_the_evidence_is_read_again_once_its_refresh_time_has_passed(store: Store) -> None:
    """Within ``refresh`` the last evidence read is reused; after it, friends since count."""
    clock = FrozenClock(T0)
    learning = Learning(
        moments=(DELIVERED,), explore=1.0, rng=random.Random(5), refresh=timedelta(minutes=10)
    )
    program = _program(
        store, clock, rules=MomentRules(cooldown=timedelta(0), per_period=None), learning=learning
    )
    code = program.enroll("ann").code
    first = program.moments.should_invite("ann", DELIVERED)
    assert [(e.asked, e.followed) for e in first.evidence] == [(0, 0)]
    clock.advance(minutes=1)
    program.attribute(code=code, referee="bob")
    clock.advance(minutes=1)
    cached = program.moments.should_invite("cy", DELIVERED)
    assert [(e.asked, e.followed) for e in cached.evidence] == [(0, 0)]
    clock.advance(minutes=10)
    fresh = program.moments.should_invite("dee", DELIVERED)
    assert [(e.asked, e.followed) for e in fresh.evidence] == [(2, 1)]


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"moments": ()}, "moments"),
        ({"moments": ("a", "a")}, "moments"),
        ({"moments": ("a",), "explore": 2}, "explore"),
        ({"moments": ("a",), "window": timedelta(0)}, "window"),
        ({"moments": ("a",), "refresh": timedelta(-1)}, "refresh"),
    ],
)
def test_learning_refuses_nonsense(kwargs: dict[str, object], path: str) -> None:
    """Distinct moment names, an exploration rate in [0, 1]."""
    with pytest.raises(ConfigError) as caught:
        Learning(**kwargs)  # type: ignore[arg-type]
    assert caught.value.path == path
