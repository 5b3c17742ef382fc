"""Hostile input to referralkit.codes: every public function refuses junk with a ReferralError.

The table below feeds every name of ``referralkit.codes.__all__`` that can be called; a
new public function that is not fed here fails `test_every_public_name_is_fed`.
"""

from __future__ import annotations

import contextlib
import inspect
import random
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit.codes
from referralkit.cli import main
from referralkit.codes import (
    DEFAULT_FORMAT,
    CodeFormat,
    code_key,
    generate_code,
    generate_codes,
    guess_probability,
    is_valid_code,
    normalize_code,
    validate_vanity,
    vanity_key,
)
from referralkit.errors import ConfigError, InvalidCode, InvalidInput, ReferralError
from strategies import any_text, junk_values, unencodable_text

_BUDGET = 1 << 16


def _bounded_rng(nbytes: int) -> bytes:
    """Random bytes for small requests; a test-sized budget keeps junk counts cheap."""
    if nbytes > _BUDGET:
        msg = "the test's randomness budget"
        raise RuntimeError(msg)
    return random.Random(nbytes).randbytes(nbytes)


#: Each callable of the public surface, with valid arguments that junk then replaces.
FED: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "CodeFormat": (CodeFormat, {}),
    "CodeFormat.display": (DEFAULT_FORMAT.display, {"code": "K3J9-2QWX"}),
    "generate_code": (generate_code, {"rng": _bounded_rng}),
    "generate_codes": (generate_codes, {"n": 3, "rng": _bounded_rng}),
    "guess_probability": (guess_probability, {"issued": 10}),
    "is_valid_code": (is_valid_code, {"text": "K3J9-2QWX"}),
    "normalize_code": (normalize_code, {"text": "K3J9-2QWX"}),
    "validate_vanity": (validate_vanity, {"text": "ANNA10"}),
    "code_key": (code_key, {"code": "ANNA-10"}),
    "vanity_key": (vanity_key, {"text": "anna 10"}),
}
#: Public names that are data, not functions.
CONSTANTS = {"CROCKFORD", "DEFAULT_FORMAT", "DEFAULT_VANITY_BLOCKLIST", "Rng"}


def test_every_public_name_is_fed() -> None:
    """A public function or class added to ``__all__`` must be added to `FED`."""
    public = set(referralkit.codes.__all__)
    fed = {name.split(".")[0] for name in FED}
    assert public == fed | CONSTANTS
    assert not fed & CONSTANTS
    for name in CONSTANTS:
        obj = getattr(referralkit.codes, name)
        assert not inspect.isfunction(obj)
        assert not inspect.isclass(obj)
    methods = {
        f"CodeFormat.{n}"
        for n, v in vars(CodeFormat).items()
        if not n.startswith("_") and inspect.isfunction(v)
    }
    assert methods <= set(FED)


#: Values that are almost right: the shapes a careless caller passes.
near_misses = st.one_of(
    st.sampled_from([0, -1, 1, 2**63, 10**12, 1e-4, 0.5, 1.0, 2.0, "", "8", "RK", "ß"]),
    st.sampled_from([[], ["ANNA10"], ("X",), {"A": 1}, b"RK", DEFAULT_FORMAT]),
)


@pytest.mark.parametrize("name", sorted(FED))
@given(data=st.data())
def test_junk_arguments_raise_only_referral_errors(name: str, data: st.DataObject) -> None:
    func, valid = FED[name]
    params = [p.name for p in inspect.signature(func).parameters.values()]
    junked = data.draw(st.sets(st.sampled_from(params), min_size=1), label="junked")
    kwargs = dict(valid)
    for param in junked:
        kwargs[param] = data.draw(junk_values | near_misses, label=param)
    with contextlib.suppress(ReferralError):
        func(**kwargs)


