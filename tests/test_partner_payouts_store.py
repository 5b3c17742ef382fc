"""The built-in stores with partner payouts run the contract a host's adapter would."""

from __future__ import annotations

import pytest

from _payout_stores import payout_store  # noqa: F401 - the `store` fixture: stores with payouts
from referralkit.protocols import Store
from referralkit.testing import PartnerPayoutsContract


class TestBuiltinPartnerPayouts(PartnerPayoutsContract):
    """Every built-in store (memory, SQLite, SQLAlchemy on SQLite and PostgreSQL)."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
