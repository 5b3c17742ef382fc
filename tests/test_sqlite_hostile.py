"""Hostile arguments and files for `SQLiteStore`: clear errors, bounded waits, files left alone.

A bad path or timeout is a `ConfigError` naming it; a file that is not SQLite, or a
damaged referralkit file, a `StorageError` saying so; another application's file is
refused unless the host opts in; a held lock fails the call within its timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.policies import Fixed
from referralkit.protocols import Store, UnitOfWork
from referralkit.storage import SCHEMA_VERSION, MemoryStore, SQLiteStore
from referralkit.storage._schema import MIGRATIONS
from strategies import junk_values

pytestmark = pytest.mark.sqlite

_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# -- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["a\x00b", "\ud800", "db-\udcff.db", None, b"x", 1, 2.5, "", ["x.db"], object()],
    ids=repr,
)
def test_a_path_that_is_no_file_name_is_a_config_error_naming_path(
    path: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(rk.ConfigError) as caught:
        SQLiteStore(path)  # type: ignore[arg-type]
    assert caught.value.path == "path"
    assert list(tmp_path.iterdir()) == []


def test_a_directory_is_a_config_error_naming_path(tmp_path: Path) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        SQLiteStore(tmp_path)
    assert caught.value.path == "path"
    assert "directory" in caught.value.message


@pytest.mark.parametrize(
    "timeout",
    [float("nan"), float("inf"), -float("inf"), -1, -0.001, 86_401, 10**400, "x", None, True, "1"],
    ids=repr,
)
def test_a_timeout_that_is_no_number_of_seconds_is_a_config_error(
    timeout: object, tmp_path: Path
) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        SQLiteStore(tmp_path / "x.db", timeout=timeout)  # type: ignore[arg-type]
    assert caught.value.path == "timeout"
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("timeout", [0, 0.5, 1, 30.0, 86_400])
def test_a_timeout_from_zero_to_a_day_is_accepted(timeout: float, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.db", timeout=timeout)
    with store.transaction() as uow:
        uow.events.add("x", {}, _TIME)
    store.close()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=junk_values, timeout=junk_values)
def test_any_junk_arguments_raise_only_config_or_storage_errors(
    path: object, timeout: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever is passed, the constructor raises a ReferralError or opens a store."""
    monkeypatch.chdir(tmp_path)
    try:
        store = SQLiteStore(path, timeout=timeout)  # type: ignore[arg-type]
    except (rk.ConfigError, rk.StorageError):
        return
    store.close()


