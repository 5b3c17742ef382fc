"""One unit of work's connection, and the locks it takes before each decision it reads.

`Session` runs statements on the unit of work's connection and turns every failure into
a `StorageError` (`storage_error`), so no driver exception ever reaches the program.

`Locks` is how the store makes read-then-decide atomic on PostgreSQL: before reading
the state a program decision rests on, the repository takes a transaction-scoped
advisory lock on the thing decided about, in its own statement, so that the read (the
next statement, under READ COMMITTED) sees everything committed by the unit of work
that held the lock before. The keys:

- ``customer:<id>``: a customer's standing referral, orders, referrals made, and
  rewards (the referee's standing referral and first order; tiers, milestones, caps and
  velocity for a referrer; the referral chain a cycle guard walks). A code's uses are
  decided under its owner's key.
- ``signal:<kind>:<digest>``: who else carries a hashed identity signal (duplicate
  referees, velocity per network); taken, sorted, when a unit of work adds a customer's
  signals, before any customer key.
- ``spend``: the program's total spend (budgets).

Within a unit of work, signal keys come first, then customers from the referee up the
referral chain to its referrer and theirs, then ``spend``: the same order everywhere,
so units of work queue instead of deadlocking (a rare deadlock, such as two sign-ups
closing a referral ring at the same instant, is detected by PostgreSQL and raised as a
`RetryableStorageError`). On SQLite the store serialises whole units of work with
``BEGIN IMMEDIATE``, so these are no-ops.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Connection, Executable, bindparam, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY

from referralkit.context import Signal
from referralkit.storage._errors import require_storable
from referralkit.storage._sqlalchemy_direct import DirectStatements, Prepared, Rows
from referralkit.storage._sqlalchemy_errors import cause, storage_error

try:  # the driver's own errors, raised by statements run on its cursor
    from psycopg import Error as _PsycopgError

    _DRIVER_ERRORS: tuple[type[BaseException], ...] = (_PsycopgError,)
except ImportError:  # pragma: no cover - SQLite only
    _DRIVER_ERRORS = ()

__all__ = ["Locks", "Session", "lock_salt"]

_T = TypeVar("_T")

_LOCK_ONE = text("SELECT pg_advisory_xact_lock(:key)").bindparams(
    bindparam("key", type_=BigInteger)
)
_LOCK_MANY = text("SELECT pg_advisory_xact_lock(k) FROM unnest(:keys) AS k").bindparams(
    bindparam("keys", type_=ARRAY(BigInteger))
)


def lock_salt(prefix: str, schema: str | None) -> bytes:
    """A per-installation key for lock ids: two installations in one database never collide."""
    return hashlib.blake2b(f"{schema or ''}.{prefix}".encode(), digest_size=16).digest()


class Session:
    """A unit of work's connection: every statement runs through `run`.

    With ``direct`` (PostgreSQL), statements run on the connection's DB-API cursor as
    `referralkit.storage._sqlalchemy_direct` prepares them; otherwise through SQLAlchemy.
    """

    __slots__ = ("_cursor", "conn", "direct", "locks")

    def __init__(
        self,
        conn: Connection,
        *,
        advisory: bool,
        salt: bytes,
        direct: DirectStatements | None = None,
    ) -> None:
        self.conn = conn
        self.direct = direct
        self._cursor: Any = None
        self.locks = Locks(self, salt) if advisory else _NoLocks()

    def run(
        self, statement: Executable, params: Mapping[str, Any] | list[dict[str, Any]] | None = None
    ) -> Any:
        """Execute ``statement``; returns its `sqlalchemy.CursorResult` (or `Rows`).

        Failures are `StorageError`s, an int beyond 64 bits among the parameters too.
        """
        _require_storable_params(params)
        prepared = None if self.direct is None else self.direct.get(statement, params)
        try:
            if prepared is not None:
                return self._direct(prepared, params)
            return self.conn.execute(statement, params)
        except (sa_exc.SQLAlchemyError, OSError) as error:
            raise storage_error(error, "a statement") from cause(error)
        except _DRIVER_ERRORS as error:
            self._lost(error)
            raise storage_error(error, "a statement") from cause(error)

    def insert_once(
        self,
        statement: Executable,
        params: Mapping[str, Any],
        wanted: _T,
        stored: Callable[[], _T | None],
    ) -> tuple[_T, bool]:
        """Run an ``INSERT ... ON CONFLICT DO NOTHING`` of ``wanted``; what is stored, and if new.

        When the insert met a row under the same key, ``stored`` reads that row back.
        """
        if self.run(statement, params).rowcount == 1:
            return wanted, True
        found = stored()
        assert found is not None  # noqa: S101 - the insert met this very key
        return found, False

    def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Execute ``statement`` and fetch every row at once; failures are `StorageError`s."""
        result = self.run(statement, params)
        try:
            return list(result.all())
        except (sa_exc.SQLAlchemyError, OSError) as error:
            raise storage_error(error, "a statement") from cause(error)

    def _direct(self, prepared: Prepared, params: Any) -> Rows:
        cursor = self._cursor
        if cursor is None:
            self.conn.connection  # noqa: B018 - checks the connection out of the pool, if not yet
            cursor = self._cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if isinstance(params, list):
            cursor.executemany(prepared.sql, [prepared.parameters(p) for p in params])
            return Rows([], cursor.rowcount)
        cursor.execute(prepared.sql, prepared.parameters(params or {}))
        rows = [prepared.row(r) for r in cursor.fetchall()] if prepared.returns_rows else []
        return Rows(rows, cursor.rowcount)

    def _lost(self, error: BaseException) -> None:
        """A driver error SQLAlchemy did not see: a lost connection must leave the pool."""
        state = getattr(error, "sqlstate", None)
        if state is None or state.startswith(("08", "57P")):
            self.conn.invalidate()


