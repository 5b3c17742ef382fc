"""JSON forms of the domain's value objects: ``to_dict()``, ``from_dict()`` and a schema.

Every frozen attrs model of the library mixes in `JSONForm`, so a web handler can return
``reward.to_dict()`` as it is. The form is stable and plain: `Money` is
``{"amount": "10.00", "currency": "USD"}`` (the amount a string, never a float, with the
currency's minor digits), times are ISO 8601 strings with their offset, enums are their
values, tuples and sets are lists. ``from_dict`` reads the form back into an equal
object; ``pydantic_model()`` gives a pydantic model of the form for frameworks that want
one for their API docs (FastAPI's ``response_model``), built on first use.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, ClassVar, Union

import attrs

from referralkit.errors import InvalidInput
from referralkit.money import CURRENCY_EXPONENTS, Money

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["JSONForm", "money_form"]


def money_form(money: Money) -> dict[str, str]:
    """``{"amount": "10.00", "currency": "USD"}``: minor digits always, finer ones kept."""
    amount = money.amount
    if money.is_whole_minor():
        amount = amount.quantize(Decimal(1).scaleb(-CURRENCY_EXPONENTS[money.currency]))
    return {"amount": f"{amount:f}", "currency": money.currency}


def _encode(value: object) -> Any:  # noqa: PLR0911 - one return per JSON type
    """``value`` as JSON-safe data."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Money):
        return money_form(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, JSONForm):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(_encode(v) for v in value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


def _bad(field: str, value: object, expected: str) -> InvalidInput:
    return InvalidInput(f"{field} must be {expected}", value=value, field=field)


def _money(value: Any, field: str) -> Money:
    if not isinstance(value, Mapping) or set(value) != {"amount", "currency"}:
        raise _bad(field, value, "money: {'amount': '10.00', 'currency': 'USD'}")
    return Money(value["amount"], value["currency"])


def _time(value: Any, field: str) -> datetime:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _bad(field, value, "an ISO 8601 time with its UTC offset")
    return parsed


def _scalar(kind: type[Any], expected: str) -> Callable[[Any, str], Any]:
    def decode(value: Any, field: str) -> Any:
        if type(value) is not kind:  # bool is not an int here, nor an int a float
            raise _bad(field, value, expected)
        return value

    return decode


_LEAVES: dict[Any, Callable[[Any, str], Any]] = {
    Money: _money,
    datetime: _time,
    str: _scalar(str, "a string"),
    int: _scalar(int, "an integer"),
    bool: _scalar(bool, "true or false"),
    float: _scalar(float, "a number"),
    Any: lambda value, _: value,
}


def _union(args: tuple[Any, ...], value: Any, field: str) -> Any:
    if value is None and NoneType in args:
        return None
    options = [a for a in args if a is not NoneType]
    errors: list[InvalidInput] = []
    for option in options:
        try:
            return _decode(option, value, field)
        except InvalidInput as exc:  # noqa: PERF203 - the first option that fits wins
            errors.append(exc)
    raise errors[0]


def _decode(tp: Any, value: Any, field: str) -> Any:
    """``value`` (JSON data) read back as ``tp``; `InvalidInput` naming ``field`` if it is not."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    leaf = _LEAVES.get(tp)
    if leaf is not None:
        return leaf(value, field)
    if origin in (Union, UnionType):
        return _union(args, value, field)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _bad(field, value, f"one of {[m.value for m in tp]}") from None
    if isinstance(tp, type) and issubclass(tp, JSONForm):
        return tp.from_dict(value)
    if origin in (tuple, frozenset, set):
        if not isinstance(value, list):
            raise _bad(field, value, "a list")
        items = (_decode(args[0], v, f"{field}.{i}") for i, v in enumerate(value))
        return tuple(items) if origin is tuple else frozenset(items)
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise _bad(field, value, "an object")
        return {str(k): _decode(args[1], v, f"{field}.{k}") for k, v in value.items()}
    msg = f"no JSON form for {tp!r}"  # pragma: no cover - every model field type is above
    raise TypeError(msg)  # pragma: no cover


_FIELDS: dict[type[Any], tuple[tuple[str, Any], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[str, Any], ...]:
    """``(name, type)`` of each field a model is built from, resolved once per class."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _FIELDS[cls] = tuple((a.name, hints[a.name]) for a in attrs.fields(cls) if a.init)
    return found


_MONEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "amount": {"type": "string", "examples": ["10.00"]},
        "currency": {"type": "string", "examples": ["USD"]},
    },
    "required": ["amount", "currency"],
    "additionalProperties": False,
}


_TIME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "examples": ["2026-11-02T09:30:00+00:00"],
}


def _pydantic_type(tp: Any) -> Any:  # noqa: PLR0911 - one return per JSON type
    """The type pydantic validates a JSON form of ``tp`` as."""
    from pydantic import WithJsonSchema  # noqa: PLC0415 - pydantic loads only for schemas

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, UnionType):
        return Union[tuple(_pydantic_type(a) for a in args)]  # noqa: UP007 - built at run time
    if tp is Money:
        return typing.Annotated[dict[str, str], WithJsonSchema(_MONEY_SCHEMA)]
    if tp is datetime:
        return typing.Annotated[str, WithJsonSchema(_TIME_SCHEMA)]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return typing.Literal[tuple(m.value for m in tp)]
    if isinstance(tp, type) and issubclass(tp, JSONForm):
        return tp.pydantic_model()
    if origin in (tuple, frozenset, set):
        return list[_pydantic_type(args[0])]  # type: ignore[misc]
    if origin in (Mapping, dict):
        return dict[str, _pydantic_type(args[1])]  # type: ignore[misc]
    return tp


class JSONForm:
    """Mixed into the library's attrs models: a stable JSON form and its schema."""

    __slots__ = ()
    _models: ClassVar[dict[type[Any], Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        """This object as JSON-safe plain data (see the module docstring for the form)."""
        return {name: _encode(getattr(self, name)) for name, _ in _fields(type(self))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The object whose `to_dict` is ``data``; `InvalidInput` names a bad field."""
        if not isinstance(data, Mapping):
            raise _bad(cls.__name__, data, "an object")
        fields = dict(_fields(cls))
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InvalidInput(f"unknown field {unknown[0]!r}", value=unknown[0], field=unknown[0])
        missing = sorted(set(fields) - set(data))
        if missing:
            raise InvalidInput(f"missing field {missing[0]!r}", field=missing[0])
        return cls(**{name: _decode(tp, data[name], name) for name, tp in fields.items()})

    @classmethod
    def pydantic_model(cls) -> Any:
        """A pydantic model of the JSON form (for ``response_model=`` in a web framework)."""
        model = JSONForm._models.get(cls)
        if model is None:
            from pydantic import ConfigDict, create_model  # noqa: PLC0415 - loads on first use

            fields: dict[str, Any] = {name: (_pydantic_type(tp), ...) for name, tp in _fields(cls)}
            model = create_model(
                cls.__name__,
                __config__=ConfigDict(extra="forbid", title=cls.__name__),
                __doc__=cls.__doc__,
                **fields,
            )
            JSONForm._models[cls] = model
        return model

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the JSON form."""
        schema: dict[str, Any] = cls.pydantic_model().model_json_schema()
        return schema
