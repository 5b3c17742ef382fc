"""Instant feedback: the events a referrer's message needs, and their documented catalogue."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed, Tier, Tiered
from referralkit.protocols import Store
from referralkit.testing import FrozenClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = b"feedback-test-secret-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


def _program(store: Store, clock: FrozenClock) -> rk.ReferralProgram:
    ladder = Tiered(
        [
            Tier(min_referrals=1, reward=Fixed(rk.Money("10", "USD"))),
            Tier(min_referrals=3, reward=Fixed(rk.Money("15", "USD"))),
        ]
    )
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(referrer=ladder, referee=Fixed(rk.Money("5", "USD"))),
        guards=[],
        clock=clock,
        hold=timedelta(days=14),
    )


def _events(program: rk.ReferralProgram, kind: str) -> list[rk.Event]:
    return [e for e in program.pending_events(limit=1000) if e.type == kind]


def test_every_change_a_referrer_cares_about_is_an_event_with_what_a_message_needs(
    store: Store,
) -> None:
    """Friend joined, friend ordered, reward held until a date, available, tier reached."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    code = program.enroll("ann", identity=rk.Identity(email="ann@gmail.com")).code
    for n, friend in enumerate(["bob", "cy", "dee"], start=1):
        program.attribute(
            code=code, referee=friend, identity=rk.Identity(email=f"{friend}@example.com")
        )
        program.convert(referee=friend, order_id=f"o-{n}", amount=rk.Money("40", "USD"))
        clock.advance(hours=1)
    joined = _events(program, "referral.pending")
    assert [(e.payload["referrer"], e.payload["referee"]) for e in joined] == [
        ("ann", "bob"),
        ("ann", "cy"),
        ("ann", "dee"),
    ]
    ordered = _events(program, "conversion.recorded")
    assert [(e.payload["referrer"], e.payload["amount"]) for e in ordered] == [
        ("ann", {"amount": "40", "currency": "USD"})
    ] * 3
    held = [e for e in _events(program, "reward.granted") if e.payload["customer_id"] == "ann"]
    assert [e.payload["hold_until"] for e in held] == [
        (T0 + timedelta(hours=h, days=14)).isoformat() for h in range(3)
    ]
    assert [e.payload["amount"]["amount"] for e in held] == ["10.00", "10.00", "15.00"]
    tiers = _events(program, "tier.reached")
    assert [(e.payload["tier"], e.payload["qualified"], e.payload["remaining"]) for e in tiers] == [
        (1, 1, 2),
        (2, 3, None),
    ]
    clock.advance(days=15)
    program.release_due()
    available = [e.payload["reward_id"] for e in _events(program, "reward.available")]
    assert len(available) == 6
    text = json.dumps([e.payload for e in program.pending_events(limit=1000)])
    assert "@" not in text  # no email, nor any other identity, in any event


def _emitted_types() -> set[str]:
    """Every event type the program's source writes (literal names, and referral statuses)."""
    found: set[str] = set()
    for path in (ROOT / "src" / "referralkit").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'events\.add\(\s*"([a-z_]+\.[a-z_]+)"', text))
        found |= set(re.findall(r'event="([a-z_]+\.[a-z_]+)"', text))
        found |= set(re.findall(r'"(reward\.[a-z_]+)" if', text))
        found |= set(re.findall(r'else "(reward\.[a-z_]+)"', text))
    found |= {
        f"referral.{s.value}" for s in rk.ReferralStatus if s is not rk.ReferralStatus.QUALIFIED
    }
    found |= {f"partner.{s.value}" for s in rk.PartnerState}  # `Partners.set_state`
    return found


def test_the_event_catalogue_lists_every_event_the_program_writes() -> None:
    """docs/reference/events.md has a section for each event type, and none that is not written."""
    page = (ROOT / "docs" / "reference" / "events.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `([a-z_]+\.[a-z_]+)`", page, flags=re.MULTILINE))
    emitted = _emitted_types()
    assert "tier.reached" in emitted
    assert emitted - documented == set()
    assert documented - emitted == set()