def _require_storable_params(params: Mapping[str, Any] | list[dict[str, Any]] | None) -> None:
    """Refuse an int no SQL column holds before a driver sees it, as every store does."""
    for row in params if isinstance(params, list) else [params or {}]:
        for value in row.values():
            if isinstance(value, int):
                require_storable(value)
            elif isinstance(value, list | tuple):
                require_storable(*(v for v in value if isinstance(v, int)))


class Locks:
    """The advisory locks one unit of work holds; each key is locked once."""

    __slots__ = ("_held", "_salt", "_session", "owners")

    def __init__(self, session: Session, salt: bytes) -> None:
        self._session = session
        self._salt = salt
        self._held: set[int] = set()
        #: Codes this unit of work has read, by text: their owners (a code's uses are
        #: decided under its owner's key).
        self.owners: dict[str, str] = {}

    def _key(self, name: str) -> int:
        digest = hashlib.blake2b(name.encode(), digest_size=8, key=self._salt).digest()
        return int.from_bytes(digest, "big", signed=True)

    def _take(self, names: Iterable[str]) -> None:
        keys = sorted({self._key(n) for n in names} - self._held)
        if not keys:
            return
        if len(keys) == 1:
            self._session.run(_LOCK_ONE, {"key": keys[0]})
        else:
            self._session.run(_LOCK_MANY, {"keys": keys})
        self._held.update(keys)

    def customer(self, customer_id: str) -> None:
        """Lock the customer's standing, orders, referrals and rewards for this unit of work."""
        self._take((f"customer:{customer_id}",))

    def signals(self, signals: Iterable[Signal]) -> None:
        """Lock who carries each of these hashed signals (in one statement, sorted)."""
        self._take(f"signal:{kind}:{digest}" for kind, digest in signals)

    def spend(self) -> None:
        """Lock the program's total spend."""
        self._take(("spend",))


class _NoLocks(Locks):
    """SQLite: a unit of work holds the whole file (``BEGIN IMMEDIATE``); nothing to lock."""

    __slots__ = ()

    def __init__(self) -> None:
        self.owners = {}

    def _take(self, names: Iterable[str]) -> None:
        del names
