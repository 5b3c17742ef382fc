"""The public surface is pinned: adding a name is a choice, removing one is a break."""

from __future__ import annotations

import importlib

import pytest

import referralkit as rk

CONTRACT = {
    # Names the design's public API contract promises (add, never rename).
    "ReferralProgram",
    "Money",
    "Identity",
    "CodeFormat",
    "generate_code",
    "generate_codes",
    "normalize_code",
    "build_link",
    "parse_link",
    "share_links",
    "LinkPayload",
    "ReferralError",
    "InvalidCode",
    "UnknownCode",
    "CodeExpired",
    "InvalidLink",
    "ConfigError",
    "CurrencyMismatch",
    "StorageError",
    "Referral",
    "Reward",
    "ReferralCode",
    "Conversion",
    "Event",
}


def test_every_contract_name_is_exported() -> None:
    missing = CONTRACT - set(rk.__all__)
    assert not missing


@pytest.mark.parametrize(
    "module",
    [
        "referralkit",
        "referralkit.storage",
        "referralkit.policies",
        "referralkit.guards",
        "referralkit.testing",
        "referralkit.codes",
        "referralkit.links",
        "referralkit.errors",
        "referralkit.config",
        "referralkit.registry",
        "referralkit.metrics",
    ],
)
def test_all_lists_only_names_that_exist_and_is_sorted_uniquely(module: str) -> None:
    mod = importlib.import_module(module)
    names = list(mod.__all__)
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(mod, name), f"{module}.{name}"


def test_storage_exports_the_contract_adapters() -> None:
    from referralkit import storage

    assert {"MemoryStore", "SQLiteStore", "Store"} <= set(storage.__all__)


def test_every_error_is_a_referral_error_and_carries_a_value() -> None:
    from referralkit import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, rk.ReferralError)
        err = cls("message", value=42)
        assert err.value == 42
        assert str(err) == "message"


def test_errors_survive_pickling_for_worker_processes() -> None:
    import pickle

    err = rk.InvalidCode("bad", value="X", reason="bad_check")
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), back.value, back.reason, str(back)) == (
        rk.InvalidCode,
        "X",
        "bad_check",
        "bad",
    )


def test_version_comes_from_installed_metadata() -> None:
    from importlib.metadata import version

    assert rk.__version__ == version("referralkit")


def test_the_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("referralkit").joinpath("py.typed").is_file()
