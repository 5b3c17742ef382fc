"""Conversions: recording orders and granting what they earn under the promised terms.

A referral qualifies at its first order that earns (an order with an amount, placed
after the referral: see `convert`). Each order is evaluated by the policy the referral
was promised (its ``policy_version``), with the costly context that policy says it
reads, inside the unit of work that writes the grants. An exact replay of an order
grants nothing new; a replay that differs is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs

from referralkit._validate import require_aware, require_id, require_money
from referralkit.codes import generate_code
from referralkit.context import Grant, PastReward, RewardContext
from referralkit.errors import ConfigError, IdempotencyConflict, InvalidInput
from referralkit.model import (
    Beneficiary,
    Conversion,
    Referral,
    ReferralStatus,
    Reward,
    RewardKind,
    RewardState,
)
from referralkit.moments import DELIVERIES
from referralkit.money import Money
from referralkit.program._clawbacks import net_against_debts
from referralkit.program._core import ProgramCore
from referralkit.program._feedback import tier_reached
from referralkit.program._holds import UntilDelivered, release_at
from referralkit.program._ledger import Move, bucket_of, entries, reward_payload
from referralkit.program._order_attributes import (
    check_attributes,
    read_attributes,
    store_attributes,
)
from referralkit.program._period_figures import period_revenue, period_spend
from referralkit.protocols import RewardPolicy, UnitOfWork

__all__ = [
    "CheckoutCode",
    "convert",
    "grant",
    "grant_signup",
    "materialise",
    "promised_policy",
    "qualify",
    "reward_context",
    "store_grants",
]


def convert(
    core: ProgramCore,
    *,
    referee: str,
    order_id: str,
    amount: Money,
    first_order: bool | None,
    occurred_at: datetime | None,
    checkout: CheckoutCode | None = None,
    attributes: object = None,
) -> list[Reward]:
    """`referralkit.ReferralProgram.convert`; ``checkout``: the partner code typed, if any."""
    referee, order_id, amount = _checked(referee, order_id, amount, first_order)
    details = check_attributes(attributes)
    now = core.now()
    when = now if occurred_at is None else require_aware("occurred_at", occurred_at)
    with core.transaction() as uow:
        existing = uow.conversions.get(order_id)
        if existing is not None:
            if checkout is not None:
                checkout.replay(uow, order_id)
            if details is not None:
                store_attributes(core, uow, order_id, details)
            return _replay(uow, existing, referee=referee, amount=amount)
        referral = uow.referrals.active_for_referee(referee)
        if referral is not None and when < referral.attributed_at - core.order_grace:
            referral = None  # placed before the referral existed: not a referred order
        resolved = None if checkout is None else checkout.resolve(uow, amount, referral)
        number = uow.conversions.count_for_referee(referee) + 1
        conversion = Conversion(
            order_id=order_id,
            referee=referee,
            amount=amount,
            occurred_at=when,
            first_order=number == 1 if first_order is None else first_order,
            referral_id=None if referral is None else referral.id,
            order_number=number,
            recorded_at=now,
        )
        if referral is not None:  # in review too: its orders are granted on approval
            _check_currency(core, referral, amount)  # before anything is written
        stored, created = uow.conversions.add(conversion)
        if not created:  # a race lost to another worker inside this instant
            return _replay(uow, stored, referee=referee, amount=amount)
        if details is not None:
            store_attributes(core, uow, order_id, details)
        earns, partnered = True, list[Reward]()
        if checkout is not None:
            earns, partnered = checkout.grant(uow, resolved, conversion, referral, now)
        uow.events.add(
            "conversion.recorded",
            {
                "order_id": order_id,
                "referee": referee,
                "amount": amount.to_json(),
                "referral_id": conversion.referral_id,
                "referrer": None if referral is None else referral.referrer,
                "order_number": number,
            },
            now,
        )
        if not earns or referral is None or referral.status is ReferralStatus.REVIEW:
            return partnered
        _, rewards = grant(core, uow, referral, conversion, now)
        return rewards + partnered


def _checked(
    referee: object, order_id: object, amount: object, first_order: object
) -> tuple[str, str, Money]:
    """An order's arguments checked, each refusal an `InvalidInput` naming its field."""
    checked = (
        require_id("referee", referee),
        require_id("order_id", order_id),
        require_money("amount", amount),
    )
    if checked[2].amount < 0:
        raise InvalidInput("an order amount cannot be negative", value=amount, field="amount")
    if first_order is not None and not isinstance(first_order, bool):
        raise InvalidInput(
            "first_order must be True, False or None", value=first_order, field="first_order"
        )
    return checked


