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

import enum
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
from typing import IO, Annotated, Any, ClassVar, Literal, Optional, TypeAlias, TypeVar, Union
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
    PrivateAttr,
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
from referralkit.policies import Tier, policy_version
from referralkit.policies._settings import (
    ConfigField,
    Form,
    Setting,
    config_fields,
    declares_settings,
    duration_text,
)
from referralkit.protocols import Guard, RewardPolicy
from referralkit.registry import GUARD_REGISTRY, POLICY_REGISTRY, Registry

__all__ = [
    "AllOfSpec",
    "AttributionSpec",
    "BudgetSpec",
    "Campaign",
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

ModelT = TypeVar("ModelT", bound=BaseModel)

# -- values: money, limits, durations, rates, names ----------------------------------------

_MONEY_TEXT = re.compile(
    r"\s*(?P<amount>[+-]?[0-9][0-9_]*(?:\.[0-9]+)?)\s*(?P<currency>[A-Za-z]{3})\s*"
)
_MONEY_HINT = "money such as '10.50 USD', or an object with 'amount' and 'currency'"


def _parse_money(value: object) -> Money:
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
    PlainValidator(_parse_money),
    PlainSerializer(_money_text, return_type=str, when_used="json"),
    WithJsonSchema(_MONEY_SCHEMA),
]


def _limit(value: object) -> Money | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Money | str | Mapping):
        return _parse_money(value)
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


#: A duration: ``"14d"``, ``"12h"``, ``"1d12h"``, ``"90m"``, ``"30s"``, ``"2w"`` or ISO 8601.
DurationField = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(duration_text, return_type=str, when_used="json"),
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


# -- types: how plugins' annotated parameters are validated ------------------------------


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


# -- policy specs: derived from each policy's own declaration ----------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PolicySpec(_Spec):
    """A policy by name, with its parameters beside the name."""

    def build(self, path: str = "policy") -> RewardPolicy:
        """The policy this spec describes; errors carry paths under ``path``."""
        raise NotImplementedError


@attrs.frozen
class _Declaration:
    """What a derived model was derived from: the class, its fields, and each key's field name."""

    factory: type
    fields: tuple[ConfigField, ...]
    names: Mapping[str, str]


class _Declared(_Spec):
    """A model derived from a class's declared settings (`referralkit.policies.Setting`)."""

    _declaration: ClassVar[_Declaration]

    @model_validator(mode="after")
    def _one_of_each(self) -> _Declared:
        for field in self._declaration.fields:
            if field.setting is not None and field.setting.form is Form.ONE_OF:
                given = [key for key in _keys(field) if self._value(key) is not None]
                if len(given) != 1:
                    raise ValueError(field.setting.message)
        return self

    def _value(self, key: str) -> Any:
        return getattr(self, self._declaration.names[key])

    def arguments(self, path: str) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
        """``(args, kwargs)`` to build the class from what the file gives.

        Nested specs are built under ``path``. The third item maps each attribute whose
        name differs from its key to the key, for the class's errors.
        """
        declaration = self._declaration
        values: dict[str, Any] = {}
        rename: dict[str, str] = {}
        for field in declaration.fields:
            keys = _keys(field)
            if len(keys) > 1:  # one of several keys: the one given
                key = next(k for k in keys if self._value(k) is not None)
            elif declaration.names[keys[0]] in self.model_fields_set:
                key = keys[0]
            else:
                continue  # left out: the class's default
            values[field.parameter] = _materialise(self._value(key), _join(path, key))
            rename.update(dict.fromkeys((field.attribute.name, field.parameter), key))
        args, kwargs = _bind(_parameters(declaration.factory), values)
        return args, kwargs, {name: key for name, key in rename.items() if name != key}

    def build(self, path: str) -> Any:
        """The object this spec describes; errors carry paths under ``path``."""
        args, kwargs, rename = self.arguments(path)
        return _construct(self._declaration.factory, path, *args, rename=rename, **kwargs)


class _DeclaredPolicy(_Declared, _PolicySpec):
    """A built-in policy: ``{"policy": "<name>", ...}``, derived from the policy class."""

    def build(self, path: str = "policy") -> RewardPolicy:
        """The policy; errors carry paths under ``path``."""
        policy: RewardPolicy = super().build(path)
        return policy


