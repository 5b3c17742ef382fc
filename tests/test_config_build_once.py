"""Loading a configuration and starting its program builds every policy and guard once."""

from __future__ import annotations

import copy
import pickle
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import referralkit as rk
from referralkit.config import ProgramConfig, program_kwargs
from referralkit.context import Verdict
from referralkit.policies import Fixed
from referralkit.registry import (
    register_guard,
    register_policy,
    unregister_guard,
    unregister_policy,
)
from referralkit.storage import MemoryStore

SECRET = b"build-once-secret-0123456789abcdef"

#: How many times each counting factory has been called, by the label it was given.
BUILT: Counter[str] = Counter()


def counted_policy(label: str, points: int = 1) -> rk.RewardPolicy:
    """A plugin policy factory that counts its calls."""
    BUILT[f"policy {label}"] += 1
    return Fixed(points)


class CountedGuard:
    """A plugin guard that counts how many times it is built."""

    name = "counted_guard"

    def __init__(self, label: str) -> None:
        BUILT[f"guard {label}"] += 1

    def check(self, context: rk.GuardContext) -> Verdict:
        return Verdict.allow()


@pytest.fixture(autouse=True)
def counting() -> Iterator[None]:
    BUILT.clear()
    register_policy("tests.counted", counted_policy)
    register_guard("tests.counted_guard", CountedGuard)
    yield
    unregister_policy("tests.counted")
    unregister_guard("tests.counted_guard")


def built() -> Counter[str]:
    """How many times each counting factory has been called so far."""
    return Counter(BUILT)


def each(times: int) -> Counter[str]:
    """Every counting factory of `CONFIG`, called ``times`` times."""
    return Counter(dict.fromkeys(EVERY, times))


def counted(label: str, points: int = 1) -> dict[str, Any]:
    return {"policy": "tests.counted", "label": label, "points": points}


CONFIG = {
    "policy": {
        "policy": "double_sided",
        "referrer": {"policy": "all_of", "policies": [counted("referrer"), counted("bonus", 2)]},
        "referee": counted("referee", 3),
    },
    "campaigns": [{"name": "spring", "policy": counted("spring", 4)}],
    "terms": [counted("old terms", 5)],
    "guards": [
        {"guard": "tests.counted_guard", "label": "first"},
        {"guard": "tests.counted_guard", "label": "second"},
    ],
}
EVERY = [
    "policy referrer",
    "policy bonus",
    "policy referee",
    "policy spring",
    "policy old terms",
    "guard first",
    "guard second",
]


def test_from_config_builds_each_policy_and_guard_once() -> None:
    program = rk.ReferralProgram.from_config(CONFIG, store=MemoryStore(), secret=SECRET)
    assert built() == each(1)
    assert [g.name for g in program.guards] == ["counted_guard", "counted_guard"]


def test_every_program_started_from_a_dict_is_built_once() -> None:
    for started in (1, 2, 3):
        rk.ReferralProgram.from_config(CONFIG, store=MemoryStore(), secret=SECRET)
        assert built() == each(started)


def test_a_loaded_configuration_hands_what_it_built_to_one_program() -> None:
    """The first program gets the loading's objects; a second one gets its own."""
    config = ProgramConfig.from_dict(CONFIG)
    assert built() == each(1)
    first = rk.ReferralProgram.from_config(config, store=MemoryStore(), secret=SECRET)
    assert built() == each(1)
    second = rk.ReferralProgram.from_config(config, store=MemoryStore(), secret=SECRET)
    assert built() == each(2)
    assert first.guards[0] is not second.guards[0]
    assert first.policy == second.policy


def test_program_kwargs_after_the_check_are_what_it_built() -> None:
    config = ProgramConfig.from_dict(CONFIG)
    kept = program_kwargs(config)
    assert built() == each(1)
    again = program_kwargs(config)
    assert built() == each(2)
    assert [type(g) for g in again.pop("guards")] == [type(g) for g in kept.pop("guards")]
    assert again == kept


def test_what_was_built_is_not_part_of_the_configuration() -> None:
    """Equality, copies and pickles ignore what the check kept."""
    checked = ProgramConfig.from_dict(CONFIG)
    unchecked = ProgramConfig.model_validate(CONFIG)
    assert checked == unchecked
    assert pickle.loads(pickle.dumps(checked)) == checked
    assert copy.deepcopy(checked) == checked
    assert checked.to_dict() == unchecked.to_dict()
    program_kwargs(checked)
    assert checked == unchecked
