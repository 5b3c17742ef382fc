"""The program's constructor arguments, checked and turned into what the core holds.

Each function takes what a host passed (any object: the constructor is an edge) and
returns the checked value, or raises `ConfigError` naming the argument.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import timedelta

from referralkit.campaigns import Campaign
from referralkit.codes import CodeFormat
from referralkit.errors import (
    ConfigError,
    InvalidLink,
    ReferralError,
)
from referralkit.guards.identity import IdentityNormalizer
from referralkit.links import canonical_base
from referralkit.model import RewardKind
from referralkit.money import Amounts
from referralkit.policies import DoubleSided, Fixed
from referralkit.protocols import Guard, RewardPolicy

__all__ = [
    "campaigns_by_name",
    "check_parts",
    "duration",
    "link_bases",
    "optional_name",
    "policy_from_definition",
    "reward_kinds",
    "signup_policy",
]

MIN_SECRET = 32


def check_parts(  # noqa: C901, PLR0912 - one check per constructor argument
    *,
    store: object,
    secret: object,
    previous_secrets: object,
    policy: object,
    hold: object,
    guards: object,
    identity_rules: object,
    code_format: object,
    link_base: object,
    sign_links: object,
    clock: object,
    rng: object,
    terms: object,
) -> None:
    """Refuse constructor parts of the wrong kind before anything uses them."""
    if not callable(getattr(store, "transaction", None)):
        raise ConfigError("store must be a Store (with transaction())", value=store, path="store")
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET:
        raise ConfigError(
            "secret must be at least 32 random bytes (e.g. secrets.token_bytes(32))",
            path="secret",
        )
    if isinstance(previous_secrets, bytes | str) or not isinstance(previous_secrets, Sequence):
        raise ConfigError(
            "previous_secrets must be a list of older secrets (bytes)",
            value=previous_secrets,
            path="previous_secrets",
        )
    if code_format is not None and not isinstance(code_format, CodeFormat):
        raise ConfigError("code_format must be a CodeFormat", value=code_format, path="code_format")
    if link_base is not None and not isinstance(link_base, str):
        raise ConfigError("link_base must be a URL string", value=link_base, path="link_base")
    if not isinstance(sign_links, bool):
        raise ConfigError("sign_links must be True or False", value=sign_links, path="sign_links")
    if not callable(clock):
        raise ConfigError("clock must be a callable returning the time", value=clock, path="clock")
    if rng is not None and not callable(rng):
        raise ConfigError("rng must be a callable rng(n) -> bytes", value=rng, path="rng")
    if terms is not None and (
        not isinstance(terms, Mapping)
        or not all(isinstance(k, str) and isinstance(v, RewardPolicy) for k, v in terms.items())
    ):
        raise ConfigError(
            "terms must map version names to reward policies", value=terms, path="terms"
        )
    if not isinstance(policy, RewardPolicy):
        raise ConfigError(
            "policy must have a name and an evaluate(context) method", value=policy, path="policy"
        )
    if isinstance(hold, timedelta) and hold < timedelta(0):
        raise ConfigError("hold must be a non-negative timedelta", value=hold, path="hold")
    if guards is not None:
        if not isinstance(guards, Sequence) or isinstance(guards, str):
            raise ConfigError("guards must be a list of guards", value=guards, path="guards")
        for i, guard in enumerate(guards):
            if not isinstance(guard, Guard):
                raise ConfigError(
                    "a guard needs a name and a check(context) method",
                    value=guard,
                    path=f"guards.{i}",
                )
    if identity_rules is not None and not isinstance(identity_rules, IdentityNormalizer):
        raise ConfigError(
            "identity_rules must be an IdentityNormalizer",
            value=identity_rules,
            path="identity_rules",
        )


def campaigns_by_name(campaigns: object) -> dict[str, Campaign]:
    if not isinstance(campaigns, Sequence) or isinstance(campaigns, str):
        raise ConfigError("campaigns must be a list of Campaign", value=campaigns, path="campaigns")
    by_name: dict[str, Campaign] = {}
    for i, campaign in enumerate(campaigns):
        if not isinstance(campaign, Campaign):
            raise ConfigError(
                f"campaigns[{i}] must be a Campaign", value=campaign, path=f"campaigns.{i}"
            )
        if campaign.name in by_name:
            raise ConfigError(
                f"two campaigns are called {campaign.name!r}",
                value=campaign.name,
                path=f"campaigns.{i}.name",
            )
        by_name[campaign.name] = campaign
    return by_name


def optional_name(field: str, value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{field} must be a non-empty name", value=value, path=field)
    return value


def duration(field: str, value: object) -> timedelta:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ConfigError(f"{field} must be a non-negative timedelta", value=value, path=field)
    return value


def reward_kinds(field: str, value: object) -> frozenset[RewardKind]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ConfigError(f"{field} must be a list of reward kinds", value=value, path=field)
    by_value = {k.value: k for k in RewardKind}
    unknown = [item for item in value if item not in by_value]
    if unknown:
        raise ConfigError(
            f"{field}: {unknown[0]!r} is not a reward kind ({sorted(by_value)})",
            value=unknown[0],
            path=field,
        )
    return frozenset(by_value[item] for item in value)


def signup_policy(value: object) -> RewardPolicy | None:
    """A reward for signing up: `Fixed`, or `DoubleSided` of `Fixed` (no order to read)."""
    if value is None:
        return None
    sides = [value.referrer, value.referee] if isinstance(value, DoubleSided) else [value]
    if not all(
        side is None or (isinstance(side, Fixed) and not isinstance(side.value, Amounts))
        for side in sides
    ):
        raise ConfigError(
            "signup_reward is granted before any order: use Fixed (a coupon, credit, points"
            " or a perk, in one currency), or DoubleSided of Fixed",
            value=value,
            path="signup_policy",
        )
    return value  # type: ignore[return-value]


def link_bases(link_base: str | None, campaigns: Iterable[Campaign]) -> frozenset[str]:
    """The canonical bases of the program's links: its own and its campaigns'."""
    bases: set[str] = set()
    for base in (link_base, *(c.link_base for c in campaigns)):
        if base is not None:
            with contextlib.suppress(InvalidLink):  # a base that is no URL matches no link
                bases.add(canonical_base(base))
    return frozenset(bases)


def policy_from_definition(definition: str) -> RewardPolicy | None:
    """The policy a stored definition (canonical configuration as JSON) describes."""
    import json  # noqa: PLC0415 - only a program meeting forgotten terms reads them

    from referralkit.config import build_policy  # noqa: PLC0415 - pydantic, on this rare path

    try:
        data = json.loads(definition)
    except ValueError:
        return None
    if not isinstance(data, dict) or "policy" not in data:
        return None
    try:
        return build_policy(data)
    except ReferralError:
        return None
