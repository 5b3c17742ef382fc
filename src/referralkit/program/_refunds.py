"""Refunds: an order refunded (in part or in full) earns only what its net amount earns.

A refund reprices the order: its promised policy is evaluated again on the net amount,
and each of its rewards comes down to what that evaluation grants (never up): a held or
available reward shrinks or is reversed, a paid one records a clawback. A referral
whose every order is refunded in full stops counting as qualified, and the referrer's
later rewards that counted it are repriced with the smaller count, so refunds never pay
more than the same policy applied to the net orders (see the refunds how-to).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit._validate import opt_name, require_id, require_money
from referralkit.context import Grant
from referralkit.errors import CurrencyMismatch, IdempotencyConflict, InvalidInput, UnknownOrder
from referralkit.model import (
    Beneficiary,
    Bucket,
    Conversion,
    Referral,
    ReferralStatus,
    Reward,
    RewardState,
)
from referralkit.money import Money
from referralkit.program._commissions import commission_grants, is_partner_reward
from referralkit.program._conversions import (
    promised_policy,
    reward_context,
    store_grants,
)
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import Move, bucket_of, entries, plus, reward_payload
from referralkit.program._partner_store import PARTNERS
from referralkit.protocols import RefundRecord, UnitOfWork

__all__ = ["refresh_qualification", "refund", "reprice_order", "shrink_to"]


class _Replayed(Exception):
    """A refund id recorded meanwhile: undo this unit of work and answer as a replay."""

    def __init__(self, stored: RefundRecord) -> None:
        super().__init__(stored.refund_id)
        self.stored = stored


def refund(
    core: ProgramCore, *, order_id: str, amount: Money | None, refund_id: str | None
) -> list[Reward]:
    """`referralkit.ReferralProgram.refund`."""
    order_id = require_id("order_id", order_id)
    refund_id = opt_name("refund_id", refund_id)
    if amount is not None:
        amount = require_money("amount", amount)
    now = core.now()
    try:
        with core.transaction() as uow:
            return _refund(core, uow, order_id, amount, refund_id=refund_id, now=now)
    except _Replayed as replay:
        return _replay(core, replay.stored, order_id=order_id, amount=amount)


def _replay(
    core: ProgramCore, stored: RefundRecord, *, order_id: str, amount: Money | None
) -> list[Reward]:
    if stored.order_id != order_id:
        raise IdempotencyConflict(
            f"refund {stored.refund_id!r} was for order {stored.order_id!r}",
            value=order_id,
            field="order_id",
        )
    if amount is not None and amount != stored.amount:
        raise IdempotencyConflict(
            f"refund {stored.refund_id!r} was of {stored.amount}, not {amount}",
            value=amount,
            field="amount",
        )
    with core.transaction() as uow:
        found = (uow.rewards.get(reward_id) for reward_id in stored.reward_ids)
        return [reward for reward in found if reward is not None]


def _refund(
    core: ProgramCore,
    uow: UnitOfWork,
    order_id: str,
    amount: Money | None,
    *,
    refund_id: str | None,
    now: datetime,
) -> list[Reward]:
    conversion = uow.conversions.get(order_id)
    if conversion is None:
        raise UnknownOrder(f"no order {order_id!r} was recorded", value=order_id)
    remaining = conversion.net
    if amount is None:
        amount = remaining
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
    changed: list[Reward] = []
    if not amount.is_zero():
        refunded = (conversion.refunded or Money.zero(amount.currency)) + amount
        conversion = uow.conversions.set_refunded(order_id, refunded)
        uow.events.add(
            "conversion.refunded",
            {
                "order_id": order_id,
                "amount": amount.to_json(),
                "refunded": refunded.to_json(),
                "refund_id": refund_id,
            },
            now,
        )
        changed = _after_refund(core, uow, conversion, now)
    if refund_id is not None:
        ids = tuple(dict.fromkeys(r.id for r in changed))
        stored, created = uow.conversions.add_refund(
            RefundRecord(refund_id, order_id, amount, now, ids)
        )
        if not created:
            raise _Replayed(stored)
    return changed


def _after_refund(
    core: ProgramCore, uow: UnitOfWork, conversion: Conversion, now: datetime
) -> list[Reward]:
    """Reprice the refunded order, then whatever its referral's count decided."""
    partnered = _reprice_commission(core, uow, conversion, now)
    if conversion.referral_id is None:
        return partnered
    referral = uow.referrals.get(conversion.referral_id)
    if referral is None or referral.status in (ReferralStatus.REJECTED, ReferralStatus.REVIEW):
        return partnered
    changed = reprice_order(core, uow, referral, conversion, now)
    return (
        partnered
        + changed
        + refresh_qualification(core, uow, referral, now, skip=conversion.order_id)
    )


