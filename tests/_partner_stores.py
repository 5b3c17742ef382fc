"""The stores partner programmes run on: every built-in store (the shared ``store`` fixture).

Memory, SQLite (a file and ``:memory:``), and `SQLAlchemyStore` on PostgreSQL and on
SQLite all have the `PARTNERS` capability, so the partner tests' ``store`` fixture
(``partner_store``, imported under that name) is the one in ``conftest.py``, with its
params and markers (``-m postgres`` runs the partner tests on PostgreSQL).
"""

from __future__ import annotations

from conftest import store as partner_store

__all__ = ["partner_store"]
