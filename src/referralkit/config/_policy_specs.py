"""Policies in configuration: models derived from each policy's own declaration.

Plugins that declare nothing have their parameters converted by their annotations.
"""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Optional, TypeAlias, TypeVar, Union

import attrs
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from referralkit.config._errors import _TAG, _config_error, _construct, _join, _rebased
from referralkit.config._nesting import check_data_depth
from referralkit.config._values import (
    AmountsField,
    DecimalField,
    DurationField,
    LimitField,
    MoneyField,
)
from referralkit.errors import ConfigError
from referralkit.money import Money
from referralkit.policies import Tier, VolumeTier
from referralkit.policies._settings import (
    ConfigField,
    Form,
    Setting,
    config_fields,
    declares_settings,
)
from referralkit.protocols import RewardPolicy
from referralkit.registry import POLICY_REGISTRY, Registry

ModelT = TypeVar("ModelT", bound=BaseModel)

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
        Form.AMOUNTS: AmountsField,
        Form.LIMIT: LimitField,
        Form.RATE: DecimalField,
        Form.DURATION: DurationField,
        Form.INTEGER: StrictInt,
        Form.TEXT: str,
        Form.TEXTS: list[str],
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
    CappedPerPeriodSpec: TypeAlias = _DeclaredPolicy
    FirstOrdersSpec: TypeAlias = _DeclaredPolicy
    ReturningCustomerSpec: TypeAlias = _DeclaredPolicy
    VolumeTiersSpec: TypeAlias = _DeclaredPolicy
    PerLeadSpec: TypeAlias = _DeclaredPolicy
    BudgetPerPeriodSpec: TypeAlias = _DeclaredPolicy
    PerClickSpec: TypeAlias = _DeclaredPolicy
    OrderAttributeSpec: TypeAlias = _DeclaredPolicy
    TierSpec: TypeAlias = _Declared
    VolumeTierSpec: TypeAlias = _Declared
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
    CappedPerPeriodSpec = _BUILTIN_SPECS["capped_per_period"]
    FirstOrdersSpec = _BUILTIN_SPECS["first_orders"]
    ReturningCustomerSpec = _BUILTIN_SPECS["returning_customer"]
    VolumeTiersSpec = _BUILTIN_SPECS["volume_tiers"]
    PerLeadSpec = _BUILTIN_SPECS["per_lead"]
    BudgetPerPeriodSpec = _BUILTIN_SPECS["budget_per_period"]
    PerClickSpec = _BUILTIN_SPECS["per_click"]
    OrderAttributeSpec = _BUILTIN_SPECS["order_attribute"]
    TierSpec = _RECORD_SPECS[Tier]
    VolumeTierSpec = _RECORD_SPECS[VolumeTier]

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


# -- building ------------------------------------------------------------------------------------

_POLICY_SPEC: TypeAdapter[_PolicySpec] = TypeAdapter(PolicySpec)


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
        check_data_depth(spec, path)
        try:
            spec = _POLICY_SPEC.validate_python(spec)
        except ValidationError as exc:
            raise _config_error(exc, path) from None
    if not isinstance(spec, _PolicySpec):  # pragma: no cover - the union only holds specs
        raise ConfigError(f"not a policy specification: {spec!r}", value=spec, path=path)
    return spec.build(path)
