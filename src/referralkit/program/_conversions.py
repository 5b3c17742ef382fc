"""Conversions: recording orders, granting what they earn under the promised terms, refunds.

A referral qualifies at its first order; each order is evaluated by the policy the
referral was promised (its ``policy_version``), with the costly context that policy
says it reads, inside the unit of work that writes the grants. A refund shrinks or
reverses what the order earned; a reward already paid records a clawback instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from referralkit._validate import require_aware, require_id, require_money
from referralkit.codes import generate_code
from referralkit.context import Grant, PastReward, RewardContext
from referralkit.errors import ConfigError, CurrencyMismatch, InvalidInput, UnknownOrder
from referralkit.model import (
    Beneficiary,
    Bucket,
    Conversion,
    Referral,
    ReferralStatus,
    Reward,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import (
    Move,
    bucket_of,
    entries,
    plus,
    positive_difference,
    refund_targets,
    reward_payload,
    standing_value,
)
from referralkit.protocols import UnitOfWork

__all__ = ["convert", "grant", "refund", "shrink"]


def convert(
    core: ProgramCore,
    *,
    referee: str,
    order_id: str,
    amount: Money,
    first_order: bool | None,
    occurred_at: datetime | None,
) -> list[Reward]:
    """`referralkit.ReferralProgram.convert`."""
    referee = require_id("referee", referee)
    order_id = require_id("order_id", order_id)
    amount = require_money("amount", amount)
    if amount.amount < 0:
        raise InvalidInput("an order amount cannot be negative", value=amount, field="amount")
    now = core.now()
    when = now if occurred_at is None else require_aware("occurred_at", occurred_at)
    with core.transaction() as uow:
        referral = uow.referrals.active_for_referee(referee)
        number = uow.conversions.count_for_referee(referee) + 1
        conversion = Conversion(
            order_id=order_id,
            referee=referee,
            amount=amount,
            occurred_at=when,
            first_order=number == 1 if first_order is None else bool(first_order),
            referral_id=None if referral is None else referral.id,
        )
        stored, created = uow.conversions.add(conversion)
        if not created:
            # A retry (or a race lost to another worker): hand back what the order earned.
            if stored.referee != referee:
                raise InvalidInput(
                    f"order {order_id!r} was recorded for another customer",
                    value=order_id,
                    field="order_id",
                )
            return uow.rewards.for_order(order_id)
        uow.events.add(
            "conversion.recorded",
            {
                "order_id": order_id,
                "referee": referee,
                "amount": amount.to_json(),
                "referral_id": conversion.referral_id,
            },
            now,
        )
        if referral is None or referral.status is ReferralStatus.REVIEW:
            return []
        _, rewards = grant(core, uow, referral, conversion, now, order_number=number)
        return rewards


def _qualify(uow: UnitOfWork, referral: Referral, order_id: str, now: datetime) -> Referral:
    if referral.status is not ReferralStatus.PENDING:
        return referral
    referral = uow.referrals.set_status(referral.id, ReferralStatus.QUALIFIED, referral.reasons)
    uow.events.add(
        "referral.qualified",
        {"referral_id": referral.id, "referrer": referral.referrer, "order_id": order_id},
        now,
    )
    return referral


def grant(
    core: ProgramCore,
    uow: UnitOfWork,
    referral: Referral,
    conversion: Conversion,
    now: datetime,
    *,
    order_number: int | None = None,
) -> tuple[Referral, list[Reward]]:
    """Qualify ``referral`` and grant what ``conversion`` earns under its promised terms."""
    referral = _qualify(uow, referral, conversion.order_id, now)
    policy = core.policy_for(referral.policy_version)
    if policy is None:
        # The program no longer knows these terms: say so, and apply the campaign's.
        policy, applied = core.terms_of(core.stored_campaign(referral.campaign))
        uow.events.add(
            "referral.terms_unknown",
            {
                "referral_id": referral.id,
                "policy_version": referral.policy_version,
                "applied": applied,
            },
            now,
        )
    needs = core.needs_of(referral.policy_version, policy)
    qualified = 0
    if "qualified" in needs:
        qualified = uow.referrals.counts_for_referrer(referral.referrer)[ReferralStatus.QUALIFIED]
    spend: Mapping[str, Money] = {}
    points = 0
    if "program_spend" in needs:
        spend, points = uow.rewards.spend()
    past: tuple[PastReward, ...] = ()
    if "referrer_rewards" in needs:
        past = tuple(
            PastReward(r.key, r.policy, r.amount, r.points, r.created_at)
            for r in uow.rewards.for_customer(referral.referrer)
            if r.beneficiary is Beneficiary.REFERRER and r.state is not RewardState.REVERSED
        )
    context = RewardContext(
        referral=referral,
        conversion=conversion,
        qualified=qualified,
        order_number=order_number or uow.conversions.count_for_referee(conversion.referee),
        referrer_rewards=past,
        program_spend=spend,
        program_points=points,
        campaign=referral.campaign,
        now=now,
    )
    rewards: list[Reward] = []
    for granted in policy.evaluate(context):
        reward = _materialise(core, granted, referral, conversion, now)
        stored, created = uow.rewards.add(reward)
        if not created:
            continue
        move = Move(None, bucket_of(stored.state), stored.amount, stored.points, "grant")
        uow.rewards.append(entries(stored, move, now))
        uow.events.add("reward.granted", reward_payload(stored), now)
        rewards.append(stored)
    return referral, rewards


def _materialise(
    core: ProgramCore, grant: Grant, referral: Referral, conversion: Conversion, now: datetime
) -> Reward:
    if not isinstance(grant, Grant):
        raise ConfigError(f"policy returned {grant!r}, not a Grant", value=grant, path="policy")
    amount = grant.amount if grant.kind is not RewardKind.COUPON else grant.coupon_value
    if amount is not None:
        amount = amount.round()
        if amount.amount < 0:
            raise ConfigError(f"policy {grant.policy} granted a negative amount", value=amount)
    if grant.points < 0:
        raise ConfigError(f"policy {grant.policy} granted negative points", value=grant.points)
    held = core.hold > timedelta(0)
    customer = referral.referrer if grant.beneficiary is Beneficiary.REFERRER else referral.referee
    key = grant.key if grant.per_referrer else f"{conversion.order_id}:{grant.key}"
    coupon = None
    if grant.kind is RewardKind.COUPON:
        coupon = generate_code(core.coupon_format, rng=core.rng)
    return Reward(
        id=core.new_id(),
        key=key,
        referral_id=referral.id,
        beneficiary=grant.beneficiary,
        customer_id=customer,
        kind=grant.kind,
        amount=amount,
        granted=amount,
        points=grant.points,
        granted_points=grant.points,
        state=RewardState.HELD if held else RewardState.AVAILABLE,
        order_id=conversion.order_id,
        policy=grant.policy,
        explanation=grant.explanation,
        created_at=now,
        hold_until=now + core.hold if held else None,
        perk=grant.perk,
        coupon_code=coupon,
        proportional=grant.proportional,
    )


def refund(core: ProgramCore, *, order_id: str, amount: Money | None) -> list[Reward]:
    """`referralkit.ReferralProgram.refund`."""
    order_id = require_id("order_id", order_id)
    now = core.now()
    with core.transaction() as uow:
        conversion = uow.conversions.get(order_id)
        if conversion is None:
            raise UnknownOrder(f"no order {order_id!r} was recorded", value=order_id)
        remaining = conversion.net
        if amount is None:
            amount = remaining
        amount = require_money("amount", amount)
        if amount.currency != conversion.amount.currency:
            raise CurrencyMismatch(
                f"order {order_id!r} is in {conversion.amount.currency},"
                f" the refund in {amount.currency}",
                value=amount,
            )
        if amount.amount < 0 or amount > remaining:
            raise InvalidInput(
                f"refund {amount} is more than the {remaining} left on order {order_id!r}",
                value=amount,
                field="amount",
            )
        if amount.is_zero():
            return []
        refunded = (conversion.refunded or Money.zero(amount.currency)) + amount
        conversion = uow.conversions.set_refunded(order_id, refunded)
        uow.events.add(
            "conversion.refunded",
            {"order_id": order_id, "amount": amount.to_json(), "refunded": refunded.to_json()},
            now,
        )
        changed = []
        for reward in uow.rewards.for_order(order_id):
            updated = shrink(uow, reward, conversion, now)
            if updated is not None:
                changed.append(updated)
        return changed


def shrink(uow: UnitOfWork, reward: Reward, conversion: Conversion, now: datetime) -> Reward | None:
    """Bring ``reward`` down to what its refunded order still earns; None if unchanged."""
    if reward.state is RewardState.REVERSED:
        return None
    target_amount, target_points = refund_targets(reward, conversion)
    current_amount, current_points = standing_value(reward)
    delta = positive_difference(current_amount, target_amount)
    delta_points = max(current_points - target_points, 0)
    valueless = reward.granted is None and reward.granted_points == 0
    fully_refunded = conversion.net.amount <= 0
    if delta is None and delta_points == 0 and not (fully_refunded and valueless):
        return None
    if reward.state is RewardState.PAID:
        # Paid out: the value cannot be taken back here, so record what is owed.
        updated = attrs.evolve(
            reward,
            clawback=plus(reward.clawback, delta),
            clawback_points=reward.clawback_points + delta_points,
        )
        move = Move(None, Bucket.CLAWBACK, delta, delta_points, "refund")
        event = "reward.clawback"
    else:
        gone = (target_amount is None or target_amount.is_zero()) and target_points == 0
        updated = attrs.evolve(
            reward,
            amount=target_amount,
            points=target_points,
            state=RewardState.REVERSED if gone else reward.state,
        )
        move = Move(bucket_of(reward.state), None, delta, delta_points, "refund")
        event = "reward.reversed" if gone else "reward.reduced"
    uow.rewards.update(updated)
    if delta is not None or delta_points:
        uow.rewards.append(entries(updated, move, now))
    uow.events.add(event, reward_payload(updated), now)
    return updated
