"""The built-in stores with partner payouts run the contract a host's adapter would."""

from __future__ import annotations

import pytest

from _payout_stores import payout_store  # noqa: F401 - the `store` fixture: stores with payouts
from referralkit.protocols import Store
from referralkit.testing import PartnerPayoutsContract


class TestBuiltinPartnerPayouts(PartnerPayoutsContract):
    """Memory, a SQLite file and SQLite in memory: the ``store`` fixture's params."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
