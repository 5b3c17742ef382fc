"""The built-in adapters run the very same contract suite a host's adapter would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from referralkit.protocols import Store
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import StoreContract


@pytest.mark.memory
class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()


@pytest.mark.sqlite
class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        s = SQLiteStore(tmp_path / "contract.db")
        yield s
        s.close()


@pytest.mark.sqlite
class TestSQLiteInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        s = SQLiteStore(":memory:")
        yield s
        s.close()
