"""Policies made of policies: all of them (a sum), or the first that grants something."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext
from referralkit.errors import ConfigError
from referralkit.model import TierProgress
from referralkit.policies._base import (
    check_policy,
    combined_needs,
    covered_currencies,
    first_progress,
)
from referralkit.policies._event_fees import event_grants
from referralkit.policies._settings import Form, setting
from referralkit.protocols import RewardPolicy

__all__ = ["AllOf", "FirstMatch"]


def _policies(kind: str, policies: Sequence[object]) -> tuple[RewardPolicy, ...]:
    if not policies:
        raise ConfigError(f"{kind} needs at least one policy", value=[], path="policies")
    return tuple(check_policy(p, f"policies.{i}") for i, p in enumerate(policies))


def _distinct_keys(grants: Sequence[Grant]) -> tuple[Grant, ...]:
    """Rename repeated keys (``fixed(...)#2``) so the ledger keeps every grant."""
    seen: set[tuple[object, str]] = set()
    out = []
    for grant in grants:
        key, n = grant.key, 1
        while (grant.beneficiary, key) in seen:
            n += 1
            key = f"{grant.key}#{n}"
        seen.add((grant.beneficiary, key))
        out.append(grant if key == grant.key else attrs.evolve(grant, key=key))
    return tuple(out)


@attrs.frozen(slots=True, init=False)
class AllOf:
    """Every policy's grants together: ``AllOf(Fixed(...), PercentOfOrder(...))`` is a sum.

    Two grants with the same key (the same policy twice) are both kept: the later ones
    are renamed ``<key>#2``, ``<key>#3``. Tier progress is the first tiered policy's.
    """

    config_summary: ClassVar[str] = "Every policy's rewards together."

    policies: tuple[RewardPolicy, ...] = attrs.field(metadata=setting(Form.POLICIES, min_length=1))

    def __init__(self, *policies: RewardPolicy) -> None:
        self.__attrs_init__(_policies("AllOf", policies))

    @property
    def needs(self) -> frozenset[str]:
        """What any of the policies reads."""
        return combined_needs(self.policies)

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies every policy can pay in."""
        return covered_currencies(self.policies)

    @property
    def name(self) -> str:
        """``all_of(<policy>, <policy>, ...)``."""
        return f"all_of({', '.join(p.name for p in self.policies)})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """Every policy's grants, in order."""
        grants: list[Grant] = []
        for policy in self.policies:
            grants += policy.evaluate(context)
        return _distinct_keys(grants)

    def progress(self, qualified: int) -> TierProgress | None:
        """The first tiered policy's progress."""
        return first_progress(self.policies, qualified)


@attrs.frozen(slots=True, init=False)
class FirstMatch:
    """The grants of the first policy that grants anything; the rest are not consulted.

    ``FirstMatch(MinimumOrder(Fixed(Money("20", "USD")), Money("100", "USD")),
    Fixed(Money("10", "USD")))``: 20 USD on orders of 100 USD or more, else 10 USD.
    On a partner's lead or click (``context.event``), a policy grants only what
    `PerLead` / `PerClick` give for it: a per-order rate that sees the event's zero
    order does not stop the match before the lead or click fee.
    """

    config_summary: ClassVar[str] = "The rewards of the first policy that grants anything."

    policies: tuple[RewardPolicy, ...] = attrs.field(metadata=setting(Form.POLICIES, min_length=1))

    def __init__(self, *policies: RewardPolicy) -> None:
        self.__attrs_init__(_policies("FirstMatch", policies))

    @property
    def needs(self) -> frozenset[str]:
        """What any of the policies reads."""
        return combined_needs(self.policies)

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies every policy can pay in."""
        return covered_currencies(self.policies)

    @property
    def name(self) -> str:
        """``first_match(<policy>, <policy>, ...)``."""
        return f"first_match({', '.join(p.name for p in self.policies)})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """The first non-empty list of grants (of the event's fees, on a lead or click)."""
        for policy in self.policies:
            grants = event_grants(policy.evaluate(context), context.event)
            if grants:
                return grants
        return ()

    def progress(self, qualified: int) -> TierProgress | None:
        """The first tiered policy's progress."""
        return first_progress(self.policies, qualified)
