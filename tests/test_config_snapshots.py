"""Snapshots of what `ProgramConfig` shows the world: its JSON Schema, and every refusal.

Two committed files in ``tests/snapshots/`` pin today's behaviour exactly:

- ``program_config.schema.json``: the text `write_json_schema` writes;
- ``config_errors.json``: for a table of inputs generated from the fields of every
  built-in policy and of the program, what loading them does: the error's class, its
  ``.path`` and its message, or (for inputs that are accepted) what was accepted.

Any drift fails. To change a snapshot on purpose, regenerate it and review the diff::

    REFERRALKIT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_config_snapshots.py

The variable is off by default; with it set, the tests rewrite the files and pass.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from referralkit.config import ProgramConfig, build_guards, build_policy, write_json_schema
from referralkit.registry import POLICY_REGISTRY

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("REFERRALKIT_UPDATE_SNAPSHOTS") == "1"


def _check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"no snapshot {name}: run with REFERRALKIT_UPDATE_SNAPSHOTS=1"
    expected = path.read_text(encoding="utf-8")
    if name.endswith(".json") and text != expected:
        # A readable diff first (pytest compares the parsed data item by item).
        assert json.loads(text) == json.loads(expected)
    assert text == expected


# -- the JSON Schema -------------------------------------------------------------------------


def test_the_json_schema_is_the_snapshot() -> None:
    """The exported JSON Schema, byte for byte."""
    _check_snapshot("program_config.schema.json", write_json_schema())


# -- inputs ----------------------------------------------------------------------------------

LEAF = {"policy": "fixed", "points": 1}
LEAF_2 = {"policy": "fixed", "points": 2}

#: A valid configuration of every built-in policy, with every field set.
VALID: dict[str, dict[str, Any]] = {
    "fixed": {"policy": "fixed", "amount": "10 USD", "kind": "cash"},
    "percent_of_order": {
        "policy": "percent_of_order",
        "rate": "5%",
        "cap": "20 USD",
        "minimum": "1 USD",
        "kind": "credit",
    },
    "double_sided": {"policy": "double_sided", "referrer": LEAF, "referee": LEAF_2},
    "tiered": {
        "policy": "tiered",
        "tiers": [{"min_referrals": 1, "reward": LEAF}, {"min_referrals": 5, "reward": LEAF_2}],
    },
    "milestone": {"policy": "milestone", "milestones": {"5": LEAF, "10": LEAF_2}},
    "recurring": {
        "policy": "recurring",
        "reward": LEAF,
        "orders": 12,
        "within": "365d",
        "months": 12,
        "timezone": "Europe/Berlin",
    },
    "first_order_only": {"policy": "first_order_only", "reward": LEAF},
    "minimum_order": {"policy": "minimum_order", "reward": LEAF, "amount": "50 USD"},
    "capped": {"policy": "capped", "reward": LEAF, "max_per_referrer": "100 USD", "window": "30d"},
    "budget": {"policy": "budget", "reward": LEAF, "total": 1000},
    "all_of": {"policy": "all_of", "policies": [LEAF, LEAF_2]},
    "first_match": {"policy": "first_match", "policies": [LEAF, LEAF_2]},
    "capped_per_period": {
        "policy": "capped_per_period",
        "reward": LEAF,
        "limit": "100 USD",
        "period": "week",
        "timezone": "Europe/Berlin",
    },
    "first_orders": {"policy": "first_orders", "reward": LEAF, "orders": 3},
    "returning_customer": {"policy": "returning_customer", "reward": LEAF},
    "per_lead": {"policy": "per_lead", "reward": LEAF},
    "order_attribute": {
        "policy": "order_attribute",
        "reward": LEAF,
        "key": "category",
        "any_of": ["shoes", "bags"],
        "none_of": ["gift-cards"],
    },
    "per_click": {"policy": "per_click", "reward": LEAF, "max_per_day": 100},
    "budget_per_period": {
        "policy": "budget_per_period",
        "reward": LEAF,
        "total": "5000 USD",
        "period": "day",
        "timezone": "America/New_York",
    },
    "volume_tiers": {
        "policy": "volume_tiers",
        "tiers": [
            {"min_revenue": "0 USD", "reward": LEAF},
            {"min_revenue": "1000 USD", "reward": LEAF_2},
        ],
        "period": "month",
        "timezone": "UTC",
    },
}

#: How each field of each built-in is written (``Fixed`` is shown with each of its values).
FIELDS: dict[str, dict[str, str]] = {
    "fixed": {"amount": "money", "points": "points", "perk": "text", "kind": "kind"},
    "percent_of_order": {"rate": "rate", "cap": "money", "minimum": "money", "kind": "kind"},
    "double_sided": {"referrer": "policy", "referee": "policy"},
    "tiered": {"tiers": "tiers"},
    "milestone": {"milestones": "milestones"},
    "recurring": {
        "reward": "policy",
        "orders": "count",
        "within": "duration",
        "months": "count",
        "timezone": "text",
    },
    "first_order_only": {"reward": "policy"},
    "minimum_order": {"reward": "policy", "amount": "money"},
    "capped": {"reward": "policy", "max_per_referrer": "limit", "window": "duration"},
    "budget": {"reward": "policy", "total": "limit"},
    "all_of": {"policies": "policies"},
    "first_match": {"policies": "policies"},
    "capped_per_period": {
        "reward": "policy",
        "limit": "limit",
        "period": "text",
        "timezone": "text",
    },
    "first_orders": {"reward": "policy", "orders": "count"},
    "returning_customer": {"reward": "policy"},
    "per_lead": {"reward": "policy"},
    "order_attribute": {"reward": "policy", "key": "text", "any_of": "texts", "none_of": "texts"},
    "per_click": {"reward": "policy", "max_per_day": "count"},
    "budget_per_period": {
        "reward": "policy",
        "total": "limit",
        "period": "text",
        "timezone": "text",
    },
    "volume_tiers": {"tiers": "tiers", "period": "text", "timezone": "text"},
}

#: Wrong values for each way of writing a field; some are accepted, and the snapshot says so.
BAD_VALUES: dict[str, list[Any]] = {
    "money": [
        10.5,
        10,
        True,
        None,
        [],
        "10",
        "USD",
        "10 XYZ",
        "10 US",
        "-1 USD",
        "10.001 USD",
        "1e3 USD",
        "ten USD",
        {"amount": "1"},
        {"amount": "1", "currency": "USD", "note": "x"},
        {"amount": 1.5, "currency": "USD"},
        {"amount": "x", "currency": "USD"},
        {"amount": "1", "currency": "ABC"},
    ],
    "rate": [0.05, True, None, [], "2", "-0.1", "x", "", "NaN", "Infinity", "101%", "5%%", 2, -1],
    "duration": [
        14,
        True,
        None,
        [],
        "-1d",
        "0s",
        "x",
        "",
        "P-1D",
        "14 days",
        "1.5d",
        "99999999999999d",
    ],
    "limit": [True, None, 10.5, -1, [], "-1 USD", "x", "10.001 USD", {"amount": "1"}, "1 ABC"],
    "points": ["5", 5.0, True, -1, [], {}],
    "count": ["5", 5.0, True, -1, 0, [], {}],
    "text": ["", "   ", 5, [], True],
    "texts": ["shoes", [""], [5], None, {}, [["a"]]],
    "kind": ["gold", "", 5, True, [], "credit", "cash", "coupon", "points", "perk"],
    "policy": [
        "fixed",
        3,
        True,
        [],
        {},
        {"policy": "nope"},
        {"policy": 3},
        {"policy": None},
        {"policy": "fixed"},
        {"policy": "fixed", "amount": "1 USD", "extra": 1},
    ],
    "policies": [
        [],
        "x",
        {},
        None,
        [3],
        ["fixed"],
        [{"policy": "fixed"}],
        [LEAF, {"policy": "nope"}],
    ],
    "tiers": [
        [],
        "x",
        {},
        None,
        [3],
        [{"min_referrals": 1}],
        [{"reward": LEAF}],
        [{"min_referrals": 1, "reward": LEAF, "extra": 1}],
        [{"min_referrals": 0, "reward": LEAF}],
        [{"min_referrals": "1", "reward": LEAF}],
        [{"min_referrals": True, "reward": LEAF}],
        [{"min_referrals": 1.0, "reward": LEAF}],
        [{"min_referrals": 1, "reward": "fixed"}],
        [{"min_referrals": 1, "reward": {"policy": "fixed"}}],
        [{"min_referrals": 5, "reward": LEAF}, {"min_referrals": 5, "reward": LEAF_2}],
        [{"min_referrals": 5, "reward": LEAF}, {"min_referrals": 2, "reward": LEAF_2}],
    ],
    "milestones": [
        {},
        [],
        "x",
        None,
        {"five": LEAF},
        {"0": LEAF},
        {"-1": LEAF},
        {"1.5": LEAF},
        {"5": "fixed"},
        {"5": {"policy": "fixed"}},
        {"5": LEAF, "05": LEAF_2},
    ],
}


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _set(data: Any, path: tuple[str | int, ...], value: object) -> Any:
    """A copy of ``data`` with ``value`` at ``path``."""
    out = copy.deepcopy(data)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


Case = tuple[str, str, Any]  # id, what is called, input


def _policy_field_cases() -> Iterator[Case]:
    """Every field of every built-in: each wrong value, left out, and an unknown key beside."""
    for name, fields in FIELDS.items():
        base = VALID[name]
        for field, form in fields.items():
            start = _without(base, "amount") if name == "fixed" and field != "amount" else base
            if name == "fixed" and field in {"points", "perk"}:
                start = _without(start, "kind")
            for value in BAD_VALUES[form]:
                yield (
                    f"{name}.{field}={_dump(value)}",
                    "from_dict",
                    {"policy": {**start, field: value}},
                )
            yield f"{name}.{field} left out", "from_dict", {"policy": _without(start, field)}
        yield f"{name} with an unknown key", "from_dict", {"policy": {**base, "colour": "red"}}
        yield f"{name} as valid", "from_dict", {"policy": base}


def _cross_field_cases() -> Iterator[Case]:
    """Rules between fields, which the policies themselves enforce."""
    money = {"policy": "fixed", "amount": "10 USD"}
    for given in (
        {},
        {"amount": "1 USD", "points": 1},
        {"amount": "1 USD", "perk": "tote"},
        {"points": 1, "perk": "tote"},
        {"amount": "1 USD", "points": 1, "perk": "tote"},
        {"amount": None, "points": None},
    ):
        yield f"fixed with {_dump(given)}", "from_dict", {"policy": {"policy": "fixed", **given}}
    for kind in ("credit", "cash", "coupon", "points", "perk"):
        yield f"fixed points of kind {kind}", "from_dict", {"policy": {**LEAF, "kind": kind}}
        perk = {"policy": "fixed", "perk": "tote", "kind": kind}
        yield f"fixed perk of kind {kind}", "from_dict", {"policy": perk}
        yield f"fixed money of kind {kind}", "from_dict", {"policy": {**money, "kind": kind}}
    percent = {"policy": "percent_of_order", "rate": "5%"}
    for extra in (
        {"cap": "5 USD", "minimum": "10 USD"},
        {"cap": "5 USD", "minimum": "5 USD"},
        {"cap": "5 USD", "minimum": "1 EUR"},
        {"cap": "0 USD"},
        {"minimum": "0 USD"},
    ):
        yield f"percent_of_order with {_dump(extra)}", "from_dict", {"policy": {**percent, **extra}}
    counting = {
        "capped": {"policy": "capped", "reward": LEAF, "max_per_referrer": 5},
        "milestone": {"policy": "milestone", "milestones": {"3": LEAF}},
        "nested capped": {"policy": "first_order_only", "reward": VALID["capped"]},
    }
    for label, policy in counting.items():
        for side in ("referrer", "referee"):
            yield (
                f"double_sided with {label} as the {side}",
                "from_dict",
                {"policy": {"policy": "double_sided", side: policy}},
            )
    yield (
        "double_sided with no side",
        "from_dict",
        {"policy": {"policy": "double_sided", "referrer": None, "referee": None}},
    )


#: Where a policy can sit, each as a function putting a policy there.
POSITIONS: dict[str, Callable[[Any], Any]] = {
    "policy": lambda p: {"policy": p},
    "policy.referrer": lambda p: {"policy": {"policy": "double_sided", "referrer": p}},
    "policy.referee": lambda p: {"policy": {"policy": "double_sided", "referee": p}},
    "policy.tiers.1.reward": lambda p: {"policy": _set(VALID["tiered"], ("tiers", 1, "reward"), p)},
    "policy.milestones.10": lambda p: {"policy": _set(VALID["milestone"], ("milestones", "10"), p)},
    "policy.reward (recurring)": lambda p: {"policy": {**VALID["recurring"], "reward": p}},
    "policy.reward (first_order_only)": lambda p: {
        "policy": {**VALID["first_order_only"], "reward": p}
    },
    "policy.reward (minimum_order)": lambda p: {"policy": {**VALID["minimum_order"], "reward": p}},
    "policy.reward (capped)": lambda p: {"policy": {**VALID["capped"], "reward": p}},
    "policy.reward (budget)": lambda p: {"policy": {**VALID["budget"], "reward": p}},
    "policy.policies.1 (all_of)": lambda p: {"policy": {**VALID["all_of"], "policies": [LEAF, p]}},
    "policy.policies.0 (first_match)": lambda p: {
        "policy": {**VALID["first_match"], "policies": [p, LEAF]}
    },
    "campaigns.0.policy": lambda p: {"policy": LEAF, "campaigns": [{"name": "a", "policy": p}]},
    "terms.1": lambda p: {"policy": LEAF, "terms": [LEAF, p]},
    "deep": lambda p: {
        "policy": LEAF,
        "campaigns": [
            {"name": "a"},
            {
                "name": "b",
                "policy": {
                    "policy": "double_sided",
                    "referrer": {
                        "policy": "tiered",
                        "tiers": [
                            {
                                "min_referrals": 1,
                                "reward": {
                                    "policy": "capped",
                                    "max_per_referrer": 10,
                                    "reward": {"policy": "all_of", "policies": [LEAF, p]},
                                },
                            }
                        ],
                    },
                },
            },
        ],
    },
}

#: Wrong policies put in every position, to pin the paths of nested errors.
NESTED_BAD = [
    {"policy": "fixed", "amount": 10.5},
    {"policy": "fixed"},
    {"policy": "fixed", "points": 1, "colour": "red"},
    {"policy": "percent_of_order", "rate": "2"},
    {"policy": "percent_of_order", "rate": "5%", "cap": "1 USD", "minimum": "2 USD"},
    {"policy": "tiered", "tiers": []},
    {
        "policy": "tiered",
        "tiers": [{"min_referrals": 2, "reward": LEAF}, VALID["tiered"]["tiers"][0]],
    },
    {"policy": "milestone", "milestones": {"0": LEAF}},
    {"policy": "nope"},
    "fixed",
    {"policy": "capped", "reward": LEAF, "max_per_referrer": True},
    {"policy": "recurring", "reward": LEAF, "within": "0s"},
    {"policy": "all_of", "policies": [LEAF, {"policy": "fixed", "perk": ""}]},
]


def _nested_cases() -> Iterator[Case]:
    for where, put in POSITIONS.items():
        for bad in NESTED_BAD:
            yield f"at {where}: {_dump(bad)}", "from_dict", put(bad)


def _program_cases() -> Iterator[Case]:
    """The program's own fields: each wrong value, and unknown keys."""
    base = {"policy": LEAF}
    program: dict[str, list[Any]] = {
        "hold": BAD_VALUES["duration"],
        "link_base": ["shop", "ftp://shop.example", "https://", "//shop.example", 5, None, []],
        "sign_links": ["y", 1, None, "true"],
        "campaign": ["", "bad name!", "-a", "a" * 65, 5, None],
        "$schema": [5, None, []],
        "schema_ref": [5, "./x.json"],
        "code_format": [
            "x",
            None,
            [],
            {"length": 3},
            {"length": "8"},
            {"length": 100},
            {"prefix": 5},
            {"prefix": "il"},
            {"check": "y"},
            {"group": "x"},
            {"group": -1},
            {"alphabet": "AAB"},
            {"alphabet": "ABCDEF", "check": True},
            {"colour": "red"},
        ],
        "attribution": [
            "x",
            None,
            {"model": "middle"},
            {"model": 5},
            {"window": "-1d"},
            {"window": "0s"},
            {"window": 5},
            {"colour": "red"},
        ],
        "terms": ["x", {}, None, [3], [{"policy": "fixed"}]],
        "guards": [
            "x",
            {},
            {"guard": "velocity"},
            [3],
            ["velocity"],
            [{"guard": "nope"}],
            [{"limit": 3}],
            [{"guard": 5}],
            [{"guard": "velocity"}],
            [{"guard": "velocity", "limit": "x", "window": "1d"}],
            [{"guard": "velocity", "limit": 0, "window": "1d"}],
            [{"guard": "velocity", "limit": 5, "window": "0s"}],
            [{"guard": "velocity", "limit": 5, "window": 3}],
            [{"guard": "velocity", "limit": 5, "window": "1d", "speed": 1}],
            [{"guard": "self_referral", "block_on": ["x"]}],
            [{"guard": "self_referral", "block_on": "email"}],
            [{"guard": "duplicate_referee", "review_on": [5]}],
            [{"guard": "disposable_email", "domains": 5}],
            [{"guard": "referral_cycle", "max_length": 0}],
            [{"guard": "shared_signals", "threshold": 0}],
            [{"guard": "shared_signals", "decision": "maybe"}],
            [{"guard": "channel_review"}],
            [{"guard": "self_referral"}, {"guard": "velocity", "limit": 5}],
        ],
        "campaigns": [
            "x",
            {},
            None,
            [3],
            [{}],
            [{"name": ""}],
            [{"name": "bad name!"}],
            [{"name": "a"}, {"name": "a"}],
            [{"name": "a"}, {"name": "b"}, {"name": "a"}],
            [{"name": "a", "start": "2026-03-01T00:00:00"}],
            [{"name": "a", "start": "x"}],
            [{"name": "a", "start": 5}],
            [{"name": "a", "end": "2026-03-01"}],
            [{"name": "a", "start": "2026-03-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}],
            [{"name": "a", "start": "2026-03-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}],
            [{"name": "a", "end": "2026-03-01T00:00:00Z"}],
            [{"name": "a", "channels": "email"}],
            [{"name": "a", "channels": ["email", "email"]}],
            [{"name": "a", "channels": ["bad channel"]}],
            [{"name": "a", "channels": [5]}],
            [{"name": "a", "policy": "fixed"}],
            [{"name": "a", "code_format": {"length": 3}}],
            [{"name": "a", "code_format": {"prefix": "il"}}],
            [{"name": "a", "link_base": "shop"}],
            [{"name": "a", "colour": "red"}],
        ],
    }
    for field, values in program.items():
        for value in values:
            yield f"program {field}={_dump(value)}", "from_dict", {**base, field: value}
    yield "program with an unknown key", "from_dict", {**base, "colour": "red"}
    yield "program with two unknown keys", "from_dict", {**base, "colour": "red", "size": 1}
    yield "program without a policy", "from_dict", {}
    yield "program with only unknown keys", "from_dict", {"colour": "red"}
    yield "program with several errors", "from_dict", {**base, "hold": 3, "sign_links": "y"}
    yield (
        "program with errors in order",
        "from_dict",
        {"policy": {"policy": "fixed"}, "hold": "x", "campaigns": [{"name": "a", "start": "x"}]},
    )
    for data in ([], "policy", None, 5):
        yield f"program as {_dump(data)}", "from_dict", data


def _direct_cases() -> Iterator[Case]:
    """`build_policy` and `build_guards` called directly, with their own paths."""
    for spec in ("fixed", None, 5, [], {}, *NESTED_BAD[:6]):
        yield f"build_policy {_dump(spec)}", "build_policy", spec
        yield f"build_policy {_dump(spec)} at terms.3", "build_policy at terms.3", spec
    for name, spec in VALID.items():
        yield f"build_policy valid {name}", "build_policy", spec
    for specs in ("x", {}, [3], [{"guard": "nope"}], [{"guard": "velocity", "limit": "x"}]):
        yield f"build_guards {_dump(specs)}", "build_guards", specs


def _cases() -> list[Case]:
    cases = [
        *_policy_field_cases(),
        *_cross_field_cases(),
        *_nested_cases(),
        *_program_cases(),
        *_direct_cases(),
    ]
    ids = [c[0] for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


_CALLS: dict[str, Callable[[Any], Any]] = {
    "from_dict": lambda data: ProgramConfig.from_dict(data).to_dict(),
    "build_policy": lambda spec: build_policy(spec).name,
    "build_policy at terms.3": lambda spec: build_policy(spec, path="terms.3").name,
    "build_guards": lambda specs: [g.name for g in build_guards(specs)],
}


def _outcome(call: str, data: Any) -> dict[str, Any]:
    try:
        accepted = _CALLS[call](data)
    except Exception as exc:  # the snapshot records whatever is raised
        return {
            "error": type(exc).__name__,
            "path": getattr(exc, "path", None),
            "message": str(exc),
        }
    return {"accepted": _dump(accepted)}


def test_the_cases_cover_every_field_of_every_builtin_policy() -> None:
    """The table is generated from the fields: a new policy or field must join it."""
    assert sorted(VALID) == POLICY_REGISTRY.builtin_names()
    defs = ProgramConfig.json_schema()["$defs"]
    for name, fields in FIELDS.items():
        (spec,) = (
            d for d in defs.values() if d["properties"].get("policy", {}).get("const") == name
        )
        assert set(spec["properties"]) - {"policy"} == set(fields), name
    assert len(_cases()) > 400


def test_every_error_path_and_message_is_the_snapshot() -> None:
    """Each input's outcome: error class, ``.path`` and message, or what was accepted."""
    records = [
        {"id": case_id, "call": call, "input": _dump(data), **_outcome(call, data)}
        for case_id, call, data in _cases()
    ]
    text = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    _check_snapshot("config_errors.json", text)
