"""Pay per lead: a partner's fee for a sign-up attributed through their code or link.

When an attribution through a partner's code is accepted, the partner's terms (their
own, else their group's) are evaluated as a lead: a sign-up with an order of zero.
Only what a `referralkit.policies.PerLead` grants is kept, written under the partner's
account with a key per customer, so a customer earns the partner one lead fee, ever.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit.context import RewardContext
from referralkit.model import Conversion, Referral, ReferralStatus, Reward
from referralkit.money import Money
from referralkit.policies._leads import LEAD_KEY
from referralkit.program._commissions import (
    PARTNER_KEY,
    account_view,
    terms_policy,
    terms_version_of,
)
from referralkit.program._conversions import store_grants
from referralkit.program._core import ProgramCore
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import UnitOfWork

__all__ = ["grant_lead"]


def grant_lead(
    core: ProgramCore, uow: UnitOfWork, referral: Referral, now: datetime
) -> list[Reward]:
    """The lead fee ``referral`` earns its partner, once per customer (none in review)."""
    if referral.status is not ReferralStatus.PENDING or PARTNERS.missing(uow):
        return []
    repo = PARTNERS.repository(uow, store=core.store)
    mapped = repo.code(referral.code)
    partner = None if mapped is None else repo.get(mapped.partner_id)
    if partner is None or partner.id != referral.referrer:
        return []
    version = terms_version_of(repo, partner)
    if version is None:
        return []
    policy = terms_policy(core, uow, version)
    covers = getattr(policy, "currencies", None)
    currency = min(covers) if covers else "USD"
    view = account_view(partner, referral.referee, version, now)
    context = RewardContext(
        referral=view,
        conversion=Conversion(
            order_id=f"lead:{referral.referee}",
            referee=referral.referee,
            amount=Money.zero(currency),
            occurred_at=now,
            first_order=False,
        ),
        qualified=0,
        order_number=0,
        referrer_rewards=(),
        program_spend={},
        program_points=0,
        campaign=view.campaign,
        now=now,
        lead=True,
    )
    grants = [
        attrs.evolve(
            g,
            key=f"{PARTNER_KEY}{partner.id}:lead:{referral.referee}:{g.key}",
            per_referrer=True,
            explanation=f"partner {partner.id}, code {referral.code}: {g.explanation}",
        )
        for g in policy.evaluate(context)
        if g.key.startswith(LEAD_KEY)
    ]
    return store_grants(core, uow, grants, view, None, now=now)
