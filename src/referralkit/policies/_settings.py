"""A policy's configuration, declared once: on its own attrs fields, as a `Setting` each.

A field's ``metadata`` says how it is written in a configuration file: its `Form`
(money as ``"10 USD"``, a rate as ``"5%"``, a duration as ``"14d"``, a nested policy,
...), its bounds, a description, and its key when that is not the ``__init__``
parameter's name. `one_of` declares an attribute written under one of several keys
(`Fixed` writes its value as ``amount``, ``points`` or ``perk``). A class may add a
``config_summary`` (a `ClassVar`): what the whole object means in a file.

`referralkit.config` derives the pydantic models, the JSON Schema and the loader from
these declarations; `policy_config` derives a policy's canonical configuration from
them, here, without loading pydantic.
"""

from __future__ import annotations

import enum
import inspect
import json
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Context, Decimal, localcontext
from typing import Any, Final, TypeGuard

import attrs

from referralkit.errors import ConfigError
from referralkit.money import CURRENCY_EXPONENTS, Amounts, Money
from referralkit.protocols import RewardPolicy

__all__ = [
    "SETTING",
    "ConfigField",
    "Form",
    "Setting",
    "amounts_form",
    "config_fields",
    "decimal_text",
    "declares_settings",
    "duration_text",
    "money_text",
    "one_of",
    "policy_config",
    "setting",
]

#: The attrs ``metadata`` key a field's `Setting` is stored under.
SETTING: Final = "referralkit.setting"


class Form(enum.Enum):
    """How a value is written in a configuration file."""

    #: ``"10.50 USD"`` or ``{"amount": "10.50", "currency": "USD"}``; never a float.
    MONEY = "money"
    #: Money, or one amount per currency: ``{"USD": "10", "EUR": "9"}`` (`Amounts`).
    AMOUNTS = "amounts"
    #: A cap or budget: money, or an integer of points.
    LIMIT = "limit"
    #: An exact decimal: ``"0.05"``, ``"5%"`` or an integer; never a float.
    RATE = "rate"
    #: ``"14d"``, ``"12h"``, ``"1d12h"``, ``"90m"``, ``"2w"`` or ISO 8601 ``"P14D"``.
    DURATION = "duration"
    #: An integer; not a boolean, a float or a string of digits.
    INTEGER = "integer"
    #: A string.
    TEXT = "text"
    #: A list of strings: ``["shoes", "bags"]``.
    TEXTS = "texts"
    #: One of the setting's ``choices`` (an enum attribute is written as its value).
    CHOICE = "choice"
    #: A nested policy: ``{"policy": "<name>", ...its parameters}``.
    POLICY = "policy"
    #: A list of nested policies.
    POLICIES = "policies"
    #: ``{count: policy}`` (counts as keys), held by the class as ``(count, policy)`` pairs.
    POLICY_BY_COUNT = "policy_by_count"
    #: A list of the setting's ``record`` class (`Tier`), each an object of its own settings.
    RECORDS = "records"
    #: Exactly one of the setting's ``alternatives``, each under its own key.
    ONE_OF = "one_of"