class CheckoutCode(Protocol):
    """A code typed at checkout (a partner's): resolved before any write, granted after."""

    def resolve(self, uow: UnitOfWork, amount: Money, referral: Referral | None) -> Any:
        """What the code (or the buyer's ``referral``) names; raises before any write."""
        ...

    def replay(self, uow: UnitOfWork, order_id: str) -> None:
        """Refuse a retried order whose code differs from the one it was recorded with."""
        ...

    def grant(
        self,
        uow: UnitOfWork,
        resolved: Any,
        conversion: Conversion,
        referral: Referral | None,
        now: datetime,
    ) -> tuple[bool, list[Reward]]:
        """Grant what the code earns; and whether the buyer's referral still earns too."""
        ...


def _replay(uow: UnitOfWork, stored: Conversion, *, referee: str, amount: Money) -> list[Reward]:
    """The rewards of an order recorded before, if this call describes the same order."""
    for field, was, now in (
        ("referee", stored.referee, referee),
        ("currency", stored.amount.currency, amount.currency),
        ("amount", stored.amount.amount, amount.amount),
    ):
        if was != now:
            raise IdempotencyConflict(
                f"order {stored.order_id!r} was recorded with {field} {was!s}, not {now!s}",
                value=now,
                field=field,
            )
    return uow.rewards.for_order(stored.order_id)


def _check_currency(core: ProgramCore, referral: Referral, amount: Money) -> None:
    policy = promised_policy(core, None, referral)
    covers = getattr(policy, "currencies", None)
    if covers is not None and amount.currency not in covers:
        from referralkit.errors import CurrencyMismatch  # noqa: PLC0415 - the rare path

        raise CurrencyMismatch(
            f"the terms of this referral ({policy.name}) pay in {sorted(covers)},"
            f" not {amount.currency}: give the policy an amount in {amount.currency}",
            value=amount.currency,
        )


def qualify(uow: UnitOfWork, referral: Referral, order_id: str, now: datetime) -> Referral:
    """``referral`` counting as qualified from ``now``, if it did not already."""
    if referral.status is ReferralStatus.QUALIFIED:
        return referral
    referral = uow.referrals.set_qualified(referral.id, now)
    uow.events.add(
        "referral.qualified",
        {"referral_id": referral.id, "referrer": referral.referrer, "order_id": order_id},
        now,
    )
    return referral


def promised_policy(
    core: ProgramCore, uow: UnitOfWork | None, referral: Referral, now: datetime | None = None
) -> RewardPolicy:
    """The policy ``referral`` was promised; the campaign's when the program forgot it."""
    policy = core.policy_for(referral.policy_version)
    if policy is not None:
        return policy
    restored = core.restore_policy(uow, referral.policy_version) if uow is not None else None
    if restored is not None:
        return restored
    policy, applied = core.terms_of(core.stored_campaign(referral.campaign))
    if uow is not None and now is not None:
        uow.events.add(
            "referral.terms_unknown",
            {
                "referral_id": referral.id,
                "policy_version": referral.policy_version,
                "applied": applied,
            },
            now,
        )
    return policy


