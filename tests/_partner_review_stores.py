"""The stores partner fraud signals and reviews run on: those with `PARTNER_REVIEWS`.

Memory and SQLite (a file and ``:memory:``) implement `PartnerReviewRepository`;
`SQLAlchemyStore` gets it when its partner tables are ported, and then joins this
``store`` fixture (``partner_review_store``, imported under that name).
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
def partner_review_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty built-in store that has partner fraud signals and reviews."""
    opened = _STORES[request.param](tmp_path)
    yield opened
    opened.close()
