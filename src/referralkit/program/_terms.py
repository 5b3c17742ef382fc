"""Terms: every policy version a program runs, named, and its definition kept in the store.

A referral records the version of the terms it was promised. So that the promise
survives a restart with another policy, the program stores each version's definition
(the policy's canonical configuration) the first time it runs it, and builds promised
terms it no longer has from the store. A version is the hash of its definition unless
the host names it; a policy that cannot be described as configuration (a host's own
Python class) must be named, because nothing else could tell its versions apart. A
program started with a policy whose version is stored with another definition is
refused, naming what changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from referralkit.errors import ConfigError
from referralkit.policies import policy_definition
from referralkit.policies._base import legacy_policy_version
from referralkit.protocols import RewardPolicy, UnitOfWork

__all__ = ["Terms", "describe_change"]

_UNDESCRIBED = "undescribed"


@attrs.frozen(slots=True)
class _Version:
    policy: RewardPolicy
    definition: str
    path: str


def _version_of(policy: RewardPolicy, named: str | None, path: str) -> tuple[str, str]:
    """``(version, definition)`` of a policy, named or derived from its definition."""
    definition = policy_definition(policy)
    if definition is None:
        if named is None:
            raise ConfigError(
                f"{path} ({policy.name}) cannot be described as configuration, so its"
                " version cannot be derived: name it (policy_version='...'), and give it a"
                " new name whenever its terms change",
                value=policy,
                path=path,
            )
        return named, json.dumps({_UNDESCRIBED: policy.name})
    if named is None:
        from referralkit.policies import policy_version  # noqa: PLC0415 - same module

        return policy_version(policy), definition
    return named, definition


class Terms:
    """The policy versions a program knows: its own, its campaigns', and earlier ones."""

    def __init__(
        self,
        policy: RewardPolicy,
        *,
        named: str | None,
        campaigns: Mapping[str, tuple[RewardPolicy, str | None]],
        earlier: Mapping[str, RewardPolicy],
    ) -> None:
        self._known: dict[str, _Version] = {}
        self.version = self._add(policy, named, "policy")
        self.campaign_versions = {
            name: self._add(p, v, f"campaigns.{name}.policy") for name, (p, v) in campaigns.items()
        }
        for version, old in earlier.items():
            self._add(old, version, f"terms.{version}", keep=True)
        # Referrals stored by earlier releases name the legacy version of the same terms.
        self.aliases = {
            legacy_policy_version(v.policy): v.policy for v in list(self._known.values())
        }

    def _add(
        self, policy: RewardPolicy, named: str | None, path: str, *, keep: bool = False
    ) -> str:
        version, definition = _version_of(policy, named, path)
        known = self._known.get(version)
        if known is not None and known.definition != definition and not keep:
            raise ConfigError(
                f"{path} and {known.path} are both named {version!r} but differ:"
                f" {describe_change(known.definition, definition)}",
                value=version,
                path=path,
            )
        self._known.setdefault(version, _Version(policy, definition, path))
        return version

    def policies(self) -> dict[str, RewardPolicy]:
        """Every known policy by version, the legacy aliases included."""
        table = {**self.aliases}
        table.update({version: v.policy for version, v in self._known.items()})
        return table

    def record(self, uow: UnitOfWork, now: datetime) -> None:
        """Store each version's definition, once; refuse a version stored differently."""
        for version, known in self._known.items():
            stored = uow.terms.add(version, known.definition, now)
            if stored != known.definition:
                raise ConfigError(
                    f"the policy version {version!r} ({known.path}) is stored with other"
                    f" terms: {describe_change(stored, known.definition)}; name the new"
                    " terms with a new version (the old one stays promised to its"
                    " referrals)",
                    value=version,
                    path=known.path,
                )


def _flat(value: Any, path: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _flat(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _flat(item, f"{path}.{i}" if path else str(i), out)
    else:
        out[path] = value
    return out


def describe_change(old: str, new: str) -> str:
    """What differs between two definitions, field by field: ``amount: 10.00 USD -> 20.00 USD``."""
    try:
        before = _flat(json.loads(old), "", {})
        after = _flat(json.loads(new), "", {})
    except ValueError:
        return "the definitions differ"
    changes = [
        f"{key or 'policy'}: {before.get(key, '(none)')} -> {after.get(key, '(none)')}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    return "; ".join(changes[:6]) + ("; ..." if len(changes) > 6 else "")  # noqa: PLR2004 - a short message