def reward_context(
    core: ProgramCore,
    uow: UnitOfWork,
    policy: RewardPolicy,
    referral: Referral,
    conversion: Conversion,
    *,
    now: datetime,
    qualified: int | None = None,
    exclude_order: str | None = None,
    as_of: datetime | None = None,
) -> RewardContext:
    """What ``policy`` may read for ``conversion``, read in this unit of work.

    For a repricing, ``qualified`` is the count as of the original grant, ``as_of`` that
    time, and ``exclude_order`` the order being repriced (its own rewards do not count
    against its caps and budgets).
    """
    needs = core.needs_of(referral.policy_version, policy)
    count = 0
    if "qualified" in needs:
        count = (
            uow.referrals.counts_for_referrer(referral.referrer)[ReferralStatus.QUALIFIED]
            if qualified is None
            else qualified
        )
    spend: Mapping[str, Money] = {}
    points = 0
    if "program_spend" in needs:
        spend, points = uow.rewards.spend()
        if exclude_order is not None:
            spend, points = _less_order(uow, exclude_order, spend, points)
    past: tuple[PastReward, ...] = ()
    if "referrer_rewards" in needs:
        past = tuple(
            PastReward(r.key, r.policy, r.amount, r.points, r.created_at)
            for r in uow.rewards.for_customer(referral.referrer)
            if r.beneficiary is Beneficiary.REFERRER
            and r.state is not RewardState.REVERSED
            and (exclude_order is None or r.order_id != exclude_order)
            and (as_of is None or r.created_at <= as_of)
        )
    return RewardContext(
        referral=referral,
        conversion=conversion,
        qualified=count,
        order_number=conversion.order_number
        or uow.conversions.count_for_referee(conversion.referee),
        referrer_rewards=past,
        program_spend=spend,
        program_points=points,
        campaign=referral.campaign,
        now=now,
        referrer_revenue=period_revenue(core, uow, needs, referral.referrer, conversion),
        period_spend=period_spend(core, uow, needs, now, exclude_order),
        order_attributes=read_attributes(core, uow, needs, conversion.order_id),
    )


def _less_order(
    uow: UnitOfWork, order_id: str, spend: Mapping[str, Money], points: int
) -> tuple[dict[str, Money], int]:
    money = dict(spend)
    for reward in uow.rewards.for_order(order_id):
        if reward.state is RewardState.REVERSED:
            continue
        points -= reward.points
        if reward.amount is not None:
            currency = reward.amount.currency
            money[currency] = money.get(currency, Money.zero(currency)) - reward.amount
    return money, points


def grant(
    core: ProgramCore,
    uow: UnitOfWork,
    referral: Referral,
    conversion: Conversion,
    now: datetime,
) -> tuple[Referral, list[Reward]]:
    """Qualify ``referral`` and grant what ``conversion`` earns under its promised terms.

    A free order (an amount of zero) earns nothing and does not qualify the referral.
    An order refunded before its grant (in review) is granted on what it was, then
    repriced by the caller.
    """
    if conversion.amount.amount <= 0:
        return referral, []
    was_qualified = referral.status is ReferralStatus.QUALIFIED
    referral = qualify(uow, referral, conversion.order_id, now)
    policy = promised_policy(core, uow, referral, now)
    if not was_qualified:
        tier_reached(uow, policy, referral, now)
    context = reward_context(core, uow, policy, referral, conversion, now=now)
    return referral, store_grants(
        core, uow, policy.evaluate(context), referral, conversion, now=now
    )


def store_grants(
    core: ProgramCore,
    uow: UnitOfWork,
    grants: Sequence[Grant],
    referral: Referral,
    conversion: Conversion | None,
    *,
    now: datetime,
    hold: timedelta | None = None,
) -> list[Reward]:
    """Write what a policy granted, once per key, with its ledger entry and event.

    ``hold`` replaces the program's hold for these rewards (a partner's own hold).
    """
    rewards: list[Reward] = []
    delivered_at = None
    if conversion is not None and core.holds.waits_for_delivery:
        delivered_at = DELIVERIES.repository(uow, store=core.store).get(conversion.order_id)
    for granted in grants:
        reward = materialise(
            core, granted, referral, conversion, now, delivered_at=delivered_at, hold=hold
        )
        stored, created = uow.rewards.add(reward)
        if not created and stored.state is RewardState.REVERSED and granted.per_referrer:
            # Earned again after it was taken back (the count fell, then rose again).
            stored, created = _revive(uow, reward)
        if not created:
            continue
        move = Move(None, bucket_of(stored.state), stored.amount, stored.points, "grant")
        uow.rewards.append(entries(stored, move, now))
        uow.events.add("reward.granted", reward_payload(stored), now)
        if stored.state is RewardState.AVAILABLE:
            stored = net_against_debts(core, uow, stored, now)
        rewards.append(stored)
    return rewards


