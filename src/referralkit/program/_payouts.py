"""Release and payment: held rewards become available after their hold, then are paid out.

A nightly job lists what is payable across all customers with a cursor (`payable`) and
pays a batch in one unit of work (`payout`), once per payout id. Releasing nets each
newly available reward against its customer's clawbacks (for the netting kinds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from referralkit._validate import opt_name, positive_int, require_id
from referralkit.errors import IdempotencyConflict, InvalidInput, InvalidState, NotFound
from referralkit.model import Reward, RewardKind, RewardState
from referralkit.program._clawbacks import net_against_debts
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import transition
from referralkit.protocols import UnitOfWork

__all__ = ["mark_paid", "pay_rewards", "payable", "payout", "release_due"]

_MAX_BATCH = 10_000


def release_due(core: ProgramCore, limit: int, *, every: bool = False) -> list[Reward]:
    """`referralkit.ReferralProgram.release_due`."""
    limit = positive_int("limit", limit)
    if not isinstance(every, bool):
        raise InvalidInput("all must be True or False", value=every, field="all")
    released: list[Reward] = []
    while True:
        now = core.now()
        with core.transaction() as uow:
            batch = [
                net_against_debts(
                    core,
                    uow,
                    transition(
                        uow,
                        reward,
                        RewardState.AVAILABLE,
                        reason="release",
                        event="reward.available",
                        now=now,
                    ),
                    now,
                )
                for reward in uow.rewards.due(now, limit)
            ]
        released += batch
        if not every or len(batch) < limit:
            return released


def _pay(uow: UnitOfWork, reward: Reward, payout_id: str | None, now: datetime) -> Reward:
    return transition(
        uow,
        reward,
        RewardState.PAID,
        reason="paid",
        event="reward.paid",
        now=now,
        payout_id=payout_id,
    )


def mark_paid(core: ProgramCore, reward_id: str) -> Reward:
    """`referralkit.ReferralProgram.mark_paid`."""
    reward_id = require_id("reward_id", reward_id)
    now = core.now()
    with core.transaction() as uow:
        reward = uow.rewards.get(reward_id)
        if reward is None:
            raise NotFound(f"no reward {reward_id!r}", value=reward_id)
        if reward.state is RewardState.PAID:
            return reward
        if reward.state is not RewardState.AVAILABLE:
            raise InvalidState(
                f"reward {reward_id!r} is {reward.state.value}; only available rewards can be paid",
                value=reward.state.value,
            )
        return _pay(uow, reward, None, now)


def payable(
    core: ProgramCore,
    *,
    kind: RewardKind | str | None,
    currency: str | None,
    after: str | None,
    limit: int,
) -> list[Reward]:
    """`referralkit.ReferralProgram.payable`."""
    limit = positive_int("limit", limit)
    if limit > _MAX_BATCH:
        raise InvalidInput(f"limit is at most {_MAX_BATCH}", value=limit, field="limit")
    after = opt_name("after", after)
    currency = opt_name("currency", currency)
    kinds = {k.value: k for k in RewardKind}
    if kind is not None and (not isinstance(kind, str) or kind not in kinds):
        raise InvalidInput(f"kind must be one of {sorted(kinds)}", value=kind, field="kind")
    with core.transaction() as uow:
        return uow.rewards.available(
            kind=None if kind is None else kinds[kind].value,
            currency=currency,
            after=after,
            limit=limit,
        )


def payout(core: ProgramCore, reward_ids: Sequence[str], *, payout_id: str) -> list[Reward]:
    """`referralkit.ReferralProgram.payout`."""
    payout_id = require_id("payout_id", payout_id)
    if isinstance(reward_ids, str) or not isinstance(reward_ids, Sequence):
        raise InvalidInput(
            "reward_ids must be a list of reward ids", value=reward_ids, field="reward_ids"
        )
    ids = [require_id("reward_ids", reward_id) for reward_id in reward_ids]
    if not ids or len(ids) > _MAX_BATCH:
        raise InvalidInput(
            f"a payout pays 1 to {_MAX_BATCH} rewards", value=len(ids), field="reward_ids"
        )
    if len(set(ids)) != len(ids):
        raise InvalidInput("a payout lists each reward once", value=ids, field="reward_ids")
    now = core.now()
    with core.transaction() as uow:
        return pay_rewards(uow, ids, payout_id, now)


def pay_rewards(uow: UnitOfWork, ids: list[str], payout_id: str, now: datetime) -> list[Reward]:
    """Pay the available rewards ``ids`` under ``payout_id`` in ``uow``, once per payout id.

    A payout id seen before pays nothing again and gives back its rewards; one reward
    that is not available refuses the whole batch (`InvalidState`).
    """
    stored, created = uow.rewards.add_payout(payout_id, ids, now)
    if not created:
        if sorted(stored) != sorted(ids):
            raise IdempotencyConflict(
                f"payout {payout_id!r} was recorded with other rewards",
                value=ids,
                field="reward_ids",
            )
        found = (uow.rewards.get(reward_id) for reward_id in stored)
        return [reward for reward in found if reward is not None]
    paid = []
    for reward_id in ids:
        reward = uow.rewards.get(reward_id)
        if reward is None:
            raise NotFound(f"no reward {reward_id!r}", value=reward_id)
        if reward.state is not RewardState.AVAILABLE:
            raise InvalidState(
                f"reward {reward_id!r} is {reward.state.value}: only available rewards"
                " can be paid (nothing in this payout was paid)",
                value=reward_id,
            )
        paid.append(_pay(uow, reward, payout_id, now))
    uow.events.add(
        "payout.paid", {"payout_id": payout_id, "reward_ids": ids, "count": len(ids)}, now
    )
    return paid
