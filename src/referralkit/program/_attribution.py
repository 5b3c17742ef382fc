"""Attribution: crediting a new customer to a code's owner, and judging it with the guards.

The program runs the structural rules (`referralkit.guards.Structural`: nobody refers
themselves) and then the configured guards on one `GuardContext`; a structural block
is final. A referee has one standing referral: the store enforces it, and a second
attribution that loses to it is recorded as rejected (``duplicate_referee.already_referred``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import datetime

import attrs

from referralkit._validate import opt_name, require_id
from referralkit.context import Decision, GuardContext, GuardHistory, Signal, Verdict
from referralkit.errors import (
    CodeExpired,
    InvalidInput,
    PartnerCodeRefused,
    SharedNetworkWarning,
)
from referralkit.guards import ALREADY_REFERRED, Structural
from referralkit.model import Identity, Referral, ReferralCode, ReferralStatus
from referralkit.program._clicks import Touch, touch
from referralkit.program._conversions import grant_signup
from referralkit.program._core import ProgramCore
from referralkit.program._event_fees import grant_lead
from referralkit.program._guard_history import read_guard_history
from referralkit.program._lookup import Unusable, unusable
from referralkit.program._partner_store import PARTNERS, refusal
from referralkit.protocols import Guard, UnitOfWork

__all__ = ["STATUS_OF", "attribute", "attribute_in", "judge", "usable_code"]

_STRUCTURAL = Structural()
STATUS_OF = {
    Decision.ALLOW: ReferralStatus.PENDING,
    Decision.REVIEW: ReferralStatus.REVIEW,
    Decision.BLOCK: ReferralStatus.REJECTED,
}


def attribute(
    core: ProgramCore,
    *,
    referee: str,
    code: str | None,
    link: str | None,
    identity: Identity | None,
    existing_customer: bool,
    channel: str | None,
    visitor: str | None,
) -> Referral | None:
    """`referralkit.ReferralProgram.attribute`."""
    referee = require_id("referee", referee)
    channel = opt_name("channel", channel)
    if code is not None and link is not None:
        raise InvalidInput("pass code= or link=, not both", field="code")
    now = core.now()
    with core.transaction() as uow:
        referral, signals = attribute_in(
            core,
            uow,
            referee=referee,
            code=code,
            link=link,
            identity=identity,
            existing_customer=existing_customer,
            channel=channel,
            visitor=visitor,
            now=now,
        )
    if signals is not None:
        _watch_networks(core, signals)
    return referral


def attribute_in(
    core: ProgramCore,
    uow: UnitOfWork,
    *,
    referee: str,
    code: str | None,
    link: str | None,
    identity: Identity | None,
    existing_customer: bool,
    channel: str | None,
    visitor: str | None,
    now: datetime,
) -> tuple[Referral | None, frozenset[Signal] | None]:
    """`attribute`'s work inside the caller's unit of work.

    Returns the referral and the signals the network watch should see (None: nothing new).
    """
    # A typed code beats any click; with a visitor, the attribution model picks the
    # touch among the clicks read in this very unit of work.
    chosen = touch(core, uow, code=code, link=link, visitor=visitor, channel=channel, now=now)
    if chosen is None:
        return None, None  # a visitor who followed no referral link: nobody to credit
    text, channel, campaign_hint = _credited(core, chosen)
    signals = core.signals(identity)
    rc = usable_code(core, core.find_code(uow, text), now)
    _refuse_inactive_partner(core, uow, rc.code)
    canonical = rc.code
    owned = core.stored_campaign(rc.campaign)
    if signals:
        uow.identities.add(referee, signals)
    existing = uow.referrals.active_for_referee(referee)
    if existing is not None and existing.code == canonical:
        return existing, None  # the same attribution again: nothing new
    if rc.max_uses is not None and uow.referrals.count_for_code(canonical) >= rc.max_uses:
        raise CodeExpired(
            f"the code {canonical!r} has been used {rc.max_uses} times, its limit",
            value=canonical,
        )
    verdict = judge(
        core,
        uow,
        rc,
        referee=referee,
        signals=signals,
        identity=identity,
        existing_customer=existing_customer,
        referred_by=None if existing is None else existing.referrer,
        now=now,
        channel=channel,
    )
    referral = record_referral(
        core,
        uow,
        rc,
        referee=referee,
        verdict=verdict,
        # Declared campaigns own their codes; otherwise a link's label is kept.
        campaign=owned.name if core.campaigns else campaign_hint or rc.campaign,
        policy_version=core.terms_of(owned)[1],
        channel=channel,
        now=now,
    )
    grant_signup(core, uow, referral, now)
    grant_lead(core, uow, referral, now)
    return referral, signals


def record_referral(
    core: ProgramCore,
    uow: UnitOfWork,
    rc: ReferralCode,
    *,
    referee: str,
    verdict: Verdict,
    campaign: str,
    policy_version: str,
    channel: str | None,
    now: datetime,
    taken: str = ALREADY_REFERRED,
    details: Mapping[str, object] | None = None,
) -> Referral:
    """Store the referral ``verdict`` decided for ``rc``'s owner, with its event.

    A referee's standing referral wins (the store keeps one): the new one is then stored
    rejected with the reason ``taken``. ``details`` are added to the event's payload.
    """
    referral = Referral(
        id=core.new_id(),
        code=rc.code,
        referrer=rc.owner,
        referee=referee,
        status=STATUS_OF[verdict.decision],
        reasons=verdict.reasons,
        attributed_at=now,
        campaign=campaign,
        policy_version=policy_version,
        channel=channel,
    )
    stored = uow.referrals.add(referral)
    if stored.id != referral.id:
        referral = attrs.evolve(referral, status=ReferralStatus.REJECTED, reasons=(taken,))
        uow.referrals.add(referral)
    uow.events.add(
        f"referral.{referral.status.value}",
        {
            "referral_id": referral.id,
            "referrer": referral.referrer,
            "referee": referee,
            "code": rc.code,
            "reasons": list(referral.reasons),
            "channel": channel,
            **(details or {}),
        },
        now,
    )
    return referral


def _watch_networks(core: ProgramCore, signals: frozenset[Signal]) -> None:
    """Warn once when most recent attributions came from one network (a proxy's address?)."""
    crowded = core.networks.saw(signals)
    if crowded is not None:
        shared, seen = crowded
        warnings.warn(
            f"{shared} of the last {seen} attributions came from one network: behind a load"
            " balancer or a proxy, pass each visitor's own address as Identity(ip=...) (the"
            " client address your trusted proxy reports in X-Forwarded-For), or every friend"
            " goes to review; see the 'Behind a proxy' how-to",
            SharedNetworkWarning,
            stacklevel=4,
        )


def _credited(core: ProgramCore, chosen: Touch) -> tuple[str, str | None, str | None]:
    """The code text a touch credits (typed, or from the link), its channel and campaign."""
    channel, campaign_hint = chosen.channel, chosen.campaign
    if chosen.link is not None:
        payload = core.parse_link(chosen.link)
        text = payload.code
        channel = channel or payload.channel
        campaign_hint = payload.campaign
    elif chosen.code is not None:
        text = chosen.code
    else:
        raise InvalidInput("pass code= (typed) or link= (clicked)", field="code")
    return text, channel, campaign_hint


def _refuse_inactive_partner(core: ProgramCore, uow: UnitOfWork, code: str) -> None:
    """Refuse a partner's code while the partner is not approved (a banned one's is disabled)."""
    if PARTNERS.missing(uow):
        return
    repo = PARTNERS.repository(uow, store=core.store)
    mapped = repo.code(code)
    partner = None if mapped is None else repo.get(mapped.partner_id)
    refused = None if partner is None else refusal(partner.state)
    if refused is None:
        return
    raise PartnerCodeRefused(f"the code {code!r} {refused[1]}", value=code, reason=refused[0])


def usable_code(core: ProgramCore, rc: ReferralCode, now: datetime) -> ReferralCode:
    """``rc``, if it may be used at ``now`` (unexpired, its campaign running).

    The uses limit is checked once the referee's own standing referral is known.
    """
    owned = core.stored_campaign(rc.campaign)
    reason = unusable(rc, owned, now)
    if reason is Unusable.EXPIRED:
        raise CodeExpired(f"the code {rc.code!r} expired at {rc.expires_at}", value=rc.code)
    if reason is Unusable.CAMPAIGN_NOT_RUNNING:
        raise CodeExpired(
            f"the code {rc.code!r} belongs to the campaign {owned.name!r},"
            " which is not running now",
            value=rc.code,
        )
    return rc


def judge(
    core: ProgramCore,
    uow: UnitOfWork,
    rc: ReferralCode,
    *,
    referee: str,
    signals: frozenset[Signal],
    identity: Identity | None,
    existing_customer: bool,
    referred_by: str | None,
    now: datetime,
    channel: str | None,
) -> Verdict:
    """The combined verdict of the structural rules and the program's guards."""
    guards = core.guards
    history = GuardHistory(referee_referred_by=referred_by)
    if guards:
        signals = core.match_signals(identity, signals)  # older secrets too, while rotating
        history = read_guard_history(
            uow,
            core.guard_needs(),
            referrer=rc.owner,
            referee=referee,
            signals=signals,
            now=now,
            referred_by=referred_by,
        )
    context = GuardContext(
        referrer=rc.owner,
        referee=referee,
        code=rc,
        referrer_signals=uow.identities.signals(rc.owner) if guards else frozenset(),
        referee_signals=signals,
        existing_customer=bool(existing_customer),
        now=now,
        history=history,
        referee_email_domain=core.identity.email_domain(identity) if guards else None,
        channel=channel,
    )
    structural = _STRUCTURAL.check(context)
    if structural.decision is Decision.BLOCK:
        return structural  # nobody refers themselves, whatever the guards say
    return _combine(guards, context)


def _combine(guards: tuple[Guard, ...], context: GuardContext) -> Verdict:
    """Every guard's verdict as one: any block blocks, any review reviews; reasons in order."""
    decision = Decision.ALLOW
    reasons: list[str] = []
    score = 0.0
    for guard in guards:
        verdict = guard.check(context)
        if verdict.decision is Decision.ALLOW:
            continue
        reasons.extend(r for r in verdict.reasons if r not in reasons)
        score = max(score, verdict.score)
        if verdict.decision is Decision.BLOCK:
            decision = Decision.BLOCK
        elif decision is Decision.ALLOW:
            decision = Decision.REVIEW
    return Verdict(decision, tuple(reasons), score)
