"""Money: a ``Decimal`` amount in an ISO-4217 currency.

Amounts are exact: arithmetic never rounds on its own, and it runs in its own decimal
context, so a host that changes ``decimal.getcontext()`` changes nothing here.
``round()`` rounds to the currency's minor unit (JPY 0 decimals, USD 2, KWD 3) with
ROUND_HALF_UP, the rule shoppers expect from a receipt. Policies round each reward
once, when they grant it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

import attrs

from referralkit.errors import CurrencyMismatch, InvalidMoney, MoneyTypeError, UnknownCurrency

__all__ = ["CURRENCY_EXPONENTS", "Amounts", "Money", "minor_unit"]

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN "
    "ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES "
    "KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR "
    "SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD "
    "TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)

#: Minor-unit exponent of every active ISO-4217 currency (decimals after the point).
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS.split(), 2),
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
    **dict.fromkeys(_FOUR_DECIMALS.split(), 4),
}

_MAX_EXPONENT = 30  # amounts beyond 10^30 are not money, they are bugs
_MAX_TEXT = 64

_QUANTA = {exp: Decimal(1).scaleb(-exp) for exp in set(CURRENCY_EXPONENTS.values())}
#: Money's own arithmetic: wide enough that sums, products and rounding of amounts
#: within 10^±30 are exact, whatever ``decimal.getcontext()`` a host has set.
_CONTEXT = Context(prec=200, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``Decimal('0.01')`` for USD, ``1`` for JPY."""
    return _QUANTA[CURRENCY_EXPONENTS[_check_currency(currency)]]


def _check_currency(currency: object) -> str:
    if type(currency) is str and currency in CURRENCY_EXPONENTS:
        return currency  # the fast path: already canonical
    if not isinstance(currency, str) or currency.upper() not in CURRENCY_EXPONENTS:
        raise UnknownCurrency(
            f"{currency!r} is not an ISO-4217 currency code (e.g. 'USD', 'EUR', 'JPY')",
            value=currency,
            field="currency",
        )
    return currency.upper()


def _to_decimal(amount: object) -> Decimal:
    if type(amount) is Decimal and amount.is_finite() and abs(amount.adjusted()) <= _MAX_EXPONENT:
        return amount  # the fast path: already a usable Decimal
    if isinstance(amount, bool | float):
        raise InvalidMoney(
            f"money amounts must be str, int or Decimal, not {type(amount).__name__} "
            f"({amount!r}): floats cannot hold cents exactly; pass a string such as '10.50'",
            value=amount,
            field="amount",
        )
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, str):
        if len(amount) > _MAX_TEXT:
            raise InvalidMoney("amount text is too long to be money", value=amount[:64])
        try:
            value = Decimal(amount.strip().replace("_", ""))
        except InvalidOperation:
            raise InvalidMoney(
                f"{amount!r} is not a decimal number", value=amount, field="amount"
            ) from None
    else:
        raise InvalidMoney(
            f"money amounts must be str, int or Decimal, not {type(amount).__name__}",
            value=amount,
            field="amount",
        )
    if not value.is_finite():
        raise InvalidMoney(f"{amount!r} is not a finite amount", value=amount, field="amount")
    if abs(value.adjusted()) > _MAX_EXPONENT:
        raise InvalidMoney(f"{amount!r} is out of range for money", value=amount, field="amount")
    return value


