"""An invitation-only launch: with ``invitations.configure(required=True)`` the only way in
is an invitation; every other sign-up path is refused before it writes, on every store."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.policies import Fixed
from referralkit.testing import FrozenClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = b"invitation-only-secret-0123456789abcdef"
BASE = "https://shop.example/r"


def _program(store: rk.Store) -> rk.ReferralProgram:
    program = rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=Fixed(rk.Money("5", "USD")),
        guards=[],
        link_base=BASE,
        clock=FrozenClock(T0),
    )
    program.invitations.configure(required=True)
    return program


def _events(program: rk.ReferralProgram) -> int:
    return len(program.pending_events(limit=1000))


def test_every_open_sign_up_is_refused_and_writes_nothing(store: rk.Store) -> None:
    program = _program(store)
    code = program.enroll("ann").code
    link = program.link(code, channel="email")
    program.track_click(link, visitor="v-1")
    token = program.landing(link).claim_token
    assert token is not None
    before = _events(program)
    attempts = [
        lambda: program.attribute(referee="bob", code=code),
        lambda: program.attribute(referee="bob", link=link),
        lambda: program.attribute(referee="bob", visitor="v-1"),
        lambda: program.claim(token, "bob"),
    ]
    for attempt in attempts:
        with pytest.raises(rk.InvitationRequired) as refused:
            attempt()
        assert refused.value.field == "code"
        assert isinstance(refused.value, rk.ReferralError)
    assert program.referral_of("bob") is None
    assert _events(program) == before


def test_an_invitation_and_the_waitlist_still_let_people_in(store: rk.Store) -> None:
    program = _program(store)
    invitation = program.invitations.issue("ann", uses=2)
    referral = program.invitations.redeem(invitation.code, "bob")
    assert referral.referee == "bob"
    assert referral.status is rk.ReferralStatus.PENDING
    assert program.waitlist.join("cy") == 1
    (admitted,) = program.waitlist.admit(1)
    assert admitted.member == "cy"
    (own,) = program.invitations.held_by("cy")
    assert program.invitations.redeem(own.code, "dee").referrer == "cy"


def test_opening_the_launch_lets_codes_in_again(store: rk.Store) -> None:
    program = _program(store)
    code = program.enroll("ann").code
    with pytest.raises(rk.InvitationRequired):
        program.attribute(referee="bob", code=code)
    program.invitations.configure(required=False)
    assert not program.invitations.required
    assert program.attribute(referee="bob", code=code).referrer == "ann"


def test_other_settings_leave_the_launch_mode_as_it_is(store: rk.Store) -> None:
    program = _program(store)
    program.invitations.configure(quota=3)
    assert program.invitations.required
    assert program.invitations.quota == 3


@given(value=st.one_of(st.integers(), st.text(), st.floats(), st.lists(st.booleans())))
def test_required_is_a_bool_and_a_bad_one_changes_nothing(value: object) -> None:
    program = _program(rk.storage.MemoryStore())
    with pytest.raises(rk.InvalidInput) as refused:
        program.invitations.configure(required=value)  # type: ignore[arg-type]
    assert refused.value.field == "required"
    assert program.invitations.required  # still invitation-only
