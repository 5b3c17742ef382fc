"""The stores partner fraud signals and reviews run on: every built-in store (the shared fixture).

Memory, SQLite (a file and ``:memory:``), and `SQLAlchemyStore` on PostgreSQL and on
SQLite all have `PARTNER_REVIEWS`, so this ``store`` fixture (``partner_review_store``, imported
under that name) is the one in ``conftest.py``, with its params and markers.
"""

from __future__ import annotations

from conftest import store as partner_review_store

__all__ = ["partner_review_store"]
