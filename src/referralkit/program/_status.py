"""Status: what a referrer sees (counts, balances, tier progress) and reward lookups."""

from __future__ import annotations

from collections.abc import Sequence

from referralkit._validate import require_id
from referralkit.errors import UnknownReferral
from referralkit.model import (
    Bucket,
    Conversion,
    Referral,
    ReferralCode,
    ReferralStatus,
    ReferrerStatus,
    Reward,
)
from referralkit.money import Money
from referralkit.program._core import ProgramCore
from referralkit.program._group_store import GROUPS
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import TieredPolicy

__all__ = ["conversion", "referral", "rewards", "rewards_for_order", "status"]


def status(core: ProgramCore, customer_id: str) -> ReferrerStatus:
    """`referralkit.ReferralProgram.status`."""
    customer_id = require_id("customer_id", customer_id)
    with core.transaction() as uow:
        owned = uow.codes.for_owner(customer_id)
        counts = uow.referrals.counts_for_referrer(customer_id)
        ordered = uow.referrals.ordered_count(customer_id)
        balances = uow.rewards.balances(customer_id)
        # Open group-buys with their fill level, on a store that has them.
        store = core.store
        groups = (
            ()
            if GROUPS.missing(uow)
            else tuple(GROUPS.repository(uow, store=store).open_for(customer_id))
        )
        # A partner's account record is no rejected invite of theirs.
        account = (
            not PARTNERS.missing(uow)
            and PARTNERS.repository(uow, store=store).get(customer_id) is not None
        )
    codes = tuple(c.code for c in owned)
    buckets: dict[Bucket, dict[str, Money]] = {b: {} for b in Bucket}
    points: dict[Bucket, int] = dict.fromkeys(Bucket, 0)
    for bucket, currency, money, pts in balances:
        key = Bucket(bucket)
        points[key] += pts
        if currency is not None and money is not None and not money.is_zero():
            buckets[key][currency] = money
    qualified = counts[ReferralStatus.QUALIFIED]
    ladder = _ladder(core, owned)
    return ReferrerStatus(
        customer_id=customer_id,
        codes=codes,
        invites=sum(n for s, n in counts.items() if s is not ReferralStatus.REJECTED),
        pending=counts[ReferralStatus.PENDING],
        qualified=qualified,
        in_review=counts[ReferralStatus.REVIEW],
        rejected=counts[ReferralStatus.REJECTED] - account,
        held=buckets[Bucket.HELD],
        available=buckets[Bucket.AVAILABLE],
        paid=buckets[Bucket.PAID],
        clawbacks=buckets[Bucket.CLAWBACK],
        points_held=points[Bucket.HELD],
        points_available=points[Bucket.AVAILABLE],
        points_paid=points[Bucket.PAID],
        tier=None if ladder is None else ladder.progress(qualified),
        friends_joined=counts[ReferralStatus.PENDING] + qualified,
        friends_ordered=ordered,
        groups=groups,
    )


def _ladder(core: ProgramCore, codes: Sequence[ReferralCode]) -> TieredPolicy | None:
    """The tiered terms a referrer's progress is shown on.

    The terms of the referrer's oldest code whose campaign promises a tiered policy; none
    when no code's terms are tiered (a partner on a commission has no ladder); the
    program's policy for a customer without codes yet.
    """
    policies = [core.terms_of(core.stored_campaign(c.campaign))[0] for c in codes] or [core.policy]
    return next((p for p in policies if isinstance(p, TieredPolicy)), None)


def rewards(core: ProgramCore, customer_id: str) -> list[Reward]:
    """`referralkit.ReferralProgram.rewards`."""
    with core.transaction() as uow:
        return uow.rewards.for_customer(require_id("customer_id", customer_id))


def rewards_for_order(core: ProgramCore, order_id: str) -> list[Reward]:
    """`referralkit.ReferralProgram.rewards_for_order`."""
    with core.transaction() as uow:
        return uow.rewards.for_order(require_id("order_id", order_id))


def referral(core: ProgramCore, referral_id: str) -> Referral:
    """`referralkit.ReferralProgram.referral`."""
    with core.transaction() as uow:
        found = uow.referrals.get(require_id("referral_id", referral_id))
    if found is None:
        raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
    return found


def conversion(core: ProgramCore, order_id: str) -> Conversion | None:
    """`referralkit.ReferralProgram.conversion`."""
    order_id = require_id("order_id", order_id)
    with core.transaction() as uow:
        return uow.conversions.get(order_id)
