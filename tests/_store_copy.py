"""Copy an `SQLiteStore`'s rows into an `SQLAlchemyStore`: the same facts, read by its SQL.

`SQLAlchemyStore` cannot run every partner call yet (payouts, reviews and bounties are
being ported), so a test that compares its metrics plays the shop on SQLite and copies
the stored rows over, table by table and column by column (the two schemas share their
tables' and columns' names). The SQLAlchemy store's metrics then read the very facts
the SQLite store's read. (Not collected: a helper of the metrics tests.)
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Engine, insert

from conftest import empty_postgres
from referralkit.storage import SQLAlchemyStore
from referralkit.storage._sqlalchemy_tables import UTCDateTime, build_tables

#: The SQLAlchemy stores a metrics test reads the copied rows with, each with its marker.
SQLALCHEMY_KINDS = [
    pytest.param("sqlalchemy-sqlite", marks=pytest.mark.sqlalchemy),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


def fresh_sqlalchemy(kind: str, request: pytest.FixtureRequest, folder: Path) -> SQLAlchemyStore:
    """An empty `SQLAlchemyStore`: a new SQLite file in ``folder``, or the tests' PostgreSQL
    emptied (so a store made before it on PostgreSQL is emptied too)."""
    if kind == "postgres":
        engine = request.getfixturevalue("postgres_engine")
        empty_postgres(engine)
        return SQLAlchemyStore(engine)
    return SQLAlchemyStore(f"sqlite:///{folder / 'sa.db'}", migrate=True)


def _value(column: Column[Any], value: object) -> object:
    """A SQLite value as the SQLAlchemy column binds it."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(str(value))
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, JSON):
        return json.loads(str(value))
    return value


def copy_sqlite_rows(path: Path, engine: Engine, prefix: str = "referralkit_") -> int:
    """Insert every row of the SQLite database at ``path`` into ``engine``'s tables.

    Tables and columns the SQLite schema lacks are left out; returns the rows copied.
    """
    copied = 0
    source = sqlite3.connect(path)
    try:
        with engine.begin() as conn:
            for table in build_tables(prefix).all():
                name = table.name.removeprefix(prefix)
                have = {row[1] for row in source.execute(f"PRAGMA table_info({name})")}
                columns = [c for c in table.columns if c.name in have]
                if not columns:
                    continue
                listed = ", ".join(c.name for c in columns)
                rows = [
                    {c.name: _value(c, v) for c, v in zip(columns, row, strict=True)}
                    for row in source.execute(f"SELECT {listed} FROM {name}")
                ]
                if rows:
                    conn.execute(insert(table), rows)
                    copied += len(rows)
    finally:
        source.close()
    return copied
