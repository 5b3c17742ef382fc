"""The stores partner payouts run on: every built-in store (the shared ``store`` fixture).

Memory, SQLite (a file and ``:memory:``), and `SQLAlchemyStore` on PostgreSQL and on
SQLite all have `PARTNER_PAYOUTS`, so this ``store`` fixture (``payout_store``, imported
under that name) is the one in ``conftest.py``, with its params and markers.
"""

from __future__ import annotations

from conftest import store as payout_store

__all__ = ["payout_store"]
