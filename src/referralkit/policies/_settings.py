"""A policy's configuration, declared once: on its own attrs fields, as a `Setting` each.

A field's ``metadata`` says how it is written in a configuration file: its `Form`
(money as ``"10 USD"``, a rate as ``"5%"``, a duration as ``"14d"``, a nested policy,
...), its bounds, a description, and its key when that is not the ``__init__``
parameter's name. `one_of` declares an attribute written under one of several keys
(`Fixed` writes its value as ``amount``, ``points`` or ``perk``). A class may add a
``config_summary`` (a `ClassVar`): what the whole object means in a file.

`referralkit.config` derives the pydantic models, the JSON Schema and the loader from
these declarations.
"""

from __future__ import annotations

import enum
from typing import Any, Final, TypeGuard

import attrs

from referralkit.errors import ConfigError
from referralkit.money import Money

__all__ = [
    "SETTING",
    "ConfigField",
    "Form",
    "Setting",
    "config_fields",
    "declares_settings",
    "one_of",
    "setting",
]

#: The attrs ``metadata`` key a field's `Setting` is stored under.
SETTING: Final = "referralkit.setting"


class Form(enum.Enum):
    """How a value is written in a configuration file."""

    #: ``"10.50 USD"`` or ``{"amount": "10.50", "currency": "USD"}``; never a float.
    MONEY = "money"
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
_ALTERNATIVE_TYPES: dict[Form, type] = {Form.MONEY: Money, Form.INTEGER: int, Form.TEXT: str}


def setting(
    form: Form,
    *,
    key: str | None = None,
    description: str | None = None,
    ge: int | None = None,
    min_length: int | None = None,
    choices: tuple[str, ...] = (),
    record: type | None = None,
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

    @property
    def required(self) -> bool:
        """True when the attribute has no default."""
        return self.attribute.default is attrs.NOTHING


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
