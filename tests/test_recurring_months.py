"""``Recurring(months=N)``: repeat orders earn for N calendar months after the referral.

Months are calendar months in a time zone (UTC unless named), the day of the month
clamped to a shorter month's last day; the parameter was added after release, so a
``Recurring`` without it keeps the definition (and the terms version) it had before.
"""

from __future__ import annotations

import calendar
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.config import build_policy
from referralkit.policies import Fixed, PercentOfOrder, Recurring, policy_definition
from referralkit.policies._periods import add_months
from strategies import reward_context

UTC = timezone.utc
# Hypothesis takes naive bounds and adds the zone itself.
EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2090, 1, 1)  # noqa: DTZ001
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe")


def _earns(policy: Recurring, attributed: datetime, placed: datetime) -> bool:
    context = reward_context("100", order_number=2, now=placed)
    referral = attrs.evolve(context.referral, attributed_at=attributed)
    return bool(policy.evaluate(attrs.evolve(context, referral=referral)))


@pytest.mark.parametrize(
    ("attributed", "months", "last_earning", "first_not"),
    [
        # The same day and time N months on: the second before earns, that moment doesn't.
        (datetime(2026, 3, 15, 9, 30, tzinfo=UTC), 1, "2026-04-15T09:29:59", "2026-04-15T09:30:00"),
        (datetime(2026, 11, 5, 0, 0, tzinfo=UTC), 3, "2027-02-04T23:59:59", "2027-02-05T00:00:00"),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), 12, "2026-12-31T23:59:59", "2027-01-01T00:00:00"),
        # A day the later month lacks is clamped to its last day, leap years included.
        (datetime(2026, 1, 31, 12, 0, tzinfo=UTC), 1, "2026-02-28T11:59:59", "2026-02-28T12:00:00"),
        (datetime(2028, 1, 31, 12, 0, tzinfo=UTC), 1, "2028-02-29T11:59:59", "2028-02-29T12:00:00"),
        (datetime(2026, 8, 31, 8, 0, tzinfo=UTC), 1, "2026-09-30T07:59:59", "2026-09-30T08:00:00"),
    ],
)
def test_months_end_at_the_same_time_n_calendar_months_later(
    attributed: datetime, months: int, last_earning: str, first_not: str
) -> None:
    policy = Recurring(Fixed(1), months=months)
    assert _earns(policy, attributed, datetime.fromisoformat(last_earning).replace(tzinfo=UTC))
    assert not _earns(policy, attributed, datetime.fromisoformat(first_not).replace(tzinfo=UTC))


def test_months_in_a_named_zone_follow_its_local_calendar_across_a_clock_change() -> None:
    """Berlin: 30 Jan 00:30 local (29 Jan 23:30 UTC) + 2 months is 30 Mar 00:30 CEST."""
    berlin = ZoneInfo("Europe/Berlin")
    attributed = datetime(2026, 1, 30, 0, 30, tzinfo=berlin)
    end = datetime(2026, 3, 30, 0, 30, tzinfo=berlin)  # after the change to summer time
    assert end.utcoffset() == timedelta(hours=2)
    local = Recurring(Fixed(1), months=2, timezone="Europe/Berlin")
    assert _earns(local, attributed, end - timedelta(seconds=1))
    assert not _earns(local, attributed, end)
    # Counted in UTC the attribution is at 23:30 on 29 January, so two months end at
    # 23:30 UTC on 29 March, an hour after the Berlin months did.
    in_utc = Recurring(Fixed(1), months=2)
    between = datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert _earns(in_utc, attributed, between)
    assert not _earns(local, attributed, between)
    assert not _earns(in_utc, attributed, datetime(2026, 3, 29, 23, 30, tzinfo=UTC))


