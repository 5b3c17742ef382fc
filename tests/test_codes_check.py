"""The check character: the quasigroups behind it, and exhaustive proofs of what it catches."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referralkit.codes import CROCKFORD, CodeFormat, generate_codes, normalize_code
from referralkit.codes._check import fold, quasigroup
from referralkit.errors import InvalidCode
from strategies import (
    CHECK_SIZES,
    PRIME_SIZES,
    UNSUPPORTED_CHECK_SIZES,
    code_formats,
    seeded_rng,
)

#: Reference GF(2^k) arithmetic, written independently of the library's.
PRIMITIVE = {1: 0b11, 2: 0b111, 3: 0b1011, 4: 0b10011, 5: 0b100101}


def reference_gf_mul(x: int, y: int, k: int) -> int:
    product = 0
    for bit in range(k):
        if (y >> bit) & 1:
            product ^= x << bit
    for bit in range(2 * k - 2, k - 1, -1):
        if (product >> bit) & 1:
            product ^= PRIMITIVE[k] << (bit - k)
    return product


def mutations(code: str, alphabet: str, start: int = 0) -> list[str]:
    """Every single substitution and every adjacent transposition of distinct characters."""
    out = []
    for i in range(start, len(code)):
        out += [code[:i] + ch + code[i + 1 :] for ch in alphabet if ch != code[i]]
    for i in range(start, len(code) - 1):
        if code[i] != code[i + 1]:
            out.append(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
    return out


@pytest.mark.parametrize("n", CHECK_SIZES)
def test_every_supported_size_has_a_latin_square(n: int) -> None:
    q = quasigroup(n)
    assert q is not None
    for x in range(n):
        assert sorted(q.op(x, y) for y in range(n)) == list(range(n))
        assert sorted(q.op(y, x) for y in range(n)) == list(range(n))


@pytest.mark.parametrize("n", [n for n in CHECK_SIZES if n != 2])
def test_every_supported_size_except_two_is_totally_anti_symmetric(n: int) -> None:
    q = quasigroup(n)
    assert q is not None
    assert q.catches_transpositions
    for c, x, y in itertools.product(range(n), repeat=3):
        if x != y:
            assert q.op(q.op(c, x), y) != q.op(q.op(c, y), x), (c, x, y)


@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_power_of_two_sizes_use_two_times_x_xor_y_in_gf(n: int) -> None:
    k = n.bit_length() - 1
    q = quasigroup(n)
    assert q is not None
    assert (q.gf_bits, q.gf_a) == (k, 2)
    for x, y in itertools.product(range(n), repeat=2):
        assert q.op(x, y) == reference_gf_mul(2, x, k) ^ y


def test_gf32_uses_the_primitive_polynomial_x5_x2_1() -> None:
    q = quasigroup(32)
    assert q is not None
    # a = x; a * x^4 = x^5 = x^2 + 1 (0b00101) under x^5 + x^2 + 1.
    assert q.op(0b10000, 0) == 0b00101
    powers = {1}
    element = 1
    for _ in range(31):
        element = q.op(element, 0)
        powers.add(element)
    assert len(powers) == 31  # a = x generates the whole multiplicative group


@pytest.mark.parametrize("p", PRIME_SIZES)
def test_prime_sizes_use_two_x_plus_y_mod_p(p: int) -> None:
    q = quasigroup(p)
    assert q is not None
    for x, y in itertools.product(range(p), repeat=2):
        assert q.op(x, y) == (2 * x + y) % p


def test_binary_alphabet_is_parity_which_catches_substitutions_but_not_swaps() -> None:
    q = quasigroup(2)
    assert q is not None
    assert not q.catches_transpositions
    assert [q.op(x, y) for x in (0, 1) for y in (0, 1)] == [0, 1, 1, 0]


def test_order_ten_is_damms_published_table() -> None:
    q = quasigroup(10)
    assert q is not None
    assert q.name == "Damm's table of order 10"
    # Damm's worked example: the check digit of 572 is 4.
    assert q.to_zero[fold(q, [5, 7, 2])] == 4
    assert fold(q, [5, 7, 2, 4]) == 0


@pytest.mark.parametrize("n", sorted(UNSUPPORTED_CHECK_SIZES))
def test_sizes_two_mod_four_other_than_two_and_ten_have_no_scheme(n: int) -> None:
    assert quasigroup(n) is None


def test_every_substitution_and_adjacent_swap_of_2000_default_codes_is_a_bad_check() -> None:
    codes = generate_codes(2000, rng=seeded_rng(2000))
    for code in codes:
        for wrong in mutations(code, CROCKFORD):
            with pytest.raises(InvalidCode) as err:
                normalize_code(wrong)
            assert err.value.reason == "bad_check", (code, wrong)


@settings(max_examples=25)
@given(code_formats(sizes=tuple(n for n in CHECK_SIZES if n != 2), check=True), st.integers())
def test_every_substitution_and_adjacent_swap_is_caught_in_any_checked_format(
    fmt: CodeFormat, seed: int
) -> None:
    codes = generate_codes(40, fmt, rng=seeded_rng(seed))
    for code in codes:
        for wrong in mutations(code, fmt.alphabet, start=len(fmt.prefix)):
            with pytest.raises(InvalidCode) as err:
                normalize_code(wrong, fmt)
            assert err.value.reason == "bad_check", (code, wrong)


@settings(max_examples=25)
@given(code_formats(sizes=(2,), check=True), st.integers())
def test_binary_alphabet_catches_every_substitution(fmt: CodeFormat, seed: int) -> None:
    for code in generate_codes(20, fmt, rng=seeded_rng(seed)):
        for i in range(len(fmt.prefix), len(code)):
            other = fmt.alphabet.replace(code[i], "")
            wrong = code[:i] + other + code[i + 1 :]
            with pytest.raises(InvalidCode, match="typo"):
                normalize_code(wrong, fmt)


@settings(max_examples=25)
@given(code_formats(check=True, max_prefix=6).filter(lambda f: bool(f.prefix)), st.integers())
def test_the_check_character_also_covers_the_prefix(fmt: CodeFormat, seed: int) -> None:
    q = quasigroup(len(fmt.alphabet))
    assert q is not None
    index = {ch: i for i, ch in enumerate(fmt.alphabet)}
    code = generate_codes(1, fmt, rng=seeded_rng(seed))[0]
    assert fold(q, [index[ch] for ch in code]) == 0
    for wrong in mutations(code[: len(fmt.prefix) + 1], fmt.alphabet):
        if len(fmt.alphabet) == 2 and wrong.count("1") == code[: len(wrong)].count("1"):
            continue  # parity cannot see a swap
        whole = wrong + code[len(wrong) :]
        assert fold(q, [index[ch] for ch in whole]) != 0, (code, whole)


def twin_and_jump_errors(code: str, alphabet: str) -> list[str]:
    """``aa -> bb`` at neighbours, and ``abc -> cba`` / ``axa -> bxb`` two apart."""
    out = []
    for i in range(len(code) - 1):
        if code[i] == code[i + 1]:
            out += [code[:i] + ch + ch + code[i + 2 :] for ch in alphabet if ch != code[i]]
    for i in range(len(code) - 2):
        a, b, c = code[i : i + 3]
        if a != c:
            out.append(code[:i] + c + b + a + code[i + 3 :])
        else:
            out += [code[:i] + ch + b + ch + code[i + 3 :] for ch in alphabet if ch != a]
    return out


@settings(max_examples=25)
@given(code_formats(sizes=(4, 8, 16, 32), check=True), st.integers())
def test_gf_checks_also_catch_twin_errors_and_jump_transpositions(
    fmt: CodeFormat, seed: int
) -> None:
    for code in generate_codes(100, fmt, rng=seeded_rng(seed)):
        body = code[len(fmt.prefix) :]
        for wrong in twin_and_jump_errors(body, fmt.alphabet):
            with pytest.raises(InvalidCode) as err:
                normalize_code(fmt.prefix + wrong, fmt)
            assert err.value.reason == "bad_check", (code, wrong)
