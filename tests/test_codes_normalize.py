"""Normalising typed codes: forgiving input, strict output, only ever InvalidCode."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
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
from referralkit.errors import InvalidCode, ReferralError
from strategies import any_text, code_formats, seeded_rng, typed_forms

CODE = "6XG5QA5N"  # a valid default code


def fullwidth(text: str) -> str:
    """Full-width forms (U+FF01..U+FF5E) of ASCII text."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


def math_bold(text: str) -> str:
    """Mathematical bold capitals and digits."""
    names = {ch: f"MATHEMATICAL BOLD {'DIGIT' if ch.isdigit() else 'CAPITAL'} " for ch in text}
    digits = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
    return "".join(
        unicodedata.lookup(names[ch] + (digits[int(ch)] if ch.isdigit() else ch)) for ch in text
    )


@st.composite
def formats_and_codes(draw: st.DrawFn) -> tuple[CodeFormat, str]:
    fmt = draw(code_formats())
    return fmt, generate_code(fmt, rng=seeded_rng(draw(st.integers())))


def test_canonical_code_normalises_to_itself() -> None:
    assert normalize_code(CODE) == CODE


@pytest.mark.parametrize(
    "typed",
    [
        "6xg5qa5n",
        "6XG5-QA5N",
        " 6xg5 - qa5n ",
        "\t6XG5_QA5N\n",
        "6 X G 5 Q A 5 N",
        "6xg5\u2013qa5n",  # en dash pasted from a document
        "\u00a06XG5 QA5N\u200b",  # NBSP, zero-width space
        fullwidth("6XG5-QA5N"),  # as typed with a CJK input method
    ],
)
def test_typed_forms_of_a_code_normalise_to_its_canonical_form(typed: str) -> None:
    assert normalize_code(typed) == CODE


def test_o_reads_as_zero_and_i_and_l_read_as_one_in_crockford() -> None:
    code = next(c for c in generate_codes(500, rng=seeded_rng(3)) if "0" in c and "1" in c)
    typed = code.replace("0", "o").replace("1", "l", 1).replace("1", "I")
    assert normalize_code(typed) == code


