"""SQLAlchemyStore on a real PostgreSQL server: migrations, the shop's transaction, errors.

The behavioural contract (`StoreContract`) and the program tests run on PostgreSQL
through the shared ``store`` fixture; these are the PostgreSQL-only guarantees.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta, timezone
from typing import Any

import psycopg
import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)

import referralkit as rk
from _postgres import PostgresServer
from conftest import empty_postgres
from referralkit.errors import RetryableStorageError
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import SQLAlchemyStore, upgrade
from referralkit.storage._sqlalchemy_migrations import HEAD, current_revision
from referralkit.storage._sqlalchemy_tables import build_tables
from referralkit.testing import FrozenClock

pytestmark = pytest.mark.postgres

SECRET = b"postgres-test-secret-0123456789abcdef"
_names = itertools.count()


def _program(store: rk.Store, **kwargs: Any) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        **kwargs,
    )


@pytest.fixture
def fresh_url(postgres_server: PostgresServer) -> str:
    """An empty database of its own (no referralkit tables)."""
    return postgres_server.create_database(f"fresh{next(_names)}")


@pytest.fixture
def store(postgres_engine: Engine) -> Iterator[SQLAlchemyStore]:
    empty_postgres(postgres_engine)
    opened = SQLAlchemyStore(postgres_engine)
    yield opened
    opened.close()


def _counts(
    engine: Engine, prefix: str = "referralkit_", schema: str | None = None
) -> dict[str, int]:
    tables = build_tables(prefix, schema)
    with engine.connect() as conn:
        return {
            t.name.removeprefix(prefix): int(
                conn.execute(select(func.count()).select_from(t)).scalar_one()
            )
            for t in tables.all()
        }


# -- the server the tests start -------------------------------------------------------------


def test_missing_server_binaries_skip_locally_and_fail_under_ci(tmp_path) -> None:
    from conftest import require_bindir

    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        require_bindir(None, ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL tests"):
        require_bindir(None, ci=True)
    assert require_bindir(tmp_path, ci=True) == tmp_path


def test_the_server_owns_its_throwaway_folder_and_never_runs_as_root(
    postgres_server: PostgresServer,
) -> None:
    """initdb refuses root: as root the server runs as the postgres user, in its own folder."""
    import os

    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        (data,) = conn.execute("SELECT current_setting('data_directory')").fetchone()
    assert data == str(postgres_server.data)
    owner = postgres_server.data.stat().st_uid
    assert owner != 0
    assert owner == os.geteuid() or os.geteuid() == 0


# -- migrations ----------------------------------------------------------------------


def test_a_database_without_the_tables_is_refused_until_migrated(fresh_url: str) -> None:
    with pytest.raises(rk.SchemaVersionError, match="referralkit db upgrade"):
        SQLAlchemyStore(fresh_url)
    store = SQLAlchemyStore(fresh_url, migrate=True)
    try:
        assert _program(store).enroll("ann").owner == "ann"
    finally:
        store.close()
    SQLAlchemyStore(fresh_url).close()  # at the head now: opened without migrate


def test_prefix_and_schema_apply_to_every_table_index_and_the_version_table(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        assert upgrade(engine, table_prefix="rk_", schema="referrals") == HEAD
        assert upgrade(engine, table_prefix="rk_", schema="referrals") == HEAD  # idempotent
        found = inspect(engine)
        tables = set(found.get_table_names(schema="referrals"))
        assert tables == {t.name for t in build_tables("rk_", "referrals").all()} | {
            "rk_alembic_version"
        }
        assert found.get_table_names() == []  # nothing in the default schema
        indexes = {i["name"] for t in tables for i in found.get_indexes(t, schema="referrals")}
        assert len(indexes) == 55  # 37 indexes and 18 unique constraints
        assert all(str(name).startswith("rk_") for name in indexes)
        with engine.connect() as conn:
            assert current_revision(conn, table_prefix="rk_", schema="referrals") == HEAD
            assert current_revision(conn) is None
        store = SQLAlchemyStore(engine, table_prefix="rk_", schema="referrals")
        _program(store).enroll("ann")
        assert _counts(engine, "rk_", "referrals")["codes"] == 1
    finally:
        engine.dispose()


def _ddl_differs(context: Any, _inspected: Any, _defined: Any, found: Any, defined: Any) -> bool:
    """Types differ when the dialect's own forms of them do (TEXT and VARCHAR are one there).

    A TypeDecorator is compared by the type it stands for, its collation included.
    """
    dialect = context.dialect
    return bool(
        found.dialect_impl(dialect).compile(dialect=dialect)
        != defined.dialect_impl(dialect).compile(dialect=dialect)
    )


def test_the_migrated_schema_is_exactly_the_table_definitions(fresh_url: str) -> None:
    """Alembic's autogenerate finds nothing to change between the head and the tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(fresh_url)
    try:
        upgrade(engine, table_prefix="cmp_", schema="cmp")
        tables = build_tables("cmp_", "cmp")
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, kind, _parent: kind != "schema" or name == "cmp",
                    "include_object": lambda obj, name, kind, *_: name != "cmp_alembic_version",
                    "compare_type": _ddl_differs,
                    "compare_server_default": False,
                },
            )
            assert compare_metadata(context, tables.metadata) == []
    finally:
        engine.dispose()


