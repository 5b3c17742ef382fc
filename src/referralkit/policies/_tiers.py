"""Rewards that grow with the referrer's success: tiers, and one-off milestone bonuses."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.errors import ConfigError
from referralkit.model import TierProgress
from referralkit.policies._base import check_policy, combined_needs, covered_currencies, prefixed
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["Milestone", "Tier", "Tiered"]


def _count(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path} must be an int, not {value!r}", value=value, path=path)
    if value < 1:
        raise ConfigError(
            f"{path} must be at least 1 (the count includes the referral being rewarded),"
            f" not {value}",
            value=value,
            path=path,
        )
    return value


def _plural(n: int) -> str:
    return f"{n} qualified referral{'' if n == 1 else 's'}"


@attrs.frozen(slots=True)
class Tier:
    """One rung of a `Tiered` ladder: ``reward`` from ``min_referrals`` qualified referrals on."""

    config_summary: ClassVar[str] = "One rung of a tiered ladder."

    min_referrals: int = attrs.field(
        metadata=setting(Form.INTEGER, ge=1, description="Qualified referrals, this one included.")
    )
    reward: RewardPolicy = attrs.field(metadata=setting(Form.POLICY))

    def __attrs_post_init__(self) -> None:
        _count(self.min_referrals, "min_referrals")
        check_policy(self.reward, "reward")


def _tiers(value: object) -> tuple[Tier, ...]:
    if isinstance(value, Tier) or not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(
            f"tiers must be a list of Tier(min_referrals=..., reward=...), not {value!r}",
            value=value,
            path="tiers",
        )
    return tuple(value)


@attrs.frozen(slots=True)
class Tiered:
    """The more qualified referrals, the bigger the reward: a ladder of `Tier`.

    The tier is chosen by ``context.qualified``, the referrer's qualified referrals
    *including the one being rewarded*: with tiers at 1 and 5, the fifth friend's order
    already earns the tier-5 reward. Below the first tier nothing is granted. Tiers are
    numbered from 1 in the order given, which must be strictly ascending.
    Explanations read ``tier 2 (5+ qualified referrals): ...``.
    """

    config_summary: ClassVar[str] = (
        "Bigger rewards for more qualified referrals; tiers in ascending order."
    )

    tiers: tuple[Tier, ...] = attrs.field(
        converter=_tiers, metadata=setting(Form.RECORDS, record=Tier, min_length=1)
    )
    _floors: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False, default=())

    def __attrs_post_init__(self) -> None:
        if not self.tiers:
            raise ConfigError("tiers must have at least one tier", value=[], path="tiers")
        for i, tier in enumerate(self.tiers):
            if not isinstance(tier, Tier):
                raise ConfigError(
                    f"tiers.{i} must be a Tier(min_referrals=..., reward=...), not {tier!r}",
                    value=tier,
                    path=f"tiers.{i}",
                )
            if i and tier.min_referrals <= self.tiers[i - 1].min_referrals:
                raise ConfigError(
                    f"tiers must be in strictly ascending order of min_referrals: tier {i + 1}"
                    f" starts at {tier.min_referrals}, not above tier {i}"
                    f" ({self.tiers[i - 1].min_referrals})",
                    value=tier.min_referrals,
                    path=f"tiers.{i}.min_referrals",
                )
        object.__setattr__(self, "_floors", tuple(t.min_referrals for t in self.tiers))

    @property
    def needs(self) -> frozenset[str]:
        """The qualified count, and whatever the tiers' rewards read."""
        return combined_needs((t.reward for t in self.tiers), ("qualified",))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies every tier can pay in."""
        return covered_currencies(t.reward for t in self.tiers)

    @property
    def name(self) -> str:
        """``tiered(1+: fixed(10.00 USD), 5+: fixed(15.00 USD))``."""
        rungs = ", ".join(f"{t.min_referrals}+: {t.reward.name}" for t in self.tiers)
        return f"tiered({rungs})"

    def tier_for(self, qualified: int) -> int | None:
        """The tier number (from 1) for ``qualified`` referrals, or None below the first."""
        number = bisect.bisect_right(self._floors, qualified)
        return number or None

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """The grants of the tier that ``context.qualified`` reaches."""
        number = self.tier_for(context.qualified)
        if number is None:
            return ()
        tier = self.tiers[number - 1]
        why = f"tier {number} ({tier.min_referrals}+ qualified referrals)"
        return prefixed(tier.reward.evaluate(context), why)

    def progress(self, qualified: int) -> TierProgress:
        """The current tier number and the count at which the next one starts."""
        number = self.tier_for(qualified)
        index = number or 0
        next_at = self._floors[index] if index < len(self._floors) else None
        return TierProgress(qualified=qualified, current_tier=number, next_tier_at=next_at)


def _milestones(value: object) -> tuple[tuple[int, RewardPolicy], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"milestones must be a mapping of counts to policies, e.g. {{5: Fixed(...)}},"
            f" not {value!r}",
            value=value,
            path="milestones",
        )
    pairs = []
    for count, policy in value.items():
        path = f"milestones.{count}"
        pairs.append((_count(count, path), check_policy(policy, path)))
    return tuple(sorted(pairs, key=lambda pair: pair[0]))


@attrs.frozen(slots=True)
class Milestone:
    """One-off bonuses when the referrer's qualified referrals reach a count.

    ``Milestone({5: Fixed(Money("50", "USD")), 10: Fixed(1000)})`` pays 50 USD once when
    the fifth referral qualifies and 1000 points once at the tenth.

    Paid exactly once: each bonus is a per-referrer grant keyed
    ``milestone:<campaign>:<count>``, unique per referrer in the ledger, so retries,
    duplicate deliveries and racing workers cannot pay it twice, and neither can a
    change of terms within the campaign.

    Paid *at or above* the count: on every conversion, each milestone whose count
    ``context.qualified`` has reached and that the referrer does not already hold is
    granted. A milestone skipped when it was reached (the referral that reached it
    qualified under older terms, or an inner condition such as `MinimumOrder` was not
    met on that order) is therefore paid on the referrer's next rewarded conversion.
    The count is all the referrer's qualified referrals, in every campaign; the key
    is per campaign, so each campaign's milestones are paid once.

    The bonus is recorded against the order that triggered it: refunding that order in
    full reverses the bonus, and it is not paid again.
    """

    config_summary: ClassVar[str] = (
        'One-off bonuses by qualified-referral count: ``{"5": {...}, "10": {...}}``.'
    )

    milestones: tuple[tuple[int, RewardPolicy], ...] = attrs.field(
        converter=_milestones, metadata=setting(Form.POLICY_BY_COUNT, min_length=1)
    )

    def __attrs_post_init__(self) -> None:
        if not self.milestones:
            raise ConfigError(
                "milestones must have at least one count", value={}, path="milestones"
            )

    @property
    def needs(self) -> frozenset[str]:
        """The qualified count and the referrer's rewards (to skip bonuses already paid)."""
        return combined_needs((p for _, p in self.milestones), ("qualified", "referrer_rewards"))

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies every bonus can pay in."""
        return covered_currencies(p for _, p in self.milestones)

    @property
    def name(self) -> str:
        """``milestone(5: fixed(50.00 USD), 10: fixed(1000 points))``."""
        return f"milestone({', '.join(f'{n}: {p.name}' for n, p in self.milestones)})"

    @staticmethod
    def key(campaign: str, count: int) -> str:
        """The ledger key of the bonus for reaching ``count`` in ``campaign``."""
        return f"milestone:{campaign}:{count}"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """The bonuses for every count reached and not yet paid to this referrer."""
        held = {r.key for r in context.referrer_rewards}
        grants: list[Grant] = []
        for count, policy in self.milestones:
            if count > context.qualified:
                break
            base = self.key(context.campaign, count)
            if base in held:
                continue
            why = f"milestone of {_plural(count)} reached ({context.qualified} so far)"
            for i, grant in enumerate(prefixed(policy.evaluate(context), why)):
                key = base if i == 0 else f"{base}:{i}"
                grants.append(attrs.evolve(grant, key=key, per_referrer=True))
        return tuple(grants)

    def progress(self, qualified: int) -> TierProgress:
        """Milestones reached so far (as the tier number) and the count of the next one."""
        reached = sum(1 for count, _ in self.milestones if count <= qualified)
        upcoming = [count for count, _ in self.milestones if count > qualified]
        return TierProgress(
            qualified=qualified,
            current_tier=reached or None,
            next_tier_at=upcoming[0] if upcoming else None,
        )
