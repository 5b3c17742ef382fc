"""Reward policies and guards by name, so configuration can name them.

Names are looked up in the registry first (the built-ins and anything registered with
`register_policy` / `register_guard`), then in the entry points that installed
packages declare:

```toml
# the plugin's pyproject.toml
[project.entry-points."referralkit.policies"]
weekend_bonus = "acme_referrals:WeekendBonus"

[project.entry-points."referralkit.guards"]
blocked_domain = "acme_referrals:BlockedDomain"
```

A name claimed twice (a registration and an entry point, two entry points, a plugin
and a built-in) is a `ConfigError` naming both claimants, never a silent override.
Factories are checked when they are registered (callable; a class must have the
protocol's method) and what they build is checked when it is built (it must satisfy
`RewardPolicy` or `Guard`); every error names the plugin and where it came from.

```python
from referralkit.registry import create_policy, policy_names

assert "tiered" in policy_names()
points = create_policy("fixed", 500)  # 500 points per order
```
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

from referralkit.errors import ConfigError
from referralkit.protocols import Guard, RewardPolicy

__all__ = [
    "GUARD_GROUP",
    "GUARD_REGISTRY",
    "POLICY_GROUP",
    "POLICY_REGISTRY",
    "Factory",
    "Registry",
    "create_guard",
    "create_policy",
    "guard_factory",
    "guard_names",
    "policy_factory",
    "policy_names",
    "refresh_plugins",
    "register_guard",
    "register_policy",
    "unregister_guard",
    "unregister_policy",
]

#: The entry point group that plugin packages list their reward policies in.
POLICY_GROUP = "referralkit.policies"
#: The entry point group that plugin packages list their guards in.
GUARD_GROUP = "referralkit.guards"

#: Something that builds a policy or a guard from keyword parameters: usually its class.
Factory = Callable[..., Any]
#: Who claims a name: where it comes from, its ``module:attribute``, and how to load it.
_Claim = tuple[str, str, Callable[[], Factory]]

_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")

_BUILTIN_POLICIES = {
    "fixed": "referralkit.policies:Fixed",
    "percent_of_order": "referralkit.policies:PercentOfOrder",
    "double_sided": "referralkit.policies:DoubleSided",
    "tiered": "referralkit.policies:Tiered",
    "milestone": "referralkit.policies:Milestone",
    "recurring": "referralkit.policies:Recurring",
    "first_order_only": "referralkit.policies:FirstOrderOnly",
    "minimum_order": "referralkit.policies:MinimumOrder",
    "capped": "referralkit.policies:Capped",
    "budget": "referralkit.policies:Budget",
    "all_of": "referralkit.policies:AllOf",
    "first_match": "referralkit.policies:FirstMatch",
    "capped_per_period": "referralkit.policies:CappedPerPeriod",
    "first_orders": "referralkit.policies:FirstOrders",
    "returning_customer": "referralkit.policies:ReturningCustomer",
    "volume_tiers": "referralkit.policies:VolumeTiers",
    "per_lead": "referralkit.policies:PerLead",
    "budget_per_period": "referralkit.policies:BudgetPerPeriod",
    "per_click": "referralkit.policies:PerClick",
    "order_attribute": "referralkit.policies:OrderAttribute",
}

# Imported only when asked for, so the registry never depends on every guard existing.
_BUILTIN_GUARDS = {
    "self_referral": "referralkit.guards:SelfReferral",
    "duplicate_referee": "referralkit.guards:DuplicateReferee",
    "velocity": "referralkit.guards:Velocity",
    "disposable_email": "referralkit.guards:DisposableEmail",
    "referral_cycle": "referralkit.guards:ReferralCycle",
    "shared_signals": "referralkit.guards:SharedSignals",
}


def _target(obj: object) -> str:
    module = getattr(obj, "__module__", None) or "?"
    qualname = getattr(obj, "__qualname__", None) or repr(obj)
    return f"{module}:{qualname}"


def _import(target: str) -> object:
    module, _, attr = target.partition(":")
    obj: object = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _loads_as(ep: EntryPoint, factory: object) -> bool:
    """True when ``ep`` loads ``factory``; a plugin that fails to load is not it."""
    try:
        return ep.load() is factory
    except Exception:  # noqa: BLE001 - any failure to load means it is another plugin
        return False


def _ep_origin(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    where = "" if dist is None else f" from {dist.name} {dist.version}"
    return f"entry point {ep.name} = {ep.value}{where}"


class Registry:
    """Factories of one kind (policies or guards) by name.

    ``kind`` names the kind in messages, ``group`` is the entry point group,
    ``protocol`` the protocol what they build must satisfy, ``method`` the method a
    factory class must have, ``builtins`` maps built-in names to ``module:attribute``.
    """

    def __init__(
        self,
        *,
        kind: str,
        group: str,
        protocol: type,
        method: str,
        builtins: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self.protocol = protocol
        self.method = method
        self._builtins = dict(builtins or {})
        self._registered: dict[str, Factory] = {}
        self._resolved: dict[str, Factory] = {}
        self._entry_points: dict[str, list[EntryPoint]] | None = None
        self._lock = threading.RLock()

    # -- registration ----------------------------------------------------------------------

    def register(self, name: str, factory: Factory) -> None:
        """Register ``factory`` under ``name``; registering the same factory again is a no-op.

        Raises:
            ConfigError: a bad name, a factory that cannot build a `RewardPolicy` /
                `Guard`, or a name already claimed by another factory (both are named).
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(
                f"{self.kind} names are snake_case, optionally dotted (weekend_bonus,"
                f" acme.weekend_bonus), not {name!r}",
                value=name,
                path="name",
            )
        mine: _Claim = (f"registered {_target(factory)}", _target(factory), lambda: factory)
        self._check_factory(name, factory, mine[0])
        with self._lock:
            for claim in self._claims(name):
                if not self._same(claim, mine):
                    raise self._clash(name, claim[0], mine[0])
            self._registered[name] = factory
            self._resolved.pop(name, None)

    def unregister(self, name: str) -> None:
        """Forget a registration made with `register` (built-ins and entry points stay).

        Raises:
            ConfigError: ``name`` was not registered with `register`.
        """
        with self._lock:
            if name not in self._registered:
                raise ConfigError(
                    f"no {self.kind} was registered as {name!r} with register()",
                    value=name,
                    path="name",
                )
            del self._registered[name]
            self._resolved.pop(name, None)

    def refresh(self) -> None:
        """Read the installed packages' entry points again (after installing a plugin)."""
        with self._lock:
            self._entry_points = None
            self._resolved.clear()

    # -- lookup ----------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every name that can be looked up: built-ins, registrations, entry points."""
        with self._lock:
            return sorted({*self._builtins, *self._registered, *self._scan()})

    def builtin_names(self) -> list[str]:
        """The names referralkit itself provides, whatever is installed."""
        return sorted(self._builtins)

    def builtins(self) -> dict[str, Factory]:
        """The built-in factories by name, in the order referralkit declares them.

        Loaded from referralkit itself, whatever else claims their names.
        """
        return {name: self._builtin_loader(name, t)() for name, t in self._builtins.items()}

    def name_of(self, factory: object) -> str | None:
        """The name ``factory`` is known by, or None.

        Built-ins are looked at first, then registrations, then entry points (a plugin
        that fails to load is passed over).
        """
        with self._lock:
            for name, target in self._builtins.items():
                if self._builtin_loader(name, target)() is factory:
                    return name
            for name, registered in self._registered.items():
                if registered is factory:
                    return name
            for name, eps in self._scan().items():
                if any(_loads_as(ep, factory) for ep in eps):
                    return name
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def origin(self, name: str) -> str:
        """Where ``name`` comes from: ``built-in ...``, ``registered ...``, ``entry point ...``."""
        claims = self._claims(name)
        if not claims:
            raise self._unknown(name)
        return claims[0][0]

    def factory(self, name: str) -> Factory:
        """The factory registered or installed under ``name``.

        Raises:
            ConfigError: an unknown name (the message lists the known ones), a name
                claimed twice, or a plugin that fails to load.
        """
        with self._lock:
            if name in self._resolved:
                return self._resolved[name]
            claims = self._claims(name)
            if not claims:
                raise self._unknown(name)
            origin, target, loader = claims[0]
            for other in claims[1:]:
                if not self._same(claims[0], other):
                    raise self._clash(name, origin, other[0])
            try:
                factory = loader()
            except ConfigError:
                raise
            except Exception as exc:
                raise ConfigError(
                    f"the {self.kind} plugin {name!r} ({origin}) failed to load: {exc!r}",
                    value=target,
                    path=name,
                ) from exc
            self._check_factory(name, factory, origin)
            self._resolved[name] = factory
            return factory

    def create(self, name: str, /, *args: Any, **params: Any) -> Any:
        """Build the policy or guard named ``name`` with these arguments, and check it.

        Raises:
            ConfigError: the name cannot be resolved, the arguments do not fit the
                factory, or what it builds does not satisfy the protocol.
        """
        factory = self.factory(name)
        origin = self.origin(name)
        try:
            built = factory(*args, **params)
        except TypeError as exc:
            raise ConfigError(
                f"cannot build the {self.kind} {name!r} ({origin}): {exc}",
                value=params,
                path=name,
            ) from exc
        if not isinstance(built, self.protocol):
            raise ConfigError(
                f"the {self.kind} plugin {name!r} ({origin}) built {built!r}, which is not a"
                f" {self.protocol.__name__}: it needs a `name` and a method"
                f" `{self.method}(context)`",
                value=built,
                path=name,
            )
        return built

    # -- internals -------------------------------------------------------------------------

    def _scan(self) -> dict[str, list[EntryPoint]]:
        if self._entry_points is None:
            found: dict[str, list[EntryPoint]] = {}
            for ep in entry_points(group=self.group):
                found.setdefault(ep.name, []).append(ep)
            self._entry_points = found
        return self._entry_points

    def _claims(self, name: str) -> list[_Claim]:
        """Everyone who claims ``name``, registry first: ``(origin, target, loader)``."""
        claims: list[_Claim] = []
        with self._lock:
            if name in self._builtins:
                target = self._builtins[name]
                claims.append((f"built-in {target}", target, self._builtin_loader(name, target)))
            if name in self._registered:
                factory = self._registered[name]
                claims.append((f"registered {_target(factory)}", _target(factory), lambda: factory))
            claims.extend((_ep_origin(ep), ep.value, ep.load) for ep in self._scan().get(name, []))
        return claims

    def _builtin_loader(self, name: str, target: str) -> Callable[[], Factory]:
        def load() -> Factory:
            try:
                return cast("Factory", _import(target))
            except (ImportError, AttributeError) as exc:
                raise ConfigError(
                    f"the built-in {self.kind} {name!r} ({target}) is not available in this"
                    " version of referralkit",
                    value=name,
                    path=name,
                ) from exc

        return load

    @staticmethod
    def _same(first: _Claim, second: _Claim) -> bool:
        """True when two claims on a name are the very same object (declared twice)."""
        if first[1] == second[1]:
            return True
        try:
            return first[2]() is second[2]()
        except Exception:  # noqa: BLE001 - a claimant that cannot load is not the same object
            return False

    def _check_factory(self, name: str, factory: object, origin: str) -> None:
        if not callable(factory):
            raise ConfigError(
                f"the {self.kind} plugin {name!r} ({origin}) is {factory!r}, which is not"
                f" callable: register a class or a function that builds a {self.kind}",
                value=factory,
                path=name,
            )
        if isinstance(factory, type) and not callable(getattr(factory, self.method, None)):
            raise ConfigError(
                f"the {self.kind} plugin {name!r} ({origin}) is the class"
                f" {factory.__qualname__}, which has no {self.method}() method: it cannot"
                f" build a {self.protocol.__name__}",
                value=factory,
                path=name,
            )

    def _clash(self, name: str, first: str, second: str) -> ConfigError:
        return ConfigError(
            f"the {self.kind} name {name!r} is claimed twice: by the {first} and by the"
            f" {second}; rename one of them",
            value=name,
            path=name,
        )

    def _unknown(self, name: str) -> ConfigError:
        known = ", ".join(self.names())
        return ConfigError(
            f"unknown {self.kind} {name!r}; known {self.kind} names: {known}."
            f" Plugins are registered with register_{self.kind}() or through the"
            f" {self.group!r} entry point group",
            value=name,
            path=name,
        )


