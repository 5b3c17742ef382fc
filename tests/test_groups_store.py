"""The built-in stores run the group-buys contract a host's adapter would."""

from __future__ import annotations

import pytest

from _group_stores import group_store  # noqa: F401 - the `store` fixture: stores with group-buys
from referralkit.protocols import Store
from referralkit.testing import GroupsContract


class TestBuiltinGroups(GroupsContract):
    """Memory, a SQLite file and SQLite in memory: the conftest ``store`` fixture's params."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
