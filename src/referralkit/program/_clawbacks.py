"""Clawbacks: what a customer owes back after a refund of a paid reward, and its recovery.

A refund of a reward already paid out records a ``clawback`` on it (owed). It is
recovered two ways, both in the ledger: collected outside and settled with
`settle_clawback` (a bank transfer, a card charge), or netted against the customer's
next rewards of a netting kind (cash and credit by default) as they become available.
Recovery is allocated oldest debt first, and each reward records what was recovered.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from referralkit._validate import require_id, require_money
from referralkit.errors import IdempotencyConflict, InvalidInput
from referralkit.model import Bucket, Reward, RewardState
from referralkit.money import Money
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import Move, entries, plus, reward_payload
from referralkit.protocols import UnitOfWork

__all__ = ["net_against_debts", "outstanding", "owed_in", "settle_clawback"]


def outstanding(reward: Reward) -> Money | None:
    """What is still owed on ``reward``: its clawback less what was recovered."""
    if reward.clawback is None:
        return None
    owed = reward.clawback - (reward.recovered or Money.zero(reward.clawback.currency))
    return owed if owed.amount > 0 else None


def _recover(
    uow: UnitOfWork, customer_id: str, amount: Money, reason: str, now: datetime
) -> list[Reward]:
    """Allocate ``amount`` to the customer's debts in ``amount``'s currency, oldest first."""
    left = amount
    changed = []
    for debt in uow.rewards.outstanding(customer_id, amount.currency):
        if left.amount <= 0:
            break
        owed = outstanding(debt)
        if owed is None:
            continue
        part = min(owed, left)
        updated = attrs.evolve(debt, recovered=plus(debt.recovered, part))
        uow.rewards.update(updated)
        uow.rewards.append(entries(updated, Move(Bucket.CLAWBACK, None, part, 0, reason), now))
        uow.events.add(
            "reward.recovered",
            {**reward_payload(updated), "recovered": part.to_json(), "how": reason},
            now,
        )
        changed.append(updated)
        left -= part
    return changed


def owed_in(uow: UnitOfWork, customer_id: str, currency: str) -> Money:
    """What the customer still owes in clawbacks in ``currency``."""
    total = Money.zero(currency)
    for debt in uow.rewards.outstanding(customer_id, currency):
        total += outstanding(debt) or Money.zero(currency)
    return total


def settle_clawback(
    core: ProgramCore, customer_id: str, amount: Money, *, reference: str
) -> list[Reward]:
    """`referralkit.ReferralProgram.settle_clawback`."""
    customer_id = require_id("customer_id", customer_id)
    amount = require_money("amount", amount)
    reference = require_id("reference", reference)
    if amount.amount <= 0:
        raise InvalidInput("a settlement is more than nothing", value=amount, field="amount")
    now = core.now()
    with core.transaction() as uow:
        recorded, created = uow.rewards.add_settlement(reference, customer_id, amount, now)
        if not created:
            if recorded != amount:
                raise IdempotencyConflict(
                    f"settlement {reference!r} was recorded as {recorded}, not {amount}",
                    value=amount,
                    field="amount",
                )
            return []  # settled before: nothing changes
        owed = owed_in(uow, customer_id, amount.currency)
        if amount > owed:
            raise InvalidInput(
                f"{customer_id!r} owes {owed} in clawbacks, less than {amount}",
                value=amount,
                field="amount",
            )
        changed = _recover(uow, customer_id, amount, "settled", now)
        uow.events.add(
            "clawback.settled",
            {"customer_id": customer_id, "amount": amount.to_json(), "reference": reference},
            now,
        )
        return changed


def net_against_debts(core: ProgramCore, uow: UnitOfWork, reward: Reward, now: datetime) -> Reward:
    """Apply an available reward to its customer's clawbacks, if the program nets its kind.

    The part netted leaves the reward's available value and recovers the debts (the
    customer is paid ``amount - netted``); a reward netted in full is paid by it.
    """
    if (
        reward.kind not in core.net_clawbacks
        or reward.state is not RewardState.AVAILABLE
        or reward.amount is None
    ):
        return reward
    free = reward.amount - (reward.netted or Money.zero(reward.amount.currency))
    owed = owed_in(uow, reward.customer_id, reward.amount.currency)
    if owed.amount <= 0 or free.amount <= 0:
        return reward
    part = min(owed, free)
    _recover(uow, reward.customer_id, part, "netted", now)
    netted = plus(reward.netted, part)
    state = RewardState.PAID if netted == reward.amount else reward.state
    updated = attrs.evolve(reward, netted=netted, state=state)
    uow.rewards.update(updated)
    uow.rewards.append(entries(updated, Move(Bucket.AVAILABLE, None, part, 0, "netted"), now))
    uow.events.add("reward.netted", {**reward_payload(updated), "netted": part.to_json()}, now)
    return updated
