"""Generating codes: distinct, valid, reproducible with an injected rng, refused when too dense."""

from __future__ import annotations

import collections
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referralkit.codes import (
    CROCKFORD,
    DEFAULT_FORMAT,
    CodeFormat,
    generate_code,
    generate_codes,
    is_valid_code,
    normalize_code,
)
from referralkit.codes._check import fold, quasigroup
from referralkit.codes._generate import _batch
from referralkit.errors import ConfigError, InvalidInput
from strategies import POWER_OF_TWO_SIZES, PRIME_SIZES, code_formats, seeded_rng, typed_forms


def scalar_check(fmt: CodeFormat, head: str) -> str:
    """The check character of ``head`` (prefix + random body), one character at a time."""
    q = quasigroup(len(fmt.alphabet))
    assert q is not None
    state = fold(q, [fmt.alphabet.index(ch) for ch in head])
    return fmt.alphabet[q.to_zero[state]]


def test_generate_code_returns_a_canonical_valid_default_code() -> None:
    code = generate_code()
    assert len(code) == 8
    assert set(code) <= set(CROCKFORD)
    assert normalize_code(code) == code


@given(code_formats())
def test_generated_codes_have_the_format_shape_and_are_valid(fmt: CodeFormat) -> None:
    for code in generate_codes(20, fmt):
        assert code.startswith(fmt.prefix)
        assert len(code) == len(fmt.prefix) + fmt.length
        assert set(code) <= set(fmt.alphabet)
        assert normalize_code(code, fmt) == code


@given(code_formats(), st.integers(0, 300), st.integers())
def test_generate_codes_returns_exactly_n_distinct_valid_codes(
    fmt: CodeFormat, n: int, seed: int
) -> None:
    codes = generate_codes(n, fmt, rng=seeded_rng(seed))
    assert len(codes) == n
    assert len(set(codes)) == n
    assert all(is_valid_code(code, fmt) for code in codes)


@given(code_formats(), st.integers(), st.data())
def test_generate_codes_avoids_excluded_codes_in_any_typed_form(
    fmt: CodeFormat, seed: int, data: st.DataObject
) -> None:
    issued = generate_codes(200, fmt, rng=seeded_rng(seed))
    typed = [data.draw(typed_forms(code, fmt)) for code in issued[:5]]
    typed += [fmt.display(code).lower() for code in issued[5:100]] + issued[100:]
    # The same seed would draw the issued codes again: all must be skipped.
    fresh = generate_codes(100, fmt, exclude=typed, rng=seeded_rng(seed))
    assert len(set(fresh)) == 100
    assert not set(fresh) & set(issued)


def test_exclude_ignores_entries_that_are_not_text_or_not_codes() -> None:
    codes = generate_codes(5, exclude=["", "nope", "x" * 10_000, None, 3])  # type: ignore[list-item]
    assert len(codes) == 5


@given(code_formats(), st.integers(), st.integers(1, 50))
def test_generation_is_reproducible_with_an_injected_rng(
    fmt: CodeFormat, seed: int, n: int
) -> None:
    assert generate_codes(n, fmt, rng=seeded_rng(seed)) == generate_codes(
        n, fmt, rng=seeded_rng(seed)
    )
    assert generate_code(fmt, rng=seeded_rng(seed)) == generate_code(fmt, rng=seeded_rng(seed))


