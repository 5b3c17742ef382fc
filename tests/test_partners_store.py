"""The built-in stores run the partner programmes contract a host's adapter would."""

from __future__ import annotations

import pytest

from _partner_stores import partner_store  # noqa: F401 - the `store` fixture: stores with partners
from referralkit.protocols import Store
from referralkit.testing import PartnersContract


class TestBuiltinPartners(PartnersContract):
    """Every built-in store (memory, SQLite, SQLAlchemy on SQLite and PostgreSQL)."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