class _DeclaredPlugin(_Declared):
    """A plugin's parameters, derived from its declared settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _keys(field: ConfigField) -> tuple[str, ...]:
    """A field's keys in a file: one, or each alternative's of a `Form.ONE_OF`."""
    if field.setting is not None and field.setting.form is Form.ONE_OF:
        return tuple(a.key or field.key for a in field.setting.alternatives)
    return (field.key,)


#: The policy union, by name, for annotations derived before it exists.
_POLICY_REF = typing.ForwardRef("PolicySpec")


def _form_type(setting: Setting) -> Any:
    """The type a value declared with ``setting`` is validated as."""
    form = setting.form
    simple: dict[Form, Any] = {
        Form.MONEY: MoneyField,
        Form.LIMIT: LimitField,
        Form.RATE: DecimalField,
        Form.DURATION: DurationField,
        Form.INTEGER: StrictInt,
        Form.TEXT: str,
        Form.POLICY: _POLICY_REF,
        Form.POLICIES: list[_POLICY_REF],  # type: ignore[valid-type]
        Form.POLICY_BY_COUNT: dict[int, _POLICY_REF],  # type: ignore[valid-type]
    }
    if form in simple:
        return simple[form]
    if form is Form.CHOICE:
        return _subscript(Literal, setting.choices)
    if form is Form.RECORDS and setting.record is not None:
        return _subscript(list, (_record_spec(setting.record),))
    msg = f"no configuration type for {setting!r}"  # pragma: no cover - ONE_OF is expanded
    raise ConfigError(msg, value=setting)  # pragma: no cover


def _derive(factory: type, *, policy: str | None, base: type[_Declared]) -> type[_Declared]:
    """The pydantic model of ``factory``'s declared fields (plus ``policy``: its name)."""
    fields: dict[str, Any] = {}
    if policy is not None:
        fields["policy"] = (_subscript(Literal, (policy,)), ...)
    names: dict[str, str] = {}
    declared = config_fields(factory)
    # Undeclared attributes are typed as plugins' parameters are: by their annotations.
    hints = _hints(factory) if any(f.setting is None for f in declared) else {}
    for field in declared:
        setting = field.setting
        one_of = setting is not None and setting.form is Form.ONE_OF
        entries = setting.alternatives if setting is not None and one_of else (setting,)
        for entry in entries:
            key = entry.key if entry is not None and entry.key else field.key
            kind = _form_type(entry) if entry else _config_type(hints.get(field.parameter, Any))
            default = attrs.NOTHING if one_of else field.attribute.default
            if one_of or default is None:
                kind = Optional[kind]  # noqa: UP045 - forward references need the Optional form
            name = key if key.isidentifier() and not hasattr(BaseModel, key) else f"p{len(names)}"
            names[key] = name
            options = {
                "alias": None if name == key else key,
                "description": None if entry is None else entry.description,
                "ge": None if entry is None else entry.ge,
                "min_length": None if entry is None else entry.min_length,
            }
            given = {k: v for k, v in options.items() if v is not None}
            fields[name] = (kind, _field(default, one_of=one_of, **given))
    model = create_model(
        f"{factory.__name__}Spec",
        __base__=base,
        __module__=__name__,
        __doc__=getattr(factory, "config_summary", None),
        **fields,
    )
    model._declaration = _Declaration(factory, declared, names)  # noqa: SLF001 - its own model
    return model


#: The class of attrs' ``Factory`` defaults.
_FACTORY: type = type(attrs.Factory(list))


def _field(default: object, *, one_of: bool, **options: Any) -> Any:
    """A pydantic `Field` for an attrs default: required, a value, or a factory."""
    if one_of:
        return Field(None, **options)
    if default is attrs.NOTHING:
        return Field(..., **options)
    if isinstance(default, _FACTORY):
        factory: Any = default
        if factory.takes_self:
            return Field(None, **options)
        return Field(default_factory=factory.factory, **options)
    return Field(default.value if isinstance(default, enum.Enum) else default, **options)


def _records(factories: Iterable[type]) -> list[type]:
    """Every `Form.RECORDS` class the factories' settings name, nested ones first."""
    found: list[type] = []

    def visit(factory: type) -> None:
        for field in config_fields(factory) if attrs.has(factory) else ():
            record = None if field.setting is None else field.setting.record
            if record is not None and record not in found:
                visit(record)
                found.append(record)

    for factory in factories:
        visit(factory)
    return found


