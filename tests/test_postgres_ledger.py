"""The stateful ledger test (`test_ledger_stateful`) on SQLAlchemyStore: PostgreSQL, SQLite.

The very same machine drives the program through random sequences of calls, retries and
refunds; only the store differs. On PostgreSQL each example starts from emptied tables.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

import referralkit as rk
from conftest import empty_postgres
from referralkit.storage import SQLAlchemyStore
from test_ledger_stateful import LedgerMachine


class PostgresLedgerMachine(LedgerMachine):
    engine: object = None  # set by the fixture below, before any example runs

    def make_store(self) -> rk.Store:
        empty_postgres(self.engine)
        return SQLAlchemyStore(self.engine)  # type: ignore[arg-type]


class SQLAlchemySQLiteLedgerMachine(LedgerMachine):
    def make_store(self) -> rk.Store:
        self.tmp = tempfile.TemporaryDirectory()
        return SQLAlchemyStore(f"sqlite:///{Path(self.tmp.name) / 'ledger.db'}", migrate=True)

    def teardown(self) -> None:
        super().teardown()
        self.tmp.cleanup()


TestLedgerPostgres = PostgresLedgerMachine.TestCase
TestLedgerPostgres.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestLedgerPostgres = pytest.mark.postgres(TestLedgerPostgres)
TestLedgerSQLAlchemySQLite = SQLAlchemySQLiteLedgerMachine.TestCase
TestLedgerSQLAlchemySQLite.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None
)
TestLedgerSQLAlchemySQLite = pytest.mark.sqlalchemy(TestLedgerSQLAlchemySQLite)


@pytest.fixture(autouse=True)
def _postgres_for_the_machine(request: pytest.FixtureRequest) -> None:
    if request.cls is TestLedgerPostgres:
        PostgresLedgerMachine.engine = request.getfixturevalue("postgres_engine")
