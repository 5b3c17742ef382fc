"""The built-in stores run the programme comparison's contract a host's adapter would.

The contract drives partner programmes through the program, so it runs on the stores
whose partners have every `PARTNERS` method: memory and SQLite. `SQLAlchemyStore`'s
comparison SQL is checked on the same kind of facts, copied from SQLite, in
``test_metrics_programmes.py`` until its partners are complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from referralkit.protocols import Store
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import ProgrammeMetricsContract

_STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda _: MemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(tmp / "store.db"),
    "sqlite-memory": lambda _: SQLiteStore(":memory:"),
}


class TestBuiltinProgrammeMetrics(ProgrammeMetricsContract):
    """Memory, a SQLite file and SQLite in memory."""

    @pytest.fixture(
        params=[
            pytest.param("memory", marks=pytest.mark.memory),
            pytest.param("sqlite", marks=pytest.mark.sqlite),
            pytest.param("sqlite-memory", marks=pytest.mark.sqlite),
        ]
    )
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
        opened = _STORES[request.param](tmp_path)
        yield opened
        opened.close()
