"""Hostile input to the configuration loaders: a `ConfigError`, never TypeError or RecursionError.

Text and data nesting deeper than `MAX_DEPTH` levels are refused before a parser or a
validator recurses into them, at every loader, in `build_policy` and on the command line.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.cli import main
from referralkit.config import ProgramConfig, build_guards, build_policy
from referralkit.config._nesting import MAX_DEPTH, check_data_depth, check_text_depth
from referralkit.storage import MemoryStore
from strategies import junk_values

_FIXED = {"policy": "fixed", "amount": "10 USD"}

_LOADERS: dict[str, Callable[[Any], object]] = {
    "from_dict": ProgramConfig.from_dict,
    "from_json": ProgramConfig.from_json,
    "from_toml": ProgramConfig.from_toml,
    "load": ProgramConfig.load,
    "build_policy": build_policy,
    "build_guards": build_guards,
}


@pytest.mark.parametrize(
    ("loader", "value"),
    [
        ("from_json", None),
        ("from_json", 12),
        ("from_json", b"\xff\xfe\xff"),
        ("from_json", "1" * 5000),
        ("from_toml", None),
        ("from_toml", b"x"),
        ("from_toml", "x = " + "1" * 5000),
        ("load", None),
        ("load", b"x"),
        ("load", "a\x00b.json"),
        ("load", "\ud800.toml"),
        ("from_dict", None),
        ("build_policy", None),
        ("build_guards", None),
    ],
    ids=repr,
)
def test_a_loader_given_what_it_cannot_read_raises_a_config_error(
    loader: str, value: object
) -> None:
    with pytest.raises(rk.ConfigError):
        _LOADERS[loader](value)


@settings(max_examples=100)
@given(loader=st.sampled_from(sorted(_LOADERS)), value=junk_values)
def test_every_loader_raises_only_config_errors_on_junk(loader: str, value: object) -> None:
    with contextlib.suppress(rk.ConfigError):
        _LOADERS[loader](value)


def _deep_json(levels: int) -> str:
    return '{"policy":' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


@pytest.mark.parametrize(
    ("make", "parse"),
    [
        (_deep_json, ProgramConfig.from_json),
        (lambda n: _deep_json(n).encode(), ProgramConfig.from_json),
        (lambda n: "policy = " + "[" * (n - 1) + "]" * (n - 1), ProgramConfig.from_toml),
        (lambda n: "policy = " + "{a = " * (n - 1) + "1" + "}" * (n - 1), ProgramConfig.from_toml),
        (lambda n: "x" + ".x" * (n - 1) + " = 1", ProgramConfig.from_toml),
        (lambda n: "[x" + ".x" * (n - 1) + "]\ny = 1", ProgramConfig.from_toml),
    ],
    ids=["json", "json-bytes", "toml-arrays", "toml-tables", "toml-dotted-key", "toml-header"],
)
@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 500, 1000, 20_000])
def test_text_nested_too_deeply_is_refused_before_parsing(
    make: Callable[[int], str | bytes], parse: Callable[[Any], object], levels: int
) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        parse(make(levels))
    assert f"deeper than {MAX_DEPTH} levels" in caught.value.message


def _nested_policy(policies: int) -> dict[str, Any]:
    spec: dict[str, Any] = dict(_FIXED)
    for _ in range(policies):
        spec = {"policy": "first_order_only", "reward": spec}
    return spec


def test_a_policy_nested_within_the_bound_loads_from_every_form() -> None:
    """62 policies one inside the other (64 levels with the root) are still a program."""
    spec = _nested_policy(MAX_DEPTH - 2)
    text = json.dumps({"policy": spec})
    assert ProgramConfig.from_json(text) == ProgramConfig.from_dict({"policy": spec})
    build_policy(spec)


@pytest.mark.parametrize("policies", [MAX_DEPTH, 300, 900])
def test_data_nested_too_deeply_is_refused_with_its_path(policies: int) -> None:
    spec = _nested_policy(policies)
    for call in (
        lambda: ProgramConfig.from_dict({"policy": spec}),
        lambda: ProgramConfig.from_json(json.dumps({"policy": spec})),
        lambda: build_policy(spec),
        lambda: rk.ReferralProgram.from_config(
            {"policy": spec}, store=MemoryStore(), secret=b"s" * 32
        ),
    ):
        with pytest.raises(rk.ConfigError) as caught:
            call()
        assert f"deeper than {MAX_DEPTH} levels" in caught.value.message


def test_data_that_contains_itself_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(rk.ConfigError) as caught:
        ProgramConfig.from_dict({"policy": {"policy": "fixed", "amount": loop}})
    assert caught.value.path is not None
    assert caught.value.path.startswith("policy.amount.0.0")
    with pytest.raises(rk.ConfigError):
        build_guards([{"guard": "velocity", "limit": loop}])


#: Nested JSON data: objects and arrays whose strings hold brackets and quotes too.
_json_data = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab\n', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"ab', max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@given(data=_json_data, wrap=st.integers(0, MAX_DEPTH + 2))
def test_the_text_check_counts_json_nesting_exactly(data: object, wrap: int) -> None:
    """Brackets inside strings never count; the check refuses exactly what is too deep."""
    for _ in range(wrap):
        data = [data]
    text = json.dumps(data)
    too_deep = _depth(data) > MAX_DEPTH
    for check in (lambda: check_text_depth(text, "json"), lambda: check_data_depth(data)):
        if too_deep:
            with pytest.raises(rk.ConfigError):
                check()
        else:
            check()


def test_brackets_in_toml_strings_and_comments_do_not_count() -> None:
    text = (
        "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
        'name = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n'
        "other = '{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{'\n"
        'long = """\n' + "[" * 100 + '\n"""\n'
        "dots = '" + "." * 100 + "'\n"
    )
    check_text_depth(text, "toml")


def test_simulate_with_a_deeply_nested_config_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(_deep_json(1000))
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("policy = " + "[" * 500 + "]" * 500)
    for path in (deep, deep_toml):
        capsys.readouterr()
        assert main(["simulate", "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("referralkit: ")
        assert "deeper than" in err
        assert "Traceback" not in err