@pytest.mark.parametrize(
    ("call", "error", "where"),
    [
        (lambda: generate_code(1), ConfigError, "fmt"),
        (lambda: generate_codes(2, "RK"), ConfigError, "fmt"),
        (lambda: guess_probability(1, 1000), ConfigError, "fmt"),
        (lambda: normalize_code("K3J9-2QWX", 1), ConfigError, "fmt"),
        (lambda: is_valid_code("K3J9-2QWX", object()), ConfigError, "fmt"),
        (lambda: generate_code(rng=5), ConfigError, "rng"),
        (lambda: generate_codes(3, rng=str.upper), ConfigError, "rng"),
        (lambda: generate_codes(3, exclude=5), InvalidInput, "exclude"),
        (lambda: generate_codes(3, exclude="K3J92QWX"), InvalidInput, "exclude"),
        (
            lambda: generate_codes(3, max_guess_probability="x"),
            InvalidInput,
            "max_guess_probability",
        ),
        (
            lambda: generate_codes(3, max_guess_probability=float("nan")),
            InvalidInput,
            "max_guess_probability",
        ),
        (lambda: generate_codes(10**18, max_guess_probability=1), InvalidInput, "n"),
        (lambda: validate_vanity("ANNA10", blocklist=5), ConfigError, "blocklist"),
        (
            lambda: validate_vanity("ANNA10", use_default_blocklist="no"),
            ConfigError,
            "use_default_blocklist",
        ),
    ],
)
def test_wrong_types_name_the_argument(
    call: Callable[[], object], error: type[ReferralError], where: str
) -> None:
    with pytest.raises(error) as err:
        call()
    assert where == (err.value.path if isinstance(err.value, ConfigError) else err.value.field)


def _broken_rng(nbytes: int) -> bytes:
    msg = f"no entropy for {nbytes} bytes"
    raise RuntimeError(msg)


def test_a_failing_rng_is_a_config_error_with_its_cause() -> None:
    with pytest.raises(ConfigError) as err:
        generate_codes(3, rng=_broken_rng)
    assert err.value.path == "rng"
    assert isinstance(err.value.__cause__, RuntimeError)


def test_guessing_with_more_attempts_than_a_float_holds_is_certain() -> None:
    assert guess_probability(1, attempts=10**400) == 1.0
    assert guess_probability(0, attempts=10**400) == 0.0


@pytest.mark.parametrize(
    ("prefix", "becomes"),
    [("ß", "SS"), ("\ufb01", "FI"), ("\uff32\uff2b", "R"), ("\u0131", "I"), ("\u017f", "S")],
)
def test_a_prefix_that_changes_when_upper_cased_or_normalised_is_refused(
    prefix: str, becomes: str
) -> None:
    with pytest.raises(ConfigError, match="changes when upper-cased or normalised") as err:
        CodeFormat(prefix=prefix)
    assert err.value.path == "prefix"
    assert repr(becomes) in str(err.value)


@given(st.one_of(any_text, unencodable_text).map(lambda t: t[:16]))
def test_an_accepted_prefix_is_its_own_upper_case_and_normal_form(prefix: str) -> None:
    try:
        fmt = CodeFormat(prefix=prefix)
    except ConfigError as err:
        assert err.path == "prefix"  # noqa: PT017 - the path of whatever was refused
        return
    assert fmt.prefix == prefix == prefix.upper() == unicodedata.normalize("NFKC", prefix)


def test_the_codes_command_refuses_a_prefix_it_would_print_as_another(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``referralkit codes 3 --prefix ß`` used to print codes prefixed ``SS``."""
    assert main(["codes", "3", "--prefix", "ß"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "prefix" in captured.err
    assert main(["codes", "1", "--prefix", "rk"]) == 0
    assert capsys.readouterr().out.startswith("RK")


@given(st.integers(0, 40), junk_values)
def test_junk_in_exclude_is_never_mistaken_for_an_issued_code(n: int, item: object) -> None:
    codes = generate_codes(n, exclude=[item], rng=_bounded_rng)
    assert len(set(codes)) == n
    assert all(is_valid_code(code) for code in codes)


def test_an_invalid_code_in_a_junk_call_is_still_an_invalid_code() -> None:
    with pytest.raises(InvalidCode):
        normalize_code("\ud800", DEFAULT_FORMAT)