# -- waiting for a lock ----------------------------------------------------------------------


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A referralkit file whose write lock another connection holds (``BEGIN IMMEDIATE``)."""
    path = tmp_path / "locked.db"
    SQLiteStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield path
    holder.execute("ROLLBACK")
    holder.close()


def _fails_within(call: Callable[[], object]) -> tuple[float, rk.StorageError]:
    start = time.monotonic()
    with pytest.raises(rk.StorageError) as caught:
        call()
    return time.monotonic() - start, caught.value


def _open_store(path: Path, timeout: float | None) -> SQLiteStore:
    return SQLiteStore(path) if timeout is None else SQLiteStore(path, timeout=timeout)


def _run_locked_calls(path: Path, timeout: float | None, holder: sqlite3.Connection) -> list[float]:
    """Open a store and a program while the file is free, then lock it and time each call."""
    store = _open_store(path, timeout)
    program = rk.ReferralProgram(
        store=store, secret=b"s" * 32, policy=Fixed(rk.Money("5", "USD")), guards=[]
    )
    holder.execute("BEGIN IMMEDIATE")
    calls: list[Callable[[], object]] = [
        lambda: _open_store(path, timeout),
        lambda: store.transaction().__enter__(),
        lambda: program.enroll("ann"),
    ]
    took: list[float] = [0.0] * len(calls)
    errors: list[rk.StorageError | None] = [None] * len(calls)

    def run(i: int) -> None:
        took[i], errors[i] = _fails_within(calls[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    holder.execute("ROLLBACK")
    assert all(e is not None and "another connection held" in e.message for e in errors), errors
    with store.transaction() as uow:
        assert uow.codes.for_owner("ann") == []  # the refused call wrote nothing
    store.close()
    return took


def test_a_held_lock_fails_each_call_within_its_timeout(tmp_path: Path) -> None:
    """One deadline across every retry: at 1 s a call fails after about 1 s, not 50 s."""
    path = tmp_path / "locked.db"
    SQLiteStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    took = _run_locked_calls(path, 1.0, holder)
    holder.close()
    assert all(0.9 <= t < 3.0 for t in took), took


@pytest.mark.slow
def test_a_held_lock_fails_each_call_within_the_default_timeout(tmp_path: Path) -> None:
    """At the default 30 s, every call gives up within a small multiple of 30 s."""
    path = tmp_path / "locked.db"
    SQLiteStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    took = _run_locked_calls(path, None, holder)
    holder.close()
    assert all(29.5 <= t < 45.0 for t in took), took


def test_a_zero_timeout_fails_at_once(locked: Path) -> None:
    took, _ = _fails_within(lambda: SQLiteStore(locked, timeout=0))
    assert took < 0.5


def test_a_lock_released_before_the_timeout_lets_the_call_through(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    store = SQLiteStore(path, timeout=5)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: holder.execute("ROLLBACK")).start()
    with store.transaction() as uow:
        uow.events.add("x", {}, _TIME)
    with store.transaction() as uow:
        assert [e.type for e in uow.events.pending(10)] == ["x"]
    holder.close()
    store.close()


# -- files that are not referralkit's ----------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"hello, this is text\n" * 40, b"\xff\xfe" * 300, b"SQLite format 3\x00" + b"\x01" * 84],
)
def test_a_file_that_is_not_sqlite_is_a_storage_error_that_says_so(
    content: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(rk.StorageError) as caught:
        SQLiteStore(path)
    assert "not a SQLite database" in caught.value.message
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def _other_app(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total TEXT)")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    conn.execute("INSERT INTO orders (total) VALUES ('12.50')")
    conn.commit()
    conn.close()


def test_another_applications_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    _other_app(path)
    before = _dump(path)
    with pytest.raises(rk.ConfigError) as caught:
        SQLiteStore(path)
    assert caught.value.path == "allow_foreign_tables"
    assert caught.value.value == ["customers", "orders"]
    assert "customers, orders" in caught.value.message
    assert _dump(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]


def test_a_host_may_share_its_file_when_it_opts_in(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    _other_app(path)
    store = SQLiteStore(path, allow_foreign_tables=True)
    assert store.schema_version() == SCHEMA_VERSION
    program = rk.ReferralProgram(store=store, secret=b"s" * 32, policy=Fixed(rk.Money("5", "USD")))
    program.enroll("ann")
    store.close()
    store = SQLiteStore(path, allow_foreign_tables=True)  # and again, once it is shared
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT total FROM orders").fetchall() == [("12.50",)]
    conn.close()
    with pytest.raises(rk.ConfigError):  # without the opt-in, still refused
        SQLiteStore(path)


def test_a_foreign_table_under_a_name_referralkit_needs_is_refused_even_when_allowed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")
    conn.commit()
    conn.close()
    before = _dump(path)
    with pytest.raises(rk.ConfigError) as caught:
        SQLiteStore(path, allow_foreign_tables=True)
    assert caught.value.value == ["events"]
    assert _dump(path) == before


@pytest.mark.parametrize("allow", [1, "yes", None])
def test_allow_foreign_tables_is_a_bool(allow: object, tmp_path: Path) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        SQLiteStore(tmp_path / "x.db", allow_foreign_tables=allow)  # type: ignore[arg-type]
    assert caught.value.path == "allow_foreign_tables"


# -- damaged referralkit files -----------------------------------------------------------------


def _damage(path: Path, *statements: str) -> list[str]:
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return _dump(path)


@pytest.mark.parametrize(
    ("statements", "said"),
    [
        (["UPDATE schema_version SET version = 'abc'"], "schema_version holds 'abc'"),
        (["UPDATE schema_version SET version = 2.5"], "schema_version holds 2.5"),
        (["UPDATE schema_version SET version = -1"], "schema_version holds -1"),
        (["INSERT INTO schema_version VALUES (1)"], "more than one row"),
        (["DELETE FROM schema_version"], "records no version"),
        (["DROP TABLE ledger"], "needs table ledger"),
        (["ALTER TABLE rewards DROP COLUMN payout_id"], "needs column rewards.payout_id"),
        (["DROP INDEX referrals_one_active_per_referee"], "index referrals_one_active_per_referee"),
        (["DROP TRIGGER rewards_spend_insert"], "trigger rewards_spend_insert"),
    ],
)
def test_a_damaged_file_is_a_storage_error_naming_the_damage(
    statements: list[str], said: str, tmp_path: Path
) -> None:
    path = tmp_path / "damaged.db"
    before = _damage(path, *statements)
    with pytest.raises(rk.StorageError) as caught:
        SQLiteStore(path)
    assert not isinstance(caught.value, rk.SchemaVersionError)
    assert "damaged referralkit database" in caught.value.message
    assert said in caught.value.message
    assert _dump(path) == before


def test_a_file_holding_a_later_versions_table_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for step in MIGRATIONS[:4]:
        for statement in step:
            conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (4)")
    conn.execute("CREATE TABLE clicks (id INTEGER PRIMARY KEY)")  # version 5's, out of place
    conn.commit()
    conn.close()
    before = _dump(path)
    with pytest.raises(rk.StorageError) as caught:
        SQLiteStore(path)
    assert "holds clicks, which schema version 4 lacks" in caught.value.message
    assert _dump(path) == before


def test_a_file_rolled_back_to_an_older_version_number_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    before = _damage(path, "UPDATE schema_version SET version = 4")
    with pytest.raises(rk.StorageError) as caught:
        SQLiteStore(path)
    assert "damaged referralkit database" in caught.value.message
    assert _dump(path) == before


def _schema_objects() -> list[tuple[str, str]]:
    conn = sqlite3.connect(":memory:")
    for step in MIGRATIONS:
        for statement in step:
            conn.execute(statement)
    rows = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite%' ORDER BY name"
    ).fetchall()
    conn.close()
    return [(str(kind), str(name)) for kind, name in rows]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dropped=st.sampled_from(_schema_objects()))
def test_any_schema_object_dropped_is_named_in_a_storage_error(
    dropped: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Drop one table, index or trigger of a current file: opening it names what is gone."""
    kind, name = dropped
    path = tmp_path_factory.mktemp("drop") / "x.db"
    _damage(path, f"DROP {kind.upper()} {name}")
    with pytest.raises(rk.StorageError) as caught:
        SQLiteStore(path)
    assert f"{kind} {name}" in caught.value.message


