"""`ProgramConfig`: a whole referral program as data, from a dict, JSON or TOML.

```toml
hold = "14d"
link_base = "https://shop.example/r"

[policy]
policy = "double_sided"
referrer = { policy = "fixed", amount = "10 USD" }
referee = { policy = "fixed", amount = "5 USD" }

[[guards]]
guard = "self_referral"
```

Policies and guards are named as the registry knows them (`referralkit.registry`:
the built-ins, registered factories and installed plugins); their parameters sit
beside the name. Money is written ``"10.50 USD"`` (or ``{"amount": "10.50",
"currency": "USD"}``), durations ``"14d"``, ``"12h"``, ``"1d12h"`` (or ISO 8601
``"P14D"``), rates ``"0.05"`` or ``"5%"``; floats are refused, because they cannot
hold money exactly.

Every error is a `ConfigError` whose ``.path`` is the exact field at fault, such as
``campaigns.0.policy.tiers.1.min_referrals``, and whose message says what was expected.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import sys
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import UnionType
from typing import IO, Annotated, Any, ClassVar, Literal, Union
from urllib.parse import urlsplit

import attrs
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from referralkit.campaigns import Campaign
from referralkit.codes import CROCKFORD, CodeFormat
from referralkit.errors import ConfigError, ReferralError
from referralkit.metrics import Attribution
from referralkit.metrics._attribution import DEFAULT_WINDOW
from referralkit.money import Money
from referralkit.policies import (
    AllOf,
    Budget,
    Capped,
    DoubleSided,
    FirstMatch,
    FirstOrderOnly,
    Fixed,
    Milestone,
    MinimumOrder,
    PercentOfOrder,
    Recurring,
    Tier,
    Tiered,
    policy_version,
)
from referralkit.protocols import Guard, RewardPolicy
from referralkit.registry import GUARD_REGISTRY, POLICY_REGISTRY, Registry

__all__ = [
    "AllOfSpec",
    "AttributionSpec",
    "BudgetSpec",
    "CampaignSpec",
    "CappedSpec",
    "CodeFormatSpec",
    "DoubleSidedSpec",
    "FirstMatchSpec",
    "FirstOrderOnlySpec",
    "FixedSpec",
    "GuardSpec",
    "MilestoneSpec",
    "MinimumOrderSpec",
    "PercentOfOrderSpec",
    "PluginPolicySpec",
    "PolicySpec",
    "ProgramConfig",
    "RecurringSpec",
    "TierSpec",
    "TieredSpec",
    "build_guards",
    "build_policy",
    "program_kwargs",
    "write_json_schema",
]

# -- values: money, limits, durations, rates, names ----------------------------------------

_MONEY_TEXT = re.compile(
    r"\s*(?P<amount>[+-]?[0-9][0-9_]*(?:\.[0-9]+)?)\s*(?P<currency>[A-Za-z]{3})\s*"
)
_MONEY_HINT = "money such as '10.50 USD', or an object with 'amount' and 'currency'"


def _money(value: object) -> Money:
    if isinstance(value, Money):
        return value
    try:
        if isinstance(value, str):
            match = _MONEY_TEXT.fullmatch(value)
            if match is not None:
                return Money(match["amount"], match["currency"].upper())
        elif isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
            return Money(value["amount"], value["currency"])
    except ReferralError as exc:
        raise PydanticCustomError(
            "money", "expected {hint}: {error}", {"hint": _MONEY_HINT, "error": exc.message}
        ) from None
    raise PydanticCustomError("money", "expected {hint}", {"hint": _MONEY_HINT})


def _money_text(value: Money) -> str:
    return f"{value.amount:f} {value.currency}"


_MONEY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "pattern": r"^\s*[+-]?[0-9][0-9_]*(\.[0-9]+)?\s*[A-Za-z]{3}\s*$",
            "examples": ["10 USD", "2.50 EUR"],
        },
        {
            "type": "object",
            "properties": {
                "amount": {"type": ["string", "integer"], "examples": ["10.50"]},
                "currency": {"type": "string", "examples": ["USD"]},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        },
    ],
    "description": "Money: '10.50 USD' or {amount, currency}; never a float.",
}

#: Money in configuration: ``"10.50 USD"`` or ``{"amount": "10.50", "currency": "USD"}``.
MoneyField = Annotated[
    Money,
    PlainValidator(_money),
    PlainSerializer(_money_text, return_type=str, when_used="json"),
    WithJsonSchema(_MONEY_SCHEMA),
]


def _limit(value: object) -> Money | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Money | str | Mapping):
        return _money(value)
    raise PydanticCustomError(
        "limit", "expected {hint}, or an integer of points", {"hint": _MONEY_HINT}
    )


def _limit_json(value: Money | int) -> str | int:
    return value if isinstance(value, int) else _money_text(value)


#: A cap or budget: money (``"100 USD"``) or an integer of points.
LimitField = Annotated[
    Money | int,
    PlainValidator(_limit),
    PlainSerializer(_limit_json, when_used="json"),
    WithJsonSchema({"anyOf": [_MONEY_SCHEMA, {"type": "integer", "minimum": 0}]}),
]

_DURATION_TEXT = re.compile(
    r"\s*(?:(?P<w>\d+)w)?\s*(?:(?P<d>\d+)d)?\s*(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m)?\s*(?:(?P<s>\d+)s)?\s*"
)
_DURATION_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION_HINT = "a duration such as '14d', '12h', '1d12h', '90m' or ISO 8601 'P14D'"
_TIMEDELTA = TypeAdapter(timedelta)


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        match = _DURATION_TEXT.fullmatch(value)
        if match is not None and any(match.groupdict().values()):
            seconds = sum(int(n) * _DURATION_UNITS[u] for u, n in match.groupdict().items() if n)
            try:
                result = timedelta(seconds=seconds)
            except OverflowError:
                raise PydanticCustomError("duration", "this duration is too long") from None
        else:
            try:
                result = _TIMEDELTA.validate_python(value.strip())
            except ValidationError:
                raise PydanticCustomError(
                    "duration", "expected {hint}", {"hint": _DURATION_HINT}
                ) from None
    else:
        raise PydanticCustomError(
            "duration", "expected {hint}, as a string", {"hint": _DURATION_HINT}
        )
    if result < timedelta(0):
        raise PydanticCustomError("duration", "a duration cannot be negative")
    return result


def _duration_text(value: timedelta) -> str:
    if value.microseconds:
        return str(_TIMEDELTA.dump_python(value, mode="json"))
    seconds = int(value.total_seconds())
    if not seconds:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _DURATION_UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


#: A duration: ``"14d"``, ``"12h"``, ``"1d12h"``, ``"90m"``, ``"30s"``, ``"2w"`` or ISO 8601.
DurationField = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(_duration_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "examples": ["14d", "12h", "1d12h", "P14D"],
            "description": _DURATION_HINT,
        }
    ),
]


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool | float):
        raise PydanticCustomError(
            "decimal",
            "expected a decimal as a string such as '0.05' or '5%': floats cannot hold it exactly",
        )
    try:
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, str):
            text = value.strip()
            number = Decimal(text[:-1].strip()) / 100 if text.endswith("%") else Decimal(text)
            if number.is_finite():
                return number
    except InvalidOperation:
        pass
    raise PydanticCustomError("decimal", "expected a decimal as a string such as '0.05' or '5%'")


#: An exact decimal (a rate): ``"0.05"``, ``"5%"`` or an integer; never a float.
DecimalField = Annotated[
    Decimal,
    PlainValidator(_decimal),
    PlainSerializer(lambda d: f"{d:f}", return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%?\s*$",
                    "examples": ["0.05", "5%"],
                },
                {"type": "integer"},
            ]
        }
    ),
]

#: An identifier: campaign and channel names.
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]

_URL_HINT = "an http(s) URL such as 'https://shop.example/r'"


def _link_base(value: object) -> str:
    if isinstance(value, str):
        parts = urlsplit(value)
        if parts.scheme in {"http", "https"} and parts.netloc:
            return value
    raise PydanticCustomError("url", "expected {hint}", {"hint": _URL_HINT})


#: The base URL of referral links.
LinkBase = Annotated[
    str,
    PlainValidator(_link_base),
    WithJsonSchema({"type": "string", "format": "uri", "examples": ["https://shop.example/r"]}),
]

# -- errors ----------------------------------------------------------------------------------

#: Tags the policy union puts in error locations; never part of a field path.
_TAG = "<{}>"


def _join(*parts: object) -> str:
    return ".".join(str(p) for p in parts if p not in (None, ""))


def _loc_path(loc: Iterable[int | str]) -> str:
    kept = [p for p in loc if not (isinstance(p, str) and (p.startswith("<") or p == "[key]"))]
    return _join(*kept)


def _config_error(error: ValidationError, prefix: str | None = None) -> ConfigError:
    """One `ConfigError` for a pydantic error: the first field's path, every problem listed."""
    problems = []
    first_path: str | None = None
    first_value: object = None
    for i, item in enumerate(error.errors(include_url=False)):
        path = _join(prefix, _loc_path(item["loc"]))
        got = item.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r:.80})"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{path or '<root>'}: {message}{shown}")
        if i == 0:
            first_path, first_value = path or None, got
    head = problems[0]
    more = "" if len(problems) == 1 else "; and " + "; ".join(problems[1:])
    return ConfigError(f"invalid configuration at {head}{more}", value=first_value, path=first_path)


