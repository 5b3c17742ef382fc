"""A partner's fees for what is not an order: a sign-up (a lead) and a qualified click.

An accepted attribution through a partner's code or link is a lead; a tracked click on
one of their links is a click. Each is evaluated under the partner's terms (their own,
else their group's) with an order of zero and ``context.event`` saying which; only what
`referralkit.policies.PerLead` / `PerClick` grant is kept, written under the partner's
account with a key that makes it once per customer (a lead) or once per visitor and
UTC day (a click): the store's unique key, not a check in Python.
"""

from __future__ import annotations

from datetime import datetime, timezone

import attrs

from referralkit.model import Conversion, Partner, PartnerState, Referral, ReferralStatus, Reward
from referralkit.money import Money
from referralkit.policies._event_fees import event_grants
from referralkit.program._commissions import (
    PARTNER_KEY,
    account_view,
    terms_policy,
    terms_version_of,
)
from referralkit.program._conversions import reward_context, store_grants
from referralkit.program._core import ProgramCore
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import UnitOfWork

__all__ = ["grant_click", "grant_lead"]


def _partner_of(core: ProgramCore, uow: UnitOfWork, code: str) -> Partner | None:
    """The approved partner who owns ``code``, if the store has partners and they do."""
    if PARTNERS.missing(uow):
        return None
    repo = PARTNERS.repository(uow, store=core.store)
    mapped = repo.code(code)
    partner = None if mapped is None else repo.get(mapped.partner_id)
    if partner is None or partner.state is not PartnerState.APPROVED:
        return None
    return partner


def _event_fees(
    core: ProgramCore,
    uow: UnitOfWork,
    partner: Partner,
    *,
    event: str,
    subject: str,
    code: str,
    now: datetime,
) -> list[Reward]:
    """What ``event`` (``lead`` or ``click``) for ``subject`` earns ``partner``, once."""
    version = terms_version_of(PARTNERS.repository(uow, store=core.store), partner)
    if version is None:
        return []
    policy = terms_policy(core, uow, version)
    covers = getattr(policy, "currencies", None)
    view = account_view(partner, subject, version, now)
    scope = f"{event}:{subject}"
    nothing = Conversion(
        order_id=scope,
        referee=subject,
        amount=Money.zero(min(covers) if covers else "USD"),
        occurred_at=now,
        first_order=False,
        order_number=-1,  # no order of the subject's: nothing to count
    )
    context = attrs.evolve(
        reward_context(core, uow, policy, view, nothing, now=now), order_number=0, event=event
    )
    grants = [
        attrs.evolve(
            g,
            key=f"{PARTNER_KEY}{partner.id}:{scope}:{g.key}",
            per_referrer=True,
            explanation=f"partner {partner.id}, code {code}: {g.explanation}",
        )
        for g in event_grants(policy.evaluate(context), event)
    ]
    return store_grants(core, uow, grants, view, None, now=now)


def grant_lead(
    core: ProgramCore, uow: UnitOfWork, referral: Referral, now: datetime
) -> list[Reward]:
    """The lead fee an accepted ``referral`` earns its partner, once per customer.

    A referral in review or rejected earns none.
    """
    if referral.status is not ReferralStatus.PENDING:
        return []
    partner = _partner_of(core, uow, referral.code)
    if partner is None or partner.id != referral.referrer:
        return []
    return _event_fees(
        core, uow, partner, event="lead", subject=referral.referee, code=referral.code, now=now
    )


def grant_click(
    core: ProgramCore, uow: UnitOfWork, code: str, visitor_key: str, now: datetime
) -> list[Reward]:
    """The click fee a visitor's click on ``code`` earns its partner, once per UTC day."""
    partner = _partner_of(core, uow, code)
    if partner is None:
        return []
    subject = f"{visitor_key}:{now.astimezone(timezone.utc).date().isoformat()}"
    return _event_fees(core, uow, partner, event="click", subject=subject, code=code, now=now)
