"""``referralkit.testing`` imports on a plain install; its contract suites need pytest."""

from __future__ import annotations

import subprocess
import sys

# Runs in a fresh interpreter where pytest and hypothesis cannot be imported.
_WITHOUT_PYTEST = """
import sys
sys.modules["pytest"] = None
sys.modules["hypothesis"] = None
import referralkit.testing as testing
clock = testing.FrozenClock()
clock.advance(days=1)
print(clock().isoformat())
assert "referralkit.testing._store_contract" not in sys.modules
try:
    testing.StoreContract
except ImportError as exc:
    print(exc)
else:
    raise SystemExit("StoreContract imported without pytest")
"""


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def test_frozen_clock_imports_without_pytest_and_the_contracts_say_what_they_need() -> None:
    out = _run(_WITHOUT_PYTEST).splitlines()
    assert out[0] == "2026-01-02T12:00:00+00:00"
    assert out[1] == (
        "referralkit.testing.StoreContract needs pytest and hypothesis:"
        " pip install 'referralkit[test]'"
    )


def test_the_contract_suites_load_on_first_use_and_stay() -> None:
    from referralkit import testing
    from referralkit.testing._store_contract import StoreContract

    assert testing.StoreContract is StoreContract
    assert "StoreContract" in vars(testing)  # kept after the first use
    assert set(testing.__all__) <= set(dir(testing))


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    from referralkit import testing

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        testing.Nope  # type: ignore[attr-defined] # noqa: B018 - the lookup is the point