# -- ints beyond 64 bits -----------------------------------------------------------------------

_HUGE = 2**63

#: Store calls with an int no SQL column holds, on either built-in store.
_HUGE_STORE_CALLS: dict[str, Callable[[UnitOfWork], object]] = {
    "events.pending": lambda uow: uow.events.pending(_HUGE),
    "events.ack": lambda uow: uow.events.ack([_HUGE]),
    "events.claim": lambda uow: uow.events.claim(_HUGE, _TIME, _TIME + timedelta(minutes=1)),
    "events.release": lambda uow: uow.events.release([-_HUGE - 1], _TIME),
    "events.dead_letter": lambda uow: uow.events.dead_letter([2**70], _TIME),
    "events.dead_letters": lambda uow: uow.events.dead_letters(2**70),
    "events.prune": lambda uow: uow.events.prune(_TIME, _HUGE),
    "referrals.in_review": lambda uow: uow.referrals.in_review(_HUGE),
    "referrals.referees_of": lambda uow: uow.referrals.referees_of("ann", last=_HUGE),
    "rewards.due": lambda uow: uow.rewards.due(_TIME, 2**70),
    "rewards.available": lambda uow: uow.rewards.available(
        kind=None, currency=None, after=None, limit=_HUGE
    ),
    "identities.customers_with": lambda uow: uow.identities.customers_with(("email", "x"), _HUGE),
    "identities.referees_since": lambda uow: uow.identities.referees_since(
        ("email", "x"), _TIME, _HUGE
    ),
}


@pytest.mark.parametrize("call", list(_HUGE_STORE_CALLS.values()), ids=list(_HUGE_STORE_CALLS))
def test_every_store_refuses_an_int_beyond_64_bits_alike(
    store: Store, call: Callable[[UnitOfWork], object]
) -> None:
    """A StorageError on every store, never OverflowError, and the unit of work undone."""

    def write() -> None:
        with store.transaction() as uow:
            uow.events.add("before", {}, _TIME)
            call(uow)

    with pytest.raises(rk.StorageError):
        write()
    with store.transaction() as uow:
        assert uow.events.pending(10) == []
        assert uow.events.pending(2**63 - 1) == []  # the largest int is a limit like any


def test_every_store_refuses_max_uses_beyond_64_bits(store: Store) -> None:
    program = rk.ReferralProgram(store=store, secret=b"s" * 32, policy=Fixed(rk.Money("5", "USD")))
    code = program.enroll("ann")
    with pytest.raises(rk.StorageError), store.transaction() as uow:
        uow.codes.add(
            rk.ReferralCode(
                code="ZZZZ0000",
                owner="bob",
                campaign="default",
                kind=code.kind,
                created_at=_TIME,
                max_uses=_HUGE,
            )
        )
    assert program.code_for("bob") is None


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.pending_events(2**70), "limit"),
        (lambda p: p.review_queue(2**70), "limit"),
        (lambda p: p.release_due(2**70), "limit"),
        (lambda p: p.ack([2**70]), "event_ids"),
        (lambda p: p.enroll("c", max_uses=2**70), "max_uses"),
        (lambda p: p.payable(limit=2**63), "limit"),
        (lambda p: p.dead_letters(2**63), "limit"),
        (lambda p: p.claim_events(2**63), "limit"),
    ],
)
def test_program_calls_refuse_an_int_beyond_64_bits_naming_the_field(
    make: Callable[[], Store], call: Callable[[rk.ReferralProgram], object], field: str
) -> None:
    store = make()
    program = rk.ReferralProgram(store=store, secret=b"s" * 32, policy=Fixed(rk.Money("5", "USD")))
    with pytest.raises(rk.InvalidInput) as caught:
        call(program)
    assert caught.value.field == field
    assert program.pending_events() == []
    store.close()
