"""The SQLite file is versioned: older files are upgraded in place, newer ones refused."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

import referralkit as rk
from referralkit.storage import SCHEMA_VERSION, SQLiteStore
from referralkit.storage._schema import MIGRATIONS


def _write_version(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for step in MIGRATIONS[:version]:
        db.executescript(step)
    db.execute("INSERT INTO schema_version VALUES (?)", (version,))
    db.commit()
    db.close()


def test_a_new_file_gets_the_current_schema(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "new.db")
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


def test_an_older_file_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _write_version(path, 1)
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO codes VALUES ('AAAA0000', 'ann', 'default', 'generated',"
        " '2026-01-01T00:00:00.000000+00:00', NULL, NULL)"
    )
    db.commit()
    db.close()
    store = SQLiteStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    with store.transaction() as uow:
        code = uow.codes.get("AAAA0000")
        assert code is not None
        assert code.owner == "ann"
        uow.identities.add("ann", [("email", "x")])  # a table from a later migration
    store.close()


def test_a_newer_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    _write_version(path, SCHEMA_VERSION)
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(rk.SchemaVersionError) as err:
        SQLiteStore(path)
    assert err.value.value == SCHEMA_VERSION + 1
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION + 1
    db.close()


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(rk.StorageError):
        SQLiteStore(path)


def test_the_file_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "wal.db")
    with store.transaction() as uow:
        uow.events.add("x", {}, datetime.now(timezone.utc))
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()