def _reprice_commission(
    core: ProgramCore, uow: UnitOfWork, conversion: Conversion, now: datetime
) -> list[Reward]:
    """Bring a partner's commission on the order down to what its terms grant on the net."""
    if PARTNERS.missing(uow):
        return []
    repo = PARTNERS.repository(uow, store=core.store)
    order = repo.order(conversion.order_id)
    partner = None if order is None else repo.get(order.partner_id)
    if order is None or partner is None:
        return []
    standing = [
        r
        for r in uow.rewards.for_order(conversion.order_id)
        if r.state is not RewardState.REVERSED and is_partner_reward(r, conversion.order_id)
    ]
    if not standing:
        return []
    net = attrs.evolve(conversion, amount=conversion.net, refunded=None)
    _, grants = commission_grants(
        core, uow, partner, order, net, now=now, exclude_order=conversion.order_id
    )
    return _bring_down(uow, standing, grants, conversion.order_id, now)[0]


def _bring_down(
    uow: UnitOfWork, standing: list[Reward], grants: list[Grant], order_id: str, now: datetime
) -> tuple[list[Reward], set[tuple[Beneficiary, str]]]:
    """Shrink each reward to its grant now (reverse it without one); what changed, matched."""
    by_key = {(g.beneficiary, g.key): g for g in grants}
    changed: list[Reward] = []
    matched: set[tuple[Beneficiary, str]] = set()
    for reward in standing:
        key = _grant_key(reward, order_id)
        grant = by_key.get((reward.beneficiary, key))
        if grant is None:
            updated = shrink_to(uow, reward, _nothing(reward), 0, now, reverse=True)
        else:
            matched.add((reward.beneficiary, key))
            value = grant.amount if grant.amount is not None else grant.coupon_value
            amount, points = _at_most(reward, value, grant.points)
            updated = shrink_to(uow, reward, amount, points, now)
        if updated is not None:
            changed.append(updated)
    return changed, matched


def refresh_qualification(
    core: ProgramCore,
    uow: UnitOfWork,
    referral: Referral,
    now: datetime,
    *,
    skip: str | None = None,
) -> list[Reward]:
    """Recount when ``referral`` qualified, from its orders that still earn.

    It counts from its earliest order with a net amount (never earlier than before);
    with none it stops counting. When the count of earlier grants falls, the referrer's
    rewards granted since the old time are repriced with the count they should have had.
    """
    referral = uow.referrals.get(referral.id) or referral
    if referral.status is not ReferralStatus.QUALIFIED or referral.qualified_at is None:
        return []
    earning = [
        c.recorded_at or c.occurred_at
        for c in uow.conversions.for_referral(referral.id)
        if c.net.amount > 0
    ]
    was = referral.qualified_at
    now_from = max(min(earning), was) if earning else None
    if now_from == was:
        return []
    uow.referrals.set_qualified(referral.id, now_from)
    if now_from is None:
        uow.events.add(
            "referral.unqualified",
            {"referral_id": referral.id, "referrer": referral.referrer},
            now,
        )
    changed: list[Reward] = []
    for order_id in dict.fromkeys(
        r.order_id
        for r in uow.rewards.for_referrer_since(referral.referrer, was)
        if r.order_id is not None
        and r.order_id != skip
        and (now_from is None or r.created_at < now_from)
    ):
        conversion = uow.conversions.get(order_id)
        owner = None if conversion is None else uow.referrals.get(conversion.referral_id or "")
        if conversion is None or owner is None or owner.status is ReferralStatus.REJECTED:
            continue
        policy = promised_policy(core, uow, owner)
        if "qualified" in core.needs_of(owner.policy_version, policy):
            changed += reprice_order(core, uow, owner, conversion, now)
    return changed


def reprice_order(
    core: ProgramCore, uow: UnitOfWork, referral: Referral, conversion: Conversion, now: datetime
) -> list[Reward]:
    """Bring the order's rewards down to what its promised policy grants for it now.

    The policy is evaluated on the order's net amount with the referrer's count of
    qualified referrals as of the order's grant, against every other reward standing
    now (for caps, budgets and milestones already held); a reward that evaluation no longer
    grants is reversed (clawed back if paid), one it grants less is shrunk, and a grant
    the order did not have (a lower tier) is made. Nothing is ever raised.
    """
    current = [
        r
        for r in uow.rewards.for_order(conversion.order_id)
        if not is_partner_reward(r, conversion.order_id)  # a partner's terms reprice those
    ]
    standing = [r for r in current if r.state is not RewardState.REVERSED]
    if not standing:
        return []
    granted_at = min(r.created_at for r in current)
    grants: list[Grant] = []
    if conversion.net.amount > 0:
        policy = promised_policy(core, uow, referral)
        net = attrs.evolve(conversion, amount=conversion.net, refunded=None)
        context = reward_context(
            core,
            uow,
            policy,
            referral,
            net,
            now=now,
            qualified=uow.referrals.qualified_count_at(referral.referrer, granted_at),
            # Caps, budgets and milestones see every other reward standing now: the
            # order can then take no more than the room the others leave.
            exclude_order=conversion.order_id,
        )
        grants = list(policy.evaluate(context))
    changed, _ = _bring_down(uow, standing, grants, conversion.order_id, now)
    keys_held = {(r.beneficiary, _grant_key(r, conversion.order_id)) for r in current}
    fresh = [g for g in grants if (g.beneficiary, g.key) not in keys_held]
    if fresh:
        changed += store_grants(core, uow, fresh, referral, conversion, now=now)
    return changed