@attrs.frozen(slots=True)
class Setting:
    """How one attribute is written in configuration.

    ``key`` is its name in a file when that is not the ``__init__`` parameter's;
    ``description`` is shown in the JSON Schema; ``ge`` is an integer's lower bound,
    ``min_length`` a text's or a list's shortest length. ``choices`` are the words a
    `Form.CHOICE` accepts and ``record`` the class a `Form.RECORDS` list holds;
    ``alternatives`` and ``message`` make a `Form.ONE_OF` (see `one_of`).
    ``omit_default`` marks a parameter added after release: it is left out of the
    canonical configuration while it holds its default, so the terms versions stored
    before it existed keep their definitions and ids.
    """

    form: Form
    key: str | None = None
    description: str | None = None
    ge: int | None = None
    min_length: int | None = None
    choices: tuple[str, ...] = ()
    record: type | None = None
    alternatives: tuple[Setting, ...] = ()
    message: str = ""
    omit_default: bool = False

    def __attrs_post_init__(self) -> None:
        if (self.form is Form.CHOICE) != bool(self.choices):
            raise ConfigError("choices are given for Form.CHOICE, and only for it", path="choices")
        if (self.form is Form.RECORDS) != (self.record is not None):
            raise ConfigError(
                "a record class is given for Form.RECORDS, and only for it", path="record"
            )
        if self.form is Form.ONE_OF:
            if len(self.alternatives) < _MIN_ALTERNATIVES or not self.message:
                raise ConfigError(
                    "Form.ONE_OF takes two or more alternatives and a message", path="alternatives"
                )
            for alternative in self.alternatives:
                if alternative.key is None or alternative.form not in _ALTERNATIVE_TYPES:
                    raise ConfigError(
                        "each alternative of Form.ONE_OF has a key and a form of"
                        f" {sorted(f.name for f in _ALTERNATIVE_TYPES)}, not {alternative!r}",
                        value=alternative,
                        path="alternatives",
                    )
        elif self.alternatives or self.message:
            raise ConfigError("alternatives are given for Form.ONE_OF only", path="alternatives")


_MIN_ALTERNATIVES = 2
#: The Python type a `Form.ONE_OF` alternative holds, by which its key is chosen.
_ALTERNATIVE_TYPES: dict[Form, type | tuple[type, ...]] = {
    Form.MONEY: Money,
    Form.AMOUNTS: (Money, Amounts),
    Form.INTEGER: int,
    Form.TEXT: str,
}


def setting(
    form: Form,
    *,
    key: str | None = None,
    description: str | None = None,
    ge: int | None = None,
    min_length: int | None = None,
    choices: tuple[str, ...] = (),
    record: type | None = None,
    omit_default: bool = False,
) -> dict[str, Setting]:
    """Field metadata declaring how the field is written in configuration.

    ``rate: Decimal = attrs.field(metadata=setting(Form.RATE, description="..."))``.
    """
    return {
        SETTING: Setting(
            form,
            key=key,
            description=description,
            ge=ge,
            min_length=min_length,
            choices=choices,
            record=record,
            omit_default=omit_default,
        )
    }


def one_of(*alternatives: Setting, message: str) -> dict[str, Setting]:
    """Field metadata for an attribute written under exactly one of several keys.

    Each alternative is a `Setting` with its own ``key`` and a form of money, integer
    or text; the value's type chooses the key it is written under. Giving none or
    several in a file is an error that says ``message``.
    """
    return {SETTING: Setting(Form.ONE_OF, alternatives=alternatives, message=message)}


@attrs.frozen(slots=True)
class ConfigField:
    """One configuration field of an attrs class: its attribute and its `Setting`, if any."""

    attribute: attrs.Attribute[Any]
    setting: Setting | None

    @property
    def parameter(self) -> str:
        """The ``__init__`` parameter the attribute is given as."""
        return self.attribute.alias or self.attribute.name

    @property
    def key(self) -> str:
        """The field's key in a file (for `Form.ONE_OF`, each alternative has its own)."""
        if self.setting is not None and self.setting.key is not None:
            return self.setting.key
        return self.parameter


def config_fields(cls: type) -> tuple[ConfigField, ...]:
    """The configuration fields of an attrs class: every attribute its ``__init__`` takes."""
    return tuple(ConfigField(a, a.metadata.get(SETTING)) for a in attrs.fields(cls) if a.init)


def declares_settings(factory: object) -> TypeGuard[type]:
    """True for an attrs class with at least one field declaring a `Setting`."""
    return (
        isinstance(factory, type)
        and attrs.has(factory)
        and any(SETTING in a.metadata for a in attrs.fields(factory))
    )


# -- canonical configuration -----------------------------------------------------------------


