"""`policy_config`: a policy's canonical configuration, and `build_policy` as its inverse."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

import referralkit as rk
from referralkit.config import ProgramConfig, build_policy
from referralkit.policies import (
    AllOf,
    Capped,
    DoubleSided,
    FirstOrderOnly,
    Fixed,
    Milestone,
    PercentOfOrder,
    Recurring,
    Tier,
    Tiered,
    policy_config,
)
from referralkit.policies._settings import decimal_text, duration_text, money_text
from referralkit.registry import register_policy, unregister_policy
from strategies import equal_policy_pairs, policies, positive_durations


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


def canonical(policy: rk.RewardPolicy) -> str:
    return json.dumps(policy_config(policy), sort_keys=True)


# -- properties ------------------------------------------------------------------------------


@given(policies)
def test_build_policy_reads_the_canonical_configuration_back_into_an_equal_policy(policy) -> None:
    assert build_policy(policy_config(policy)) == policy


@given(policies)
def test_the_canonical_configuration_is_a_fixed_point_of_the_round_trip(policy) -> None:
    config = policy_config(policy)
    assert policy_config(build_policy(config)) == config


@given(equal_policy_pairs)
def test_equal_policies_have_identical_canonical_json(pair) -> None:
    """However their values are spelled: ``10`` or ``10.000`` USD, a kind given or left out."""
    first, second = pair
    assert first == second
    assert canonical(first) == canonical(second)


@given(policies)
def test_the_canonical_configuration_is_json_a_program_file_accepts(policy) -> None:
    config = policy_config(policy)
    assert json.loads(json.dumps(config)) == config
    loaded = ProgramConfig.from_dict({"policy": config, "terms": [config]})
    assert loaded == ProgramConfig.from_json(json.dumps({"policy": config, "terms": [config]}))


@given(policies, policies)
def test_different_policies_have_different_canonical_json(first, second) -> None:
    assert (canonical(first) == canonical(second)) == (first == second)


# -- the form ----------------------------------------------------------------------------------


def test_the_canonical_form_writes_money_rates_durations_and_every_default() -> None:
    policy = DoubleSided(
        referrer=AllOf(
            Tiered([Tier(1, Fixed(usd("10"))), Tier(5, PercentOfOrder("0.050", cap=usd("25")))]),
            Capped(Fixed(500), 2000, window=timedelta(days=30)),
            Recurring(Fixed("tote-bag"), within=timedelta(days=1, hours=12)),
            Milestone({10: Fixed(rk.Money("1000", "JPY")), 5: Fixed(usd("5"), kind="cash")}),
        ),
        referee=FirstOrderOnly(Fixed(usd("5.0"))),
    )
    points = {"policy": "fixed", "points": 500, "kind": "points"}
    assert policy_config(policy) == {
        "policy": "double_sided",
        "referrer": {
            "policy": "all_of",
            "policies": [
                {
                    "policy": "tiered",
                    "tiers": [
                        {
                            "min_referrals": 1,
                            "reward": {"policy": "fixed", "amount": "10.00 USD", "kind": "credit"},
                        },
                        {
                            "min_referrals": 5,
                            "reward": {
                                "policy": "percent_of_order",
                                "rate": "0.05",
                                "cap": "25.00 USD",
                                "minimum": None,
                                "kind": "credit",
                            },
                        },
                    ],
                },
                {"policy": "capped", "reward": points, "max_per_referrer": 2000, "window": "30d"},
                {
                    "policy": "recurring",
                    "reward": {"policy": "fixed", "perk": "tote-bag", "kind": "perk"},
                    "orders": None,
                    "within": "1d12h",
                },
                {
                    "policy": "milestone",
                    "milestones": {
                        "5": {"policy": "fixed", "amount": "5.00 USD", "kind": "cash"},
                        "10": {"policy": "fixed", "amount": "1000 JPY", "kind": "credit"},
                    },
                },
            ],
        },
        "referee": {
            "policy": "first_order_only",
            "reward": {"policy": "fixed", "amount": "5.00 USD", "kind": "credit"},
        },
    }


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Decimal("0.050"), 0, "0.05"),
        (Decimal("5E-2"), 0, "0.05"),
        (Decimal("5E+1"), 0, "50"),
        (Decimal("1.000"), 0, "1"),
        (Decimal("-0.00"), 0, "0"),
        (Decimal(10), 2, "10.00"),
        (Decimal("10.10"), 2, "10.10"),
        (Decimal("10.0010"), 2, "10.001"),
        (Decimal("1E+30"), 2, "1" + "0" * 30 + ".00"),
        (Decimal("1234567890123456789012345678901.5"), 2, "1234567890123456789012345678901.50"),
        (Decimal("0.1234567890123456789012345678901"), 0, "0.1234567890123456789012345678901"),
    ],
)
def test_decimals_are_written_in_full_without_spare_zeros(value, places, text) -> None:
    assert decimal_text(value, places) == text


def test_money_is_written_to_its_currency_s_minor_unit() -> None:
    assert money_text(usd("10")) == "10.00 USD"
    assert money_text(rk.Money("1000", "JPY")) == "1000 JPY"
    assert money_text(rk.Money("1.5", "KWD")) == "1.500 KWD"
    assert money_text(usd("0.001")) == "0.001 USD"


@given(st.integers(0, 10**15).map(lambda us: timedelta(microseconds=us)) | positive_durations)
def test_durations_are_written_as_the_configuration_reads_them(duration) -> None:
    """Short units, or pydantic's own ISO 8601 when there are microseconds."""
    text = duration_text(duration)
    if duration.microseconds:
        assert text == TypeAdapter(timedelta).dump_python(duration, mode="json")
    assert ProgramConfig.from_dict(
        {"policy": {"policy": "fixed", "points": 1}, "hold": text}
    ).hold == (duration)


