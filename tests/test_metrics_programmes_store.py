"""The built-in stores run the programme comparison's contract a host's adapter would.

The contract drives partner programmes through the program, so it runs on every store
with partner programmes: all the built-in ones (memory, SQLite, `SQLAlchemyStore` on
SQLite and on PostgreSQL: the shared ``store`` fixture's params).
"""

from __future__ import annotations

import pytest

from _partner_stores import partner_store  # noqa: F401 - the `store` fixture: stores with partners
from referralkit.protocols import Store
from referralkit.testing import ProgrammeMetricsContract


class TestBuiltinProgrammeMetrics(ProgrammeMetricsContract):
    """Every built-in store (memory, SQLite, SQLAlchemy on SQLite and PostgreSQL)."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
