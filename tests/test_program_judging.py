"""Judging an attribution: the structural rule, then the guards, on one context."""

from __future__ import annotations

import pytest

import referralkit as rk
from referralkit.guards import ALREADY_REFERRED, SELF_REFERRAL_BY_ID, DuplicateReferee
from referralkit.model import ReferralStatus
from referralkit.policies import Fixed
from referralkit.testing import FrozenClock

SECRET = b"0123456789abcdef0123456789abcdef"


class Recorder:
    """A guard that allows everything and remembers who it was told referred the referee."""

    name = "recorder"

    def __init__(self) -> None:
        self.referred_by: list[str | None] = []

    def check(self, context: rk.GuardContext) -> rk.Verdict:
        self.referred_by.append(context.history.referee_referred_by)
        return rk.Verdict.allow()


def make(store: rk.Store, guards: list[rk.Guard]) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(rk.Money("10", "USD")),
        guards=guards,
        clock=FrozenClock(),
    )


def test_guards_see_who_already_referred_the_referee(store) -> None:
    recorder = Recorder()
    program = make(store, [recorder, DuplicateReferee()])
    ann, cat = program.enroll("ann").code, program.enroll("cat").code
    program.attribute(code=ann, referee="bob")
    later = program.attribute(code=cat, referee="bob")
    assert recorder.referred_by == [None, "ann"]
    assert (later.status, later.reasons) == (ReferralStatus.REJECTED, (ALREADY_REFERRED,))


@pytest.mark.parametrize("guards", [[], [Recorder()]], ids=["no guards", "an allowing guard"])
def test_a_referee_keeps_one_standing_referral_without_duplicate_referee(store, guards) -> None:
    """The store keeps one standing referral; the program records the loser as rejected."""
    program = make(store, guards)
    ann, cat = program.enroll("ann").code, program.enroll("cat").code
    first = program.attribute(code=ann, referee="bob")
    later = program.attribute(code=cat, referee="bob")
    assert (later.status, later.reasons) == (ReferralStatus.REJECTED, (ALREADY_REFERRED,))
    assert program.status("ann").pending == 1
    assert program.status("cat").rejected == 1
    assert program.referral(first.id).status is ReferralStatus.PENDING


@pytest.mark.parametrize("guards", [[], [Recorder()]], ids=["no guards", "an allowing guard"])
def test_nobody_refers_themselves_whatever_the_guards_say(store, guards) -> None:
    program = make(store, guards)
    ref = program.attribute(code=program.enroll("ann").code, referee="ann")
    assert (ref.status, ref.reasons) == (ReferralStatus.REJECTED, (SELF_REFERRAL_BY_ID,))