def test_look_alikes_are_kept_when_the_alphabet_has_the_letter() -> None:
    fmt = CodeFormat(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUV")  # has I, L and O
    code = next(c for c in generate_codes(500, fmt, rng=seeded_rng(5)) if "O" in c)
    assert normalize_code(code.lower(), fmt) == code  # "o" stays the letter O


def test_the_prefix_is_accepted_in_any_case_with_or_without_a_dash() -> None:
    fmt = CodeFormat(prefix="RK")
    code = generate_code(fmt, rng=seeded_rng(9))
    body = code[2:]
    for typed in (code, code.lower(), f"rk-{body}", f"Rk {body.lower()}", fmt.display(code)):
        assert normalize_code(typed, fmt) == code


def test_a_missing_or_wrong_prefix_is_bad_prefix() -> None:
    fmt = CodeFormat(prefix="RK")
    code = generate_code(fmt, rng=seeded_rng(9))
    for typed in (code[2:], "XY" + code[2:], "R" + code[2:]):
        with pytest.raises(InvalidCode) as err:
            normalize_code(typed, fmt)
        assert err.value.reason == "bad_prefix"
        assert "start with RK" in str(err.value)


@given(formats_and_codes(), st.data())
def test_every_typed_form_normalises_to_the_same_code(
    fmt_code: tuple[CodeFormat, str], data: st.DataObject
) -> None:
    fmt, code = fmt_code
    typed = data.draw(typed_forms(code, fmt))
    assert normalize_code(typed, fmt) == code


@given(formats_and_codes())
def test_display_then_normalise_gives_the_code_back(fmt_code: tuple[CodeFormat, str]) -> None:
    fmt, code = fmt_code
    assert normalize_code(fmt.display(code), fmt) == code
    assert normalize_code(fmt.display(code).lower(), fmt) == code


@given(code_formats(), any_text)
@example(DEFAULT_FORMAT, "oooooooo")
def test_normalisation_is_idempotent(fmt: CodeFormat, text: str) -> None:
    try:
        once = normalize_code(text, fmt)
    except InvalidCode:
        return
    assert normalize_code(once, fmt) == once
    assert is_valid_code(once, fmt)


REASONS = {"empty", "too_long", "bad_character", "wrong_length", "bad_check", "bad_prefix"}


def assert_only_invalid_code(text: object, fmt: CodeFormat | None = None) -> None:
    error: InvalidCode | None = None
    try:
        result = normalize_code(text, fmt)  # type: ignore[arg-type]
    except InvalidCode as err:
        error = err
    else:
        assert isinstance(result, str)
        return
    assert isinstance(error, ReferralError)
    assert error.reason in REASONS
    assert error.value is text
    str(error).encode("utf-8")  # messages are safe to log and show


@given(any_text)
def test_random_unicode_only_ever_raises_invalid_code(text: str) -> None:
    assert_only_invalid_code(text)
    assert_only_invalid_code(text, CodeFormat(prefix="RK", length=10))


@given(st.text(alphabet=CROCKFORD + "ilouILOU-_ \t", max_size=40))
def test_random_code_like_text_only_ever_raises_invalid_code(text: str) -> None:
    assert_only_invalid_code(text)


@given(st.binary(max_size=40))
def test_random_bytes_decoded_any_way_only_ever_raise_invalid_code(raw: bytes) -> None:
    assert_only_invalid_code(raw)
    assert_only_invalid_code(raw.decode("latin-1"))
    assert_only_invalid_code(raw.decode("utf-8", errors="surrogateescape"))


@pytest.mark.parametrize(
    "nasty",
    [
        "\x00" * 8,
        "6XG5QA5N\x00",
        "\ud800\udc00" * 4,
        "\udfff6XG5QA5N",
        "6\u0301XG5QA5N",  # combining acute accent
        "\u202e6XG5QA5N",  # right-to-left override
        fullwidth("6XG5QA5X"),  # a wrong check
        "\ufdfa" * 8,  # expands to 18 characters under NFKC
        math_bold(CODE),  # NFKC folds to ASCII
        "🙂" * 8,
        "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667",  # Arabic-Indic digits
        "ß" * 8,
        "x" * 10_000_000,
        "6XG5QA5N" * 4 + "-" * 16,
        "-" * 48,
        b"6XG5QA5N",
        None,
        42,
        ["6XG5QA5N"],
        8.0,
    ],
)
def test_hostile_input_only_ever_raises_invalid_code(nasty: object) -> None:
    assert_only_invalid_code(nasty)


def test_mathematical_letters_fold_to_the_code_they_look_like() -> None:
    assert normalize_code(math_bold(CODE)) == CODE


def test_huge_input_is_refused_before_any_work_is_done() -> None:
    class Tripwire(str):
        __slots__ = ()

        def translate(self, *args: object) -> str:
            raise AssertionError("normalised a huge string")

    with pytest.raises(InvalidCode) as err:
        normalize_code(Tripwire("6XG5QA5N" * 10))
    assert err.value.reason == "too_long"


def test_input_up_to_four_times_the_length_plus_sixteen_is_read() -> None:
    padded = " " * (4 * 8 + 16 - 8) + CODE
    assert normalize_code(padded) == CODE
    with pytest.raises(InvalidCode, match="too long"):
        normalize_code(" " + padded)


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("", "empty", "enter a code"),
        ("  - - ", "empty", "enter a code"),
        (None, "empty", "enter a code"),
        ("x" * 100, "too_long", "too long"),
        ("6XG5-QA5U", "bad_character", "'U' cannot be part of a code"),
        ("6XG5-QA5!", "bad_character", "'!' cannot be part of a code"),
        ("6XG5-QA5é", "bad_character", "latin small letter e with acute"),
        ("6XG5\x00QA5N", "bad_character", "cannot be part of a code"),
        (12345678, "bad_character", "must be text"),
        ("6XG5QA5", "wrong_length", "A code has 8 characters"),
        ("6XG5QA5NN", "wrong_length", "this one has 9"),
        ("6XG5QA5P", "bad_check", "typo"),
        ("6XGQ5A5N", "bad_check", "typo"),
    ],
)
def test_each_kind_of_mistake_has_its_reason_and_a_message_to_show(
    text: object, reason: str, words: str
) -> None:
    with pytest.raises(InvalidCode) as err:
        normalize_code(text)  # type: ignore[arg-type]
    assert err.value.reason == reason
    assert words in str(err.value)
    assert err.value.value is text


def test_codes_without_a_check_are_validated_by_length_and_alphabet_only() -> None:
    fmt = CodeFormat(check=False, length=7)
    assert normalize_code("6xg5-qa5", fmt) == "6XG5QA5"
    with pytest.raises(InvalidCode, match="has 7 characters"):
        normalize_code("6XG5QA5N", fmt)


def test_is_valid_code_says_yes_or_no_and_never_raises() -> None:
    assert is_valid_code(CODE)
    assert is_valid_code(" 6xg5-qa5n ")
    assert not is_valid_code("6XG5QA5P")
    assert not is_valid_code(None)  # type: ignore[arg-type]
    assert not is_valid_code("\ud800" * 3)


@settings(max_examples=20)
@given(st.integers())
def test_normalisation_accepts_only_codes_with_a_matching_check(seed: int) -> None:
    """About 1 in 32 random 8-character strings passes the check, as it should."""
    rng = seeded_rng(seed)
    candidates = generate_codes(3200, CodeFormat(length=8, check=False), rng=rng)
    valid = sum(is_valid_code(c) for c in candidates)
    assert 40 < valid < 180