@given(
    when=st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC)),
    months=st.integers(1, 240),
    zone=st.sampled_from(ZONES),
)
def test_add_months_keeps_the_local_day_clamped_and_the_calendar_distance(
    when: datetime, months: int, zone: str
) -> None:
    tz = ZoneInfo(zone)
    start, end = when.astimezone(tz), add_months(when, months, zone).astimezone(tz)
    assert end.tzinfo is not None
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])
    # 28 to 31 days a month, give or take a clock change of up to an hour.
    assert (
        timedelta(days=28 * months, hours=-1) <= end - start <= timedelta(days=31 * months, hours=1)
    )
    assert add_months(when, months, zone) < add_months(when, months + 1, zone)


@given(
    attributed=st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC)),
    months=st.integers(1, 36),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1200)),
    zone=st.sampled_from(ZONES),
)
def test_an_order_earns_exactly_when_placed_before_the_months_end(
    attributed: datetime, months: int, offset: timedelta, zone: str
) -> None:
    policy = Recurring(Fixed(1), months=months, timezone=zone)
    placed = attributed + offset
    assert _earns(policy, attributed, placed) == (placed < add_months(attributed, months, zone))
    # More months never pay less.
    if _earns(policy, attributed, placed):
        assert _earns(Recurring(Fixed(1), months=months + 1, timezone=zone), attributed, placed)


def test_months_combine_with_orders_and_within_each_limit_holding() -> None:
    attributed = datetime(2026, 1, 10, tzinfo=UTC)
    both = Recurring(Fixed(1), months=6, within=timedelta(days=30))
    assert _earns(both, attributed, attributed + timedelta(days=29))
    assert not _earns(both, attributed, attributed + timedelta(days=31))  # within ends first
    context = reward_context("100", order_number=5, now=attributed + timedelta(days=3))
    counted = Recurring(Fixed(1), months=6, orders=3)
    assert counted.evaluate(context) == ()  # order 5 is past the first 3 repeat orders


def test_months_are_explained_named_and_built_again_from_their_definition() -> None:
    policy = Recurring(PercentOfOrder("5%"), months=12, timezone="Europe/Berlin")
    (grant,) = policy.evaluate(reward_context("100", order_number=2, attributed_days_ago=10))
    assert "within 12 calendar months of the referral" in grant.explanation
    assert policy.name.endswith(", months=12 (Europe/Berlin))")
    definition = policy_definition(policy)
    assert definition is not None
    assert build_policy(json.loads(definition)) == policy
    assert rk.policies.policy_version(policy) != rk.policies.policy_version(
        Recurring(PercentOfOrder("5%"), months=11, timezone="Europe/Berlin")
    )


def test_a_recurring_without_months_keeps_the_definition_it_had_before_months_existed() -> None:
    """Stored terms versions of a ``Recurring`` from before keep their definitions and ids."""
    policy = Recurring(Fixed(1), orders=12, within=timedelta(days=365))
    definition = policy_definition(policy)
    assert definition is not None
    assert set(json.loads(definition)) == {"policy", "reward", "orders", "within"}
    # A stored definition without the new keys builds the same policy again.
    assert build_policy(json.loads(definition)) == policy


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"months": 0}, "months"),
        ({"months": -3}, "months"),
        ({"months": True}, "months"),
        ({"months": "12"}, "months"),
        ({"months": 1.5}, "months"),
        ({"months": 12, "timezone": "Mars/Olympus"}, "timezone"),
        ({"months": 12, "timezone": ""}, "timezone"),
        ({"months": 12, "timezone": 1}, "timezone"),
    ],
)
def test_bad_months_or_zones_are_refused_naming_the_field(
    kwargs: dict[str, object], path: str
) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        Recurring(Fixed(1), **kwargs)  # type: ignore[arg-type]
    assert caught.value.path == path


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_months_past_the_calendars_end_never_end(zone: str) -> None:
    """A huge ``months`` is no limit, not an overflow escaping from ``convert``."""
    latest = datetime.max.replace(tzinfo=UTC)
    assert add_months(datetime(2026, 1, 1, tzinfo=UTC), 10**9, zone) == latest
    assert add_months(datetime(9999, 12, 15, tzinfo=UTC), 1, zone) == latest
    assert _earns(Recurring(Fixed(1), months=10**9, timezone=zone), START, START)


START = datetime(2026, 6, 1, tzinfo=UTC)
