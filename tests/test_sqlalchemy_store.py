"""SQLAlchemyStore without a server: SQLite through SQLAlchemy, the lazy import, options.

The contract suite and the program tests run on it through the shared ``store`` fixture
(``-m sqlalchemy``); these pin what only this store has.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, insert, select

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import SQLAlchemyStore, upgrade
from referralkit.storage._sqlalchemy_migrations import HEAD, MIGRATIONS

pytestmark = pytest.mark.sqlalchemy

SECRET = b"sqlalchemy-test-secret-0123456789abcdef"


def _fresh(code: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def _program(store: rk.Store) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
    )


def test_importing_storage_loads_no_sqlalchemy() -> None:
    loaded = _fresh(
        "import json, sys, referralkit, referralkit.storage;"
        " print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('sqlalchemy', 'psycopg', 'alembic'))))"
    )
    assert loaded == []


def test_the_store_loads_sqlalchemy_on_first_use_and_alembic_only_to_migrate() -> None:
    loaded = _fresh(
        "import json, sys\n"
        "from referralkit.storage import SQLAlchemyStore\n"
        "print(json.dumps([m in sys.modules for m in ('sqlalchemy', 'alembic')]))"
    )
    assert loaded == [True, False]


def test_without_sqlalchemy_the_error_says_how_to_install_it() -> None:
    message = _fresh(
        "import json, sys\n"
        "sys.modules['sqlalchemy'] = None  # as if it were not installed\n"
        "import referralkit as rk\n"
        "try:\n"
        "    from referralkit.storage import SQLAlchemyStore\n"
        "except rk.ConfigError as exc:\n"
        "    print(json.dumps(str(exc)))\n"
    )
    assert message == "SQLAlchemyStore needs SQLAlchemy: pip install 'referralkit[postgres]'"


def test_an_unknown_storage_name_is_an_attribute_error() -> None:
    from referralkit import storage

    with pytest.raises(AttributeError, match="SQLAlchemyStor"):
        _ = storage.SQLAlchemyStor
    assert {"SQLAlchemyStore", "upgrade"} <= set(dir(storage))


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"table_prefix": "Referral-"}, "table_prefix"),
        ({"table_prefix": 3}, "table_prefix"),
        ({"schema": "two words"}, "schema"),
    ],
)
def test_bad_options_are_config_errors_naming_them(tmp_path: Path, kwargs, path) -> None:
    with pytest.raises(rk.ConfigError) as raised:
        SQLAlchemyStore(f"sqlite:///{tmp_path / 'x.db'}", **kwargs)
    assert raised.value.path == path


def test_what_is_not_a_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(rk.ConfigError, match="URL"):
        SQLAlchemyStore("not a url")
    with pytest.raises(rk.ConfigError, match="Engine or a database URL"):
        SQLAlchemyStore(42)  # type: ignore[arg-type]


def test_a_sqlite_file_is_refused_until_migrated_and_the_cli_migrates_it(
    tmp_path: Path, capsys
) -> None:
    from referralkit.cli import main

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    with pytest.raises(rk.SchemaVersionError, match="referralkit db upgrade"):
        SQLAlchemyStore(url)
    assert main(["db", "check", "--url", url]) == 1
    assert main(["db", "upgrade", "--url", url]) == 0
    assert main(["db", "check", "--url", url]) == 0
    assert main(["db", "current", "--url", url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == HEAD
    store = SQLAlchemyStore(url)
    try:
        assert _program(store).enroll("ann").owner == "ann"
    finally:
        store.close()


def test_head_is_the_newest_shipped_revision() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == HEAD


def test_ids_holding_any_character_round_trip(tmp_path: Path) -> None:
    """NUL and the escape character are stored as given (PostgreSQL escapes them)."""
    store = SQLAlchemyStore(f"sqlite:///{tmp_path / 'x.db'}", migrate=True)
    try:
        weird = "a\x00b\x01c\x010"
        with store.transaction() as uow:
            uow.identities.add(weird, [("email", weird)])
        with store.transaction() as uow:
            assert uow.identities.signals(weird) == frozenset({("email", weird)})
    finally:
        store.close()


def test_a_shared_sqlite_connection_rolls_back_with_the_host(tmp_path: Path) -> None:
    """The shop's transaction on SQLite too (the mechanism the PostgreSQL tests prove)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade(engine)
    orders = Table("orders", MetaData(), Column("id", Text, primary_key=True), Column("n", Integer))
    orders.create(engine)
    store = SQLAlchemyStore(engine)
    program = _program(store)
    program.attribute(code=program.enroll("ann").code, referee="bob")
    for keep in (False, True):
        with engine.connect() as conn:
            conn.execute(insert(orders).values(id="o-1", n=1))
            with store.bind(conn):
                program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
            conn.commit() if keep else conn.rollback()
        assert len(program.rewards_for_order("o-1")) == (2 if keep else 0)
        with engine.connect() as conn:
            assert conn.execute(select(orders.c.id)).scalars().all() == (["o-1"] if keep else [])
    engine.dispose()


def test_an_in_memory_sqlite_database_is_one_database_for_every_thread() -> None:
    import threading

    store = SQLAlchemyStore("sqlite://", migrate=True)
    program = _program(store)
    program.attribute(code=program.enroll("ann").code, referee="bob")
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for n in range(10):
                program.convert(referee="bob", order_id=f"o-{n}", amount=rk.Money("1", "USD"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert program.status("ann").qualified == 1
    assert sum(len(program.rewards_for_order(f"o-{n}")) for n in range(10)) == 20
    store.close()


def test_close_leaves_a_hosts_engine_alone(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    SQLAlchemyStore(engine).close()
    with engine.connect() as conn:  # still usable
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    engine.dispose()
    assert "sqlite" in repr(SQLAlchemyStore(f"sqlite:///{tmp_path / 'x.db'}"))