def policy_config(policy: RewardPolicy) -> dict[str, Any]:
    """The canonical configuration of ``policy``: the plain data that builds it again.

    ``referralkit.config.build_policy(policy_config(p)) == p``. The data is JSON-safe
    and in exactly the form configuration files use: ``{"policy": "<name>", ...}``,
    money as ``"10.00 USD"`` (to the currency's minor unit, more decimals only when
    the amount has them), rates as decimal strings (``"0.05"``), durations in the
    short form (``"14d"``), nested policies as nested objects. Every parameter is
    included, defaults too (None as ``null``), so a changed default changes the
    configuration, except a parameter added after release while it holds its default
    (``omit_default``), so stored definitions stay the same; equal policies give
    identical JSON text with ``sort_keys=True``.

    Built-in policies, and plugins that are attrs classes or whose ``__init__``
    parameters are attributes of the same name, are described by their declarations
    and attributes; pydantic is not loaded.

    Raises:
        ConfigError: the policy cannot be described as configuration (its class is
            not registered under a name, or a parameter cannot be read back): the
            host must give it a version name itself. ``.path`` names the nested
            position at fault (``referrer.policies.1``), None for ``policy`` itself.
    """
    return _policy(policy, None)


def _policy(policy: object, path: str | None) -> dict[str, Any]:
    from referralkit.registry import POLICY_REGISTRY  # noqa: PLC0415 - entry points load on first use

    name = POLICY_REGISTRY.name_of(type(policy))
    if name is None:
        raise _undescribable(policy, path, "its class is not registered as a policy")
    return {"policy": name, **_parameters(policy, path)}


def _parameters(obj: object, path: str | None) -> dict[str, Any]:
    """``obj``'s parameters by key: its attrs fields, else its ``__init__`` parameters."""
    cls = type(obj)
    if attrs.has(cls):
        out: dict[str, Any] = {}
        for field in config_fields(cls):
            value = getattr(obj, field.attribute.name)
            if _omitted(field, value):
                continue
            if field.setting is not None and field.setting.form is Form.ONE_OF:
                chosen = _alternative(field.setting, value)
                if chosen is None:
                    raise _undescribable(obj, _join(path, field.key), f"{value!r} fits no key")
                out[chosen] = _value(value, None, _join(path, chosen))
            else:
                out[field.key] = _value(value, field.setting, _join(path, field.key))
        return out
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        raise _undescribable(obj, path, "its parameters cannot be read") from None
    out = {}
    for param in parameters:
        if param.kind is param.VAR_KEYWORD:
            raise _undescribable(obj, path, "it takes **keyword arguments")
        if not hasattr(obj, param.name):
            raise _undescribable(obj, path, f"its parameter {param.name!r} is not an attribute")
        out[param.name] = _value(getattr(obj, param.name), None, _join(path, param.name))
    return out


def _omitted(field: ConfigField, value: object) -> bool:
    """True for a parameter added after release that still holds its default."""
    declared = field.setting
    return declared is not None and declared.omit_default and value == field.attribute.default


def _alternative(declared: Setting, value: object) -> str | None:
    """The key of the `Form.ONE_OF` alternative whose type ``value`` has."""
    for alternative in declared.alternatives:
        kind = _ALTERNATIVE_TYPES[alternative.form]
        if isinstance(value, kind) and not isinstance(value, bool):
            return alternative.key
    return None


def _value(value: object, declared: Setting | None, path: str | None) -> Any:
    """``value`` as configuration data, by its declared form (else by its type)."""
    form = None if declared is None or value is None else declared.form
    if form is Form.POLICY:
        return _policy(value, path)
    if form is Form.POLICIES:
        return [_policy(p, _join(path, i)) for i, p in enumerate(_items(value, path))]
    if form is Form.POLICY_BY_COUNT:
        pairs = value.items() if isinstance(value, Mapping) else _items(value, path)
        return {str(n): _policy(p, _join(path, n)) for n, p in pairs}
    if form is Form.RECORDS:
        return [_parameters(r, _join(path, i)) for i, r in enumerate(_items(value, path))]
    return _plain(value, path)


def _items(value: object, path: str | None) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise _undescribable(value, path, f"a list was expected, not {type(value).__name__}")
    return list(value)


