"""CodeFormat, the public surface of referralkit.codes, and guess probabilities."""

from __future__ import annotations

import copy
import math
import pickle

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit.codes
from referralkit.codes import (
    CROCKFORD,
    DEFAULT_FORMAT,
    CodeFormat,
    generate_code,
    guess_probability,
    normalize_code,
)
from referralkit.errors import ConfigError, InvalidCode, InvalidInput, ReferralError
from strategies import ALPHABET_CHARS, CHECK_SIZES, alphabets, code_formats, min_length


def test_codes_package_exports_exactly_the_public_names() -> None:
    assert sorted(referralkit.codes.__all__) == [
        "CROCKFORD",
        "CodeFormat",
        "DEFAULT_FORMAT",
        "DEFAULT_VANITY_BLOCKLIST",
        "Rng",
        "code_key",
        "generate_code",
        "generate_codes",
        "guess_probability",
        "is_valid_code",
        "normalize_code",
        "validate_vanity",
        "vanity_key",
    ]
    for name in referralkit.codes.__all__:
        assert getattr(referralkit.codes, name) is not None


def test_crockford_alphabet_is_32_characters_without_i_l_o_u() -> None:
    assert CROCKFORD == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert len(set(CROCKFORD)) == 32
    assert not set("ILOU") & set(CROCKFORD)


def test_default_format_is_seven_random_crockford_characters_and_a_check() -> None:
    fmt = CodeFormat()
    assert fmt == DEFAULT_FORMAT
    assert (fmt.length, fmt.prefix, fmt.check, fmt.group, fmt.alphabet) == (
        8,
        "",
        True,
        4,
        CROCKFORD,
    )
    assert fmt.random_chars == 7
    assert fmt.entropy_bits == 35.0
    assert fmt.space == 32**7
    assert "GF(2^5)" in fmt.check_scheme
    assert "adjacent transposition" in fmt.check_scheme


@given(code_formats())
def test_entropy_and_space_follow_the_random_characters(fmt: CodeFormat) -> None:
    n = len(fmt.alphabet)
    random_chars = fmt.length - (1 if fmt.check else 0)
    assert fmt.random_chars == random_chars
    assert fmt.space == n**random_chars
    assert fmt.entropy_bits == pytest.approx(math.log2(fmt.space))
    assert fmt.entropy_bits >= 25


def test_formats_are_equal_and_hashable_by_their_fields() -> None:
    assert CodeFormat(length=10) == CodeFormat(length=10)
    assert hash(CodeFormat(length=10)) == hash(CodeFormat(length=10))
    assert CodeFormat(length=10) != CodeFormat(length=11)
    assert len({CodeFormat(), CodeFormat(), CodeFormat(prefix="R")}) == 2
    assert "_tables" not in repr(CodeFormat())


def test_formats_survive_pickle_copy_and_evolve_and_expose_only_their_fields() -> None:
    fmt = CodeFormat(prefix="RK", length=10)
    code = generate_code(fmt)
    assert attrs.asdict(fmt) == {
        "length": 10,
        "prefix": "RK",
        "check": True,
        "group": 4,
        "alphabet": CROCKFORD,
    }
    for twin in (pickle.loads(pickle.dumps(fmt)), copy.deepcopy(fmt), copy.copy(fmt)):
        assert twin == fmt
        assert normalize_code(code, twin) == code
    longer = attrs.evolve(fmt, length=12)
    assert len(generate_code(longer)) == 14
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fmt.length = 4  # type: ignore[misc]


def test_display_groups_the_code_in_fours_by_default() -> None:
    assert DEFAULT_FORMAT.display("6XG5QA5N") == "6XG5-QA5N"


def test_display_puts_the_prefix_in_front_as_its_own_group() -> None:
    fmt = CodeFormat(prefix="RK", length=10)
    code = generate_code(fmt)
    shown = fmt.display(code)
    assert shown == f"RK-{code[2:6]}-{code[6:10]}-{code[10:]}"


def test_display_without_grouping_is_the_canonical_code() -> None:
    fmt = CodeFormat(prefix="RK", group=0)
    code = generate_code(fmt)
    assert fmt.display(code) == code


def test_display_accepts_any_typed_form_and_refuses_garbage() -> None:
    assert DEFAULT_FORMAT.display(" 6xg5 qa5n ") == "6XG5-QA5N"
    with pytest.raises(InvalidCode):
        DEFAULT_FORMAT.display("6XG5QA5B")


