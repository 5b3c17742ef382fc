"""The invitee's landing page: what to show for a link or a code, read without writing.

`landing` checks the code as `check_code` does, reads who invited them (the display
name the referrer chose: never an email) and the campaign, describes the offer, and
signs a short-lived claim token for an app installed after the click. Nothing is
written: the token's one use is recorded when it is claimed (`referralkit.program._claims`).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import attrs

from referralkit._validate import require_duration, require_id
from referralkit.errors import InvalidInput, InvalidLink, LinkExpired, ReferralError
from referralkit.invitee import DISPLAY_NAMES, ClaimToken, Landing, check_display_name
from referralkit.invitee._claims import claim_key, sign_token
from referralkit.model import CheckReason
from referralkit.program import _code_check, _enrolment
from referralkit.program._commissions import PARTNER_KEY, terms_policy, terms_version_of
from referralkit.program._core import ProgramCore
from referralkit.program._lookup import find_code
from referralkit.program._offers import offers_for
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import RewardPolicy, UnitOfWork

__all__ = ["landing", "set_display_name"]

#: How long a landing's claim token stays valid by default.
CLAIM_TTL = timedelta(hours=1)
_MAX_TTL = timedelta(days=7)
_LINK_MESSAGES = {
    LinkExpired: "This invitation link has expired.",
    InvalidLink: "This invitation link is not valid: ask your friend to share it again.",
}


def _looks_like_link(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def landing(core: ProgramCore, link_or_code: str, *, claim_ttl: timedelta) -> Landing:
    """`referralkit.ReferralProgram.landing`."""
    if not isinstance(link_or_code, str):
        raise InvalidInput(
            "link_or_code must be a link or a code (a string)", value=link_or_code, field="link"
        )
    ttl = require_duration("claim_ttl", claim_ttl, at_most=_MAX_TTL)
    channel = None
    link = None
    text = link_or_code
    if _looks_like_link(link_or_code):
        try:
            payload = core.parse_link(link_or_code)
        except InvalidLink as exc:
            reason = CheckReason.EXPIRED if isinstance(exc, LinkExpired) else CheckReason.INVALID
            message = _LINK_MESSAGES[LinkExpired if isinstance(exc, LinkExpired) else InvalidLink]
            return Landing(code=None, usable=False, reason=reason, message=message)
        text, channel, link = payload.code, payload.channel, link_or_code
    check = _code_check.check_code(core, text)
    if check.code is None:
        return Landing(check.code, check.usable, check.reason, check.message, channel=channel)
    with core.transaction() as uow:
        found = find_code(uow, core.read_code(check.code))
        names = (
            None if DISPLAY_NAMES.missing(uow) else DISPLAY_NAMES.repository(uow, store=core.store)
        )
        name = None if found is None or names is None else names.get(found.owner)
        partner_terms = (
            None
            if found is None or not found.campaign.startswith(PARTNER_KEY)
            else _partner_terms(core, uow, found.code)
        )
    if found is None:  # the code went between the check and this read: say what the check said
        return Landing(check.code, check.usable, check.reason, check.message, channel=channel)
    campaign = core.stored_campaign(found.campaign)
    policy, _ = core.terms_of(campaign)
    if partner_terms is not None:  # a partner's code offers what the partner's terms give
        policy = partner_terms
    shown = Landing(
        code=check.code,
        usable=check.usable,
        reason=check.reason,
        message=check.message,
        referrer_name=name,
        campaign=campaign.name,
        campaign_ends_at=campaign.end,
        offers=offers_for(policy, core.signup_reward),
        channel=channel,
        app_link=link or _link_for(core, found.code, channel),
    )
    if not check.usable:
        return shown
    now = core.now()
    expires = now + ttl
    if campaign.end is not None:
        expires = min(expires, campaign.end)
    expires = expires.replace(microsecond=0)  # the token carries whole seconds
    token = ClaimToken(core.new_id(), found.code, expires, channel, campaign.name)
    return attrs.evolve(
        shown, claim_token=sign_token(token, claim_key(core.link_key)), claim_expires_at=expires
    )


def _partner_terms(core: ProgramCore, uow: UnitOfWork, code: str) -> RewardPolicy | None:
    """The terms a partner's code earns under (their own, else their group's), if it is one."""
    if PARTNERS.missing(uow):
        return None
    repo = PARTNERS.repository(uow, store=core.store)
    mapped = repo.code(code)
    partner = None if mapped is None else repo.get(mapped.partner_id)
    version = None if partner is None else terms_version_of(repo, partner)
    return None if version is None else terms_policy(core, uow, version)


def _link_for(core: ProgramCore, code: str, channel: str | None) -> str | None:
    """The code's referral link (the app-link form), if the program builds links."""
    with contextlib.suppress(ReferralError):
        return _enrolment.link(
            core, code, channel=channel, campaign=None, expires_at=None, utm=None
        )
    return None


def set_display_name(core: ProgramCore, customer_id: str, name: str | None) -> str | None:
    """`referralkit.ReferralProgram.set_display_name`."""
    customer_id = require_id("customer_id", customer_id)
    shown = None if name is None else check_display_name(name)
    now = core.now()
    with core.transaction() as uow:
        DISPLAY_NAMES.repository(uow, store=core.store).put(customer_id, shown, now)
        uow.events.add(
            "referrer.display_name_set", {"customer_id": customer_id, "display_name": shown}, now
        )
    return shown
