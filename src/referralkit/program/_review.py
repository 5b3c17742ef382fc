"""Review: the queue of referrals a guard sent to a person, and their approval or rejection."""

from __future__ import annotations

from referralkit._validate import opt_name, positive_int, require_id
from referralkit.errors import InvalidInput, InvalidState, UnknownReferral
from referralkit.guards import REASON_CODES
from referralkit.model import Referral, ReferralStatus, Reward
from referralkit.program._conversions import grant, grant_signup
from referralkit.program._core import ProgramCore
from referralkit.program._paging import page_cursor
from referralkit.program._refunds import refresh_qualification, reprice_order
from referralkit.protocols import UnitOfWork

__all__ = ["approve", "explain", "referral_of", "reject", "review_queue"]


def review_queue(
    core: ProgramCore,
    limit: int,
    *,
    after: str | None = None,
    reason: str | None = None,
    referrer: str | None = None,
) -> list[Referral]:
    """`referralkit.ReferralProgram.review_queue`."""
    limit = positive_int("limit", limit)
    reason = opt_name("reason", reason)
    referrer = opt_name("referrer", referrer)
    with core.transaction() as uow:
        cursor = page_cursor(uow, after)
        if cursor is None and reason is None and referrer is None:
            return uow.referrals.in_review(limit)
        return uow.referrals.review_page(limit, after=cursor, reason=reason, referrer=referrer)


def referral_of(core: ProgramCore, referee: str) -> Referral | None:
    """`referralkit.ReferralProgram.referral_of`."""
    referee = require_id("referee", referee)
    with core.transaction() as uow:
        return uow.referrals.active_for_referee(referee) or uow.referrals.rejected_for_referee(
            referee
        )


def explain(referral: Referral) -> list[str]:
    """`referralkit.ReferralProgram.explain`."""
    if not isinstance(referral, Referral):
        raise InvalidInput("referral must be a Referral", value=referral, field="referral")
    return [REASON_CODES.get(code, code) for code in referral.reasons]


def _in_review(uow: UnitOfWork, referral_id: str) -> Referral:
    referral = uow.referrals.get(referral_id)
    if referral is None:
        raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
    if referral.status is not ReferralStatus.REVIEW:
        raise InvalidState(
            f"referral {referral_id!r} is {referral.status.value}, not in review",
            value=referral.status.value,
        )
    return referral


def approve(core: ProgramCore, referral_id: str) -> list[Reward]:
    """`referralkit.ReferralProgram.approve`."""
    referral_id = require_id("referral_id", referral_id)
    now = core.now()
    with core.transaction() as uow:
        referral = _in_review(uow, referral_id)
        referral = uow.referrals.set_status(
            referral_id, ReferralStatus.PENDING, (*referral.reasons, "review.approved")
        )
        uow.events.add("referral.approved", {"referral_id": referral_id}, now)
        rewards = grant_signup(core, uow, referral, now)
        for conversion in uow.conversions.for_referral(referral_id):
            referral, granted = grant(core, uow, referral, conversion, now)
            if conversion.refunded is not None:
                # Refunded while in review: grant what the order earned, then reprice it.
                repriced = {r.id: r for r in reprice_order(core, uow, referral, conversion, now)}
                granted = [repriced.get(r.id, r) for r in granted]
            rewards += granted
        refresh_qualification(core, uow, referral, now)
        return rewards


def reject(core: ProgramCore, referral_id: str, reason: str) -> Referral:
    """`referralkit.ReferralProgram.reject`."""
    referral_id = require_id("referral_id", referral_id)
    reason = require_id("reason", reason)
    now = core.now()
    with core.transaction() as uow:
        referral = _in_review(uow, referral_id)
        referral = uow.referrals.set_status(
            referral_id, ReferralStatus.REJECTED, (*referral.reasons, reason)
        )
        uow.events.add("referral.rejected", {"referral_id": referral_id, "reasons": [reason]}, now)
        return referral