@pytest.mark.parametrize(
    ("kwargs", "path", "words"),
    [
        ({"alphabet": "ABCA0123456789"}, "alphabet", "repeated"),
        ({"alphabet": "A"}, "alphabet", "2 to 256"),
        ({"alphabet": ""}, "alphabet", "2 to 256"),
        ({"alphabet": "0123456789abcdef"}, "alphabet", "upper case"),
        ({"alphabet": "0123456789ABCDE!"}, "alphabet", "letters A-Z and digits"),
        ({"alphabet": "0123456789ABCDEÉ"}, "alphabet", "letters A-Z and digits"),
        ({"alphabet": b"0123456789ABCDEF"}, "alphabet", "must be a str"),
        ({"length": 0}, "length", "at least 1"),
        ({"length": -3}, "length", "at least 1"),
        ({"length": 65}, "length", "at most 64"),
        ({"length": 8.0}, "length", "must be an int"),
        ({"length": True}, "length", "must be an int"),
        ({"length": 5}, "length", "use length=6"),
        ({"length": 4, "check": False}, "length", "use length=5"),
        ({"prefix": "SHOP"}, "prefix", "outside the alphabet"),
        ({"prefix": "rk"}, "prefix", "outside the alphabet"),
        ({"prefix": "R" * 17}, "prefix", "at most 16"),
        ({"prefix": 12}, "prefix", "must be a str"),
        ({"alphabet": "ABCDEFGHJKMNPQ", "length": 12}, "check", "2 mod 4"),
        ({"alphabet": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}, "check", "check=False"),
        ({"alphabet": "012345", "length": 12}, "check", "check=False"),
        ({"group": -1}, "group", "0 (no dashes)"),
        ({"check": 1}, "check", "True or False"),
    ],
)
def test_invalid_format_raises_config_error_naming_the_field(
    kwargs: dict[str, object], path: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        CodeFormat(**kwargs)  # type: ignore[arg-type]
    assert err.value.path == path
    assert words in str(err.value)


@given(
    alphabet=st.one_of(st.text(max_size=40), st.text(ALPHABET_CHARS, min_size=2, max_size=36)),
    length=st.integers(-5, 70),
    prefix=st.text(max_size=5),
    check=st.booleans(),
    group=st.integers(-2, 8),
)
def test_any_format_arguments_give_a_format_or_a_config_error_naming_a_field(
    alphabet: str, length: int, prefix: str, check: bool, group: int
) -> None:
    try:
        fmt = CodeFormat(length=length, prefix=prefix, check=check, group=group, alphabet=alphabet)
    except ConfigError as err:
        path = err.path
    else:
        assert fmt.entropy_bits >= 25
        assert set(fmt.prefix) <= set(fmt.alphabet)
        return
    assert path in {"length", "prefix", "check", "group", "alphabet"}


def test_too_short_length_is_refused_and_the_suggested_length_is_accepted() -> None:
    with pytest.raises(ConfigError, match="too short to be safe") as err:
        CodeFormat(length=4)
    assert "use length=6" in str(err.value)
    assert CodeFormat(length=6).entropy_bits >= 25


@given(alphabets(sizes=tuple(range(2, 37))), st.booleans())
def test_shortest_safe_length_is_accepted_and_one_less_is_refused(
    alphabet: str, check: bool
) -> None:
    has_check = check and len(alphabet) in CHECK_SIZES
    shortest = min_length(len(alphabet), check=has_check)
    CodeFormat(length=shortest, check=has_check, alphabet=alphabet)
    with pytest.raises(ConfigError, match=f"use length={shortest} or more"):
        CodeFormat(length=shortest - 1, check=has_check, alphabet=alphabet)


def test_alphabet_sizes_two_mod_four_work_without_a_check() -> None:
    fmt = CodeFormat(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", check=False, length=6)
    code = generate_code(fmt)
    assert len(code) == 6
    assert "none" in fmt.check_scheme


def test_binary_alphabet_check_is_parity_and_says_it_misses_transpositions() -> None:
    fmt = CodeFormat(alphabet="01", length=26)
    assert "no transposition" in fmt.check_scheme


# -- guess probability ---------------------------------------------------------------------


def test_guess_probability_is_zero_with_nothing_issued_or_no_attempts() -> None:
    assert guess_probability(0) == 0.0
    assert guess_probability(1000, attempts=0) == 0.0


def test_guess_probability_is_one_when_every_code_is_issued() -> None:
    fmt = CodeFormat(length=6, check=False, alphabet=CROCKFORD)
    assert guess_probability(fmt.space, fmt) == 1.0


def test_guess_probability_of_one_guess_is_issued_over_space() -> None:
    assert guess_probability(1_000_000) == pytest.approx(1_000_000 / 32**7, rel=1e-12)


def test_guess_probability_keeps_precision_for_tiny_probabilities() -> None:
    fmt = CodeFormat(length=12)
    p = guess_probability(1, fmt)
    assert p == pytest.approx(1 / 32**11, rel=1e-12)
    assert p > 0


def test_guess_probability_of_many_attempts_matches_the_closed_form() -> None:
    p = guess_probability(1_000_000, attempts=10_000)
    assert p == pytest.approx(1 - (1 - 1_000_000 / 32**7) ** 10_000, rel=1e-9)
    assert 0.25 < p < 0.26


@given(st.integers(0, 32**7), st.integers(0, 10**9), st.integers(0, 32**7), st.integers(0, 10**9))
def test_guess_probability_is_a_probability_growing_with_issued_and_attempts(
    issued: int, attempts: int, more_issued: int, more_attempts: int
) -> None:
    p = guess_probability(issued, attempts=attempts)
    assert 0.0 <= p <= 1.0
    assert guess_probability(max(issued, more_issued), attempts=attempts) >= p
    assert guess_probability(issued, attempts=max(attempts, more_attempts)) >= p


@pytest.mark.parametrize(
    ("issued", "attempts", "field"),
    [
        (-1, 1, "issued"),
        (1, -1, "attempts"),
        (True, 1, "issued"),
        (1.5, 1, "issued"),
        (32**7 + 1, 1, "issued"),
    ],
)
def test_guess_probability_refuses_impossible_counts(
    issued: object, attempts: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        guess_probability(issued, attempts=attempts)  # type: ignore[arg-type]
    assert err.value.field == field
    assert isinstance(err.value, ReferralError)