def _rebased(
    error: ConfigError, prefix: str, rename: Mapping[str, str] | None = None
) -> ConfigError:
    """``error`` with its path put under ``prefix`` (a policy's path in the config).

    ``rename`` maps an argument's name to the configuration key it came from.
    """
    inner = error.path or ""
    if rename and inner in rename:
        inner = rename[inner]
    else:
        head, _, rest = inner.partition(".")
        if rename and head in rename:
            inner = _join(rename[head], rest)
    path = _join(prefix, inner) or None
    rebased = ConfigError(
        f"invalid configuration at {path}: {error.message}", value=error.value, path=path
    )
    rebased.__cause__ = error
    return rebased


def _construct(
    factory: Callable[..., Any],
    path: str,
    /,
    *args: Any,
    rename: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    try:
        return factory(*args, **kwargs)
    except ConfigError as exc:
        raise _rebased(exc, path, rename) from exc


# -- policy specs ------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PolicySpec(_Spec):
    """A policy by name, with its parameters beside the name."""

    def build(self, path: str = "policy") -> RewardPolicy:
        """The policy this spec describes; errors carry paths under ``path``."""
        raise NotImplementedError


class FixedSpec(_PolicySpec):
    """A fixed reward per order: money (credit, cash or a coupon), points, or a perk.

    Set exactly one of ``amount``, ``points`` or ``perk``.
    """

    policy: Literal["fixed"]
    amount: MoneyField | None = Field(default=None, description="Money: '10 USD'.")
    points: StrictInt | None = Field(default=None, ge=0, description="Points: 500.")
    perk: str | None = Field(default=None, min_length=1, description="A perk: 'tote-bag'.")
    kind: Literal["credit", "cash", "coupon", "points", "perk"] | None = Field(
        default=None, description="credit (default for money), cash, coupon, points or perk."
    )

    @model_validator(mode="after")
    def _one_value(self) -> FixedSpec:
        given = [v for v in (self.amount, self.points, self.perk) if v is not None]
        if len(given) != 1:
            msg = "set exactly one of amount (money), points or perk"
            raise ValueError(msg)
        return self

    def build(self, path: str = "policy") -> RewardPolicy:
        """`Fixed`."""
        field, value = next(
            (name, v)
            for name, v in (("amount", self.amount), ("points", self.points), ("perk", self.perk))
            if v is not None
        )
        result: RewardPolicy = _construct(
            Fixed, path, value, kind=self.kind, rename={"value": field}
        )
        return result


class PercentOfOrderSpec(_PolicySpec):
    """A percentage of the order: ``rate`` '0.05' or '5%', optional ``cap`` and ``minimum``."""

    policy: Literal["percent_of_order"]
    rate: DecimalField = Field(description="A fraction from 0 to 1: '0.05' or '5%'.")
    cap: MoneyField | None = None
    minimum: MoneyField | None = None
    kind: Literal["credit", "cash", "coupon"] = "credit"

    def build(self, path: str = "policy") -> RewardPolicy:
        """`PercentOfOrder`."""
        result: RewardPolicy = _construct(
            PercentOfOrder, path, self.rate, cap=self.cap, minimum=self.minimum, kind=self.kind
        )
        return result


class DoubleSidedSpec(_PolicySpec):
    """Both sides rewarded: a ``referrer`` policy and a ``referee`` policy."""

    policy: Literal["double_sided"]
    referrer: PolicySpec | None = None
    referee: PolicySpec | None = None

    def build(self, path: str = "policy") -> RewardPolicy:
        """`DoubleSided`."""
        referrer = None if self.referrer is None else self.referrer.build(_join(path, "referrer"))
        referee = None if self.referee is None else self.referee.build(_join(path, "referee"))
        result: RewardPolicy = _construct(DoubleSided, path, referrer=referrer, referee=referee)
        return result


class TierSpec(_Spec):
    """One rung of a tiered ladder."""

    min_referrals: StrictInt = Field(ge=1, description="Qualified referrals, this one included.")
    reward: PolicySpec

    def build(self, path: str) -> Tier:
        """`Tier`."""
        result: Tier = _construct(
            Tier, path, self.min_referrals, self.reward.build(_join(path, "reward"))
        )
        return result


class TieredSpec(_PolicySpec):
    """Bigger rewards for more qualified referrals; tiers in ascending order."""

    policy: Literal["tiered"]
    tiers: list[TierSpec] = Field(min_length=1)

    def build(self, path: str = "policy") -> RewardPolicy:
        """`Tiered`."""
        tiers = [t.build(_join(path, "tiers", i)) for i, t in enumerate(self.tiers)]
        result: RewardPolicy = _construct(Tiered, path, tiers)
        return result


class MilestoneSpec(_PolicySpec):
    """One-off bonuses by qualified-referral count: ``{"5": {...}, "10": {...}}``."""

    policy: Literal["milestone"]
    milestones: dict[int, PolicySpec] = Field(min_length=1)

    def build(self, path: str = "policy") -> RewardPolicy:
        """`Milestone`."""
        built = {n: spec.build(_join(path, "milestones", n)) for n, spec in self.milestones.items()}
        result: RewardPolicy = _construct(Milestone, path, built)
        return result


class RecurringSpec(_PolicySpec):
    """``reward`` on repeat orders 2 to ``orders`` + 1, placed ``within`` of the referral."""

    policy: Literal["recurring"]
    reward: PolicySpec
    orders: StrictInt | None = Field(default=None, ge=1)
    within: DurationField | None = None

    def build(self, path: str = "policy") -> RewardPolicy:
        """`Recurring`."""
        reward = self.reward.build(_join(path, "reward"))
        result: RewardPolicy = _construct(
            Recurring, path, reward, orders=self.orders, within=self.within
        )
        return result


class FirstOrderOnlySpec(_PolicySpec):
    """``reward`` on the referee's first order only."""

    policy: Literal["first_order_only"]
    reward: PolicySpec

    def build(self, path: str = "policy") -> RewardPolicy:
        """`FirstOrderOnly`."""
        result: RewardPolicy = _construct(
            FirstOrderOnly, path, self.reward.build(_join(path, "reward"))
        )
        return result


class MinimumOrderSpec(_PolicySpec):
    """``reward`` on orders of at least ``amount``."""

    policy: Literal["minimum_order"]
    reward: PolicySpec
    amount: MoneyField

    def build(self, path: str = "policy") -> RewardPolicy:
        """`MinimumOrder`."""
        reward = self.reward.build(_join(path, "reward"))
        result: RewardPolicy = _construct(MinimumOrder, path, reward, self.amount)
        return result


class CappedSpec(_PolicySpec):
    """``reward`` up to ``max_per_referrer`` (money or points), optionally per ``window``."""

    policy: Literal["capped"]
    reward: PolicySpec
    max_per_referrer: LimitField
    window: DurationField | None = None

    def build(self, path: str = "policy") -> RewardPolicy:
        """`Capped`."""
        reward = self.reward.build(_join(path, "reward"))
        result: RewardPolicy = _construct(
            Capped, path, reward, max_per_referrer=self.max_per_referrer, window=self.window
        )
        return result


class BudgetSpec(_PolicySpec):
    """``reward`` until the program has spent ``total`` (money or points)."""

    policy: Literal["budget"]
    reward: PolicySpec
    total: LimitField

    def build(self, path: str = "policy") -> RewardPolicy:
        """`Budget`."""
        reward = self.reward.build(_join(path, "reward"))
        result: RewardPolicy = _construct(Budget, path, reward, total=self.total)
        return result


class AllOfSpec(_PolicySpec):
    """Every policy's rewards together."""

    policy: Literal["all_of"]
    policies: list[PolicySpec] = Field(min_length=1)

    def build(self, path: str = "policy") -> RewardPolicy:
        """`AllOf`."""
        built = [p.build(_join(path, "policies", i)) for i, p in enumerate(self.policies)]
        result: RewardPolicy = _construct(AllOf, path, *built)
        return result


class FirstMatchSpec(_PolicySpec):
    """The rewards of the first policy that grants anything."""

    policy: Literal["first_match"]
    policies: list[PolicySpec] = Field(min_length=1)

    def build(self, path: str = "policy") -> RewardPolicy:
        """`FirstMatch`."""
        built = [p.build(_join(path, "policies", i)) for i, p in enumerate(self.policies)]
        result: RewardPolicy = _construct(FirstMatch, path, *built)
        return result


_BUILTIN_SPECS: dict[str, type[_PolicySpec]] = {
    "fixed": FixedSpec,
    "percent_of_order": PercentOfOrderSpec,
    "double_sided": DoubleSidedSpec,
    "tiered": TieredSpec,
    "milestone": MilestoneSpec,
    "recurring": RecurringSpec,
    "first_order_only": FirstOrderOnlySpec,
    "minimum_order": MinimumOrderSpec,
    "capped": CappedSpec,
    "budget": BudgetSpec,
    "all_of": AllOfSpec,
    "first_match": FirstMatchSpec,
}


_NOT_BUILTIN: dict[str, Any] = {"not": {"enum": sorted(_BUILTIN_SPECS)}}


def _known(registry: Registry, name: str) -> str:
    if name not in registry:
        known = ", ".join(registry.names())
        msg = f"unknown {registry.kind} {name!r}; known: {known}"
        raise ValueError(msg)
    return name


class PluginPolicySpec(_PolicySpec):
    """A policy from a plugin (or registered by the host), with its parameters beside it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    policy: str = Field(
        description="The registered name of a plugin policy.",
        json_schema_extra=_NOT_BUILTIN,
    )

    @field_validator("policy")
    @classmethod
    def _registered(cls, name: str) -> str:
        return _known(POLICY_REGISTRY, name)

    def build(self, path: str = "policy") -> RewardPolicy:
        """The plugin's policy, its parameters converted by its signature."""
        result: RewardPolicy = _create(
            POLICY_REGISTRY, self.policy, dict(self.model_extra or {}), path
        )
        return result


def _policy_tag(value: Any) -> str | None:
    if isinstance(value, Mapping):
        name = value.get("policy")
    elif isinstance(value, BaseModel):
        name = getattr(value, "policy", None)
    else:
        return None
    if not isinstance(name, str):
        return None
    return _TAG.format(name if name in _BUILTIN_SPECS else "plugin")


#: A policy in configuration: ``{"policy": "<name>", ...parameters}``.
PolicySpec = Annotated[
    Union[  # noqa: UP007 - tagged members need the Union form
        Annotated[FixedSpec, Tag(_TAG.format("fixed"))],
        Annotated[PercentOfOrderSpec, Tag(_TAG.format("percent_of_order"))],
        Annotated[DoubleSidedSpec, Tag(_TAG.format("double_sided"))],
        Annotated[TieredSpec, Tag(_TAG.format("tiered"))],
        Annotated[MilestoneSpec, Tag(_TAG.format("milestone"))],
        Annotated[RecurringSpec, Tag(_TAG.format("recurring"))],
        Annotated[FirstOrderOnlySpec, Tag(_TAG.format("first_order_only"))],
        Annotated[MinimumOrderSpec, Tag(_TAG.format("minimum_order"))],
        Annotated[CappedSpec, Tag(_TAG.format("capped"))],
        Annotated[BudgetSpec, Tag(_TAG.format("budget"))],
        Annotated[AllOfSpec, Tag(_TAG.format("all_of"))],
        Annotated[FirstMatchSpec, Tag(_TAG.format("first_match"))],
        Annotated[PluginPolicySpec, Tag(_TAG.format("plugin"))],
    ],
    Discriminator(
        _policy_tag,
        custom_error_type="policy",
        custom_error_message="expected a policy: an object with a 'policy' name and its parameters",
    ),
]

_SPECS: list[type[_Spec]] = [*_BUILTIN_SPECS.values(), TierSpec]
for _model in _SPECS:
    _model.model_rebuild()


# -- plugin parameters, converted by the factory's signature --------------------------------


def _converter_input(converter: Any) -> Any:
    """What an attrs converter accepts (its first parameter's annotation), else Any."""
    function = getattr(converter, "converter", converter)  # attrs.Converter wraps it
    try:
        first = next(iter(inspect.signature(function).parameters.values()))
        accepted = typing.get_type_hints(function).get(first.name, Any)
    except Exception:  # noqa: BLE001 - builtins and odd callables: accept values as given
        return Any
    return Any if accepted is object else accepted


def _hints(factory: Callable[..., Any]) -> dict[str, Any]:
    """Parameter annotations of a factory (a function, a class, an attrs class)."""
    try:
        if isinstance(factory, type) and attrs.has(factory):
            attrs.resolve_types(factory)
            return {
                a.alias: a.type if a.converter is None else _converter_input(a.converter)
                for a in attrs.fields(factory)
                if a.init and a.alias
            }
        target: Any = factory
        return typing.get_type_hints(target.__init__ if isinstance(factory, type) else target)
    except Exception:  # noqa: BLE001 - unresolvable annotations: accept the values as given
        return {}


def _subscript(generic: Any, args: tuple[Any, ...]) -> Any:
    return generic[args]


#: Generic origins rebuilt with converted arguments (abstract ones as concrete types).
_GENERICS: dict[Any, Any] = {
    Union: Union,
    UnionType: Union,
    list: list,
    Sequence: list,
    Iterable: list,
    typing.MutableSequence: list,
    tuple: tuple,
    dict: dict,
    Mapping: dict,
}


def _config_type(tp: Any) -> Any:
    """The type configuration values are validated as, for a parameter annotated ``tp``."""
    simple: dict[Any, Any] = {
        Money: MoneyField,
        timedelta: DurationField,
        Decimal: DecimalField,
        RewardPolicy: PolicySpec,
    }
    try:
        if tp in simple:
            return simple[tp]
    except TypeError:  # unhashable annotation objects
        return tp
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return _subscript(Annotated, (_config_type(args[0]), *tp.__metadata__))
    if origin not in _GENERICS or not args:
        return tp
    converted = tuple(a if a is Ellipsis else _config_type(a) for a in args)
    return _subscript(_GENERICS[origin], converted)


def _materialise(value: Any, path: str) -> Any:
    """Build every policy spec inside a validated parameter value."""
    if isinstance(value, _PolicySpec):
        return value.build(path)
    if isinstance(value, list | tuple):
        return type(value)(_materialise(v, _join(path, i)) for i, v in enumerate(value))
    if isinstance(value, dict):
        return {k: _materialise(v, _join(path, k)) for k, v in value.items()}
    return value


def _params_model(
    name: str, signature: inspect.Signature, hints: Mapping[str, Any]
) -> tuple[type[BaseModel], dict[str, inspect.Parameter]]:
    """A pydantic model of a factory's parameters (fields ``p0``, ``p1``... aliased by name)."""
    fields: dict[str, Any] = {}
    params: dict[str, inspect.Parameter] = {}
    extra: Literal["allow", "forbid"] = "forbid"
    default: Any
    for i, param in enumerate(signature.parameters.values()):
        if param.kind is param.VAR_KEYWORD:
            extra = "allow"
            continue
        annotation = _config_type(hints.get(param.name, Any))
        if param.kind is param.VAR_POSITIONAL:
            annotation, default = _subscript(list, (annotation,)), []
        else:
            default = ... if param.default is param.empty else param.default
        fields[f"p{i}"] = (annotation, Field(default, alias=param.name))
        params[f"p{i}"] = param
    model = create_model(
        f"{name} parameters",
        __config__=ConfigDict(extra=extra, arbitrary_types_allowed=True, frozen=True),
        **fields,
    )
    return model, params


def _arguments(
    registry: Registry, name: str, given: Mapping[str, Any], path: str
) -> tuple[list[Any], dict[str, Any]]:
    """Validate ``given`` against the factory's signature; ``(args, kwargs)`` to call it."""
    factory = registry.factory(name)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return [], {k: _materialise(v, _join(path, k)) for k, v in given.items()}
    model, params = _params_model(name, signature, _hints(factory))
    try:
        validated = model.model_validate(dict(given))
    except ValidationError as exc:
        raise _config_error(exc, path) from None
    values: dict[str, Any] = {
        field: _materialise(getattr(validated, field), _join(path, params[field].name))
        for field in validated.model_fields_set & set(params)
    }
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    variadic = any(p.kind is p.VAR_POSITIONAL and f in values for f, p in params.items())
    for field, param in params.items():
        if param.kind is param.VAR_POSITIONAL:
            args.extend(values.get(field, ()))
            variadic = False  # later parameters are keyword-only
        elif param.kind is param.POSITIONAL_ONLY or (
            variadic and param.kind is param.POSITIONAL_OR_KEYWORD
        ):
            args.append(values.get(field, param.default))
        elif field in values:
            kwargs[param.name] = values[field]
    for key, value in (validated.model_extra or {}).items():
        kwargs[key] = _materialise(value, _join(path, key))
    return args, kwargs


def _create(registry: Registry, name: str, params: Mapping[str, Any], path: str) -> Any:
    try:
        args, kwargs = _arguments(registry, name, params, path)
        return registry.create(name, *args, **kwargs)
    except ConfigError as exc:
        if exc.path is not None and (exc.path == path or exc.path.startswith(f"{path}.")):
            raise
        raise _rebased(exc, path, {name: ""}) from exc  # the registry's errors name the plugin


# -- guards, code formats, campaigns ----------------------------------------------------------


_GUARD_EXAMPLES: dict[str, Any] = {"examples": GUARD_REGISTRY.builtin_names()}


class GuardSpec(_Spec):
    """A guard by name, with its parameters beside the name: ``{"guard": "velocity", ...}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    guard: str = Field(
        description="The registered name of a guard.",
        json_schema_extra=_GUARD_EXAMPLES,
    )

    @field_validator("guard")
    @classmethod
    def _registered(cls, name: str) -> str:
        return _known(GUARD_REGISTRY, name)

    def build(self, path: str = "guards.0") -> Guard:
        """The guard, its parameters converted by its signature."""
        result: Guard = _create(GUARD_REGISTRY, self.guard, dict(self.model_extra or {}), path)
        return result


class AttributionSpec(_Spec):
    """Which click earns a referee: the first or the last within the window."""

    model: Literal["first_touch", "last_touch"] = "last_touch"
    window: DurationField = Field(
        default=DEFAULT_WINDOW, description="How long a click can still earn the referee."
    )

    def build(self, path: str = "attribution") -> Attribution:
        """The `referralkit.metrics.Attribution` settings."""
        result: Attribution = _construct(Attribution, path, model=self.model, window=self.window)
        return result


class CodeFormatSpec(_Spec):
    """The shape of generated codes (see `referralkit.CodeFormat`)."""

    length: StrictInt = 8
    prefix: str = ""
    check: StrictBool = True
    group: StrictInt = 4
    alphabet: str = CROCKFORD

    def build(self, path: str = "code_format") -> CodeFormat:
        """`CodeFormat`."""
        result: CodeFormat = _construct(CodeFormat, path, **self.model_dump())
        return result


class CampaignSpec(_Spec):
    """A campaign: name, dates, its own policy (else the program's), code format, links."""

    name: Name
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    policy: PolicySpec | None = None
    code_format: CodeFormatSpec | None = None
    link_base: LinkBase | None = None
    channels: list[Name] = Field(default_factory=list)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime | None, info: Any) -> datetime | None:
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            msg = f"end must be after start ({start.isoformat()})"
            raise ValueError(msg)
        return end

    @field_validator("channels")
    @classmethod
    def _distinct(cls, channels: list[str]) -> list[str]:
        if len(set(channels)) != len(channels):
            msg = "channels must not repeat"
            raise ValueError(msg)
        return channels

    def build(self, path: str = "campaigns.0") -> Campaign:
        """The `Campaign`."""
        return Campaign(
            name=self.name,
            policy=None if self.policy is None else self.policy.build(_join(path, "policy")),
            start=self.start,
            end=self.end,
            code_format=None
            if self.code_format is None
            else self.code_format.build(_join(path, "code_format")),
            link_base=self.link_base,
            channels=tuple(self.channels),
        )


# -- the program ---------------------------------------------------------------------------------


class ProgramConfig(BaseModel):
    """A whole referral program: policy, guards, hold, codes, links, campaigns, terms.

    Load it with `from_dict`, `from_json`, `from_toml` or `load` (a ``.json`` or
    ``.toml`` file): each validates the structure, then builds every policy and guard
    once, so an invalid program is refused at load time with a `ConfigError` pointing
    at the field. ``guards`` left out means the program's default guards; ``[]`` means
    none. ``terms`` lists earlier policies whose promises still stand for referrals
    attributed under them.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, title="referralkit program"
    )

    schema_ref: str | None = Field(
        default=None, alias="$schema", description="The JSON Schema this file follows."
    )
    policy: PolicySpec = Field(description="The program's reward policy.")
    guards: list[GuardSpec] | None = Field(
        default=None, description="Guards run on every attribution (default: the program's)."
    )
    hold: DurationField = Field(
        default=timedelta(days=14), description="How long rewards are held before release."
    )
    code_format: CodeFormatSpec = Field(default_factory=CodeFormatSpec)
    link_base: LinkBase | None = None
    sign_links: StrictBool = True
    campaign: Name = Field(default="default", description="The campaign codes get by default.")
    campaigns: list[CampaignSpec] = Field(default_factory=list)
    attribution: AttributionSpec = Field(
        default_factory=AttributionSpec, description="How clicks earn referees."
    )
    terms: list[PolicySpec] = Field(
        default_factory=list,
        description="Earlier policies still honoured for referrals attributed under them.",
    )

    _FILE_TYPES: ClassVar[tuple[str, ...]] = (".json", ".toml")

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProgramConfig:
        """Validate a program given as plain data (as parsed from JSON or TOML).

        Raises:
            ConfigError: ``.path`` names the field at fault.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"a program configuration is an object (a dict), not {type(data).__name__}",
                value=data,
            )
        try:
            config = cls.model_validate(dict(data))
        except ValidationError as exc:
            raise _config_error(exc) from None
        config.check()
        return config

    @classmethod
    def from_json(cls, text: str | bytes) -> ProgramConfig:
        """Validate a program written as JSON text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", value=exc.pos
            ) from None
        return cls.from_dict(data)

    @classmethod
    def from_toml(cls, text: str) -> ProgramConfig:
        """Validate a program written as TOML text (Python 3.10 needs ``tomli``)."""
        try:
            data = _toml_loads(text)
        except ValueError as exc:
            raise ConfigError(f"invalid TOML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ProgramConfig:
        """Read a ``.json`` or ``.toml`` program file."""
        file = Path(path)
        suffix = file.suffix.lower()
        if suffix not in cls._FILE_TYPES:
            raise ConfigError(
                f"a program file ends in .json or .toml, not {file.name!r}", value=str(file)
            )
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {file}: {exc.strerror}", value=str(file)) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file} is not UTF-8 text: {exc.reason}", value=str(file)) from exc
        return cls.from_json(text) if suffix == ".json" else cls.from_toml(text)

    def check(self) -> None:
        """Build everything once, so semantic errors surface with their paths now.

        Raises:
            ConfigError: a policy or guard refuses its parameters, or two campaigns
                share a name.
        """
        seen: dict[str, int] = {}
        for i, campaign in enumerate(self.campaigns):
            if campaign.name in seen:
                raise ConfigError(
                    f"invalid configuration at campaigns.{i}.name: campaign {campaign.name!r}"
                    f" is already defined at campaigns.{seen[campaign.name]}",
                    value=campaign.name,
                    path=f"campaigns.{i}.name",
                )
            seen[campaign.name] = i
        program_kwargs(self)

    # -- writing ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data that `from_dict` reads back into an equal configuration."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text that `from_json` reads back into an equal configuration."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of program files, for editors (``"$schema"`` may point at it)."""
        schema = cls.model_json_schema(by_alias=True)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_json_schema(target: str | os.PathLike[str] | IO[str] | None = None) -> str:
    """The JSON Schema of `ProgramConfig` as text; also written to ``target`` if given.

    ``target`` is a file path or an open text stream (``sys.stdout``), handy for a CLI:
    ``python -m referralkit.config > referralkit.schema.json``.
    """
    text = json.dumps(ProgramConfig.json_schema(), indent=2) + "\n"
    if target is None:
        return text
    if isinstance(target, str | os.PathLike):
        Path(target).write_text(text, encoding="utf-8")
    else:
        target.write(text)
    return text


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - the standard library's, from 3.11

        return tomllib.loads(text)
    try:  # pragma: no cover - Python 3.10 only
        tomli = importlib.import_module("tomli")
    except ImportError:  # pragma: no cover
        raise ConfigError(
            "reading TOML on Python 3.10 needs the tomli package: pip install tomli"
        ) from None
    loaded: dict[str, Any] = tomli.loads(text)  # pragma: no cover
    return loaded  # pragma: no cover


