"""Entry-point discovery end to end, with the example plugin package installed.

The test run installs it: ``pip install ./examples/referralkit-plugin-example``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, distribution

import pytest

import referralkit as rk
from referralkit.config import ProgramConfig, program_kwargs
from referralkit.registry import (
    GUARD_GROUP,
    GUARD_REGISTRY,
    POLICY_GROUP,
    POLICY_REGISTRY,
    guard_names,
    policy_names,
)
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock, PolicyContract

try:
    distribution("referralkit-plugin-example")
except PackageNotFoundError:  # pragma: no cover - the README's test command installs it
    pytest.fail(
        "the example plugin is not installed: pip install ./examples/referralkit-plugin-example",
        pytrace=False,
    )

from referralkit_plugin_example import ChannelReview, WeekendBonus

SATURDAY = datetime(2026, 5, 2, 12, 0, tzinfo=timezone.utc)
MONDAY = datetime(2026, 5, 4, 12, 0, tzinfo=timezone.utc)


def test_the_plugin_declares_its_entry_points() -> None:
    eps = distribution("referralkit-plugin-example").entry_points
    assert {(ep.group, ep.name) for ep in eps} == {
        (POLICY_GROUP, "weekend_bonus"),
        (GUARD_GROUP, "channel_review"),
    }


def test_installed_plugins_are_discovered_by_name() -> None:
    assert "weekend_bonus" in policy_names()
    assert "channel_review" in guard_names()
    assert POLICY_REGISTRY.factory("weekend_bonus") is WeekendBonus
    assert GUARD_REGISTRY.factory("channel_review") is ChannelReview
    assert POLICY_REGISTRY.origin("weekend_bonus") == (
        "entry point weekend_bonus = referralkit_plugin_example:WeekendBonus"
        " from referralkit-plugin-example 0.1.0"
    )


def test_a_configuration_names_plugins_and_the_program_runs_them() -> None:
    config = ProgramConfig.from_toml(
        """
        hold = "0s"

        [policy]
        policy = "all_of"
        policies = [
          { policy = "fixed", amount = "10 USD" },
          { policy = "weekend_bonus", bonus = "5 USD" },
        ]

        [[guards]]
        guard = "channel_review"
        channels = ["sms"]
        """
    )
    kwargs = program_kwargs(config)
    kwargs.pop("campaigns")
    clock = FrozenClock(SATURDAY)
    program = rk.ReferralProgram(
        store=MemoryStore(), secret=b"plugin-tests-secret-0123456789abcdef", clock=clock, **kwargs
    )
    code = program.enroll("ann").code
    assert program.attribute(code=code, referee="eve", channel="sms").reasons == (
        "channel_review.sms",
    )
    program.attribute(code=code, referee="bob", channel="email")
    saturday = program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
    assert [(r.policy, r.amount) for r in saturday] == [
        ("fixed(10.00 USD)", rk.Money("10", "USD")),
        ("weekend_bonus(5.00 USD)", rk.Money("5", "USD")),
    ]
    assert saturday[1].explanation == "an order placed on a saturday: a bonus of 5.00 USD"
    monday = program.convert(
        referee="bob", order_id="o-2", amount=rk.Money("80", "USD"), occurred_at=MONDAY
    )
    assert [r.policy for r in monday] == ["fixed(10.00 USD)"]


def test_plugin_parameter_errors_point_into_the_configuration() -> None:
    with pytest.raises(rk.ConfigError) as err:
        ProgramConfig.from_dict(
            {"policy": {"policy": "weekend_bonus", "bonus": "5 USD", "days": ["funday"]}}
        )
    assert err.value.path == "policy.days"


class TestTheExamplePolicyMeetsTheContract(PolicyContract):
    @pytest.fixture
    def policy(self) -> WeekendBonus:
        return WeekendBonus(rk.Money("5", "USD"), days=("friday", "saturday"))
