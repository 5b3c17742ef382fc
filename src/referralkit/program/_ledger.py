"""Ledger moves: how a reward's value travels between a customer's balance buckets.

A grant is one entry into ``held`` (or ``available``); every later change of state is a
pair of entries that sums to zero (value leaves one bucket and enters another), so a
customer's balances are exactly the sum of their entries. Each move is written with
the reward's new state and its event, in the caller's unit of work.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Any

import attrs

from referralkit.model import Bucket, Reward, RewardState
from referralkit.money import Money
from referralkit.protocols import LedgerEntry, UnitOfWork

__all__ = [
    "Move",
    "bucket_of",
    "entries",
    "plus",
    "positive_difference",
    "reward_payload",
    "transition",
    "with_state",
]

_REWARD_FIELDS = tuple(a.name for a in attrs.fields(Reward))
_reward_values = operator.attrgetter(*_REWARD_FIELDS)
_STATE_AT = _REWARD_FIELDS.index("state")
_BUCKET_OF = {
    RewardState.HELD: Bucket.HELD,
    RewardState.AVAILABLE: Bucket.AVAILABLE,
    RewardState.PAID: Bucket.PAID,
}


def bucket_of(state: RewardState) -> Bucket:
    """The balance bucket a reward in ``state`` sits in (a reversed reward sits in none)."""
    return _BUCKET_OF[state]


def with_state(reward: Reward, state: RewardState) -> Reward:
    """``attrs.evolve(reward, state=state)``, without its per-call field introspection."""
    values = list(_reward_values(reward))
    values[_STATE_AT] = state
    return Reward(*values)


@attrs.frozen(slots=True)
class Move:
    """A ledger movement for one reward: value leaves ``source`` and enters ``target``."""

    source: Bucket | None
    target: Bucket | None
    amount: Money | None
    points: int
    reason: str


def entries(reward: Reward, move: Move, now: datetime) -> list[LedgerEntry]:
    """The ledger entries of ``move``: one out of its source, one into its target."""
    currency = None if move.amount is None else move.amount.currency
    out = []
    if move.source is not None:
        out.append(
            LedgerEntry(
                reward_id=reward.id,
                customer_id=reward.customer_id,
                bucket=move.source,
                currency=currency,
                amount=None if move.amount is None else -move.amount,
                points=-move.points,
                occurred_at=now,
                reason=move.reason,
            )
        )
    if move.target is not None:
        out.append(
            LedgerEntry(
                reward_id=reward.id,
                customer_id=reward.customer_id,
                bucket=move.target,
                currency=currency,
                amount=move.amount,
                points=move.points,
                occurred_at=now,
                reason=move.reason,
            )
        )
    return out


def reward_payload(reward: Reward) -> dict[str, Any]:
    """The outbox payload describing ``reward`` (JSON-safe)."""
    return {
        "reward_id": reward.id,
        "customer_id": reward.customer_id,
        "beneficiary": reward.beneficiary.value,
        "kind": reward.kind.value,
        "amount": None if reward.amount is None else reward.amount.to_json(),
        "points": reward.points,
        "perk": reward.perk,
        "coupon_code": reward.coupon_code,
        "state": reward.state.value,
        "order_id": reward.order_id,
        "referral_id": reward.referral_id,
        "policy": reward.policy,
        "hold_until": None if reward.hold_until is None else reward.hold_until.isoformat(),
        "expires_at": None if reward.expires_at is None else reward.expires_at.isoformat(),
    }


def transition(
    uow: UnitOfWork,
    reward: Reward,
    state: RewardState,
    *,
    reason: str,
    event: str,
    now: datetime,
    **changes: Any,
) -> Reward:
    """Move ``reward`` from its state's bucket to ``state``'s; returns it updated.

    What moves is what sits in the bucket: the part of it netted against a debt has
    left already. ``changes`` are other fields set with the move (a payout id).
    """
    updated = attrs.evolve(reward, state=state, **changes) if changes else with_state(reward, state)
    uow.rewards.update(updated)
    amount = updated.amount
    if amount is not None and updated.netted is not None:
        amount -= updated.netted
    move = Move(bucket_of(reward.state), bucket_of(state), amount, updated.points, reason)
    uow.rewards.append(entries(updated, move, now))
    uow.events.add(event, reward_payload(updated), now)
    return updated


def positive_difference(current: Money | None, target: Money | None) -> Money | None:
    """``current - target`` when that is more than nothing, else None."""
    if current is None or target is None:
        return None
    delta = current - target
    return delta if delta.amount > 0 else None


def plus(total: Money | None, extra: Money | None) -> Money | None:
    """``total + extra``, where either may be None (nothing)."""
    if extra is None:
        return total
    return extra if total is None else total + extra