def test_the_versions_never_meet_the_hosts_alembic(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        with engine.begin() as conn:  # the shop's own Alembic history, at its own revision
            conn.execute(text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('shop_42')"))
        with engine.begin() as conn:  # as the shop's env.py would call it, in its transaction
            upgrade(conn)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
                ("shop_42",)
            ]
            assert current_revision(conn) == HEAD
    finally:
        engine.dispose()


def test_two_installations_share_a_database_without_meeting(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        upgrade(engine, table_prefix="a_")
        upgrade(engine, table_prefix="b_")
        _program(SQLAlchemyStore(engine, table_prefix="a_")).enroll("ann")
        assert _counts(engine, "a_")["codes"] == 1
        assert _counts(engine, "b_")["codes"] == 0
    finally:
        engine.dispose()


def test_a_database_at_an_unknown_revision_is_refused(fresh_url: str) -> None:
    engine = create_engine(fresh_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE referralkit_alembic_version SET version_num = '9999'"))
        with pytest.raises(rk.SchemaVersionError, match="newer than this referralkit"):
            SQLAlchemyStore(engine)
    finally:
        engine.dispose()


def test_the_db_commands_upgrade_report_and_check(fresh_url: str, capsys) -> None:
    from referralkit.cli import main

    assert main(["db", "current", "--url", fresh_url]) == 0
    assert capsys.readouterr().out == "none\n"
    assert main(["db", "check", "--url", fresh_url]) == 1
    assert "referralkit db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade", "--url", fresh_url, "--schema", "kit"]) == 0
    assert capsys.readouterr().out == f"referralkit tables: none -> {HEAD}\n"
    assert main(["db", "check", "--url", fresh_url]) == 1  # the default schema is still empty
    capsys.readouterr()
    assert main(["db", "check", "--url", fresh_url, "--schema", "kit"]) == 0
    assert main(["db", "current", "--url", fresh_url, "--schema", "kit"]) == 0
    assert capsys.readouterr().out.endswith(f"{HEAD}\n")
    assert main(["db", "upgrade", "--url", fresh_url, "--table-prefix", "Bad-Prefix"]) == 1
    assert "table_prefix" in capsys.readouterr().err


# -- the shop's transaction ------------------------------------------------------------


@pytest.fixture
def orders(postgres_engine: Engine) -> Table:
    """The shop's own orders table, beside referralkit's in the same database."""
    table = Table(
        "shop_orders", MetaData(), Column("id", Text, primary_key=True), Column("cents", Integer)
    )
    table.create(postgres_engine, checkfirst=True)
    with postgres_engine.begin() as conn:
        conn.execute(table.delete())
    return table


class _ShopFailed(Exception):
    pass


def _referred(store: SQLAlchemyStore) -> rk.ReferralProgram:
    program = _program(store)
    program.attribute(code=program.enroll("ann").code, referee="bob")
    program.ack([e.id for e in program.pending_events(100)])
    return program


def test_a_shop_transaction_that_rolls_back_leaves_no_conversion_reward_or_event(
    store: SQLAlchemyStore, orders: Table, postgres_engine: Engine
) -> None:
    program = _referred(store)
    before = _counts(postgres_engine)
    seen: list[int] = []

    def checkout() -> None:
        with postgres_engine.begin() as conn:
            conn.execute(insert(orders).values(id="o-1", cents=8000))
            with store.bind(conn):
                rewards = program.convert(
                    referee="bob", order_id="o-1", amount=rk.Money("80", "USD")
                )
                seen.extend([len(rewards), len(program.pending_events(100))])
            raise _ShopFailed  # say, the payment was declined after the order was written

    with pytest.raises(_ShopFailed):
        checkout()
    assert seen == [2, 4]  # written, and seen inside the shop's transaction
    assert _counts(postgres_engine) == before
    with postgres_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 0
    assert program.rewards_for_order("o-1") == []
    assert program.pending_events(100) == []


def test_a_shop_transaction_that_commits_keeps_the_order_and_the_rewards(
    store: SQLAlchemyStore, orders: Table, postgres_engine: Engine
) -> None:
    program = _referred(store)
    with postgres_engine.begin() as conn:
        conn.execute(insert(orders).values(id="o-1", cents=8000))
        with store.bind(conn):
            granted = program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
        # Not visible to the program's own connections until the shop commits.
        assert program.rewards_for_order("o-1") == []
    assert sorted(r.id for r in program.rewards_for_order("o-1")) == sorted(r.id for r in granted)
    assert [e.type for e in program.pending_events(100)] == [
        "conversion.recorded",
        "referral.qualified",
        "reward.granted",
        "reward.granted",
    ]
    with postgres_engine.connect() as conn:
        assert conn.execute(select(orders.c.id)).scalars().all() == ["o-1"]


def test_a_failed_program_call_rolls_back_only_its_savepoint(
    store: SQLAlchemyStore, orders: Table, postgres_engine: Engine
) -> None:
    program = _referred(store)
    with postgres_engine.begin() as conn:
        conn.execute(insert(orders).values(id="o-1", cents=8000))
        with store.bind(conn):
            program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
            with pytest.raises(rk.InvalidInput):  # the order id belongs to bob
                program.convert(referee="cat", order_id="o-1", amount=rk.Money("1", "USD"))
            program.refund(order_id="o-1")
    assert [r.state for r in program.rewards_for_order("o-1")] == [rk.RewardState.REVERSED] * 2
    with postgres_engine.connect() as conn:
        assert conn.execute(select(orders.c.id)).scalars().all() == ["o-1"]


def test_the_shops_driver_connection_can_be_bound_as_django_does(
    store: SQLAlchemyStore, orders: Table, postgres_server: PostgresServer
) -> None:
    """Django's ``connection.connection`` is a psycopg connection: bound the same way."""
    program = _referred(store)
    for commit in (False, True):
        raw = psycopg.connect(
            postgres_server.dsn("referralkit")
        )  # autocommit off: in a transaction
        try:
            raw.execute("INSERT INTO shop_orders (id, cents) VALUES ('o-1', 8000)")
            with store.bind(raw):
                assert (
                    len(
                        program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
                    )
                    == 2
                )
            assert not raw.closed  # the store never closes, commits nor rolls back the host's
            assert raw.execute("SELECT count(*) FROM referralkit_rewards").fetchone() == (2,)
            raw.commit() if commit else raw.rollback()
        finally:
            raw.close()
        assert len(program.rewards_for_order("o-1")) == (2 if commit else 0)
    raw = psycopg.connect(postgres_server.dsn("referralkit"), autocommit=True)
    try:
        with pytest.raises(rk.ConfigError, match="autocommit"), store.bind(raw):
            pass
    finally:
        raw.close()


def test_a_repeatable_read_host_transaction_is_refused(
    store: SQLAlchemyStore, postgres_engine: Engine
) -> None:
    with postgres_engine.connect() as plain:
        conn = plain.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), pytest.raises(rk.ConfigError, match="REPEATABLE READ"), store.bind(conn):
            pass


