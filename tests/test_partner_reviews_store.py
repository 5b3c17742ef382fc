"""The built-in stores run the partner fraud signals and reviews contract a host's adapter would."""

from __future__ import annotations

import pytest

from _partner_review_stores import partner_review_store  # noqa: F401 - the `store` fixture
from referralkit.protocols import Store
from referralkit.testing import PartnerReviewsContract


class TestBuiltinPartnerReviews(PartnerReviewsContract):
    """Every built-in store (memory, SQLite, SQLAlchemy on SQLite and PostgreSQL)."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store
