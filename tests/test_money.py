"""Money: exact decimals, per-currency rounding, no floats, no mixing of currencies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.money import CURRENCY_EXPONENTS, minor_unit

currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
amounts = st.decimals(
    min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=6
)


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("10.005", "USD", "10.01"),
        ("10.004", "USD", "10.00"),
        ("-10.005", "USD", "-10.01"),
        ("0.5", "JPY", "1"),
        ("1.0005", "KWD", "1.001"),
        ("2.5", "JPY", "3"),
    ],
)
def test_round_is_half_up_to_the_currency_minor_unit(
    amount: str, currency: str, rounded: str
) -> None:
    assert rk.Money(amount, currency).round().amount == Decimal(rounded)
    assert (
        rk.Money(amount, currency).round().amount.as_tuple().exponent
        == -CURRENCY_EXPONENTS[currency]
    )


@pytest.mark.parametrize(
    "bad", [1.5, float("nan"), True, None, object(), "ten", "NaN", "Infinity", "1e400"]
)
def test_non_money_amounts_are_refused_with_invalid_money(bad: object) -> None:
    with pytest.raises(rk.InvalidMoney) as err:
        rk.Money(bad, "USD")  # type: ignore[arg-type]
    assert isinstance(err.value, rk.ReferralError)


@pytest.mark.parametrize("bad", ["usdd", "XXX", "", 840, None])
def test_unknown_currencies_are_refused(bad: object) -> None:
    with pytest.raises(rk.UnknownCurrency):
        rk.Money("1", bad)  # type: ignore[arg-type]


def test_currency_code_is_case_insensitive_and_stored_upper() -> None:
    assert rk.Money("1", "usd").currency == "USD"


def test_mixing_currencies_raises_currency_mismatch() -> None:
    usd, eur = rk.Money("1", "USD"), rk.Money("1", "EUR")
    for op in (lambda: usd + eur, lambda: usd - eur, lambda: usd < eur, lambda: usd >= eur):
        with pytest.raises(rk.CurrencyMismatch) as err:
            op()
        assert err.value.value == ("USD", "EUR")
    assert usd != eur


def test_multiplication_takes_decimals_and_ints_not_floats() -> None:
    assert rk.Money("10", "USD") * Decimal("0.15") == rk.Money("1.5", "USD")
    assert 3 * rk.Money("10", "USD") == rk.Money("30", "USD")
    with pytest.raises(rk.InvalidMoney):
        rk.Money("10", "USD") * 0.15


@given(amounts, amounts, currencies)
def test_addition_is_exact_and_commutative(a: Decimal, b: Decimal, currency: str) -> None:
    x, y = rk.Money(a, currency), rk.Money(b, currency)
    assert (x + y).amount == a + b
    assert x + y == y + x
    assert (x + y) - y == x


@given(amounts, currencies)
def test_rounding_is_idempotent_and_within_half_a_minor_unit(a: Decimal, currency: str) -> None:
    m = rk.Money(a, currency)
    r = m.round()
    assert r.round() == r
    assert abs(r.amount - m.amount) <= minor_unit(currency) / 2


@given(st.integers(min_value=-(10**15), max_value=10**15), currencies)
def test_minor_units_round_trip(units: int, currency: str) -> None:
    assert rk.Money.from_minor(units, currency).minor_units == units


@given(amounts, amounts, currencies)
def test_ordering_matches_the_decimal_amounts(a: Decimal, b: Decimal, currency: str) -> None:
    x, y = rk.Money(a, currency), rk.Money(b, currency)
    assert (x < y) == (a < b)
    assert (x == y) == (a == b)
    assert (hash(x) == hash(y)) or x != y


def test_str_and_json_forms() -> None:
    m = rk.Money("10.5", "USD")
    assert str(m) == "10.50 USD"
    assert m.to_json() == {"amount": "10.5", "currency": "USD"}
    assert eval(repr(m), {"Money": rk.Money}) == m


# -- hostile operands, precision, minor units ------------------------------------------------

from decimal import Context, localcontext  # noqa: E402 - the section's own imports
from inspect import getattr_static  # noqa: E402
from typing import Any  # noqa: E402

from referralkit.errors import MoneyTypeError  # noqa: E402
from strategies import junk_values  # noqa: E402

ONE = rk.Money("1", "USD")
_ORDERINGS = [
    lambda m, x: m < x,
    lambda m, x: m <= x,
    lambda m, x: m > x,
    lambda m, x: m >= x,
    lambda m, x: x < m,
    lambda m, x: x >= m,
]
_ARITHMETIC = [lambda m, x: m + x, lambda m, x: x + m, lambda m, x: m - x, lambda m, x: x - m]


@given(junk_values)
def test_ordering_or_adding_money_and_a_non_money_is_a_money_type_error(other: Any) -> None:
    """The error is a ReferralError and, as Python's data model asks, a TypeError."""
    for op in _ORDERINGS + _ARITHMETIC:
        with pytest.raises(MoneyTypeError) as err:
            op(ONE, other)
        assert isinstance(err.value, TypeError)
        assert isinstance(err.value, rk.InvalidMoney)
        assert err.value.value is other
    assert ONE != other  # noqa: SIM300 - Money's own __ne__ is the behaviour pinned
    assert not ONE == other  # noqa: SIM201, SIM300 - Money's own __eq__ is pinned