def test_binding_is_local_to_the_thread(store: SQLAlchemyStore, postgres_engine: Engine) -> None:
    program = _referred(store)
    seen: list[int] = []
    with postgres_engine.begin() as conn, store.bind(conn):
        program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
        other = threading.Thread(target=lambda: seen.append(len(program.rewards_for_order("o-1"))))
        other.start()
        other.join()
        assert len(program.rewards_for_order("o-1")) == 2
    assert seen == [0]  # another thread's units of work use their own connections


# -- errors ----------------------------------------------------------------------------


def test_ids_holding_nul_round_trip(store: SQLAlchemyStore) -> None:
    """PostgreSQL text cannot hold NUL: the store escapes it, and its escape character."""
    weird = ["a\x00b", "c\x01d", "e\x010", "\x01\x00\x01"]
    with store.transaction() as uow:
        for text_id in weird:
            uow.identities.add(text_id, [("email", text_id)])
    with store.transaction() as uow:
        for text_id in weird:
            assert uow.identities.signals(text_id) == frozenset({("email", text_id)})
            assert uow.identities.customers_with(("email", text_id), 5) == [text_id]


def _terminate_idle_in_transaction(server: PostgresServer) -> int:
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = 'referralkit' AND state = 'idle in transaction'"
        ).fetchall()
    return len(rows)


class _Terminating:
    """A policy that has the server cut its own unit of work's connection mid-conversion."""

    name = "terminating"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.armed = True

    def evaluate(self, context: rk.RewardContext) -> list[rk.Grant]:
        if self.armed:
            self.armed = False
            assert _terminate_idle_in_transaction(self.server) == 1
        return list(Fixed(rk.Money("10", "USD")).evaluate(context))