# -- building ------------------------------------------------------------------------------------

_POLICY_SPEC: TypeAdapter[_PolicySpec] = TypeAdapter(PolicySpec)
_GUARD_SPEC: TypeAdapter[GuardSpec] = TypeAdapter(GuardSpec)


def build_policy(
    spec: Mapping[str, Any] | BaseModel | RewardPolicy, *, path: str = "policy"
) -> RewardPolicy:
    """The policy a configuration describes: ``{"policy": "fixed", "amount": "10 USD"}``.

    A policy object is returned as it is. Errors are `ConfigError` with paths under
    ``path``.
    """
    if isinstance(spec, RewardPolicy):
        return spec
    if not isinstance(spec, _PolicySpec):
        try:
            spec = _POLICY_SPEC.validate_python(spec)
        except ValidationError as exc:
            raise _config_error(exc, path) from None
    if not isinstance(spec, _PolicySpec):  # pragma: no cover - the union only holds specs
        raise ConfigError(f"not a policy specification: {spec!r}", value=spec, path=path)
    return spec.build(path)


def build_guards(
    specs: Iterable[Mapping[str, Any] | GuardSpec | Guard], *, path: str = "guards"
) -> list[Guard]:
    """The guards a configuration lists: ``[{"guard": "velocity", "limit": 20}]``.

    Guard objects are kept as they are. Errors are `ConfigError` with paths under ``path``.
    """
    raw: object = specs
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        raise ConfigError("guards must be a list", value=specs, path=path)
    guards: list[Guard] = []
    for i, spec in enumerate(specs):
        where = _join(path, i)
        if isinstance(spec, GuardSpec):
            guards.append(spec.build(where))
        elif isinstance(spec, Guard):
            guards.append(spec)
        else:
            try:
                validated = _GUARD_SPEC.validate_python(spec)
            except ValidationError as exc:
                raise _config_error(exc, where) from None
            guards.append(validated.build(where))
    return guards


