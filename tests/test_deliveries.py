"""Holds that end at delivery plus a return window: ``program.delivered`` and release_due."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.moments import DELIVERED, MOMENTS, MomentRecord, UntilDelivered
from referralkit.policies import DoubleSided, Fixed
from referralkit.protocols import Store
from referralkit.storage import MemoryStore
from referralkit.testing import DeliveriesContract, FrozenClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = b"deliveries-test-secret-0123456789abcd"
DAY = timedelta(days=1)


class TestBuiltinStoresKeepDeliveries(DeliveriesContract):
    """Memory, a SQLite file and SQLite in memory meet the deliveries contract."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store


def _program(store: Store, clock: FrozenClock, hold: object) -> tuple[rk.ReferralProgram, str]:
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        clock=clock,
        hold=hold,  # type: ignore[arg-type]
    )
    code = program.enroll("ann").code
    program.attribute(code=code, referee="bob")
    return program, code


def test_a_reward_waits_for_delivery_then_the_return_window(store: Store) -> None:
    """Held with no date until delivered; released at delivery + window, not a second before."""
    clock = FrozenClock(T0)
    program, _ = _program(store, clock, UntilDelivered(return_window=14 * DAY))
    rewards = program.convert(referee="bob", order_id="o-1", amount=rk.Money("50", "USD"))
    assert {(r.state, r.hold_until) for r in rewards} == {(rk.RewardState.HELD, None)}
    clock.advance(days=60)
    assert program.release_due() == []
    shipped = T0 + 3 * DAY
    after = program.delivered("o-1", at=shipped)
    assert {r.hold_until for r in after} == {shipped + 14 * DAY}
    assert program.delivered("o-1", at=shipped + 5 * DAY) == after  # the first report stands
    clock.now = shipped + 14 * DAY - timedelta(seconds=1)
    assert program.release_due() == []
    clock.now = shipped + 14 * DAY
    assert {r.id for r in program.release_due()} == {r.id for r in rewards}
    types = [e.type for e in program.pending_events(limit=100)]
    assert types.count("reward.release_scheduled") == 2
    assert types.count("order.delivered") == 1
    with store.transaction() as uow:
        again = MomentRecord("bob", DELIVERED, f"{DELIVERED}:o-1", T0)
        stored, new = MOMENTS.repository(uow, store=store).add(again)
    assert not new  # the delivery was recorded as the customer's order_delivered moment
    assert stored.occurred_at == shipped


def test_a_delivery_reported_before_the_order_dates_its_rewards_at_grant(store: Store) -> None:
    """The host's delivery webhook may arrive first: the grant reads it."""
    clock = FrozenClock(T0)
    program, _ = _program(store, clock, UntilDelivered(return_window=7 * DAY))
    assert program.delivered("o-1", at=T0) == []
    rewards = program.convert(referee="bob", order_id="o-1", amount=rk.Money("50", "USD"))
    assert {r.hold_until for r in rewards} == {T0 + 7 * DAY}


def test_holds_mix_fixed_and_delivery_by_side(store: Store) -> None:
    """The friend's reward is usable at once, the referrer's waits for delivery."""
    clock = FrozenClock(T0)
    hold = {"referee": timedelta(0), "referrer": UntilDelivered(return_window=DAY)}
    program, _ = _program(store, clock, hold)
    rewards = program.convert(referee="bob", order_id="o-1", amount=rk.Money("50", "USD"))
    by_side = {r.beneficiary: r for r in rewards}
    assert by_side[rk.Beneficiary.REFEREE].state is rk.RewardState.AVAILABLE
    assert by_side[rk.Beneficiary.REFERRER].hold_until is None
    program.delivered("o-1", at=T0 + DAY)
    clock.advance(days=2)
    assert [r.beneficiary for r in program.release_due()] == [rk.Beneficiary.REFERRER]


def test_return_window_must_be_a_duration() -> None:
    """A ConfigError naming return_window."""
    with pytest.raises(rk.ConfigError) as caught:
        UntilDelivered(return_window=14)  # type: ignore[arg-type]
    assert caught.value.path == "return_window"


@given(
    ordered=st.integers(min_value=0, max_value=10_000),
    shipped=st.integers(min_value=0, max_value=10_000),
    window=st.integers(min_value=0, max_value=10_000),
    checked=st.integers(min_value=0, max_value=40_000),
)
def test_release_happens_exactly_from_delivery_plus_window(
    ordered: int, shipped: int, window: int, checked: int
) -> None:
    """Whatever the times (minutes), release_due releases iff now >= delivery + window."""
    minute = timedelta(minutes=1)
    clock = FrozenClock(T0 + ordered * minute)
    program, _ = _program(MemoryStore(), clock, UntilDelivered(return_window=window * minute))
    program.convert(referee="bob", order_id="o-1", amount=rk.Money("50", "USD"))
    delivered_at = T0 + (ordered + shipped) * minute
    clock.now = T0 + checked * minute
    released_before = program.release_due()
    program.delivered("o-1", at=delivered_at)
    released = program.release_due()
    assert released_before == []
    assert bool(released) == (clock.now >= delivered_at + window * minute)
