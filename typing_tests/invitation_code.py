"""Type-checked, never run: an invitation-only launch with a waitlist from a host's seat."""

from __future__ import annotations

import referralkit as rk
from referralkit.model import Invitation, WaitlistEntry


def invitation_only(program: rk.ReferralProgram) -> int:
    program.invitations.configure(quota=3, uses=2)
    inv: rk.ReferralCode = program.invitations.issue("cust-1", uses=3, expires_at=None)
    ref: rk.Referral = program.invitations.redeem(
        inv.code, "cust-8", identity=rk.Identity(email="e@example.com")
    )
    stored: Invitation | None = program.invitations.get(inv.code)
    held: list[Invitation] = program.invitations.held_by("cust-1")
    try:
        program.invitations.redeem(inv.code, "cust-9")
    except rk.InvitationUsedUp as used_up:
        field: str | None = used_up.field
        del field
    except rk.InvitationQuotaReached as full:
        quota: int = full.quota
        del quota
    position: int = program.waitlist.join("lead-4", identity=rk.Identity(email="l@example.com"))
    code: str = program.waitlist.code("lead-4")
    position = program.waitlist.join("lead-5", code=code)
    now: int = program.waitlist.position("lead-4")
    admitted: list[WaitlistEntry] = program.waitlist.admit(100)
    invites = program.invitations.facts()
    waiting = program.waitlist.facts()
    gained = 0 if waiting is None else waiting.places_gained
    rate = None if invites is None else invites.conversion
    del ref, stored, rate
    return position + now + len(held) + len(admitted) + gained
