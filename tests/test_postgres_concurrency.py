"""Several app servers on one PostgreSQL database, and the server failing under them.

Four processes, each with its own engine and eight threads, deliver the same orders
three times over under a budget and a milestone; a server restart in the middle of a
stream of orders. The database is read directly afterwards: every order rewarded
exactly once, the budget spent to the cent and never beyond, each milestone paid once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from _postgres import PostgresServer, find_bindir
from _together import run_together
from _workers import BUDGET, MILESTONE_AT, MILESTONE_POINTS, app_server_program
from referralkit.storage import upgrade

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = Path(__file__).with_name("_workers.py")
ORDERS = 2000
REFERRERS = ORDERS // MILESTONE_AT  # each referrer's referees reach the milestone exactly


def _prepare(url: str, referees: int, referrers: int) -> None:
    """Referrers enrolled, referees attributed round-robin to them."""
    program = app_server_program(url)
    codes = [program.enroll(f"referrer-{n}").code for n in range(referrers)]
    for i in range(referees):
        program.attribute(code=codes[i % referrers], referee=f"referee-{i}")
    program.store.close()


def _scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def _check_ledger(engine: Engine) -> None:
    """Every reward has its conversion and one ledger entry, and one granted event."""
    assert (
        _scalar(
            engine,
            "SELECT count(*) FROM referralkit_rewards w LEFT JOIN referralkit_conversions c"
            " ON c.order_id = w.order_id WHERE c.order_id IS NULL",
        )
        == 0
    )
    assert (
        _scalar(
            engine,
            "SELECT count(*) FROM referralkit_rewards w WHERE (SELECT count(*) FROM"
            " referralkit_ledger l WHERE l.reward_id = w.id) <> 1",
        )
        == 0
    )
    assert _scalar(
        engine, "SELECT count(*) FROM referralkit_events WHERE type = 'reward.granted'"
    ) == _scalar(engine, "SELECT count(*) FROM referralkit_rewards")


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[tuple[str, Engine]]:
    url = postgres_server.create_database("appservers")
    engine = create_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def test_four_app_servers_reward_every_order_once_within_budget(
    database: tuple[str, Engine],
) -> None:
    url, engine = database
    _prepare(url, ORDERS, REFERRERS)
    servers, threads = 4, 8
    run_together(
        [
            [
                sys.executable,
                str(WORKERS),
                "app-server",
                url,
                str(ORDERS),
                "3",
                str(s),
                str(servers),
                str(threads),
            ]
            for s in range(servers)
        ],
        lambda _: None,
        threads=0,
    )
    assert _scalar(engine, "SELECT count(*) FROM referralkit_conversions") == ORDERS
    assert (
        _scalar(
            engine, "SELECT count(*) FROM referralkit_events WHERE type = 'conversion.recorded'"
        )
        == ORDERS
    )
    # Each order pays each side at most once; the budget is spent to the cent.
    assert (
        _scalar(
            engine,
            "SELECT count(*) FROM (SELECT order_id, beneficiary FROM referralkit_rewards"
            " WHERE currency IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) AS twice",
        )
        == 0
    )
    spent = _scalar(
        engine, "SELECT sum(amount_minor) FROM referralkit_rewards WHERE currency = 'USD'"
    )
    assert spent == int(BUDGET.amount * 100)
    full = int(BUDGET.amount // 15)
    assert (
        _scalar(
            engine,
            "SELECT count(*) FROM (SELECT order_id FROM referralkit_rewards WHERE currency = 'USD'"
            " GROUP BY order_id HAVING sum(amount_minor) = 1500) AS paid",
        )
        == full
    )  # every order before the budget ran out, paid in full; then one cut short
    assert (
        _scalar(engine, "SELECT count(*) FROM referralkit_referrals WHERE status = 'qualified'")
        == ORDERS
    )
    # The milestone: once per referrer, whatever raced.
    assert (
        _scalar(
            engine, f"SELECT count(*) FROM referralkit_rewards WHERE points = {MILESTONE_POINTS}"
        )
        == REFERRERS
    )
    assert (
        _scalar(
            engine,
            "SELECT count(DISTINCT customer_id) FROM referralkit_rewards"
            " WHERE key LIKE 'milestone:%'",
        )
        == REFERRERS
    )
    _check_ledger(engine)


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of the test's own, to restart."""
    bindir = find_bindir()
    assert bindir is not None  # postgres_server (requested below) skips or fails without it
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


def test_a_server_restart_under_load_loses_and_doubles_nothing(
    postgres_server: PostgresServer, own_server: PostgresServer
) -> None:
    url = own_server.create_database("restart")
    engine = create_engine(url, pool_pre_ping=True)
    try:
        upgrade(engine)
        _prepare(url, 300, 6)
        per_stream = 150
        streams = [
            subprocess.Popen(
                [sys.executable, str(WORKERS), "pg-stream", url, str(start), str(per_stream)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for start in (0, 1000)
        ]
        first = streams[0].stdout
        assert first is not None
        # Let the load build up, then pull the server out from under it.
        committed = [int(first.readline()) for _ in range(40)]
        own_server.restart()
        for proc in streams:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            committed += [int(line) for line in out.split()]
        assert sorted(committed) == [*range(per_stream), *range(1000, 1000 + per_stream)]
        assert _scalar(engine, "SELECT count(*) FROM referralkit_conversions") == 2 * per_stream
        assert (
            _scalar(
                engine,
                "SELECT count(*) FROM (SELECT order_id FROM referralkit_rewards"
                " WHERE currency = 'USD' GROUP BY order_id HAVING count(*) = 2) AS paid",
            )
            == 2 * per_stream
        )
        _check_ledger(engine)
    finally:
        engine.dispose()


def test_racing_threads_never_cross_a_referrers_cap_or_skip_a_tier(
    postgres_engine: Engine,
) -> None:
    """Sixteen threads convert one referrer's referees at once: the cap holds to the cent,
    and every tier is paid at exactly the count it starts at."""
    import threading

    import referralkit as rk
    from conftest import empty_postgres
    from referralkit.policies import Capped, Fixed, Tier, Tiered
    from referralkit.storage import SQLAlchemyStore

    empty_postgres(postgres_engine)
    store = SQLAlchemyStore(postgres_engine)
    tiers = Tiered(
        [
            Tier(min_referrals=1, reward=Fixed(rk.Money("10", "USD"))),
            Tier(min_referrals=20, reward=Fixed(rk.Money("20", "USD"))),
        ]
    )
    program = rk.ReferralProgram(
        store=store,
        secret=b"cap-test-secret-0123456789abcdef-0123",
        policy=Capped(tiers, max_per_referrer=rk.Money("405.50", "USD")),
        guards=[],
    )
    code = program.enroll("ann").code
    referees = [f"friend-{i}" for i in range(40)]
    for referee in referees:
        program.attribute(code=code, referee=referee)
    errors: list[BaseException] = []

    def work(lane: int) -> None:
        try:
            for referee in referees[lane::16]:
                program.convert(
                    referee=referee, order_id=f"o-{referee}", amount=rk.Money("9", "USD")
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(lane,)) for lane in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    amounts = [r.amount for r in program.rewards("ann")]
    # 19 x 10 USD, then 10 x 20 USD, then the 15.50 USD left under the cap.
    assert sum(a.amount for a in amounts if a is not None) == Decimal("405.50")
    # The qualified count each conversion saw was exact: 19 tens, then twenties.
    assert sorted(a.amount for a in amounts if a is not None)[:19] == [10] * 19
    assert [a.amount for a in amounts if a is not None].count(20) == 10
    store.close()