def _grant_key(reward: Reward, order_id: str) -> str:
    """The policy's key for ``reward``: without the order scope or a revival suffix."""
    key = reward.key.removeprefix(f"{order_id}:")
    base, sep, tail = key.rpartition("~")
    return base if sep and tail.isdigit() else key


def _nothing(reward: Reward) -> Money | None:
    return None if reward.amount is None else Money.zero(reward.amount.currency)


def _at_most(reward: Reward, value: Money | None, points: int) -> tuple[Money | None, int]:
    """The lesser of what ``reward`` is worth now and what the policy grants now."""
    amount = reward.amount
    if amount is not None:
        cap = Money.zero(amount.currency) if value is None else value.round()
        if cap.currency != amount.currency:
            cap = Money.zero(amount.currency)
        amount = min(amount, cap)
    return amount, min(reward.points, points)


def shrink_to(
    uow: UnitOfWork,
    reward: Reward,
    amount: Money | None,
    points: int,
    now: datetime,
    *,
    reverse: bool = False,
) -> Reward | None:
    """Bring ``reward`` down to ``amount`` and ``points``; None when nothing changes.

    A paid reward keeps its state and records the difference as a clawback. A held or
    available one shrinks (reversed at nothing, or always with ``reverse``: a perk has
    no value to shrink); the part of it already netted against a debt comes back as a
    clawback on it.
    """
    if reward.state is RewardState.REVERSED:
        return None
    if reward.state is RewardState.PAID:
        return _claw_back(uow, reward, amount, points, now, reverse=reverse)
    current = reward.amount
    delta = None if current is None or amount is None or amount >= current else current - amount
    delta_points = max(reward.points - points, 0)
    if delta is None and delta_points == 0 and not reverse:
        return None
    netted = reward.netted
    from_netted = None
    if delta is not None and netted is not None and current is not None:
        unpaid = current - netted
        if delta > unpaid:
            from_netted = delta - unpaid
            netted = netted - from_netted
    new_amount = current if delta is None else amount
    gone = reverse or (
        (new_amount is None or new_amount.is_zero()) and (reward.points - delta_points) == 0
    )
    updated = attrs.evolve(
        reward,
        amount=new_amount,
        points=reward.points - delta_points,
        netted=netted if netted is None or not netted.is_zero() else None,
        clawback=plus(reward.clawback, from_netted),
        state=RewardState.REVERSED if gone else reward.state,
    )
    uow.rewards.update(updated)
    taken = delta if from_netted is None or delta is None else delta - from_netted
    if (taken is not None and not taken.is_zero()) or delta_points:
        move = Move(bucket_of(reward.state), None, taken, delta_points, "refund")
        uow.rewards.append(entries(updated, move, now))
    if from_netted is not None:
        owed = Move(None, Bucket.CLAWBACK, from_netted, 0, "refund")
        uow.rewards.append(entries(updated, owed, now))
    uow.events.add("reward.reversed" if gone else "reward.reduced", reward_payload(updated), now)
    return updated


def _claw_back(
    uow: UnitOfWork,
    reward: Reward,
    amount: Money | None,
    points: int,
    now: datetime,
    *,
    reverse: bool,
) -> Reward | None:
    """A paid reward worth less now: record what is owed back (a perk: say so).

    What the customer keeps is what was paid (its amount then) less its clawbacks.
    """
    kept = reward.amount
    if kept is not None and reward.clawback is not None:
        kept -= reward.clawback
    kept_points = reward.points - reward.clawback_points
    delta = None if kept is None or amount is None or amount >= kept else kept - amount
    delta_points = max(kept_points - points, 0)
    if delta is None and delta_points == 0 and not (reverse and kept is None and not kept_points):
        return None
    updated = attrs.evolve(
        reward,
        clawback=plus(reward.clawback, delta),
        clawback_points=reward.clawback_points + delta_points,
    )
    uow.rewards.update(updated)
    if delta is not None or delta_points:
        owed = Move(None, Bucket.CLAWBACK, delta, delta_points, "refund")
        uow.rewards.append(entries(updated, owed, now))
    uow.events.add("reward.clawback", reward_payload(updated), now)
    return updated