def test_a_backend_terminated_mid_unit_of_work_leaves_nothing_and_a_retry_succeeds(
    store: SQLAlchemyStore, postgres_engine: Engine, postgres_server: PostgresServer
) -> None:
    policy = _Terminating(postgres_server)
    program = rk.ReferralProgram(
        store=store, secret=SECRET, policy=policy, guards=[], policy_version="terminating-1"
    )
    program.attribute(code=program.enroll("ann").code, referee="bob")
    before = _counts(postgres_engine)
    with pytest.raises(RetryableStorageError) as raised:
        program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
    assert raised.value.retryable
    assert isinstance(raised.value.__cause__, psycopg.Error)  # the driver's own exception
    assert _counts(postgres_engine) == before  # the conversion and its event were rolled back
    rewards = program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
    assert [r.amount for r in rewards] == [rk.Money("10", "USD")]
    assert _counts(postgres_engine)["conversions"] == 1


def test_an_unreachable_server_is_a_retryable_storage_error(postgres_engine: Engine) -> None:
    from _postgres import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/referralkit"
    with pytest.raises(RetryableStorageError) as raised:
        SQLAlchemyStore(url, engine_options={"connect_args": {"connect_timeout": 2}})
    assert isinstance(raised.value.__cause__, psycopg.OperationalError)


def test_a_constraint_violation_is_a_plain_storage_error(store: SQLAlchemyStore) -> None:
    with pytest.raises(rk.StorageError) as raised, store.transaction() as uow:
        uow.conversions.add(
            rk.Conversion(
                order_id="o-x",
                referee="bob",
                amount=rk.Money("1", "USD"),
                occurred_at=FrozenClock().now,
                first_order=True,
                referral_id="no-such-referral",  # a foreign key to nothing
            )
        )
    assert not raised.value.retryable
    assert isinstance(raised.value.__cause__, psycopg.errors.ForeignKeyViolation)


def test_a_lock_timeout_is_retryable(store: SQLAlchemyStore, postgres_engine: Engine) -> None:
    """A unit of work that waits too long for another's lock gives up, retryably."""
    program = _referred(store)
    impatient_engine = create_engine(
        postgres_engine.url, connect_args={"options": "-c lock_timeout=200"}
    )
    impatient = _program(SQLAlchemyStore(impatient_engine))
    try:
        with postgres_engine.begin() as holder, store.bind(holder):
            # The shop's transaction stays open, holding bob's lock.
            program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
            with pytest.raises(RetryableStorageError, match="lock"):
                impatient.convert(referee="bob", order_id="o-2", amount=rk.Money("1", "USD"))
        assert (
            len(impatient.convert(referee="bob", order_id="o-2", amount=rk.Money("1", "USD"))) == 2
        )
    finally:
        impatient_engine.dispose()


# -- metrics -------------------------------------------------------------------------


def test_the_report_reads_a_bounded_number_of_rows(store: SQLAlchemyStore) -> None:
    """Aggregates are computed in PostgreSQL: the report fetches few rows, however many facts."""
    from referralkit.testing._metrics_program import generated_program

    program = generated_program(store, 5, days=30, customers=30)
    fetched = [0]

    def count(conn: Any, cursor: Any, *_: Any) -> None:
        fetched[0] += max(cursor.rowcount, 0)

    event.listen(store.read_engine, "after_cursor_execute", count)
    try:
        program.metrics(by=("campaign", "channel", "referrer"))
    finally:
        event.remove(store.read_engine, "after_cursor_execute", count)
    stored = sum(_counts(store.engine).values())
    assert 0 < fetched[0] < 200 < stored


def test_metrics_can_read_from_a_separate_read_engine(
    store: SQLAlchemyStore, postgres_engine: Engine
) -> None:
    replica = create_engine(postgres_engine.url)  # standing in for a streaming replica
    statements: list[str] = []
    event.listen(replica, "before_cursor_execute", lambda *a: statements.append(a[2]))
    reading = SQLAlchemyStore(postgres_engine, read_engine=replica)
    try:
        program = _program(reading, clock=FrozenClock(), attribution="last_touch")
        code = program.enroll("ann").code
        program.track_click(code, visitor="v1")
        assert program.attribute(visitor="v1", referee="bob") is not None  # clicks: the primary
        assert not any("referralkit_events" in s for s in statements)
        assert program.metrics().referrals == 1
        assert any("referralkit_referrals" in s for s in statements)  # the report: the replica
    finally:
        reading.close()
        replica.dispose()


def test_two_stores_agree_on_what_timedelta_since_means(store: SQLAlchemyStore) -> None:
    """Windows in any time zone cut the same facts (the server stores UTC instants)."""
    clock = FrozenClock()
    program = _program(store, clock=clock)
    program.attribute(code=program.enroll("ann").code, referee="bob")
    clock.advance(hours=1)
    program.convert(referee="bob", order_id="o-1", amount=rk.Money("10", "USD"))
    since = (clock.now - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=5)))
    assert program.metrics(since=since).referrals == 0
    assert program.metrics(since=since - timedelta(hours=1)).converted == 1
