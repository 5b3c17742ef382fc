"""`SQLAlchemyStore`: the production store, on PostgreSQL (first class) or SQLite.

SQLAlchemy 2 Core, psycopg 3 on PostgreSQL. Tables are prefixed and may live in a
named schema, so they sit in the shop's own database; they are created and changed by
versioned migrations (`referralkit.storage.upgrade`, ``referralkit db upgrade``), and
a store refuses a database that is not at the head revision unless told to migrate it.

A unit of work is one transaction: READ COMMITTED on PostgreSQL, with the advisory
locks and row locks the repositories take before each decision they read (see
``docs/explanation/concurrency.md``); ``BEGIN IMMEDIATE`` on SQLite. Inside
``with store.bind(connection):`` units of work are SAVEPOINTs in the host's own
transaction instead, so the shop's rows and referralkit's commit together or not at all.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, NestedTransaction, RootTransaction, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from referralkit.errors import ConfigError, RetryableStorageError
from referralkit.storage._sqlalchemy_direct import DirectStatements
from referralkit.storage._sqlalchemy_errors import cause, storage_error
from referralkit.storage._sqlalchemy_migrations import check_revision, upgrade
from referralkit.storage._sqlalchemy_repositories import SQLAlchemyUnitOfWork, Statements
from referralkit.storage._sqlalchemy_session import Session, lock_salt
from referralkit.storage._sqlalchemy_tables import Tables, build_tables

if TYPE_CHECKING:
    from referralkit.storage._sqlalchemy_metrics import SQLAlchemyMetricsSource

__all__ = ["SQLAlchemyStore", "make_engine"]

_DIALECTS = ("postgresql", "sqlite")
# Host connections bound to a store in this context (thread, task): (store, connection).
_BOUND: ContextVar[tuple[tuple[SQLAlchemyStore, Connection], ...]] = ContextVar(
    "referralkit_bound_connections", default=()
)


def _url(url: str) -> str:
    """A PostgreSQL URL without a driver means psycopg 3 (SQLAlchemy would pick psycopg2)."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Our own SQLite engines: SQLAlchemy emits BEGIN (pysqlite's own is off), WAL, FKs.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def make_engine(url: str, options: Mapping[str, Any] | None = None) -> Engine:
    """An engine for ``url``: pre-pinged pool on PostgreSQL, a tuned file on SQLite."""
    url = _url(url)
    try:
        backend = make_url(url).get_backend_name()
    except sa_exc.ArgumentError as exc:
        raise ConfigError(f"not a database URL: {exc}", value=url, path="url") from exc
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        database = make_url(url).database or ""
        kwargs["connect_args"] = {"timeout": 30.0, "check_same_thread": False}
        if database in ("", ":memory:"):
            kwargs["poolclass"] = StaticPool  # one database, shared by every thread
    kwargs.update(options or {})
    try:
        engine = create_engine(url, **kwargs)
    except (sa_exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot make an engine for {url!r}: {exc}", value=url) from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _host_owns_the_transaction(*_: object) -> None:
    """BEGIN, COMMIT and ROLLBACK of a borrowed connection: the host issues its own."""


def _borrowing_engine(engine: Engine, dbapi_connection: Any) -> Engine:
    """An engine whose one connection is the host's driver connection, never closed by it.

    It only ever emits SAVEPOINTs: beginning, committing and rolling back the outer
    transaction are the host's, and returning the connection resets nothing.
    """
    borrowed = create_engine(
        engine.url,
        creator=lambda: dbapi_connection,
        poolclass=StaticPool,
        pool_reset_on_return=None,
    )
    dialect = borrowed.dialect
    dialect.do_begin = _host_owns_the_transaction  # type: ignore[method-assign,assignment]
    dialect.do_commit = _host_owns_the_transaction  # type: ignore[method-assign,assignment]
    dialect.do_rollback = _host_owns_the_transaction  # type: ignore[method-assign,assignment]
    return borrowed


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


class SQLAlchemyStore:
    """A store in the shop's own database, through SQLAlchemy (``referralkit[postgres]``).

    ``engine_or_url``: an `sqlalchemy.Engine`, or a URL (``postgresql+psycopg://...``;
    ``postgresql://`` also means psycopg 3). ``table_prefix`` starts every table's name,
    ``schema`` (None: the default one) holds them. ``read_engine`` (an engine or URL,
    such as a read replica) serves the metrics report; units of work and the clicks
    an attribution reads always use the primary. A database not at the head migration
    is refused with `referralkit.SchemaVersionError`, unless ``migrate=True``, which
    brings it there first. ``reconnect_for`` is how many seconds a unit of work keeps
    trying to connect while the server is unreachable (a restart, a failover) before
    raising `referralkit.RetryableStorageError`. ``engine_options`` go to
    `sqlalchemy.create_engine` when a URL is given.
    """

    def __init__(
        self,
        engine_or_url: str | Engine,
        *,
        table_prefix: str = "referralkit_",
        schema: str | None = None,
        read_engine: str | Engine | None = None,
        migrate: bool = False,
        reconnect_for: float = 10.0,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.tables: Tables = build_tables(table_prefix, schema)
        options = dict(engine_options or {})
        self._owned: list[Engine] = []
        base = self._adopt(engine_or_url, options, "engine_or_url")
        self.dialect = base.dialect.name
        if self.dialect not in _DIALECTS:
            raise ConfigError(
                f"SQLAlchemyStore runs on PostgreSQL or SQLite, not {self.dialect}",
                value=self.dialect,
                path="engine_or_url",
            )
        #: The engine units of work run on (the host's engine with referralkit's options).
        self.engine = self._writer(base)
        reader = base if read_engine is None else self._adopt(read_engine, options, "read_engine")
        #: The engine metrics views read from (``read_engine``, or the primary).
        self.read_engine = self._reader(reader)
        #: Whether metrics read from an engine of their own (a replica, say).
        self.separate_reads = read_engine is not None
        self._statements = Statements(self.tables, self.dialect)
        self._salt = lock_salt(self.tables.prefix, self.tables.schema)
        self._advisory = self.dialect == "postgresql"
        self._direct = DirectStatements(base.dialect) if self._advisory else None
        self._reconnect_for = float(reconnect_for)
        memory = self.dialect == "sqlite" and isinstance(base.pool, StaticPool)
        self._memory_lock = threading.RLock() if memory else None
        try:
            with self.engine.connect() as conn:
                if migrate:
                    with conn.begin():
                        upgrade(conn, table_prefix=table_prefix, schema=schema)
                check_revision(conn, table_prefix=table_prefix, schema=schema)
        except sa_exc.SQLAlchemyError as error:
            self.close()
            raise storage_error(error, "opening the store") from cause(error)
        except BaseException:
            self.close()
            raise

    def _adopt(self, engine_or_url: object, options: dict[str, Any], path: str) -> Engine:
        if isinstance(engine_or_url, Engine):
            return engine_or_url
        if isinstance(engine_or_url, str):
            engine = make_engine(engine_or_url, options)
            self._owned.append(engine)
            return engine
        raise ConfigError(
            "pass an sqlalchemy Engine or a database URL", value=engine_or_url, path=path
        )

    def _writer(self, base: Engine) -> Engine:
        if self.dialect == "postgresql":
            return base.execution_options(isolation_level="READ COMMITTED")
        writer = base.execution_options()
        event.listen(writer, "begin", _begin_immediate)
        return writer

    def _reader(self, base: Engine) -> Engine:
        if base.dialect.name == "postgresql":
            return base.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        reader = base.execution_options()
        event.listen(reader, "begin", _begin_deferred)
        return reader

    # -- units of work -----------------------------------------------------------------

    def transaction(self) -> _UnitOfWorkScope:
        """Open a unit of work: its own transaction, or a SAVEPOINT inside a bound one."""
        for store, connection in _BOUND.get():
            if store is self:
                return _UnitOfWorkScope(self, connection)
        return _UnitOfWorkScope(self, None)

    def connect(self) -> Connection:
        """A connection from the pool, retried while the server cannot be reached."""
        deadline = time.monotonic() + self._reconnect_for
        delay = 0.05
        while True:
            try:
                return self.engine.connect()
            except (sa_exc.SQLAlchemyError, OSError) as error:
                failure = storage_error(error, "connecting to the database")
                if not isinstance(failure, RetryableStorageError):
                    raise failure from cause(error)
                if time.monotonic() + delay > deadline:
                    raise failure from cause(error)
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)

    def unit_of_work(self, connection: Connection) -> SQLAlchemyUnitOfWork:
        """The repositories of a unit of work on ``connection`` (already in a transaction)."""
        session = Session(connection, advisory=self._advisory, salt=self._salt, direct=self._direct)
        return SQLAlchemyUnitOfWork.on(session, self._statements)

    # -- the shop's transaction ---------------------------------------------------------

    @contextmanager
    def bind(self, connection: Connection | Any) -> Iterator[SQLAlchemyStore]:
        """Inside the block, this store's units of work are SAVEPOINTs on ``connection``.

        ``connection`` is the host's SQLAlchemy `Connection`, in the transaction that
        writes the shop's own rows (its order, say), or the host's own driver connection
        (a psycopg connection, such as Django's ``connection.connection``) inside its
        transaction. Program calls in the block write through it, so the host's commit
        keeps the shop's rows and referralkit's together, and its rollback leaves
        neither; the store never commits or rolls back the host's transaction, and a
        program call that fails rolls back only its own SAVEPOINT. The binding is local
        to the calling thread (or task). On PostgreSQL the host transaction must be READ
        COMMITTED (the default) or SERIALIZABLE: REPEATABLE READ would make the store's
        locks read a stale snapshot.
        """
        if isinstance(connection, Connection):
            with self._bound_to(connection):
                yield self
            return
        if not callable(getattr(connection, "cursor", None)):
            raise ConfigError(
                "bind() takes an sqlalchemy Connection or a driver (DB-API) connection",
                value=connection,
                path="connection",
            )
        if getattr(connection, "autocommit", False):
            raise ConfigError(
                "the driver connection is in autocommit mode, outside any transaction: bind"
                " it inside the host's transaction (Django: inside transaction.atomic())",
                value=connection,
                path="connection",
            )
        borrowed = _borrowing_engine(self.engine, connection)
        with borrowed.connect() as conn, self._bound_to(conn):
            yield self

    @contextmanager
    def _bound_to(self, connection: Connection) -> Iterator[None]:
        if connection.dialect.name != self.dialect:
            raise ConfigError(
                f"the connection is to {connection.dialect.name}, the store to {self.dialect}",
                value=connection.dialect.name,
                path="connection",
            )
        if self.dialect == "postgresql":
            self._check_isolation(connection)
        token = _BOUND.set(((self, connection), *_BOUND.get()))
        try:
            yield
        finally:
            _BOUND.reset(token)

    def _check_isolation(self, connection: Connection) -> None:
        try:
            level = str(connection.exec_driver_sql("SHOW transaction_isolation").scalar())
        except sa_exc.SQLAlchemyError as error:
            raise storage_error(error, "reading the host transaction's isolation") from cause(error)
        if level == "repeatable read":
            raise ConfigError(
                "the host transaction is REPEATABLE READ: run program calls in a READ"
                " COMMITTED (the default) or SERIALIZABLE transaction",
                value=level,
                path="connection",
            )

    def bound_connection(self) -> Connection | None:
        """The host connection this store is bound to here, if any."""
        for store, connection in _BOUND.get():
            if store is self:
                return connection
        return None

    # -- the rest of the store ---------------------------------------------------------

    def close(self) -> None:
        """Dispose of the engines this store made (a host's own engine is left alone)."""
        for engine in self._owned:
            engine.dispose()
        self._owned.clear()

    def metrics_source(self) -> SQLAlchemyMetricsSource:
        """Read the store's facts as aggregates, in SQL (`referralkit.metrics.MetricsSource`)."""
        from referralkit.storage._sqlalchemy_metrics import SQLAlchemyMetricsSource  # noqa: PLC0415 - metrics load on first use

        return SQLAlchemyMetricsSource(self)

    @property
    def memory_lock(self) -> threading.RLock | None:
        """The lock serialising the threads of an in-memory SQLite database (else None)."""
        return self._memory_lock

    def __repr__(self) -> str:
        schema = f", schema={self.tables.schema!r}" if self.tables.schema else ""
        url = self.engine.url.render_as_string(hide_password=True)
        return f"SQLAlchemyStore({url!r}, table_prefix={self.tables.prefix!r}{schema})"


class _UnitOfWorkScope:
    """One unit of work: commit on success, roll back on any error.

    Its own connection and transaction, or a SAVEPOINT on a bound host connection.
    Backend failures leave as `StorageError`; other exceptions pass through unchanged.
    """

    __slots__ = ("_bound", "_conn", "_locked", "_store", "_tx")

    def __init__(self, store: SQLAlchemyStore, bound: Connection | None) -> None:
        self._store = store
        self._bound = bound
        self._conn: Connection | None = None
        self._tx: RootTransaction | NestedTransaction | None = None
        self._locked = False

    def __enter__(self) -> SQLAlchemyUnitOfWork:
        store = self._store
        lock = store.memory_lock
        if lock is not None:
            lock.acquire()
            self._locked = True
        try:
            if self._bound is not None:
                conn = self._bound
                self._tx = conn.begin_nested()
            else:
                conn = store.connect()
                self._conn = conn
                self._tx = conn.begin()
        except BaseException as error:
            self._release()
            if isinstance(error, sa_exc.SQLAlchemyError):
                raise storage_error(error, "starting a unit of work") from cause(error)
            raise
        return store.unit_of_work(conn)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        tx = self._tx
        try:
            if exc is None and tx is not None:
                try:
                    tx.commit()
                except (sa_exc.SQLAlchemyError, OSError) as error:
                    _quietly_roll_back(tx)
                    raise storage_error(error, "committing a unit of work") from cause(error)
            elif tx is not None:
                _quietly_roll_back(tx)
        finally:
            self._release()
        if isinstance(exc, sa_exc.SQLAlchemyError):
            raise storage_error(exc, "a unit of work") from cause(exc)

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # A dead connection is discarded anyway.
            with contextlib.suppress(sa_exc.SQLAlchemyError, OSError):
                conn.close()
        if self._locked:
            self._locked = False
            lock = self._store.memory_lock
            if lock is not None:
                lock.release()


def _quietly_roll_back(tx: RootTransaction | NestedTransaction) -> None:
    """Roll back; a connection lost mid-transaction rolls back on the server by itself."""
    try:
        if tx.is_active:
            tx.rollback()
    except (sa_exc.SQLAlchemyError, OSError):
        pass
