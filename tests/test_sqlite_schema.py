"""The SQLite file is versioned: older files are upgraded in place, newer ones refused."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

import referralkit as rk
from referralkit.policies import Fixed
from referralkit.storage import SCHEMA_VERSION, SQLiteStore
from referralkit.storage._schema import _HOST_PAGES, MIGRATIONS, migrate

pytestmark = pytest.mark.sqlite


def _write_version(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for step in MIGRATIONS[:version]:
        for statement in step:
            db.execute(statement)
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


def _schema(path: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name <> 'sqlite_sequence' ORDER BY name"
    ).fetchall()
    db.close()
    return rows


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_a_file_of_every_older_version_opens_with_the_schema_of_a_new_one(
    tmp_path: Path, version: int
) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _write_version(old, version)
    SQLiteStore(old).close()
    SQLiteStore(new).close()
    assert _schema(old) == _schema(new)
    assert {name for kind, name, _ in _schema(new) if kind == "table"} >= {
        "codes",
        "referrals",
        "conversions",
        "rewards",
        "ledger",
        "events",
        "identity_signals",
        "schema_version",
    }


def test_a_step_with_a_trigger_body_and_a_semicolon_in_a_literal_applies(tmp_path: Path) -> None:
    """Statements run one by one as written: nothing splits a step on ';'."""
    step = (
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
        "CREATE TABLE audit (note_id INTEGER NOT NULL, what TEXT NOT NULL)",
        """CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN
            INSERT INTO audit (note_id, what) VALUES (new.id, 'added; by the trigger');
            UPDATE notes SET body = body || ';' WHERE id = new.id;
        END""",
        "INSERT INTO notes (body) VALUES ('first; second')",
    )
    path = tmp_path / "trigger.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    migrate(db, str(path), (*MIGRATIONS, step))
    db.execute("COMMIT")
    db.execute("INSERT INTO notes (body) VALUES ('third')")
    assert db.execute("SELECT body FROM notes ORDER BY id").fetchall() == [
        ("first; second;",),
        ("third;",),
    ]
    assert db.execute("SELECT note_id, what FROM audit ORDER BY note_id").fetchall() == [
        (1, "added; by the trigger"),
        (2, "added; by the trigger"),
    ]
    assert db.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION + 1,)
    db.close()
    with pytest.raises(rk.SchemaVersionError):  # written by a "newer" referralkit
        SQLiteStore(path)


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


def test_codes_of_an_older_file_are_found_by_their_key_and_every_one_stays_readable(
    tmp_path: Path,
) -> None:
    """Codes sharing a key: the one spelled as the key keeps it, else the oldest; all readable."""
    path = tmp_path / "old.db"
    version = MIGRATIONS.index(_HOST_PAGES)
    _write_version(path, version)
    db = sqlite3.connect(path)
    for code, owner in [
        ("SPRING-SALE", "ann"),
        ("SPRINGSALE", "bob"),
        ("S-ALE1", "cat"),
        ("SA-LE1", "dan"),
        ("ANNA-10", "eve"),
    ]:
        db.execute(
            "INSERT INTO codes VALUES (?, ?, 'default', 'vanity',"
            " '2026-01-01T00:00:00.000000+00:00', NULL, NULL)",
            (code, owner),
        )
    db.commit()
    db.close()
    store = SQLiteStore(path)
    with store.transaction() as uow:
        found = {key: uow.codes.find(key) for key in ("SPRINGSALE", "SALE1", "ANNA10")}
        exact = {text: uow.codes.get(text) for text in ("SPRING-SALE", "SA-LE1")}
    assert {k: c.owner for k, c in found.items() if c is not None} == {
        "SPRINGSALE": "bob",
        "SALE1": "cat",
        "ANNA10": "eve",
    }
    assert {t: c.owner for t, c in exact.items() if c is not None} == {
        "SPRING-SALE": "ann",
        "SA-LE1": "dan",
    }
    program = rk.ReferralProgram(store=store, secret=b"s" * 32, policy=Fixed(rk.Money("1", "USD")))
    owners = {t: program.owner_of(t) for t in ("spring-sale", "spring sale", "sa-le1", "anna10")}
    assert owners == {"spring-sale": "ann", "spring sale": "bob", "sa-le1": "dan", "anna10": "eve"}
    with pytest.raises(rk.InvalidCode) as err:
        program.enroll("fay", vanity="Anna10")
    assert err.value.reason == "taken"
    store.close()
