"""The built-in stores run the invitations and waitlist contracts a host's adapter would."""

from __future__ import annotations

import pytest

from referralkit.protocols import Store
from referralkit.testing import InvitationsContract, WaitlistContract


class TestBuiltinInvitations(InvitationsContract):
    """Every built-in store: the conftest ``store`` fixture's params (SQLAlchemy included)."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store


class TestBuiltinWaitlist(WaitlistContract):
    """Every built-in store: the conftest ``store`` fixture's params (SQLAlchemy included)."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
