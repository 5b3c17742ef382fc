"""The built-in stores run the group-buys contract a host's adapter would."""

from __future__ import annotations

import pytest

from referralkit.protocols import Store
from referralkit.testing import GroupsContract


class TestBuiltinGroups(GroupsContract):
    """Every built-in store: the conftest ``store`` fixture's params (SQLAlchemy included)."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
