"""Shared test settings and the one ``store`` fixture every store-backed test runs on.

Hypothesis: a fast profile for local runs, a thorough one for CI. ``store``: every
built-in adapter, each param carrying its marker, so ``pytest -m sqlite`` runs every
store-backed test on SQLite and ``pytest -m memory`` on the memory store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from referralkit.protocols import Store
from referralkit.storage import MemoryStore, SQLiteStore

pytest_plugins = ["pytester"]

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("fast", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _memory(tmp_path: Path) -> Store:
    return MemoryStore()


def _sqlite_file(tmp_path: Path) -> Store:
    return SQLiteStore(tmp_path / "store.db")


def _sqlite_in_memory(tmp_path: Path) -> Store:
    return SQLiteStore(":memory:")


@pytest.fixture(
    params=[
        pytest.param(_memory, marks=pytest.mark.memory, id="memory"),
        pytest.param(_sqlite_file, marks=pytest.mark.sqlite, id="sqlite"),
        pytest.param(_sqlite_in_memory, marks=pytest.mark.sqlite, id="sqlite-memory"),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty built-in store: memory, a SQLite file, SQLite ``:memory:``."""
    open_store: Callable[[Path], Store] = request.param
    opened = open_store(tmp_path)
    yield opened
    opened.close()