def test_sorting_mixed_values_raises_a_type_error_python_code_already_catches() -> None:
    with pytest.raises(TypeError):
        sorted([ONE, None, rk.Money("2", "USD")])


def test_sum_says_how_to_add_money() -> None:
    with pytest.raises(MoneyTypeError, match=r"sum\(amounts, Money.zero"):
        sum([ONE, ONE])
    assert sum([ONE, ONE], rk.Money.zero("USD")) == rk.Money("2", "USD")


@given(junk_values)
def test_multiplying_money_by_anything_but_a_number_is_invalid_money(factor: Any) -> None:
    refused: MoneyTypeError | None = None
    try:
        product = ONE * factor
    except MoneyTypeError as err:
        refused = err
    if refused is not None:
        assert isinstance(refused, TypeError)
        assert (refused.field, refused.value is factor) == ("factor", True)
        return
    # Accepted factors are exact numbers: ints, finite Decimals and decimal strings.
    assert not isinstance(factor, bool | float)
    assert product.amount == Decimal(str(factor).strip().replace("_", ""))
    assert factor * ONE == product


@pytest.mark.parametrize("factor", ["x", None, float("nan"), 0.5, ONE, [2], True])
def test_the_usual_wrong_factors_are_invalid_money(factor: Any) -> None:
    with pytest.raises(rk.InvalidMoney):
        ONE * factor


@pytest.mark.parametrize(
    ("money", "shown"),
    [
        (rk.Money("1.5", "JPY"), "1.5 JPY"),
        (rk.Money("1", "JPY"), "1 JPY"),
        (rk.Money("10", "USD"), "10.00 USD"),
        (rk.Money("10.005", "USD"), "10.005 USD"),
        (rk.Money("10.0050", "USD"), "10.005 USD"),
        (rk.Money("0.0000001", "USD"), "0.0000001 USD"),
        (rk.Money("1E+3", "USD"), "1000.00 USD"),
        (rk.Money("-2.50", "EUR"), "-2.50 EUR"),
    ],
)
def test_str_never_hides_precision_and_pads_whole_amounts(money: rk.Money, shown: str) -> None:
    assert str(money) == shown


wide_amounts = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda d: d == 0 or abs(d.adjusted()) <= 30
)


@given(wide_amounts, currencies)
def test_str_and_repr_show_the_exact_amount(amount: Decimal, currency: str) -> None:
    m = rk.Money(amount, currency)
    text, shown_currency = str(m).split(" ")
    assert (Decimal(text), shown_currency) == (m.amount, currency)
    assert "E" not in text
    if m.is_whole_minor():
        assert len(text.partition(".")[2]) == CURRENCY_EXPONENTS[currency]
    assert eval(repr(m), {"Money": rk.Money}) == m


@given(wide_amounts, wide_amounts, currencies)
def test_any_accepted_amount_rounds_and_adds_exactly_or_is_refused(a, b, currency) -> None:
    """Big or very precise amounts never escape as decimal's own errors."""
    exact = Context(prec=200)  # the reference arithmetic, exact for these amounts
    x, y = rk.Money(a, currency), rk.Money(b, currency)
    assert exact.abs(exact.subtract(x.round().amount, a)) <= minor_unit(currency) / 2
    assert x.minor_units == int(exact.scaleb(x.round().amount, CURRENCY_EXPONENTS[currency]))
    try:
        total = x + y
    except rk.InvalidMoney:
        assert exact.add(a, b).adjusted() > 30
        return
    assert total.amount == exact.add(a, b)
    assert (total - y).amount == a


def test_a_host_decimal_context_does_not_change_money_arithmetic() -> None:
    a, b = rk.Money("1234567.891", "USD"), rk.Money("0.004", "USD")
    with localcontext() as ctx:
        ctx.prec = 3
        assert (a + b).amount == Decimal("1234567.895")
        assert (a * 3).amount == Decimal("3703703.673")
        assert (-a).amount == Decimal("-1234567.891")
        assert a.round().amount == Decimal("1234567.89")


def test_minor_units_is_a_property_and_from_minor_a_classmethod() -> None:
    assert isinstance(getattr_static(rk.Money, "minor_units"), property)
    assert isinstance(getattr_static(rk.Money, "from_minor"), classmethod)
    assert rk.Money("10.50", "USD").minor_units == 1050
    assert rk.Money.from_minor(1050, "USD") == rk.Money("10.50", "USD")
