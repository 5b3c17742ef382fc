"""Reassignment: an operator's override that credits a referee to another code's owner."""

from __future__ import annotations

from referralkit._validate import opt_name, require_id
from referralkit.errors import InvalidInput
from referralkit.model import Referral, ReferralStatus
from referralkit.program._core import ProgramCore

__all__ = ["REASSIGNED", "reassign"]

#: Reason code on a referral an operator credited to another code with ``reassign``.
REASSIGNED = "reassign.operator"


def reassign(core: ProgramCore, *, referee: str, code: str, note: str | None) -> Referral:
    """`referralkit.ReferralProgram.reassign`."""
    referee = require_id("referee", referee)
    note = opt_name("note", note)
    typed = core.read_code(code)
    now = core.now()
    with core.transaction() as uow:
        owned = core.find_code(uow, typed)
        canonical = owned.code
        if owned.owner == referee:
            raise InvalidInput(
                f"{referee!r} owns {canonical!r}: nobody can refer themselves",
                value=canonical,
                field="code",
            )
        current = uow.referrals.active_for_referee(referee)
        if current is not None and current.code == canonical:
            return current
        terms = core.terms_of(core.stored_campaign(owned.campaign))[1]
        if current is None:
            referral = uow.referrals.add(
                Referral(
                    id=core.new_id(),
                    code=canonical,
                    referrer=owned.owner,
                    referee=referee,
                    status=ReferralStatus.PENDING,
                    reasons=(REASSIGNED,),
                    attributed_at=now,
                    campaign=owned.campaign,
                    policy_version=terms,
                )
            )
        else:
            reasons = (*(r for r in current.reasons if r != REASSIGNED), REASSIGNED)
            # Moving to another campaign moves to its terms; within one, the promise stands.
            # (Without declared campaigns, a campaign is only a label: the promise stands.)
            moved = bool(core.campaigns) and owned.campaign != current.campaign
            referral = uow.referrals.reassign(current.id, owned, reasons, terms if moved else None)
        uow.events.add(
            "referral.reassigned",
            {
                "referral_id": referral.id,
                "referee": referee,
                "referrer": owned.owner,
                "code": canonical,
                "previous_referrer": None if current is None else current.referrer,
                "previous_code": None if current is None else current.code,
                "note": note,
            },
            now,
        )
        return referral