def _plain(value: object, path: str | None) -> Any:
    """A value written by its type: scalars, money, durations, policies, containers, records."""
    if isinstance(value, enum.Enum):
        value = value.value
    scalar = _scalar(value)
    if scalar is not _NO_FORM:
        return scalar
    if isinstance(value, RewardPolicy):
        return _policy(value, path)
    if isinstance(value, Mapping):
        return {_key(k, value, path): _plain(v, _join(path, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, _join(path, i)) for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_plain(v, path) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if attrs.has(type(value)):
        return _parameters(value, path)
    raise _undescribable(value, path, f"a {type(value).__name__} has no configuration form")


def _key(key: object, mapping: object, path: str | None) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise _undescribable(mapping, path, f"the key {key!r} is not a string or an integer")
    return str(key)


def _join(path: str | None, key: object) -> str:
    return str(key) if path is None else f"{path}.{key}"


def _undescribable(value: object, path: str | None, reason: str) -> ConfigError:
    what = getattr(value, "name", None)
    shown = f"{what!r} ({type(value).__qualname__})" if isinstance(what, str) else repr(value)
    where = "" if path is None else f" at {path}"
    return ConfigError(
        f"the policy{where} cannot be described as configuration: {shown}: {reason};"
        " the host must give it a version name itself",
        value=value,
        path=path,
    )


# -- values as configuration text ----------------------------------------------------------


def decimal_text(value: Decimal, places: int = 0) -> str:
    """``value`` written out in full, with at least ``places`` decimals and no more zeros.

    ``Decimal("0.050")`` is ``"0.05"``, ``Decimal("5E+1")`` is ``"50"``; with
    ``places=2``, ``Decimal("10")`` is ``"10.00"``. Equal values give equal text.
    """
    digits = len(value.as_tuple().digits)
    with localcontext(Context(prec=max(digits, value.adjusted() + 1, 1) + places + 2)) as ctx:
        number = value.normalize(ctx)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -places:
            number = number.quantize(Decimal(1).scaleb(-places, ctx), context=ctx)
    if number.is_zero():
        number = number.copy_abs()
    return f"{number:f}"


def amounts_form(value: Amounts) -> dict[str, str]:
    """``{"EUR": "9.00", "USD": "10.00"}``: each amount as `money_text` writes it."""
    return {m.currency: decimal_text(m.amount, CURRENCY_EXPONENTS[m.currency]) for m in value.items}


def money_text(value: Money) -> str:
    """``"10.00 USD"``: the amount to the currency's minor unit, more decimals if it has them."""
    return f"{decimal_text(value.amount, CURRENCY_EXPONENTS[value.currency])} {value.currency}"


_DURATION_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def duration_text(value: timedelta) -> str:
    """A duration as configuration writes it: ``"14d"``, ``"1d12h"``, ``"90s"``, ``"0s"``.

    A duration with microseconds is written in ISO 8601 (``"PT1.5S"``), as pydantic
    writes it.
    """
    if value < timedelta(0):
        return f"-{duration_text(-value)}"
    if value.microseconds:
        return _iso_duration(value)
    seconds = value.days * 86_400 + value.seconds
    parts = []
    for unit, size in _DURATION_UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _iso_duration(value: timedelta) -> str:
    """ISO 8601 as pydantic writes a duration: 365-day years, then days, hours, minutes."""
    text = "P"
    years, days = divmod(value.days, 365)
    text += f"{years}Y" if years else ""
    text += f"{days}D" if days else ""
    hours, rest = divmod(value.seconds, 3_600)
    minutes, seconds = divmod(rest, 60)
    text += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    fraction = f"{value.microseconds:06d}".rstrip("0")
    return f"{text}{seconds}.{fraction}S"


#: Returned by `_scalar` for a value that is not a scalar.
_NO_FORM: Final = object()

#: Scalars written as text, by type.
_AS_TEXT: tuple[tuple[Any, Callable[[Any], str]], ...] = (
    (Money, money_text),
    (Decimal, decimal_text),
    (timedelta, duration_text),
    (datetime | date | time, lambda when: when.isoformat()),
)


def _scalar(value: object) -> Any:
    """``value`` as JSON if it is a scalar (text for money, decimals, durations, dates)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Amounts):
        return amounts_form(value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    for kind, write in _AS_TEXT:
        if isinstance(value, kind):
            return write(value)
    return _NO_FORM
