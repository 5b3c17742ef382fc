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
