"""What every built-in policy shares: argument checks, grant values, explanations, versions.

Policies are validated when they are built, so a program never starts with terms that
cannot be evaluated; each `ConfigError` carries the ``path`` of the argument at fault,
in the same words as the configuration file (``tiers.1.min_referrals``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Literal, overload

import attrs

from referralkit.context import Grant, policy_needs
from referralkit.errors import ConfigError, CurrencyMismatch
from referralkit.model import RewardKind, TierProgress
from referralkit.money import Money
from referralkit.protocols import RewardPolicy, TieredPolicy

__all__ = [
    "check_count",
    "check_duration",
    "check_limit",
    "check_money",
    "check_policy",
    "combined_needs",
    "covered_currencies",
    "describe_duration",
    "describe_limit",
    "describe_rate",
    "first_progress",
    "grant_value",
    "legacy_policy_version",
    "policy_definition",
    "policy_version",
    "prefixed",
    "same_currency",
    "with_value",
]


def policy_definition(policy: RewardPolicy) -> str | None:
    """The canonical configuration of ``policy`` as JSON text, or None if it has none.

    The text a store keeps for each policy version (`policy_config`, sorted keys, no
    spaces): equal policies give the same text, and `referralkit.config.build_policy`
    builds the policy again from it.
    """
    from referralkit.policies._settings import policy_config  # noqa: PLC0415 - a sibling that imports this module

    try:
        config = policy_config(policy)
    except ConfigError:
        return None
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def policy_version(policy: RewardPolicy) -> str:
    """A stable version id for a policy's terms, derived from its definition.

    The hash of `policy_definition` when the policy can be described as configuration;
    otherwise of its name and full description (``repr``), as before. Two policies
    built from the same parameters have the same version, in any process; a referral
    records the version in force when it was attributed, so a program keeps honouring
    earlier terms after the policy changes.
    """
    definition = policy_definition(policy)
    if definition is None:
        return legacy_policy_version(policy)
    return hashlib.sha256(definition.encode()).hexdigest()[:16]


def legacy_policy_version(policy: RewardPolicy) -> str:
    """The version id earlier releases derived (name and ``repr``), for stored referrals."""
    text = f"{policy.name}|{policy!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_policy(value: object, path: str) -> RewardPolicy:
    """``value`` if it is a reward policy (a ``name`` and an ``evaluate``), else `ConfigError`."""
    if not isinstance(value, RewardPolicy):
        raise ConfigError(
            f"{path} must be a reward policy (with a name and an evaluate(context) method),"
            f" not {value!r}",
            value=value,
            path=path,
        )
    return value


def check_money(value: object, path: str, *, allow_none: bool = False) -> Money | None:
    """A non-negative `Money` exact to the currency's minor unit, or `ConfigError`."""
    if value is None and allow_none:
        return None
    if not isinstance(value, Money):
        raise ConfigError(
            f"{path} must be Money, e.g. Money('10', 'USD'), not {value!r}", value=value, path=path
        )
    if value.amount < 0:
        raise ConfigError(f"{path} cannot be negative, got {value}", value=value, path=path)
    if not value.is_whole_minor():
        raise ConfigError(
            f"{path} {value!r} has more decimals than {value.currency} allows",
            value=value,
            path=path,
        )
    return value


def check_limit(value: object, path: str) -> Money | int:
    """A cap or budget: non-negative `Money`, or a non-negative int of points."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"{path} cannot be negative, got {value}", value=value, path=path)
        return value
    if isinstance(value, Money):
        return check_money(value, path) or value
    raise ConfigError(
        f"{path} must be Money (e.g. Money('100', 'USD')) or an int of points, not {value!r}",
        value=value,
        path=path,
    )


@overload
def check_count(value: object, path: str, meaning: str, *, allow_none: Literal[False]) -> int: ...
@overload
def check_count(
    value: object, path: str, meaning: str, *, allow_none: bool = True
) -> int | None: ...
def check_count(value: object, path: str, meaning: str, *, allow_none: bool = True) -> int | None:
    """A positive int (or None when allowed), else `ConfigError` naming ``path``.

    ``meaning`` says what the count is in the message: ``how many repeat orders earn``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        other = ", or None," if allow_none else ","
        raise ConfigError(
            f"{path} must be a positive int ({meaning}){other} not {value!r}",
            value=value,
            path=path,
        )
    return value


def check_duration(value: object, path: str, *, allow_none: bool = True) -> timedelta | None:
    """A positive `timedelta` (or None when allowed), else `ConfigError`."""
    if value is None and allow_none:
        return None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigError(
            f"{path} must be a positive timedelta, e.g. timedelta(days=30), not {value!r}",
            value=value,
            path=path,
        )
    return value


def grant_value(grant: Grant) -> Money | None:
    """The money a grant is worth: its amount, or a coupon's face value."""
    return grant.coupon_value if grant.kind is RewardKind.COUPON else grant.amount


def with_value(grant: Grant, value: Money) -> Grant:
    """``grant`` worth ``value`` instead (the amount, or a coupon's face value)."""
    if grant.kind is RewardKind.COUPON:
        return attrs.evolve(grant, coupon_value=value)
    return attrs.evolve(grant, amount=value)


def same_currency(limit: Money, value: Money, what: str) -> None:
    """Refuse to compare ``value`` with a ``limit`` in another currency."""
    if limit.currency != value.currency:
        raise CurrencyMismatch(
            f"{what} is in {limit.currency}, but this reward is in {value.currency}:"
            " use a policy per currency",
            value=(limit.currency, value.currency),
        )


def prefixed(grants: Iterable[Grant], why: str) -> tuple[Grant, ...]:
    """The grants with ``why`` put in front of their explanations (``tier 2 (...): ...``)."""
    return tuple(attrs.evolve(g, explanation=f"{why}: {g.explanation}") for g in grants)


def combined_needs(policies: Iterable[RewardPolicy], own: Iterable[str] = ()) -> frozenset[str]:
    """The costly context fields the policies read, plus the wrapper's ``own``."""
    needs = frozenset(own)
    for policy in policies:
        needs |= policy_needs(policy)
    return needs


def covered_currencies(
    policies: Iterable[object], own: Iterable[Money | int | None] = ()
) -> frozenset[str] | None:
    """The order currencies every one of ``policies`` (and the ``own`` limits) can pay in.

    None when nothing limits the currency (points, percentages without a money cap).
    """
    covered: frozenset[str] | None = None
    limits = [frozenset({m.currency}) for m in own if isinstance(m, Money)]
    for part in [*(getattr(p, "currencies", None) for p in policies), *limits]:
        if part is not None:
            covered = frozenset(part) if covered is None else covered & frozenset(part)
    return covered


def first_progress(policies: Sequence[object], qualified: int) -> TierProgress | None:
    """Tier progress from the first of ``policies`` that reports one."""
    for policy in policies:
        if isinstance(policy, TieredPolicy):
            progress = policy.progress(qualified)
            if progress is not None:
                return progress
    return None


def describe_duration(value: timedelta) -> str:
    """``30 days``, ``1 day 12 hours``, ``90 minutes``: a duration as a person says it."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or str(value)


def describe_limit(value: Money | int) -> str:
    """``100.00 USD`` or ``500 points``."""
    return f"{value} points" if isinstance(value, int) else str(value.round())


def describe_rate(rate: Decimal) -> str:
    """``5%``, ``2.5%``, ``100%``."""
    return f"{(rate * 100).normalize():f}%"