@attrs.frozen(slots=True, eq=False, repr=False)
class Money:
    """An exact amount of one currency: ``Money("10.50", "USD")``.

    Floats are refused (`InvalidMoney`); mixing currencies raises `CurrencyMismatch`.

    **Precision.** An amount may be finer than the currency's minor unit
    (``Money("1.5", "JPY")``, ``order * Decimal("0.125")``): it is kept exact, so a
    policy can compute and round once. Such an amount is refused where money is
    stored, granted or paid; `is_whole_minor` is that one rule. ``str()`` and
    ``repr()`` never hide it: ``str(Money("1.5", "JPY"))`` is ``"1.5 JPY"``, while a
    whole amount shows the currency's decimals (``"10.00 USD"``, ``"1 JPY"``).

    **Minor units.** `minor_units` is a *property* (``m.minor_units``, no call) and
    `from_minor` a *classmethod* (``Money.from_minor(1050, "USD")``).

    **Comparisons.** ``==`` and ``!=`` with a non-Money are simply unequal (Python's
    ``NotImplemented``). Ordering (``<``, ``<=``, ``>``, ``>=``), ``+``, ``-`` and ``*``
    with a value that cannot take part raise `MoneyTypeError`, an `InvalidMoney` that is
    also a `TypeError`, as Python's data model asks of unrelated types.
    """

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: str = attrs.field(converter=_check_currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money in ``currency``."""
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        """Build from an integer count of minor units (a classmethod).

        ``Money.from_minor(1050, "USD")`` is ``Money("10.50", "USD")``; the inverse is
        the `minor_units` property.
        """
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidMoney("minor units must be an int", value=units, field="units")
        return cls(Decimal(units) * minor_unit(currency), currency)

    @property
    def minor_units(self) -> int:
        """The rounded amount as an integer count of minor units (a property, not a method).

        ``Money("10.50", "USD").minor_units`` is ``1050``; the inverse is the
        `from_minor` classmethod.
        """
        return int(self.round().amount.scaleb(CURRENCY_EXPONENTS[self.currency], _CONTEXT))

    def round(self) -> Money:
        """Round half-up to the currency's minor unit (2 decimals for USD, 0 for JPY)."""
        quantum = _QUANTA[CURRENCY_EXPONENTS[self.currency]]
        rounded = self.amount.quantize(quantum, rounding=ROUND_HALF_UP, context=_CONTEXT)
        return _trusted(rounded, self.currency)

    def is_whole_minor(self) -> bool:
        """True when the amount is a whole number of minor units (no finer than a cent).

        The one precision rule: amounts a program stores, grants or is paid must pass it.
        """
        return self.amount == self.round().amount

    def is_zero(self) -> bool:
        """True when the amount is exactly zero."""
        return self.amount == 0

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise MoneyTypeError(
                f"cannot {op} Money and {type(other).__name__}: both sides must be Money"
                + (", e.g. sum(amounts, Money.zero('USD'))" if op == "add" else ""),
                value=other,
                field="other",
            )
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}",
                value=(self.currency, other.currency),
            )
        return other

    def __add__(self, other: object) -> Money:
        amount = _CONTEXT.add(self.amount, self._same(other, "add").amount)
        return _in_range(amount, self.currency)

    __radd__ = __add__

    def __sub__(self, other: object) -> Money:
        amount = _CONTEXT.subtract(self.amount, self._same(other, "subtract").amount)
        return _in_range(amount, self.currency)

    def __rsub__(self, other: object) -> Money:
        amount = _CONTEXT.subtract(self._same(other, "subtract").amount, self.amount)
        return _in_range(amount, self.currency)

    def __neg__(self) -> Money:
        return _trusted(self.amount.copy_negate(), self.currency)

    def __abs__(self) -> Money:
        return _trusted(self.amount.copy_abs(), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise MoneyTypeError(
                "cannot multiply Money by Money; multiply by a Decimal or int rate",
                value=factor,
                field="factor",
            )
        try:
            rate = _to_decimal(factor)
        except InvalidMoney as exc:
            raise MoneyTypeError(
                f"cannot multiply Money by {factor!r}: {exc.message}",
                value=factor,
                field="factor",
            ) from None
        return Money(_CONTEXT.multiply(self.amount, rate), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: object) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: object) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: object) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: object) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def __str__(self) -> str:
        rounded = self.round().amount
        if rounded == self.amount:
            return f"{rounded:f} {self.currency}"
        # Finer than the minor unit: every significant decimal, none hidden by rounding.
        return f"{self.amount.normalize(_CONTEXT):f} {self.currency}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form: ``{"amount": "10.50", "currency": "USD"}``."""
        return {"amount": str(self.amount), "currency": self.currency}


def _in_range(amount: Decimal, currency: str) -> Money:
    """A sum or difference as Money, refused like `Money` refuses it once it grows too big."""
    if amount and amount.adjusted() > _MAX_EXPONENT:
        raise InvalidMoney(f"{amount} is out of range for money", value=amount, field="amount")
    return _trusted(amount, currency)


def _trusted(amount: Decimal, currency: str) -> Money:
    # Internal constructor for values derived from valid Money: skips re-validation.
    money = object.__new__(Money)
    object.__setattr__(money, "amount", amount)
    object.__setattr__(money, "currency", currency)
    return money


def _amounts(value: object) -> tuple[Money, ...]:
    """Money per currency, from Money values or a ``{"USD": "10", ...}`` mapping."""
    items: list[Money] = []
    if isinstance(value, Mapping):
        for currency, amount in value.items():
            if isinstance(amount, Money):
                if amount.currency != _check_currency(currency):
                    raise CurrencyMismatch(
                        f"the amount for {currency} is in {amount.currency}", value=amount
                    )
                items.append(amount)
            else:
                items.append(Money(amount, currency))
    elif isinstance(value, tuple | list) and all(isinstance(m, Money) for m in value):
        items = list(value)
    else:
        raise InvalidMoney(
            "amounts are a mapping of currency to amount, e.g. {'USD': '10', 'EUR': '9'}",
            value=value,
            field="amounts",
        )
    currencies = [m.currency for m in items]
    if not items or len(set(currencies)) != len(currencies):
        raise InvalidMoney(
            "amounts name each currency once, and at least one", value=value, field="amounts"
        )
    return tuple(sorted(items, key=lambda m: m.currency))


@attrs.frozen(slots=True)
class Amounts:
    """One amount per currency: what a fixed reward pays in each currency a shop sells in.

    ``Amounts({"USD": "10", "EUR": "9", "JPY": "1500"})``; an order in a currency not
    listed is not covered.
    """

    items: tuple[Money, ...] = attrs.field(converter=_amounts)

    @property
    def currencies(self) -> frozenset[str]:
        """The currencies covered."""
        return frozenset(m.currency for m in self.items)

    def get(self, currency: str) -> Money | None:
        """The amount in ``currency``, if it is covered."""
        for money in self.items:
            if money.currency == currency:
                return money
        return None

    def __str__(self) -> str:
        return " / ".join(str(m) for m in self.items)
