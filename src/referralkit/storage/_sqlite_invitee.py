"""The SQLite store's display names and spent claim tokens, in plain SQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from referralkit.storage._sqlite_codec import encode_time

__all__ = ["SQLiteClaims", "SQLiteDisplayNames"]


class SQLiteDisplayNames:
    """`referralkit.invitee.DisplayNameRepository` on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def put(self, customer_id: str, name: str | None, at: datetime) -> None:
        if name is None:
            self._c.execute("DELETE FROM display_names WHERE customer_id = ?", (customer_id,))
            return
        self._c.execute(
            "INSERT INTO display_names (customer_id, name, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name,"
            " updated_at = excluded.updated_at",
            (customer_id, name, encode_time(at)),
        )

    def get(self, customer_id: str) -> str | None:
        row = self._c.execute(
            "SELECT name FROM display_names WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        return None if row is None else str(row[0])


class SQLiteClaims:
    """`referralkit.invitee.ClaimRepository` on one connection: the primary key spends once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def add(self, token_id: str, customer_id: str, at: datetime) -> tuple[str, bool]:
        cur = self._c.execute(
            "INSERT INTO claims (token_id, customer_id, claimed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (token_id) DO NOTHING",
            (token_id, customer_id, encode_time(at)),
        )
        if cur.rowcount == 1:
            return customer_id, True
        row = self._c.execute(
            "SELECT customer_id FROM claims WHERE token_id = ?", (token_id,)
        ).fetchone()
        return str(row[0]), False