def test_default_randomness_is_secrets_grade(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def spy(nbytes: int) -> bytes:
        calls.append(nbytes)
        return bytes(nbytes)

    monkeypatch.setattr(secrets, "token_bytes", spy)
    assert generate_code() == "00000000"
    assert calls == [7]


@given(
    code_formats(sizes=POWER_OF_TWO_SIZES + PRIME_SIZES + (9, 10, 12, 36), check=True),
    st.integers(),
)
def test_vectorised_check_equals_the_scalar_damm_check(fmt: CodeFormat, seed: int) -> None:
    for code in generate_codes(300, fmt, rng=seeded_rng(seed)):
        assert code[-1] == scalar_check(fmt, code[:-1]), code


@given(code_formats(sizes=POWER_OF_TWO_SIZES + PRIME_SIZES + (9, 10, 12, 36)), st.integers())
def test_one_code_is_the_bulk_paths_code_for_the_same_random_bytes(
    fmt: CodeFormat, seed: int
) -> None:
    """``generate_code`` folds the check a byte at a time; the result is the bulk path's."""
    tables = fmt._tables
    one = generate_code(fmt, rng=seeded_rng(seed))
    assert one == _batch(1, tables, seeded_rng(seed))[0]
    if fmt.check:
        assert one[-1] == scalar_check(fmt, one[:-1])


def test_vectorised_check_equals_the_scalar_check_on_a_large_batch() -> None:
    fmt = CodeFormat(prefix="RK", length=10)
    codes = generate_codes(20_000, fmt, rng=seeded_rng(1))
    assert all(code[-1] == scalar_check(fmt, code[:-1]) for code in codes)


@pytest.mark.parametrize("alphabet", [CROCKFORD, CROCKFORD[:31], "0123456789", CROCKFORD[:20]])
def test_every_character_is_equally_likely_at_every_position(alphabet: str) -> None:
    """Uniform sampling, rejection sampling included (a fixed seed keeps this deterministic)."""
    fmt = CodeFormat(alphabet=alphabet, length=12, check=False)
    codes = generate_codes(20_000, fmt, rng=seeded_rng(42))
    expected = len(codes) / len(alphabet)
    for position in range(fmt.length):
        counts = collections.Counter(code[position] for code in codes)
        assert set(counts) == set(alphabet)
        assert all(abs(c - expected) < 0.15 * expected for c in counts.values()), counts


def test_generate_codes_of_zero_is_empty() -> None:
    assert generate_codes(0) == []


@pytest.mark.parametrize("n", [-1, 1.5, True, "10", None])
def test_generate_codes_refuses_a_count_that_is_not_a_natural_number(n: object) -> None:
    with pytest.raises(InvalidInput) as err:
        generate_codes(n)  # type: ignore[arg-type]
    assert err.value.field == "n"


def test_too_many_codes_for_the_format_are_refused_with_a_safe_length() -> None:
    small = CodeFormat(length=6, check=False)  # 2^30 codes: 107,374 at most
    assert generate_codes(100_000, small, max_guess_probability=1e-4)
    with pytest.raises(ConfigError, match="use length=7 or more") as err:
        generate_codes(200_000, small)
    assert err.value.path == "length"
    assert err.value.value == 200_000


def test_the_guess_threshold_counts_excluded_codes_too() -> None:
    small = CodeFormat(length=6, check=False)
    issued = generate_codes(60_000, small)
    with pytest.raises(ConfigError, match="guess"):
        generate_codes(60_000, small, exclude=issued)


def test_the_guess_threshold_is_a_keyword() -> None:
    small = CodeFormat(length=6, check=False)
    with pytest.raises(ConfigError):
        generate_codes(2_000, small, max_guess_probability=1e-6)
    assert len(generate_codes(200_000, small, max_guess_probability=1e-3)) == 200_000


def test_the_default_format_allows_a_million_codes() -> None:
    codes = generate_codes(1_000_000)
    assert len(set(codes)) == 1_000_000
    assert all(is_valid_code(code) for code in codes[::997])


def test_an_rng_returning_the_wrong_number_of_bytes_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must return 7 bytes") as err:
        generate_code(rng=lambda n: b"\x00" * (n - 1))
    assert err.value.path == "rng"
    with pytest.raises(ConfigError, match="must return"):
        generate_code(rng=lambda n: "0" * n)  # type: ignore[arg-type,return-value]


def test_an_rng_that_repeats_itself_is_refused_instead_of_looping_forever() -> None:
    with pytest.raises(ConfigError, match="is it random") as err:
        generate_codes(2, rng=bytes)
    assert err.value.path == "rng"


@settings(max_examples=10)
@given(st.integers())
def test_display_forms_of_generated_codes_normalise_back(seed: int) -> None:
    for code in generate_codes(100, rng=seeded_rng(seed)):
        assert normalize_code(DEFAULT_FORMAT.display(code).lower()) == code
