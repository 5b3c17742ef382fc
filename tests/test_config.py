"""ProgramConfig: whole programs from dicts, JSON and TOML; exact error paths; round trips."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import attrs
import jsonschema
import pytest
from hypothesis import given, settings

import referralkit as rk
from referralkit.config import (
    Campaign,
    ProgramConfig,
    build_guards,
    build_policy,
    program_kwargs,
    write_json_schema,
)
from referralkit.context import Verdict
from referralkit.metrics import Attribution
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
    policy_version,
)
from referralkit.registry import (
    register_guard,
    register_policy,
    unregister_guard,
    unregister_policy,
)
from referralkit.storage import MemoryStore
from strategies import policy_specs

SECRET = b"config-tests-secret-0123456789abcdef"


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


DOUBLE_SIDED = {
    "policy": "double_sided",
    "referrer": {
        "policy": "tiered",
        "tiers": [
            {"min_referrals": 1, "reward": {"policy": "fixed", "amount": "10 USD"}},
            {"min_referrals": 5, "reward": {"policy": "fixed", "amount": "15 USD"}},
        ],
    },
    "referee": {"policy": "fixed", "amount": {"amount": "5", "currency": "USD"}},
}

EXPECTED_POLICY = DoubleSided(
    referrer=Tiered(
        [
            Tier(min_referrals=1, reward=Fixed(usd("10"))),
            Tier(min_referrals=5, reward=Fixed(usd("15"))),
        ]
    ),
    referee=Fixed(usd("5")),
)

TOML = """
"$schema" = "./referralkit.schema.json"
hold = "14d"
link_base = "https://shop.example/r"
campaign = "always"

[policy]
policy = "double_sided"
referee = { policy = "fixed", amount = "5 USD" }

[policy.referrer]
policy = "tiered"
tiers = [
  { min_referrals = 1, reward = { policy = "fixed", amount = "10 USD" } },
  { min_referrals = 5, reward = { policy = "fixed", amount = "15 USD" } },
]

[code_format]
length = 10
prefix = "RK"

