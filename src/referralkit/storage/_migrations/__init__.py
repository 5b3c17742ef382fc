"""Alembic revisions of the SQLAlchemy store's tables (run by `referralkit.storage.upgrade`)."""
