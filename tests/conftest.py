"""Shared test settings and the one ``store`` fixture every store-backed test runs on.

Hypothesis: a fast profile for local runs, a thorough one for CI. ``store``: every
built-in adapter, each param carrying its marker, so ``pytest -m sqlite`` runs every
store-backed test on SQLite, ``pytest -m memory`` on the memory store, ``pytest -m
postgres`` on `SQLAlchemyStore` over a throwaway PostgreSQL server and ``pytest -m
sqlalchemy`` on `SQLAlchemyStore` over SQLite.

The PostgreSQL server (`postgres_server`, one per session) is started from Debian's
``postgresql`` binaries; without them its tests skip, saying how to install them,
except under CI (the ``CI`` variable set), where a missing server fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from _postgres import INSTALL_HINT, PostgresServer, find_bindir
from referralkit.protocols import Store
from referralkit.storage import MemoryStore, SQLiteStore

pytest_plugins = ["pytester"]

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("fast", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def require_bindir(bindir: Path | None, *, ci: bool) -> Path:
    """The server binaries' folder; without one, skip (or, under CI, fail) the test."""
    if bindir is None:
        if ci:
            pytest.fail(f"CI must run the PostgreSQL tests: {INSTALL_HINT}", pytrace=False)
        pytest.skip(INSTALL_HINT)
    return bindir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, on a free port of 127.0.0.1."""
    bindir = require_bindir(find_bindir(), ci=bool(os.environ.get("CI")))
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_engine(postgres_server: PostgresServer) -> Iterator[object]:
    """An engine on a database migrated once to the head revision (``referralkit_*``)."""
    from sqlalchemy import create_engine

    from referralkit.storage import upgrade

    url = postgres_server.create_database("referralkit")
    engine = create_engine(url, pool_pre_ping=True)
    upgrade(engine)
    yield engine
    engine.dispose()


def empty_postgres(engine: object) -> None:
    """Delete every referralkit row (and restart the sequences): a fresh, empty store."""
    from sqlalchemy import Engine, text

    from referralkit.storage._sqlalchemy_tables import build_tables

    assert isinstance(engine, Engine)
    names = ", ".join(t.name for t in build_tables().all())
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore()


def _sqlite_file(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return SQLiteStore(tmp_path / "store.db")


def _sqlite_in_memory(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return SQLiteStore(":memory:")


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    from referralkit.storage import SQLAlchemyStore

    engine = request.getfixturevalue("postgres_engine")
    empty_postgres(engine)
    return SQLAlchemyStore(engine)


def _sqlalchemy_sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    from referralkit.storage import SQLAlchemyStore

    return SQLAlchemyStore(f"sqlite:///{tmp_path / 'store.db'}", migrate=True)


@pytest.fixture(
    params=[
        pytest.param(_memory, marks=pytest.mark.memory, id="memory"),
        pytest.param(_sqlite_file, marks=pytest.mark.sqlite, id="sqlite"),
        pytest.param(_sqlite_in_memory, marks=pytest.mark.sqlite, id="sqlite-memory"),
        pytest.param(_postgres, marks=pytest.mark.postgres, id="postgres"),
        pytest.param(_sqlalchemy_sqlite, marks=pytest.mark.sqlalchemy, id="sqlalchemy-sqlite"),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty built-in store: memory, SQLite (file, ``:memory:``), SQLAlchemy."""
    open_store: Callable[[pytest.FixtureRequest, Path], Store] = request.param
    opened = open_store(request, tmp_path)
    yield opened
    opened.close()
