"""The stores partner payouts run on: those with `PARTNER_PAYOUTS` (memory, SQLite).

`SQLAlchemyStore` keeps partner programmes without payouts until its partners implement
`PartnerPayoutRepository` too: the payout tests import this ``store`` fixture
(``payout_store``) in place of the shared one.
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
def payout_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty built-in store whose partners can be paid through a provider."""
    opened = _STORES[request.param](tmp_path)
    yield opened
    opened.close()