def _declared_builtins() -> dict[str, type]:
    """The built-in policy classes by name; each declares its configuration."""
    found: dict[str, type] = {}
    for name, factory in POLICY_REGISTRY.builtins().items():
        if not declares_settings(factory):  # pragma: no cover - a built-in without settings
            msg = f"the built-in policy {name!r} declares no configuration settings"
            raise ConfigError(msg, value=factory, path=name)
        found[name] = factory
    return found


_BUILTIN_POLICIES = _declared_builtins()
_RECORD_SPECS: dict[type, type[_Declared]] = {}
for _record in _records(_BUILTIN_POLICIES.values()):
    _RECORD_SPECS[_record] = _derive(_record, policy=None, base=_Declared)


def _record_spec(record: type) -> type[_Declared]:
    """The model of a `Form.RECORDS` class: the built-ins' derived once, a plugin's each time."""
    return _RECORD_SPECS.get(record) or _derive(record, policy=None, base=_DeclaredPlugin)


_BUILTIN_SPECS: dict[str, type[_DeclaredPolicy]] = {
    name: typing.cast("type[_DeclaredPolicy]", _derive(f, policy=name, base=_DeclaredPolicy))
    for name, f in _BUILTIN_POLICIES.items()
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
        """The plugin's policy, its parameters converted by its declaration or signature."""
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


if typing.TYPE_CHECKING:
    #: A policy in configuration: ``{"policy": "<name>", ...parameters}``.
    PolicySpec: TypeAlias = _PolicySpec
    FixedSpec: TypeAlias = _DeclaredPolicy
    PercentOfOrderSpec: TypeAlias = _DeclaredPolicy
    DoubleSidedSpec: TypeAlias = _DeclaredPolicy
    TieredSpec: TypeAlias = _DeclaredPolicy
    MilestoneSpec: TypeAlias = _DeclaredPolicy
    RecurringSpec: TypeAlias = _DeclaredPolicy
    FirstOrderOnlySpec: TypeAlias = _DeclaredPolicy
    MinimumOrderSpec: TypeAlias = _DeclaredPolicy
    CappedSpec: TypeAlias = _DeclaredPolicy
    BudgetSpec: TypeAlias = _DeclaredPolicy
    AllOfSpec: TypeAlias = _DeclaredPolicy
    FirstMatchSpec: TypeAlias = _DeclaredPolicy
    TierSpec: TypeAlias = _Declared
else:
    _MEMBERS = (
        *(Annotated[spec, Tag(_TAG.format(name))] for name, spec in _BUILTIN_SPECS.items()),
        Annotated[PluginPolicySpec, Tag(_TAG.format("plugin"))],
    )
    PolicySpec = Annotated[
        _subscript(Union, _MEMBERS),
        Discriminator(
            _policy_tag,
            custom_error_type="policy",
            custom_error_message=(
                "expected a policy: an object with a 'policy' name and its parameters"
            ),
        ),
    ]
    # The public names of the derived models, as config.py has always exported them.
    FixedSpec = _BUILTIN_SPECS["fixed"]
    PercentOfOrderSpec = _BUILTIN_SPECS["percent_of_order"]
    DoubleSidedSpec = _BUILTIN_SPECS["double_sided"]
    TieredSpec = _BUILTIN_SPECS["tiered"]
    MilestoneSpec = _BUILTIN_SPECS["milestone"]
    RecurringSpec = _BUILTIN_SPECS["recurring"]
    FirstOrderOnlySpec = _BUILTIN_SPECS["first_order_only"]
    MinimumOrderSpec = _BUILTIN_SPECS["minimum_order"]
    CappedSpec = _BUILTIN_SPECS["capped"]
    BudgetSpec = _BUILTIN_SPECS["budget"]
    AllOfSpec = _BUILTIN_SPECS["all_of"]
    FirstMatchSpec = _BUILTIN_SPECS["first_match"]
    TierSpec = _RECORD_SPECS[Tier]

for _model in [*_RECORD_SPECS.values(), *_BUILTIN_SPECS.values()]:
    _model.model_rebuild()


# -- plugin parameters, converted by the factory's signature --------------------------------


def _materialise(value: Any, path: str) -> Any:
    """Build every policy spec (and declared record) inside a validated parameter value."""
    if isinstance(value, _PolicySpec | _Declared):
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


def _parameters(factory: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters of ``factory``'s signature; none when it cannot be read."""
    try:
        return list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return []


def _bind(
    parameters: Iterable[inspect.Parameter], values: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """``(args, kwargs)`` passing ``values`` (by parameter name) to these parameters.

    A variadic parameter given makes the parameters before it positional; values that
    no parameter names are passed by keyword, for the callable to refuse.
    """
    params = [p for p in parameters if p.kind is not p.VAR_KEYWORD]
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    variadic = any(p.kind is p.VAR_POSITIONAL and p.name in values for p in params)
    for param in params:
        if param.kind is param.VAR_POSITIONAL:
            args.extend(values.get(param.name, ()))
            variadic = False  # later parameters are keyword-only
        elif param.kind is param.POSITIONAL_ONLY or (
            variadic and param.kind is param.POSITIONAL_OR_KEYWORD
        ):
            args.append(values.get(param.name, param.default))
        elif param.name in values:
            kwargs[param.name] = values[param.name]
    bound = {p.name for p in params}
    kwargs.update({name: value for name, value in values.items() if name not in bound})
    return args, kwargs


def _validated(model: type[ModelT], given: Mapping[str, Any], path: str) -> ModelT:
    try:
        return model.model_validate(dict(given))
    except ValidationError as exc:
        raise _config_error(exc, path) from None


def _arguments(
    registry: Registry, name: str, given: Mapping[str, Any], path: str
) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
    """Validate ``given`` against the factory's declaration, else its signature.

    Returns ``(args, kwargs)`` to call it, and the file key of each attribute whose
    name differs from its key (for the factory's errors).
    """
    factory = registry.factory(name)
    if declares_settings(factory):
        model = _derive(factory, policy=None, base=_DeclaredPlugin)
        return _validated(model, given, path).arguments(path)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return [], {k: _materialise(v, _join(path, k)) for k, v in given.items()}, {}
    parameters, params = _params_model(name, signature, _hints(factory))
    validated = _validated(parameters, given, path)
    values: dict[str, Any] = {
        params[field].name: _materialise(getattr(validated, field), _join(path, params[field].name))
        for field in validated.model_fields_set & set(params)
    }
    args, kwargs = _bind(params.values(), values)
    for key, value in (validated.model_extra or {}).items():
        kwargs[key] = _materialise(value, _join(path, key))
    return args, kwargs, {}


def _create(registry: Registry, name: str, params: Mapping[str, Any], path: str) -> Any:
    rename: dict[str, str] = {}
    try:
        args, kwargs, rename = _arguments(registry, name, params, path)
        return registry.create(name, *args, **kwargs)
    except ConfigError as exc:
        if exc.path is not None and (exc.path == path or exc.path.startswith(f"{path}.")):
            raise
        # The registry's errors name the plugin; a declared plugin's name its attributes.
        raise _rebased(exc, path, {name: "", **rename}) from exc


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


class _Built:
    """What `ProgramConfig.check` built, kept for one `program_kwargs` call.

    Every holder equals every other and pickles empty: what was built is never part of
    what a configuration is.
    """

    __slots__ = ("_kept",)

    def __init__(self) -> None:
        self._kept: list[dict[str, Any]] = []

    def keep(self, kwargs: dict[str, Any]) -> None:
        """Keep ``kwargs`` for the next `take`, instead of anything kept before."""
        self._kept[:] = [kwargs]

    def take(self) -> dict[str, Any] | None:
        """What was kept, once; None when nothing is (any more)."""
        try:
            return self._kept.pop()
        except IndexError:
            return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Built)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[_Built], tuple[()]]:
        return (_Built, ())

    def __repr__(self) -> str:
        return "_Built()"


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
    _built: _Built = PrivateAttr(default_factory=_Built)

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

        What it builds is kept for the next `program_kwargs` of this configuration.

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
        self._built.keep(_build(self))

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

    The first call after `ProgramConfig.check` (which `from_dict` and the other loaders
    run) returns what the check built, so loading and starting a program builds every
    policy and guard once; later calls build afresh, so two programs never share
    guard or policy objects.
    """
    kept = config._built.take()  # noqa: SLF001 - kept by this module's own check()
    return _build(config) if kept is None else kept


def _build(config: ProgramConfig) -> dict[str, Any]:
    """Build every policy, guard, format and campaign ``config`` describes."""
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