# -- plugins ------------------------------------------------------------------------------------


@attrs.frozen
class Doubler:
    """A plugin policy that is an attrs class, without declared settings."""

    reward: rk.RewardPolicy
    factor: Decimal = Decimal(2)
    every: timedelta | None = None
    tags: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return f"doubler({self.reward.name})"

    def evaluate(self, context: rk.RewardContext):
        return self.reward.evaluate(context)


class Plain:
    """A plugin policy whose parameters are attributes of the same name."""

    def __init__(self, bonus: rk.Money, days: int = 7) -> None:
        self.bonus = bonus
        self.days = days

    name = "plain"

    def evaluate(self, context: rk.RewardContext):
        return ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plain) and (self.bonus, self.days) == (other.bonus, other.days)

    __hash__ = None  # type: ignore[assignment]


class Opaque:
    """A plugin policy that keeps its parameters to itself."""

    name = "opaque"

    def __init__(self, secret: int) -> None:
        self._secret = secret

    def evaluate(self, context: rk.RewardContext):
        return ()


@pytest.fixture
def plugins() -> Iterator[None]:
    register_policy("tests.doubler", Doubler)
    register_policy("tests.plain", Plain)
    register_policy("tests.opaque", Opaque)
    yield
    for name in ("tests.doubler", "tests.plain", "tests.opaque"):
        unregister_policy(name)


def test_plugins_that_are_attrs_classes_are_described_by_their_attributes(plugins) -> None:
    policy = AllOf(
        Doubler(Fixed(1), factor=Decimal("1.50"), every=timedelta(hours=2), tags=frozenset("ba"))
    )
    config = policy_config(policy)
    assert config["policies"] == [
        {
            "policy": "tests.doubler",
            "reward": {"policy": "fixed", "points": 1, "kind": "points"},
            "factor": "1.5",
            "every": "2h",
            "tags": ["a", "b"],
        }
    ]
    assert build_policy(config) == policy


def test_plugins_whose_parameters_are_attributes_are_described_by_them(plugins) -> None:
    policy = Plain(usd("5"))
    assert policy_config(policy) == {"policy": "tests.plain", "bonus": "5.00 USD", "days": 7}
    assert build_policy(policy_config(policy)) == policy


def test_the_installed_example_plugin_round_trips() -> None:
    from referralkit_plugin_example import WeekendBonus

    policy = FirstOrderOnly(WeekendBonus(usd("5"), days=("friday", "saturday")))
    assert policy_config(policy)["reward"] == {
        "policy": "weekend_bonus",
        "bonus": "5.00 USD",
        "days": ["friday", "saturday"],
    }
    assert build_policy(policy_config(policy)) == policy


@pytest.mark.parametrize(
    ("policy", "path", "reason"),
    [
        (lambda: Opaque(3), None, "its parameter 'secret' is not an attribute"),
        (
            lambda: DoubleSided(referrer=AllOf(Fixed(1), Opaque(3))),
            "referrer.policies.1",
            "its parameter 'secret' is not an attribute",
        ),
        (lambda: FirstOrderOnly(Unregistered()), "reward", "its class is not registered"),
        (lambda: Doubler(Fixed(1), factor=object()), "factor", "a object has no configuration"),
    ],
)
def test_a_policy_that_cannot_be_described_says_the_host_must_name_its_version(
    plugins, policy, path, reason
) -> None:
    with pytest.raises(rk.ConfigError) as err:
        policy_config(policy())
    assert err.value.path == path
    assert "cannot be described as configuration" in str(err.value)
    assert reason in str(err.value)
    assert "the host must give it a version name itself" in str(err.value)


class Unregistered:
    name = "unregistered"

    def evaluate(self, context: rk.RewardContext):
        return ()


# -- without pydantic ---------------------------------------------------------------------------


def test_the_policies_layer_never_imports_pydantic_or_the_config_module() -> None:
    """The declarations live with the policies; only config.py derives pydantic from them."""
    package = Path(rk.__file__).parent / "policies"
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("pydantic", "referralkit.config")), module.name


def test_policy_config_runs_without_the_config_module() -> None:
    script = (
        "import sys\n"
        "from referralkit import Money\n"
        "from referralkit.policies import DoubleSided, Fixed, policy_config\n"
        "config = policy_config(DoubleSided(Fixed(Money('10', 'USD')), Fixed(5)))\n"
        "assert config['referrer']['amount'] == '10.00 USD', config\n"
        "assert 'referralkit.config' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
