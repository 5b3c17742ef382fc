"""A policy's configuration is declared once, on its class: what config derives from it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

import attrs
import pytest

import referralkit as rk
from referralkit import config
from referralkit.config import ProgramConfig, build_policy
from referralkit.config._policy_specs import _BUILTIN_SPECS
from referralkit.policies import Fixed, Form, Setting, Tier, one_of, setting
from referralkit.registry import POLICY_REGISTRY, register_policy, unregister_policy
from referralkit.storage import MemoryStore


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


@attrs.frozen
class Rung:
    """A record a plugin lists: a threshold and a bonus."""

    config_summary: ClassVar[str] = "One step."

    at: int = attrs.field(metadata=setting(Form.INTEGER, ge=1, description="From this count."))
    bonus: rk.Money = attrs.field(metadata=setting(Form.MONEY))

    def __attrs_post_init__(self) -> None:
        if self.bonus.amount > 100:
            raise rk.ConfigError("a step pays at most 100", value=self.bonus, path="bonus")


@attrs.frozen
class Ladder:
    """A plugin policy declaring every kind of setting."""

    config_summary: ClassVar[str] = "A plugin ladder."

    reward: rk.RewardPolicy = attrs.field(metadata=setting(Form.POLICY))
    value: rk.Money | int = attrs.field(
        default=0,
        metadata=one_of(
            Setting(Form.MONEY, key="cash"),
            Setting(Form.INTEGER, key="points", ge=0),
            message="give cash or points",
        ),
    )
    steps: tuple[Rung, ...] = attrs.field(
        default=(), converter=tuple, metadata=setting(Form.RECORDS, record=Rung)
    )
    rate: Decimal = attrs.field(default=Decimal(0), metadata=setting(Form.RATE, key="share"))
    cooldown: timedelta | None = attrs.field(default=None, metadata=setting(Form.DURATION))
    label: str = "ladder"  # undeclared: typed by its annotation, as plugins always were

    def __attrs_post_init__(self) -> None:
        if self.rate > 1:
            raise rk.ConfigError("rate is at most 1", value=self.rate, path="rate")

    @property
    def name(self) -> str:
        return f"ladder({self.reward.name})"

    def evaluate(self, context: rk.RewardContext):
        return self.reward.evaluate(context)


@pytest.fixture
def ladder() -> Iterator[None]:
    register_policy("tests.ladder", Ladder)
    yield
    unregister_policy("tests.ladder")


LEAF = {"policy": "fixed", "points": 1}


def test_a_declared_plugin_is_loaded_by_its_declaration(ladder) -> None:
    """Keys, forms, records and undeclared fields all come from the class."""
    policy = build_policy(
        {
            "policy": "tests.ladder",
            "reward": LEAF,
            "cash": "2 USD",
            "steps": [{"at": 1, "bonus": "1 USD"}, {"at": 5, "bonus": "3 USD"}],
            "share": "5%",
            "cooldown": "1d",
            "label": "x",
        }
    )
    assert policy == Ladder(
        Fixed(1),
        value=usd("2"),
        steps=(Rung(1, usd("1")), Rung(5, usd("3"))),
        rate=Decimal("0.05"),
        cooldown=timedelta(days=1),
        label="x",
    )
    assert build_policy({"policy": "tests.ladder", "reward": LEAF, "points": 3}) == Ladder(
        Fixed(1), value=3
    )


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        ({"cash": "1 USD", "points": 1}, "policy", "give cash or points"),
        ({}, "policy", "give cash or points"),
        ({"points": -1}, "policy.points", "greater than or equal to 0"),
        ({"points": 1, "rate": "0.5"}, "policy.rate", "Extra inputs"),
        ({"points": 1, "share": "2"}, "policy.share", "rate is at most 1"),
        ({"points": 1, "share": 0.5}, "policy.share", "floats"),
        ({"points": 1, "cooldown": 5}, "policy.cooldown", "duration"),
        ({"points": 1, "steps": [{"at": 0, "bonus": "1 USD"}]}, "policy.steps.0.at", ">= 1"),
        ({"points": 1, "steps": [{"at": 1, "bonus": "101 USD"}]}, "policy.steps.0.bonus", "100"),
        ({"points": 1, "steps": [{"at": 1}]}, "policy.steps.0.bonus", "Field required"),
        ({"points": 1, "reward": {"policy": "fixed"}}, "policy.reward", "exactly one of"),
        ({"points": 1, "label": 5}, "policy.label", "valid string"),
    ],
)
def test_a_declared_plugin_s_errors_name_the_key_in_the_file(ladder, spec, path, message) -> None:
    """Errors from validation and from the class itself point at the file's key."""
    with pytest.raises(rk.ConfigError) as err:
        build_policy({"policy": "tests.ladder", "reward": LEAF, **spec})
    assert err.value.path == path
    assert message.replace(">= 1", "greater than or equal to 1") in str(err.value)


def test_a_declared_plugin_runs_in_a_configured_program(ladder) -> None:
    loaded = ProgramConfig.from_dict(
        {"policy": {"policy": "tests.ladder", "reward": LEAF, "points": 2}, "guards": []}
    )
    program = rk.ReferralProgram.from_config(loaded, store=MemoryStore(), secret=b"s" * 32)
    assert program.policy == Ladder(Fixed(1), value=2)


def test_every_builtin_model_is_derived_from_its_policy_class() -> None:
    """The public spec names are the derived models, named and described by the class."""
    for name, factory in POLICY_REGISTRY.builtins().items():
        model = _BUILTIN_SPECS[name]
        assert model.__name__ == f"{factory.__name__}Spec"
        assert model.__doc__ == factory.config_summary
        assert getattr(config, model.__name__) is model
    assert config.TierSpec.__doc__ == Tier.config_summary


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda: Setting(Form.CHOICE), "choices"),
        (lambda: Setting(Form.TEXT, choices=("a",)), "choices"),
        (lambda: Setting(Form.RECORDS), "record"),
        (lambda: Setting(Form.POLICY, record=Tier), "record"),
        (lambda: one_of(Setting(Form.MONEY, key="a"), message="m"), "alternatives"),
        (
            lambda: one_of(Setting(Form.MONEY, key="a"), Setting(Form.INTEGER), message="m"),
            "alternatives",
        ),
        (
            lambda: one_of(
                Setting(Form.MONEY, key="a"), Setting(Form.DURATION, key="b"), message="m"
            ),
            "alternatives",
        ),
        (
            lambda: one_of(Setting(Form.MONEY, key="a"), Setting(Form.TEXT, key="b"), message=""),
            "alternatives",
        ),
        (lambda: Setting(Form.MONEY, message="m"), "alternatives"),
    ],
)
def test_a_setting_that_cannot_be_derived_is_refused_where_it_is_declared(make, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        make()
    assert err.value.path == path
