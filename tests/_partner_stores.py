"""The stores partner programmes run on: those with the `PARTNERS` capability (memory, SQLite).

`SQLAlchemyStore` does not implement `PartnerRepository` yet, so the partner tests import
this ``store`` fixture (``partner_store``) in place of the shared one; ``test_partners.py``
pins that `SQLAlchemyStore` says what it lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from referralkit.protocols import Store
from referralkit.storage import MemoryStore, SQLiteStore

_STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda _: MemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(tmp / "store.db"),
    "sqlite-memory": lambda _: SQLiteStore(":memory:"),
}


@pytest.fixture(
    name="store",
    params=[
        pytest.param("memory", marks=pytest.mark.memory),
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("sqlite-memory", marks=pytest.mark.sqlite),
    ],
)
def partner_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty built-in store that has partner programmes."""
    opened = _STORES[request.param](tmp_path)
    yield opened
    opened.close()