def program_kwargs(config: ProgramConfig) -> dict[str, Any]:
    """Keyword arguments for `ReferralProgram` (besides ``store``, ``secret`` and ``clock``).

    Keys: ``policy``, ``hold``, ``code_format``, ``link_base``, ``sign_links``,
    ``campaign`` (the default campaign's name), ``campaigns`` (a tuple of `Campaign`),
    ``terms`` (earlier policies by `policy_version`), ``attribution`` (the click
    attribution model and window), and ``guards`` when the configuration lists them.
    """
    kwargs: dict[str, Any] = {
        "policy": config.policy.build("policy"),
        "hold": config.hold,
        "code_format": config.code_format.build("code_format"),
        "link_base": config.link_base,
        "sign_links": config.sign_links,
        "campaign": config.campaign,
        "campaigns": tuple(c.build(_join("campaigns", i)) for i, c in enumerate(config.campaigns)),
        "attribution": config.attribution.build("attribution"),
        "terms": {
            policy_version(p): p
            for p in (spec.build(_join("terms", i)) for i, spec in enumerate(config.terms))
        },
    }
    if config.guards is not None:
        kwargs["guards"] = [g.build(_join("guards", i)) for i, g in enumerate(config.guards)]
    return kwargs


if __name__ == "__main__":  # pragma: no cover - python -m referralkit.config > schema.json
    write_json_schema(sys.stdout)
