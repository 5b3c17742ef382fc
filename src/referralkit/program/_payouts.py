"""Release and payment: held rewards become available after their hold, then are paid out."""

from __future__ import annotations

from referralkit._validate import positive_int, require_id
from referralkit.errors import InvalidState, NotFound
from referralkit.model import Reward, RewardState
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import transition

__all__ = ["mark_paid", "release_due"]


def release_due(core: ProgramCore, limit: int) -> list[Reward]:
    """`referralkit.ReferralProgram.release_due`."""
    limit = positive_int("limit", limit)
    now = core.now()
    with core.transaction() as uow:
        return [
            transition(
                uow,
                reward,
                RewardState.AVAILABLE,
                reason="release",
                event="reward.available",
                now=now,
            )
            for reward in uow.rewards.due(now, limit)
        ]


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
        return transition(
            uow, reward, RewardState.PAID, reason="paid", event="reward.paid", now=now
        )
