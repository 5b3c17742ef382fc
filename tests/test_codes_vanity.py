"""Vanity codes: hand-chosen, upper-cased, checked against a blocklist, never generated."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referralkit.codes import DEFAULT_VANITY_BLOCKLIST, is_valid_code, validate_vanity
from referralkit.errors import ConfigError, InvalidCode
from strategies import any_text

VANITY = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)*")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ANNA10", "ANNA10"),
        ("anna10", "ANNA10"),
        ("  Anna10\t", "ANNA10"),
        ("spring-sale", "SPRING-SALE"),
    ],
)
def test_vanity_code_is_trimmed_and_upper_cased(typed: str, canonical: str) -> None:
    assert validate_vanity(typed) == canonical


def test_dashes_are_kept_so_dashed_and_undashed_codes_differ() -> None:
    assert validate_vanity("SPRING-SALE") != validate_vanity("SPRINGSALE")


@pytest.mark.parametrize(
    "typed",
    [
        "-ANNA10",
        "ANNA10-",
        "ANNA--10",
        "ANNA 10",
        "ANNA_10",
        "ANNA!",
        "ÄNNA10",
        "ANNA\x0010",
        "ANNA🙂",
    ],
)
def test_characters_outside_letters_digits_and_inner_dashes_are_bad_characters(typed: str) -> None:
    with pytest.raises(InvalidCode) as err:
        validate_vanity(typed)
    assert err.value.reason == "bad_character"
    str(err.value).encode("utf-8")


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_missing_vanity_code_is_empty(typed: str | None) -> None:
    with pytest.raises(InvalidCode) as err:
        validate_vanity(typed)  # type: ignore[arg-type]
    assert err.value.reason == "empty"


def test_length_is_bounded_and_the_bounds_are_options() -> None:
    with pytest.raises(InvalidCode, match="4 to 20 characters") as err:
        validate_vanity("ANN")
    assert err.value.reason == "wrong_length"
    with pytest.raises(InvalidCode) as err:
        validate_vanity("A" * 21)
    assert err.value.reason == "wrong_length"
    assert validate_vanity("ANN", min_length=3) == "ANN"
    assert validate_vanity("A" * 30, max_length=30) == "A" * 30


def test_huge_input_is_refused_as_wrong_length_before_any_work() -> None:
    with pytest.raises(InvalidCode) as err:
        validate_vanity("A" * 10_000_000)
    assert err.value.reason == "wrong_length"


@pytest.mark.parametrize(
    "typed",
    [
        "ADMIN",
        "superadmin1",
        "AD-MIN",
        "ADM1N",
        "T3ST-CODE",
        "support24",
        "NULL",
        "REFERRAL2024",
        "SH1T",
        "5LUT",
        "S1UT",  # 1 is read as L too
        "FUCK0FF",
        "NAZ1",
    ],
)
def test_reserved_and_offensive_words_are_blocked_through_look_alikes(typed: str) -> None:
    with pytest.raises(InvalidCode) as err:
        validate_vanity(typed)
    assert err.value.reason == "blocked"


def test_the_default_blocklist_is_upper_case_words() -> None:
    assert {"ADMIN", "TEST", "NULL", "SUPPORT", "REFERRAL"} <= DEFAULT_VANITY_BLOCKLIST
    assert all(VANITY.fullmatch(word) for word in DEFAULT_VANITY_BLOCKLIST)


def test_blocklist_adds_words_to_the_defaults_case_insensitively() -> None:
    assert validate_vanity("ACME10") == "ACME10"
    with pytest.raises(InvalidCode, match="not available"):
        validate_vanity("ACME10", blocklist=["acme"])
    with pytest.raises(InvalidCode):
        validate_vanity("ADMIN", blocklist=["acme"])
    with pytest.raises(InvalidCode):
        validate_vanity("AC-M3", blocklist=["Acme"])


def test_the_defaults_can_be_replaced() -> None:
    assert validate_vanity("TESTER", use_default_blocklist=False) == "TESTER"
    with pytest.raises(InvalidCode):
        validate_vanity("ACME10", blocklist=["ACME"], use_default_blocklist=False)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"blocklist": "ACME"}, "blocklist"),
        ({"blocklist": [""]}, "blocklist"),
        ({"blocklist": [3]}, "blocklist"),
        ({"min_length": 0}, "min_length"),
        ({"max_length": 65}, "max_length"),
        ({"min_length": 10, "max_length": 5}, "min_length"),
        ({"min_length": True}, "min_length"),
    ],
)
def test_invalid_vanity_options_are_config_errors(kwargs: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_vanity("ANNA10", **kwargs)  # type: ignore[arg-type]
    assert err.value.path == path


def test_vanity_codes_carry_no_check_and_are_not_generated_codes() -> None:
    assert not is_valid_code("ANNA10")
    assert validate_vanity("ANNA10") == "ANNA10"


@given(any_text)
def test_any_text_is_either_a_vanity_code_or_invalid_code(text: str) -> None:
    try:
        code = validate_vanity(text)
    except InvalidCode as err:
        reason, message = err.reason, str(err)
    else:
        assert VANITY.fullmatch(code)
        assert validate_vanity(code) == code
        return
    assert reason in {"empty", "bad_character", "wrong_length", "blocked"}
    message.encode("utf-8")


vanity_codes = (
    st.lists(
        st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=6),
        min_size=1,
        max_size=3,
    )
    .map("-".join)
    .filter(lambda s: 4 <= len(s) <= 20)
)


@given(vanity_codes)
def test_accepted_vanity_codes_are_idempotent(text: str) -> None:
    try:
        code = validate_vanity(text.lower())
    except InvalidCode as err:
        reason = err.reason
    else:
        assert code == text
        assert validate_vanity(code) == code
        return
    assert reason == "blocked"
