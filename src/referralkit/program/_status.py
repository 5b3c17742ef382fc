"""Status: what a referrer sees (counts, balances, tier progress) and reward lookups."""

from __future__ import annotations

from referralkit._validate import require_id
from referralkit.errors import UnknownReferral
from referralkit.model import Bucket, Conversion, Referral, ReferralStatus, ReferrerStatus, Reward
from referralkit.money import Money
from referralkit.program._core import ProgramCore
from referralkit.protocols import TieredPolicy

__all__ = ["conversion", "referral", "rewards", "rewards_for_order", "status"]


def status(core: ProgramCore, customer_id: str) -> ReferrerStatus:
    """`referralkit.ReferralProgram.status`."""
    customer_id = require_id("customer_id", customer_id)
    with core.transaction() as uow:
        codes = tuple(c.code for c in uow.codes.for_owner(customer_id))
        counts = uow.referrals.counts_for_referrer(customer_id)
        balances = uow.rewards.balances(customer_id)
    buckets: dict[Bucket, dict[str, Money]] = {b: {} for b in Bucket}
    points: dict[Bucket, int] = dict.fromkeys(Bucket, 0)
    for bucket, currency, money, pts in balances:
        key = Bucket(bucket)
        points[key] += pts
        if currency is not None and money is not None and not money.is_zero():
            buckets[key][currency] = money
    qualified = counts[ReferralStatus.QUALIFIED]
    policy = core.policy
    tier = policy.progress(qualified) if isinstance(policy, TieredPolicy) else None
    return ReferrerStatus(
        customer_id=customer_id,
        codes=codes,
        invites=sum(n for s, n in counts.items() if s is not ReferralStatus.REJECTED),
        pending=counts[ReferralStatus.PENDING],
        qualified=qualified,
        in_review=counts[ReferralStatus.REVIEW],
        rejected=counts[ReferralStatus.REJECTED],
        held=buckets[Bucket.HELD],
        available=buckets[Bucket.AVAILABLE],
        paid=buckets[Bucket.PAID],
        clawbacks=buckets[Bucket.CLAWBACK],
        points_held=points[Bucket.HELD],
        points_available=points[Bucket.AVAILABLE],
        points_paid=points[Bucket.PAID],
        tier=tier,
    )


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