def _revive(uow: UnitOfWork, reward: Reward) -> tuple[Reward, bool]:
    """Store ``reward`` under the next free ``key~n``: each try is a unique key."""
    n = 2
    while True:
        stored, created = uow.rewards.add(attrs.evolve(reward, key=f"{reward.key}~{n}"))
        if created or stored.state is not RewardState.REVERSED:
            return stored, created
        n += 1


def materialise(
    core: ProgramCore,
    grant: Grant,
    referral: Referral,
    conversion: Conversion | None,
    now: datetime,
    *,
    delivered_at: datetime | None = None,
    hold: timedelta | None = None,
) -> Reward:
    """The reward a grant becomes: its key, hold, coupon code and state.

    A hold `UntilDelivered` ends ``delivered_at`` plus its return window; with the
    order not delivered yet, the reward is held without a release date.
    """
    if not isinstance(grant, Grant):
        raise ConfigError(f"policy returned {grant!r}, not a Grant", value=grant, path="policy")
    amount = grant.amount if grant.kind is not RewardKind.COUPON else grant.coupon_value
    if amount is not None:
        amount = amount.round()
        if amount.amount < 0:
            raise ConfigError(f"policy {grant.policy} granted a negative amount", value=amount)
    if grant.points < 0:
        raise ConfigError(f"policy {grant.policy} granted negative points", value=grant.points)
    wait = core.holds.for_reward(grant.beneficiary, grant.kind) if hold is None else hold
    release = release_at(wait, now, delivered_at)
    held = isinstance(wait, UntilDelivered) or wait > timedelta(0)
    customer = referral.referrer if grant.beneficiary is Beneficiary.REFERRER else referral.referee
    scope = f"signup:{referral.id}" if conversion is None else conversion.order_id
    key = grant.key if grant.per_referrer else f"{scope}:{grant.key}"
    coupon = None
    expires = None
    if grant.kind is RewardKind.COUPON:
        coupon = generate_code(core.coupon_format, rng=core.rng)
        if core.coupon_expiry is not None and (release is not None or not held):
            expires = (now if release is None else release) + core.coupon_expiry
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
        order_id=None if conversion is None else conversion.order_id,
        policy=grant.policy,
        explanation=grant.explanation,
        created_at=now,
        hold_until=release if held else None,
        perk=grant.perk,
        coupon_code=coupon,
        proportional=grant.proportional,
        expires_at=expires,
    )


def grant_signup(
    core: ProgramCore, uow: UnitOfWork, referral: Referral, now: datetime
) -> list[Reward]:
    """Grant the program's signup reward for an accepted referral (once per referral)."""
    policy = core.signup_reward
    if policy is None or referral.status is not ReferralStatus.PENDING:
        return []
    # A signup reward is Fixed (or DoubleSided of Fixed): it reads no order.
    sides = (getattr(policy, "referrer", None), getattr(policy, "referee", None), policy)
    amounts = [getattr(side, "value", None) for side in sides]
    currency = next((a.currency for a in amounts if isinstance(a, Money)), "USD")
    context = RewardContext(
        referral=referral,
        conversion=Conversion(
            order_id=f"signup:{referral.id}",
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
        campaign=referral.campaign,
        now=now,
    )
    grants = [
        attrs.evolve(g, explanation=f"for signing up: {g.explanation}")
        for g in policy.evaluate(context)
    ]
    return store_grants(core, uow, grants, referral, None, now=now)