[[campaigns]]
name = "spring"
start = 2026-03-01T00:00:00Z
end = 2026-06-01T00:00:00Z
channels = ["email", "whatsapp"]
policy = { policy = "percent_of_order", rate = "10%", cap = "25 USD" }
"""


def test_a_program_loads_from_a_dict() -> None:
    config = ProgramConfig.from_dict({"policy": DOUBLE_SIDED, "hold": "7d"})
    kwargs = program_kwargs(config)
    assert kwargs["policy"] == EXPECTED_POLICY
    assert kwargs["hold"] == timedelta(days=7)
    assert kwargs["code_format"] == rk.CodeFormat()
    assert kwargs["campaign"] == "default"
    assert kwargs["campaigns"] == ()
    assert kwargs["terms"] == {}
    assert "guards" not in kwargs  # the program's default guards


def test_a_program_loads_from_toml_and_json_files(tmp_path: Path) -> None:
    toml = tmp_path / "program.toml"
    toml.write_text(TOML, encoding="utf-8")
    config = ProgramConfig.load(toml)
    kwargs = program_kwargs(config)
    assert kwargs["policy"] == EXPECTED_POLICY
    assert kwargs["code_format"] == rk.CodeFormat(length=10, prefix="RK")
    assert kwargs["link_base"] == "https://shop.example/r"
    (spring,) = kwargs["campaigns"]
    assert spring == Campaign(
        name="spring",
        policy=PercentOfOrder(Decimal("0.1"), cap=usd("25")),
        start=datetime(2026, 3, 1, tzinfo=timezone.utc),
        end=datetime(2026, 6, 1, tzinfo=timezone.utc),
        channels=("email", "whatsapp"),
    )
    as_json = tmp_path / "program.json"
    as_json.write_text(config.to_json(), encoding="utf-8")
    assert ProgramConfig.load(as_json) == config


def test_a_configured_program_runs() -> None:
    config = ProgramConfig.from_dict({"policy": DOUBLE_SIDED, "guards": [], "hold": "0s"})
    program = rk.ReferralProgram.from_config(config, store=MemoryStore(), secret=SECRET)
    program.attribute(code=program.enroll("ann").code, referee="bob")
    rewards = program.convert(referee="bob", order_id="o-1", amount=usd("80"))
    assert [(r.customer_id, r.amount) for r in rewards] == [("ann", usd("10")), ("bob", usd("5"))]
    assert program.policy_version == policy_version(EXPECTED_POLICY)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10 USD", usd("10")),
        (" 10.50  usd ", usd("10.50")),
        ("1_000 JPY", rk.Money("1000", "JPY")),
        ({"amount": "10.50", "currency": "USD"}, usd("10.50")),
        ({"amount": 10, "currency": "EUR"}, rk.Money("10", "EUR")),
    ],
)
def test_money_is_written_as_text_or_an_object(value, expected) -> None:
    assert build_policy({"policy": "fixed", "amount": value}) == Fixed(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14d", timedelta(days=14)),
        ("12h", timedelta(hours=12)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("P14D", timedelta(days=14)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("0s", timedelta(0)),
    ],
)
def test_durations_are_written_short_or_in_iso_8601(text, expected) -> None:
    assert ProgramConfig.from_dict({"policy": DOUBLE_SIDED, "hold": text}).hold == expected


@pytest.mark.parametrize("rate", ["0.05", "5%", " 5 % ", Decimal("0.05")])
def test_rates_are_decimals_or_percentages(rate) -> None:
    assert build_policy({"policy": "percent_of_order", "rate": rate}) == PercentOfOrder("0.05")


# -- errors: exact paths, what was expected --------------------------------------------------

BAD = [
    (
        {
            "policy": {
                "policy": "tiered",
                "tiers": [{"min_referrals": 0, "reward": {"policy": "fixed", "points": 1}}],
            }
        },
        "policy.tiers.0.min_referrals",
        "greater than or equal to 1",
    ),
    (
        {
            "policy": {"policy": "fixed", "points": 1},
            "campaigns": [
                {"name": "a"},
                {
                    "name": "b",
                    "policy": {
                        "policy": "double_sided",
                        "referrer": {
                            "policy": "tiered",
                            "tiers": [
                                {"min_referrals": 5, "reward": {"policy": "fixed", "points": 1}},
                                {"min_referrals": 5, "reward": {"policy": "fixed", "points": 2}},
                            ],
                        },
                    },
                },
            ],
        },
        "campaigns.1.policy.referrer.tiers.1.min_referrals",
        "strictly ascending",
    ),
    ({"policy": {"policy": "fixed", "amount": 10.5}}, "policy.amount", "'10.50 USD'"),
    ({"policy": {"policy": "fixed", "amount": "10 XYZ"}}, "policy.amount", "ISO-4217"),
    ({"policy": {"policy": "fixed", "amount": "-1 USD"}}, "policy.amount", "negative"),
    ({"policy": {"policy": "fixed"}}, "policy", "exactly one of amount"),
    ({"policy": {"policy": "fixed", "points": 1, "colour": "red"}}, "policy.colour", "Extra"),
    ({"policy": {"policy": "percent_of_order", "rate": 0.05}}, "policy.rate", "floats"),
    ({"policy": {"policy": "percent_of_order", "rate": "2"}}, "policy.rate", "between 0 and 1"),
    ({"policy": {"policy": "nope"}}, "policy.policy", "unknown policy 'nope'"),
    ({"policy": "fixed"}, "policy", "expected a policy"),
    ({"policy": {"policy": 3}}, "policy", "expected a policy"),
    ({}, "policy", "required"),
    ({"policy": {"policy": "fixed", "points": 1}, "hold": 14}, "hold", "'14d'"),
    ({"policy": {"policy": "fixed", "points": 1}, "hold": "-1d"}, "hold", "duration"),
    ({"policy": {"policy": "fixed", "points": 1}, "link_base": "shop"}, "link_base", "http"),
    (
        {"policy": {"policy": "fixed", "points": 1}, "code_format": {"length": 3}},
        "code_format.length",
        "too short",
    ),
    (
        {"policy": {"policy": "fixed", "points": 1}, "guards": [{"guard": "nope"}]},
        "guards.0.guard",
        "unknown guard",
    ),
    (
        {"policy": {"policy": "fixed", "points": 1}, "guards": [{"limit": 3}]},
        "guards.0.guard",
        "required",
    ),
    (
        {
            "policy": {
                "policy": "milestone",
                "milestones": {"five": {"policy": "fixed", "points": 1}},
            }
        },
        "policy.milestones.five",
        "integer",
    ),
    (
        {
            "policy": {
                "policy": "capped",
                "reward": {"policy": "fixed", "points": 1},
                "max_per_referrer": True,
            }
        },
        "policy.max_per_referrer",
        "integer of points",
    ),
    (
        {
            "policy": {
                "policy": "recurring",
                "reward": {"policy": "fixed", "points": 1},
                "within": "0s",
            }
        },
        "policy.within",
        "positive",
    ),
    (
        {"policy": {"policy": "fixed", "points": 1}, "campaigns": [{"name": "a"}, {"name": "a"}]},
        "campaigns.1.name",
        "already defined at campaigns.0",
    ),
    (
        {
            "policy": {"policy": "fixed", "points": 1},
            "campaigns": [
                {"name": "a", "start": "2026-03-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}
            ],
        },
        "campaigns.0.end",
        "after start",
    ),
    (
        {
            "policy": {"policy": "fixed", "points": 1},
            "campaigns": [{"name": "a", "start": "2026-03-01T00:00:00"}],
        },
        "campaigns.0.start",
        "timezone",
    ),
    (
        {
            "policy": {"policy": "fixed", "points": 1},
            "terms": [{"policy": "percent_of_order", "rate": "x"}],
        },
        "terms.0.rate",
        "decimal",
    ),
]


@pytest.mark.parametrize(("data", "path", "expected"), BAD, ids=[b[1] for b in BAD])
def test_invalid_configuration_points_at_the_field_and_says_what_was_expected(
    data, path, expected
) -> None:
    with pytest.raises(rk.ConfigError) as err:
        ProgramConfig.from_dict(data)
    assert err.value.path == path
    assert expected in str(err.value)
    assert path in str(err.value)


def test_every_problem_is_listed_but_the_path_is_the_first() -> None:
    with pytest.raises(rk.ConfigError) as err:
        ProgramConfig.from_dict(
            {"policy": {"policy": "fixed", "points": 1}, "hold": 3, "sign_links": "y"}
        )
    assert err.value.path == "hold"
    assert "sign_links" in str(err.value)


@pytest.mark.parametrize(
    ("loader", "text", "message"),
    [
        (ProgramConfig.from_json, "{", "invalid JSON at line 1"),
        (ProgramConfig.from_json, "[1]", "is an object"),
        (ProgramConfig.from_toml, "policy = ", "invalid TOML"),
    ],
)
def test_unreadable_text_is_a_config_error(loader, text, message) -> None:
    with pytest.raises(rk.ConfigError, match=message):
        loader(text)


def test_files_must_be_json_or_toml_and_readable(tmp_path: Path) -> None:
    with pytest.raises(rk.ConfigError, match=r"\.json or \.toml"):
        ProgramConfig.load(tmp_path / "program.yaml")
    with pytest.raises(rk.ConfigError, match="cannot read"):
        ProgramConfig.load(tmp_path / "missing.json")


# -- round trips -----------------------------------------------------------------------------


@settings(deadline=None)
@given(spec=policy_specs)
def test_a_config_round_tripped_through_json_builds_an_equal_program(spec) -> None:
    config = ProgramConfig.from_dict(
        {
            "policy": spec,
            "hold": "1d12h",
            "guards": [],
            "campaigns": [{"name": "spring", "policy": spec, "start": "2026-03-01T00:00:00+02:00"}],
            "terms": [spec],
        }
    )
    again = ProgramConfig.from_json(config.to_json())
    assert again == config
    before, after = program_kwargs(config), program_kwargs(again)
    assert before == after
    assert policy_version(before["policy"]) == policy_version(after["policy"])
    assert list(before["terms"]) == [policy_version(before["policy"])]
    programs = [
        rk.ReferralProgram.from_config(c, store=MemoryStore(), secret=SECRET)
        for c in (config, again)
    ]
    for attribute in ("policy", "policy_version", "guards", "hold", "code_format", "campaigns"):
        assert getattr(programs[0], attribute) == getattr(programs[1], attribute), attribute
    east = timezone(timedelta(hours=2))
    assert programs[0].campaigns["spring"].start == datetime(2026, 3, 1, tzinfo=east)


def test_to_dict_is_plain_json_data_without_empty_fields() -> None:
    config = ProgramConfig.from_dict(
        {
            "policy": {
                "policy": "capped",
                "reward": {"policy": "percent_of_order", "rate": "5%"},
                "max_per_referrer": {"amount": "100", "currency": "USD"},
                "window": "P30D",
            }
        }
    )
    assert config.to_dict()["policy"] == {
        "policy": "capped",
        "reward": {"policy": "percent_of_order", "rate": "0.05", "kind": "credit"},
        "max_per_referrer": "100 USD",
        "window": "30d",
    }
    assert json.loads(config.to_json()) == config.to_dict()


# -- the JSON Schema -------------------------------------------------------------------------


def test_the_json_schema_describes_every_builtin_and_accepts_valid_programs(tmp_path) -> None:
    schema = ProgramConfig.json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "referralkit program"
    assert {"FixedSpec", "TieredSpec", "CappedSpec", "PluginPolicySpec", "CampaignSpec"} <= set(
        schema["$defs"]
    )
    path = tmp_path / "schema.json"
    text = write_json_schema(path)
    assert json.loads(path.read_text(encoding="utf-8")) == schema == json.loads(text)
    stream = io.StringIO()
    write_json_schema(stream)
    assert stream.getvalue() == text

    validator = jsonschema.Draft202012Validator(schema)
    good = ProgramConfig.from_toml(TOML).to_dict()
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({"policy": DOUBLE_SIDED, "hold": "7d"})) == []
    assert list(validator.iter_errors({"policy": {"policy": "fixed", "amount": 10.5}}))
    assert list(validator.iter_errors({"policy": DOUBLE_SIDED, "colour": "red"}))


# -- plugins: parameters converted by the factory's signature --------------------------------


def _hours(value: timedelta | int) -> int:
    return value if isinstance(value, int) else int(value.total_seconds()) // 3600


@attrs.frozen
class Boost:
    """A plugin policy with typed parameters, one behind a typed converter."""

    reward: rk.RewardPolicy
    factor: Decimal = Decimal(2)
    floor: rk.Money | None = None
    every: timedelta | None = None
    extras: tuple[rk.RewardPolicy, ...] = ()
    cooldown: int = attrs.field(default=0, converter=_hours)

    @property
    def name(self) -> str:
        return f"boost({self.reward.name})"

    def evaluate(self, context: rk.RewardContext):
        return self.reward.evaluate(context)


def bundle(first: rk.RewardPolicy, *more: rk.RewardPolicy, label: str = "bundle") -> AllOf:
    """A plugin factory function with a variadic parameter."""
    del label
    return AllOf(first, *more)


class ChannelBlock:
    """A plugin guard with parameters."""

    name = "channel_block"

    def __init__(self, channels: Sequence[str], lookback: timedelta = timedelta(days=1)) -> None:
        self.channels = tuple(channels)
        self.lookback = lookback

    def check(self, context: rk.GuardContext) -> Verdict:
        if context.channel in self.channels:
            return Verdict(rk.Decision.BLOCK, ("channel_block.channel",), 1.0)
        return Verdict.allow()


@pytest.fixture
def plugins() -> Iterator[None]:
    register_policy("tests.boost", Boost)
    register_policy("tests.bundle", bundle)
    register_guard("tests.channel_block", ChannelBlock)
    yield
    unregister_policy("tests.boost")
    unregister_policy("tests.bundle")
    unregister_guard("tests.channel_block")


def test_plugin_parameters_are_converted_by_their_annotations(plugins) -> None:
    policy = build_policy(
        {
            "policy": "tests.boost",
            "reward": {"policy": "fixed", "amount": "10 USD"},
            "factor": "1.5",
            "floor": "2 USD",
            "every": "7d",
            "extras": [{"policy": "fixed", "points": 5}],
            "cooldown": "1d",
        }
    )
    assert policy == Boost(
        Fixed(usd("10")),
        factor=Decimal("1.5"),
        floor=usd("2"),
        every=timedelta(days=7),
        extras=(Fixed(5),),
        cooldown=24,
    )
    assert build_policy({"policy": "tests.boost", "reward": {"policy": "fixed", "points": 1}}) == (
        Boost(Fixed(1))
    )


def test_plugin_functions_take_variadic_policies(plugins) -> None:
    policy = build_policy(
        {
            "policy": "tests.bundle",
            "first": {"policy": "fixed", "points": 1},
            "more": [{"policy": "fixed", "points": 2}, {"policy": "fixed", "points": 3}],
        }
    )
    assert policy == AllOf(Fixed(1), Fixed(2), Fixed(3))


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"policy": "tests.boost"}, "policy.reward"),
        ({"policy": "tests.boost", "reward": {"policy": "fixed"}}, "policy.reward"),
        (
            {"policy": "tests.boost", "reward": {"policy": "fixed", "points": 1}, "factor": 2.5},
            "policy.factor",
        ),
        (
            {"policy": "tests.boost", "reward": {"policy": "fixed", "points": 1}, "floor": "2"},
            "policy.floor",
        ),
        (
            {"policy": "tests.boost", "reward": {"policy": "fixed", "points": 1}, "speed": 2},
            "policy.speed",
        ),
        (
            {
                "policy": "tests.boost",
                "reward": {"policy": "fixed", "points": 1},
                "extras": [{"policy": "fixed", "points": 1}, {"policy": "tiered", "tiers": []}],
            },
            "policy.extras.1.tiers",
        ),
    ],
)
def test_plugin_parameter_errors_point_at_the_parameter(plugins, spec, path) -> None:
    with pytest.raises(rk.ConfigError) as err:
        build_policy(spec)
    assert err.value.path == path


def test_guards_are_built_by_name_with_their_parameters(plugins) -> None:
    (guard,) = build_guards(
        [{"guard": "tests.channel_block", "channels": ["sms"], "lookback": "2h"}]
    )
    assert isinstance(guard, ChannelBlock)
    assert (guard.channels, guard.lookback) == (("sms",), timedelta(hours=2))
    with pytest.raises(rk.ConfigError) as err:
        build_guards([guard, {"guard": "tests.channel_block", "channels": ["sms"], "lookback": 5}])
    assert err.value.path == "guards.1.lookback"
    with pytest.raises(rk.ConfigError) as err:
        build_guards({"guard": "tests.channel_block"})  # type: ignore[arg-type]
    assert err.value.path == "guards"


def test_a_configured_guard_runs_in_the_program(plugins) -> None:
    config = ProgramConfig.from_dict(
        {
            "policy": {"policy": "fixed", "amount": "10 USD"},
            "guards": [{"guard": "tests.channel_block", "channels": ["sms"]}],
        }
    )
    program = rk.ReferralProgram.from_config(config, store=MemoryStore(), secret=SECRET)
    code = program.enroll("ann").code
    assert program.attribute(code=code, referee="bob", channel="sms").reasons == (
        "channel_block.channel",
    )
    assert program.attribute(code=code, referee="cy", channel="email").status is (
        rk.ReferralStatus.PENDING
    )


def test_build_policy_passes_policies_through() -> None:
    policy = FirstOrderOnly(Fixed(1))
    assert build_policy(policy) is policy


# -- campaigns -------------------------------------------------------------------------------


def test_campaigns_know_their_dates_and_channels() -> None:
    spring = Campaign(
        name="spring",
        start=datetime(2026, 3, 1, tzinfo=timezone.utc),
        end=datetime(2026, 6, 1, tzinfo=timezone.utc),
        channels=("email",),
    )
    assert not spring.is_open(datetime(2026, 2, 28, tzinfo=timezone.utc))
    assert spring.is_open(datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert not spring.is_open(datetime(2026, 6, 1, tzinfo=timezone.utc))
    assert spring.allows("email")
    assert spring.allows(None)
    assert not spring.allows("sms")
    assert Campaign(name="always").is_open(datetime(1999, 1, 1, tzinfo=timezone.utc))


def test_terms_carry_earlier_policies_by_version() -> None:
    old = {
        "policy": "capped",
        "reward": {"policy": "fixed", "amount": "10 USD"},
        "max_per_referrer": "50 USD",
    }
    config = ProgramConfig.from_dict({"policy": DOUBLE_SIDED, "terms": [old]})
    built = Capped(Fixed(usd("10")), max_per_referrer=usd("50"))
    assert program_kwargs(config)["terms"] == {policy_version(built): built}


def test_milestone_and_recurring_specs_build_their_policies() -> None:
    assert build_policy(
        {
            "policy": "all_of",
            "policies": [
                {
                    "policy": "milestone",
                    "milestones": {
                        "10": {"policy": "fixed", "points": 10},
                        "5": {"policy": "fixed", "points": 5},
                    },
                },
                {
                    "policy": "recurring",
                    "reward": {"policy": "percent_of_order", "rate": "5%"},
                    "orders": 12,
                    "within": "365d",
                },
            ],
        }
    ) == AllOf(
        Milestone({5: Fixed(5), 10: Fixed(10)}),
        Recurring(PercentOfOrder("0.05"), orders=12, within=timedelta(days=365)),
    )


def test_every_builtin_policy_has_a_configuration_shape() -> None:
    from referralkit.config._policy_specs import _BUILTIN_SPECS
    from referralkit.registry import POLICY_REGISTRY

    assert sorted(_BUILTIN_SPECS) == POLICY_REGISTRY.builtin_names()


def test_attribution_is_configured_by_model_and_window() -> None:
    config = ProgramConfig.from_dict(
        {"policy": DOUBLE_SIDED, "attribution": {"model": "first_touch", "window": "7d"}}
    )
    program = rk.ReferralProgram.from_config(config, store=MemoryStore(), secret=SECRET)
    assert program.attribution == Attribution("first_touch", timedelta(days=7))
    assert ProgramConfig.from_json(config.to_json()) == config
    default = ProgramConfig.from_dict({"policy": DOUBLE_SIDED})
    assert program_kwargs(default)["attribution"] == Attribution("last_touch", timedelta(days=30))
    with pytest.raises(rk.ConfigError) as caught:
        ProgramConfig.from_dict({"policy": DOUBLE_SIDED, "attribution": {"model": "middle"}})
    assert caught.value.path == "attribution.model"
    with pytest.raises(rk.ConfigError) as caught:
        ProgramConfig.from_dict({"policy": DOUBLE_SIDED, "attribution": {"window": "-1d"}})
    assert caught.value.path is not None
    assert caught.value.path.startswith("attribution.window")
