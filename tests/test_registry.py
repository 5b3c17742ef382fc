"""Policies and guards by name: registry first, entry points second, clashes are errors."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

import referralkit as rk
from referralkit import registry as registry_module
from referralkit.context import Verdict
from referralkit.policies import Fixed, PercentOfOrder
from referralkit.registry import (
    GUARD_REGISTRY,
    POLICY_GROUP,
    Registry,
    create_policy,
    guard_names,
    policy_factory,
    policy_names,
    register_guard,
    register_policy,
    unregister_guard,
    unregister_policy,
)


class Double:
    """A plugin policy: twice what the inner policy grants, as another grant."""

    def __init__(self, reward: rk.RewardPolicy) -> None:
        self.reward = reward

    @property
    def name(self) -> str:
        return f"double({self.reward.name})"

    def evaluate(self, context: rk.RewardContext):
        return [*self.reward.evaluate(context), *self.reward.evaluate(context)]


class NoEvaluate:
    name = "no-evaluate"


class Quiet:
    """A plugin guard that never objects."""

    name = "quiet"

    def check(self, context: rk.GuardContext) -> Verdict:
        return Verdict.allow()


def make_double(reward: rk.RewardPolicy) -> Double:
    return Double(reward)


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names registered by a test, forgotten afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        unregister_policy(name)


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch):
    """Install fake entry points; returns a function taking (name, value) pairs."""

    def install(*pairs: tuple[str, str], group: str = POLICY_GROUP) -> Registry:
        eps = [EntryPoint(name, value, group) for name, value in pairs]
        monkeypatch.setattr(
            registry_module, "entry_points", lambda group: [e for e in eps if e.group == group]
        )
        return Registry(
            kind="policy",
            group=POLICY_GROUP,
            protocol=rk.RewardPolicy,
            method="evaluate",
            builtins={"fixed": "referralkit.policies:Fixed"},
        )

    return install


def test_builtins_are_registered_under_snake_case_names() -> None:
    assert {
        "fixed",
        "percent_of_order",
        "double_sided",
        "tiered",
        "milestone",
        "recurring",
        "first_order_only",
        "minimum_order",
        "capped",
        "budget",
        "all_of",
        "first_match",
    } <= set(policy_names())
    assert policy_names() == sorted(policy_names())
    assert create_policy("percent_of_order", "0.05") == PercentOfOrder("0.05")
    assert policy_factory("fixed") is Fixed


def test_builtin_guards_are_known_by_name_without_importing_them() -> None:
    assert {
        "self_referral",
        "duplicate_referee",
        "velocity",
        "disposable_email",
        "referral_cycle",
        "shared_signals",
    } <= set(guard_names())


def test_a_missing_builtin_is_a_clear_error() -> None:
    registry = Registry(
        kind="guard",
        group="referralkit.tests.none",
        protocol=rk.Guard,
        method="check",
        builtins={"ghost": "referralkit.guards:NoSuchGuard"},
    )
    with pytest.raises(rk.ConfigError, match="not available in this version") as err:
        registry.factory("ghost")
    assert err.value.path == "ghost"


def test_a_registered_policy_is_created_by_name(registered) -> None:
    register_policy("tests.double", Double)
    registered.append("tests.double")
    policy = create_policy("tests.double", Fixed(1))
    assert policy.name == "double(fixed(1 points))"
    assert "tests.double" in policy_names()


def test_registering_the_same_factory_twice_is_harmless(registered) -> None:
    register_policy("tests.double", Double)
    register_policy("tests.double", Double)
    registered.append("tests.double")
    register_policy("fixed", Fixed)  # the built-in itself: the same object
    assert policy_factory("tests.double") is Double
    assert policy_factory("fixed") is Fixed
    assert policy_names().count("tests.double") == 1


def test_a_name_clash_names_both_claimants_and_changes_nothing(registered) -> None:
    with pytest.raises(rk.ConfigError) as err:
        register_policy("fixed", Double)
    message = str(err.value)
    assert "built-in referralkit.policies:Fixed" in message
    assert "registered test_registry:Double" in message
    assert policy_factory("fixed") is Fixed
    register_policy("tests.double", Double)
    registered.append("tests.double")
    with pytest.raises(rk.ConfigError, match="claimed twice"):
        register_policy("tests.double", make_double)
    assert policy_factory("tests.double") is Double


@pytest.mark.parametrize("name", ["", "Double", "two words", "9lives", "a-b", None])
def test_names_are_snake_case(name) -> None:
    with pytest.raises(rk.ConfigError, match="snake_case"):
        register_policy(name, Double)


def test_factories_are_checked_when_registered() -> None:
    with pytest.raises(rk.ConfigError, match="not callable") as err:
        register_policy("tests.bad", 42)  # type: ignore[arg-type]
    assert "'tests.bad'" in str(err.value)
    with pytest.raises(rk.ConfigError, match="no evaluate\\(\\) method"):
        register_policy("tests.bad", NoEvaluate)
    with pytest.raises(rk.ConfigError, match="no check\\(\\) method"):
        register_guard("tests.bad", Double)
    assert "tests.bad" not in policy_names()


def test_what_a_factory_builds_is_checked_when_built(registered) -> None:
    register_policy("tests.number", lambda: 42)
    registered.append("tests.number")
    with pytest.raises(rk.ConfigError, match="built 42, which is not a RewardPolicy") as err:
        create_policy("tests.number")
    assert "tests.number" in str(err.value)


def test_wrong_arguments_name_the_policy(registered) -> None:
    register_policy("tests.double", Double)
    registered.append("tests.double")
    with pytest.raises(rk.ConfigError, match=r"cannot build the policy 'tests\.double'"):
        create_policy("tests.double", colour="red")


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(rk.ConfigError) as err:
        create_policy("nope")
    assert "unknown policy 'nope'" in str(err.value)
    assert "percent_of_order" in str(err.value)
    with pytest.raises(rk.ConfigError):
        unregister_policy("nope")


def test_guards_register_like_policies() -> None:
    register_guard("tests.quiet", Quiet)
    try:
        assert GUARD_REGISTRY.create("tests.quiet").name == "quiet"
        assert "tests.quiet" in guard_names()
    finally:
        unregister_guard("tests.quiet")
    assert "tests.quiet" not in guard_names()


# -- entry points ----------------------------------------------------------------------------


def test_entry_points_are_discovered_after_the_registry(fake_entry_points) -> None:
    registry = fake_entry_points(("tests.double", "test_registry:Double"))
    assert registry.names() == ["fixed", "tests.double"]
    assert registry.factory("tests.double") is Double
    assert registry.origin("tests.double") == "entry point tests.double = test_registry:Double"
    assert registry.create("tests.double", Fixed(1)).name == "double(fixed(1 points))"


def test_an_entry_point_clashing_with_a_builtin_is_an_error_naming_both(fake_entry_points):
    registry = fake_entry_points(("fixed", "test_registry:Double"))
    with pytest.raises(rk.ConfigError) as err:
        registry.factory("fixed")
    assert "built-in referralkit.policies:Fixed" in str(err.value)
    assert "entry point fixed = test_registry:Double" in str(err.value)


def test_two_entry_points_with_one_name_are_an_error(fake_entry_points) -> None:
    registry = fake_entry_points(
        ("tests.double", "test_registry:Double"), ("tests.double", "test_registry:make_double")
    )
    with pytest.raises(rk.ConfigError, match="claimed twice"):
        registry.factory("tests.double")


def test_registering_over_an_entry_point_is_an_error_unless_it_is_the_same(fake_entry_points):
    registry = fake_entry_points(("tests.double", "test_registry:Double"))
    registry.register("tests.double", Double)  # the same object: fine
    with pytest.raises(rk.ConfigError, match="claimed twice"):
        registry.register("tests.double", make_double)


def test_an_entry_point_that_fails_to_load_names_the_plugin(fake_entry_points) -> None:
    registry = fake_entry_points(("tests.broken", "no_such_module_here:Thing"))
    with pytest.raises(rk.ConfigError) as err:
        registry.factory("tests.broken")
    assert "policy plugin 'tests.broken'" in str(err.value)
    assert "no_such_module_here:Thing" in str(err.value)
    assert "failed to load" in str(err.value)


def test_an_entry_point_to_something_unusable_is_refused(fake_entry_points) -> None:
    registry = fake_entry_points(("tests.noeval", "test_registry:NoEvaluate"))
    with pytest.raises(rk.ConfigError, match="no evaluate\\(\\) method"):
        registry.factory("tests.noeval")


def test_refresh_reads_entry_points_again(fake_entry_points, monkeypatch) -> None:
    registry = fake_entry_points()
    assert "tests.double" not in registry
    eps = [EntryPoint("tests.double", "test_registry:Double", POLICY_GROUP)]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: eps)
    assert "tests.double" not in registry  # cached until refreshed
    registry.refresh()
    assert "tests.double" in registry