#: Reward policies by name (built-ins, registrations, ``referralkit.policies`` entry points).
POLICY_REGISTRY = Registry(
    kind="policy",
    group=POLICY_GROUP,
    protocol=RewardPolicy,
    method="evaluate",
    builtins=_BUILTIN_POLICIES,
)
#: Guards by name (built-ins, registrations, ``referralkit.guards`` entry points).
GUARD_REGISTRY = Registry(
    kind="guard", group=GUARD_GROUP, protocol=Guard, method="check", builtins=_BUILTIN_GUARDS
)


def register_policy(name: str, factory: Factory) -> None:
    """Register a reward policy factory (usually its class) under ``name``."""
    POLICY_REGISTRY.register(name, factory)


def register_guard(name: str, factory: Factory) -> None:
    """Register a guard factory (usually its class) under ``name``."""
    GUARD_REGISTRY.register(name, factory)


def unregister_policy(name: str) -> None:
    """Forget a policy registered with `register_policy`."""
    POLICY_REGISTRY.unregister(name)


def unregister_guard(name: str) -> None:
    """Forget a guard registered with `register_guard`."""
    GUARD_REGISTRY.unregister(name)


def policy_factory(name: str) -> Factory:
    """The factory of the reward policy called ``name``."""
    return POLICY_REGISTRY.factory(name)


def guard_factory(name: str) -> Factory:
    """The factory of the guard called ``name``."""
    return GUARD_REGISTRY.factory(name)


def create_policy(name: str, /, *args: Any, **params: Any) -> RewardPolicy:
    """Build the reward policy called ``name``: ``create_policy("fixed", Money("10", "USD"))``."""
    return cast("RewardPolicy", POLICY_REGISTRY.create(name, *args, **params))


def create_guard(name: str, /, *args: Any, **params: Any) -> Guard:
    """Build the guard called ``name``: ``create_guard("velocity", limit=20, ...)``."""
    return cast("Guard", GUARD_REGISTRY.create(name, *args, **params))


def policy_names() -> list[str]:
    """Every reward policy name: built-ins, registrations and installed plugins."""
    return POLICY_REGISTRY.names()


def guard_names() -> list[str]:
    """Every guard name: built-ins, registrations and installed plugins."""
    return GUARD_REGISTRY.names()


def refresh_plugins() -> None:
    """Read entry points again, e.g. after installing a plugin in a running process."""
    POLICY_REGISTRY.refresh()
    GUARD_REGISTRY.refresh()
