"""The built-in stores run the invitations and waitlist contracts a host's adapter would."""

from __future__ import annotations

import pytest
from _group_stores import group_store  # noqa: F401 - the `store` fixture: memory and SQLite

from referralkit.protocols import Store
from referralkit.testing import InvitationsContract, WaitlistContract


class TestBuiltinInvitations(InvitationsContract):
    """Memory, a SQLite file and SQLite in memory."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store


class TestBuiltinWaitlist(WaitlistContract):
    """Memory, a SQLite file and SQLite in memory."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
