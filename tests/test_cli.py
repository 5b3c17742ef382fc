"""The `referralkit` command: the demo runs a whole shop, `codes` prints valid codes."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings

import referralkit as rk
from referralkit.cli import main
from referralkit.policies import Fixed
from strategies import cli_argvs


def test_demo_runs_a_shop_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db), "--customers", "120", "--days", "20", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "day  10:" in out
    assert "Rewards by state (the ledger)" in out
    # The run ends with the metrics report, leaderboard included.
    report = out[out.index("referralkit metrics (all time)") :]
    headings = ("Funnel", "Fraud and review", "Money (USD)", "Group-buys", "Invitations and")
    headings += ("Moments (",)
    for heading in (*headings, "Leaderboard (by referrer)"):
        assert heading in report
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM referrals").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM conversions").fetchone()[0] > 0
        assert (
            conn.execute("SELECT count(*) FROM referrals WHERE status = 'rejected'").fetchone()[0]
            > 0
        )
        # Every order was delivered twice; none was rewarded twice.
        dup = conn.execute(
            "SELECT count(*) FROM (SELECT order_id, beneficiary FROM rewards"
            " WHERE order_id IS NOT NULL"  # group-buy rewards belong to no order
            " GROUP BY order_id, beneficiary HAVING count(*) > 1)"
        ).fetchone()[0]
        assert dup == 0
        # Group-buys filled and rewarded each member; the shop asked after deliveries.
        assert conn.execute("SELECT count(*) FROM groups WHERE state = 'completed'").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM moment_decisions").fetchone()[0] > 0
    finally:
        conn.close()


def test_demo_is_reproducible_for_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["demo", "--customers", "60", "--days", "10", "--seed", "5", "--db"]
    main([*args, str(tmp_path / "a.db")])
    first = capsys.readouterr().out.split("\n", 1)[1]
    main([*args, str(tmp_path / "b.db")])
    assert capsys.readouterr().out.split("\n", 1)[1] == first


def test_codes_prints_distinct_valid_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codes", "50", "--display"]) == 0
    lines = capsys.readouterr().out.split()
    assert len(set(lines)) == 50
    assert all(rk.is_valid_code(line) for line in lines)
    assert all("-" in line for line in lines)


@pytest.mark.parametrize(
    "argv", [["demo", "--customers", "1"], ["codes", "0"], ["codes", "5", "--length", "2"]]
)
def test_bad_arguments_exit_non_zero_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) in {1, 2}
    assert "referralkit:" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "referralkit.cli", "codes", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(result.stdout.split()) == 3


@pytest.fixture(scope="module")
def program_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from referralkit.storage import SQLiteStore
    from referralkit.testing._metrics_program import generated_program

    db = tmp_path_factory.mktemp("metrics") / "program.db"
    store = SQLiteStore(db)
    generated_program(store, 3)
    store.close()
    return db


def test_metrics_prints_the_report_as_a_table(
    program_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["metrics", "--db", str(program_db), "--by", "referrer,channel"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("referralkit metrics (all time)")
    for heading in ("Funnel", "Money (USD)", "Leaderboard (by referrer)", "By channel"):
        assert heading in out


def test_metrics_json_is_the_report_for_the_window(
    program_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from referralkit.metrics import MetricsReport
    from referralkit.storage import SQLiteStore
    from referralkit.testing._metrics_program import _SECRET

    argv = ["metrics", "--db", str(program_db), "--json", "--since", "2026-01-12"]
    assert main([*argv, "--until", "2026-02-01T12:00", "--by", "campaign"]) == 0
    report = MetricsReport.model_validate_json(capsys.readouterr().out)
    assert report.since == datetime(2026, 1, 12, tzinfo=timezone.utc)
    assert report.until == datetime(2026, 2, 1, 12, tzinfo=timezone.utc)
    assert list(report.breakdowns) == ["campaign"]
    store = SQLiteStore(program_db)
    program = rk.ReferralProgram(store=store, secret=_SECRET, policy=Fixed(rk.Money("1", "USD")))
    assert report == program.metrics(since=report.since, until=report.until, by="campaign")
    store.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["metrics", "--db", "no-such-file.db"],
        ["metrics", "--db", "{db}", "--by", "week"],
        ["metrics", "--db", "{db}", "--since", "yesterday"],
        ["metrics", "--db", "{db}", "--since", "0001-01-01T00:00+14:00"],
        ["metrics", "--db", "{db}", "--since", "2026-02-01", "--until", "2026-01-01"],
        ["metrics", "--db", "{db}", "--active-customers", "-3"],
    ],
)
def test_bad_metrics_arguments_exit_non_zero_with_a_message(
    program_db: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.format(db=program_db) for a in argv]) in {1, 2}
    assert "referralkit:" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["empty", "another_app", "not_sqlite"])
def test_metrics_refuses_a_file_that_is_not_a_program_and_leaves_it_alone(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading a report never creates the referralkit schema in someone else's file."""
    db = tmp_path / "other.db"
    if kind == "empty":
        db.write_bytes(b"")
    elif kind == "another_app":
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        conn.commit()
        conn.close()
    else:
        db.write_text("order_id,amount\n1,80\n")
    before = db.read_bytes()
    assert main(["metrics", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("referralkit:")
    assert "referralkit" in err.removeprefix("referralkit:")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_metrics_html_to_a_missing_folder_is_a_clear_error(
    program_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "report.html"
    assert main(["metrics", "--db", str(program_db), "--html", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("referralkit:")
    assert str(target) in err
    assert not target.exists()


def test_demo_help_shows_each_option_with_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["demo", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    text = " ".join(out[out.index("options:") :].split())  # argparse wraps long lines
    for option, default in [
        ("--customers CUSTOMERS", "400"),
        ("--days DAYS", "60"),
        ("--seed SEED", "7"),
        ("--db DB", "referralkit-demo.db"),
    ]:
        after = text[text.index(option) + len(option) :]
        help_text, _, _ = after.partition(" --")
        assert help_text.strip()
        assert f"(default: {default})" in help_text.replace("- ", "-")


@pytest.mark.parametrize("command", ["demo", "codes", "metrics", "simulate"])
def test_every_option_is_its_model_field_with_help_and_default(command: str) -> None:
    """The parser is derived from the command's model: one argument per field."""
    import argparse

    from referralkit.cli import _COMMANDS, _parser

    model = _COMMANDS[command]
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)).choices[
        command
    ]
    actions = {a.dest: a for a in sub._actions if a.dest != "help"}
    assert list(actions) == list(model.model_fields)
    for name, field in model.model_fields.items():
        action = actions[name]
        assert action.help
        assert field.description
        assert action.help.startswith(field.description)
        if not field.is_required():
            assert action.default == field.default
            unset = field.default is None or field.default is False or field.default in ("", [])
            assert ("(default: %(default)s)" in action.help) != unset


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo"], {"customers": 400, "days": 60, "seed": 7}),
        (["codes", "3"], {"count": 3, "length": 8, "prefix": "", "display": False}),
        (
            ["simulate"],
            {"customers": 1000, "weeks": 12, "runs": 200, "seed": 0, "json_out": False},
        ),
        (["metrics", "--db", "x.db", "--by", "referrer,channel", "--by", "campaign"], {}),
    ],
)
def test_defaults_come_from_the_model_and_parse_as_before(
    argv: list[str], expected: dict[str, object]
) -> None:
    from referralkit.cli import _parser

    ns = vars(_parser().parse_args(argv))
    assert {k: ns[k] for k in expected} == expected
    if argv[0] == "metrics":
        assert ns["by"] == ["referrer", "channel", "campaign"]
        assert ns["json_out"] is False
        assert ns["top"] == 10


def test_a_bad_int_is_refused_by_the_parser_with_its_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["demo", "--customers", "many"])
    assert done.value.code == 2
    assert "argument --customers: invalid int value: 'many'" in capsys.readouterr().err


# -- no file is ever destroyed -------------------------------------------------------------


def _other_app_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total TEXT)")
    conn.execute("INSERT INTO orders (total) VALUES ('80.00')")
    conn.commit()
    conn.close()
    return path


def _live_program(path: Path) -> Path:
    from referralkit.storage import SQLiteStore
    from referralkit.testing._metrics_program import generated_program

    store = SQLiteStore(path)
    generated_program(store, 1, days=5)
    store.close()
    return path


def _text_file(path: Path) -> Path:
    path.write_text("order_id,amount\n1,80\n")
    return path


def _empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


_FOREIGN = {
    "another_app": _other_app_db,
    "live_program": _live_program,
    "text": _text_file,
    "empty": _empty_file,
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


DEMO = ["demo", "--customers", "20", "--days", "3"]


@pytest.mark.parametrize("kind", sorted(_FOREIGN))
def test_the_demo_never_replaces_a_file_it_did_not_make(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shop's database, a live program, any file: refused, byte for byte untouched."""
    db = tmp_path / "shop.db"
    _FOREIGN[kind](db)
    before = _snapshot(tmp_path)
    assert main([*DEMO, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("referralkit: ")
    assert err.count("\n") == 1
    assert "--force" in err
    assert _snapshot(tmp_path) == before


def test_a_leftover_wal_without_its_database_is_not_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wal = tmp_path / "shop.db-wal"
    wal.write_bytes(b"someone's write-ahead log")
    assert main([*DEMO, "--db", str(tmp_path / "shop.db")]) == 2
    assert str(wal) in capsys.readouterr().err
    assert _snapshot(tmp_path) == {"shop.db-wal": b"someone's write-ahead log"}


def test_the_demo_replaces_its_own_database_and_marks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from referralkit._demo import DEMO_APPLICATION_ID, is_demo_database

    db = tmp_path / "demo.db"
    assert main([*DEMO, "--db", str(db)]) == 0
    first = capsys.readouterr().out.split("\n", 1)[1]
    assert is_demo_database(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID
    conn.close()
    assert main([*DEMO, "--db", str(db)]) == 0  # a fresh run, not one on top of the last
    assert capsys.readouterr().out.split("\n", 1)[1] == first
    assert not is_demo_database(_other_app_db(tmp_path / "other.db"))


@pytest.mark.parametrize("kind", sorted(_FOREIGN))
def test_force_replaces_any_file(tmp_path: Path, kind: str) -> None:
    from referralkit._demo import is_demo_database

    db = _FOREIGN[kind](tmp_path / "shop.db")
    assert main([*DEMO, "--db", str(db), "--force"]) == 0
    assert is_demo_database(db)


@pytest.mark.parametrize("where", ["directory", "missing_folder"])
def test_a_demo_path_that_cannot_be_a_file_is_a_clear_error(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "adir" if where == "directory" else tmp_path / "nope" / "demo.db"
    if where == "directory":
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    for extra in ([], ["--force"]):
        assert main([*DEMO, "--db", str(target), *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("referralkit: ")
        assert err.count("\n") == 1
        assert "Traceback" not in err
    if where == "directory":
        assert (target / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == (["adir"] if where == "directory" else [])


def test_the_demo_writes_only_where_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """By default only its database, in the current folder; the page only with --html."""
    monkeypatch.chdir(tmp_path)
    assert main(DEMO) == 0
    assert {p.name for p in tmp_path.iterdir()} <= {
        "referralkit-demo.db",
        "referralkit-demo.db-wal",
        "referralkit-demo.db-shm",
    }
    assert main([*DEMO, "--html", "demo.html"]) == 0
    assert f"wrote {Path('demo.html')}" in capsys.readouterr().out
    from referralkit.metrics._html import is_report_file

    assert is_report_file(tmp_path / "demo.html")


def test_the_demos_outputs_are_ignored_by_git() -> None:
    import fnmatch

    root = Path(__file__).parent.parent
    patterns = [
        line.strip().lstrip("/")
        for line in (root / ".gitignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in (
        "referralkit-demo.db",
        "referralkit-demo.db-wal",
        "referralkit-demo.db-shm",
        "report.html",
    ):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name


def _page_args(program_db: Path, target: Path, *extra: str) -> list[str]:
    return ["metrics", "--db", str(program_db), "--html", str(target), *extra]


@pytest.fixture
def own_program(tmp_path: Path) -> Path:
    return _live_program(tmp_path / "program.db")


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_the_report_is_never_written_over_the_database(
    own_program: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = Path(f"{own_program}{suffix}")
    target.touch()
    before = _snapshot(own_program.parent)
    for extra in ([], ["--force"]):
        assert main(_page_args(own_program, target, *extra)) == 2
        err = capsys.readouterr().err
        assert "program database" in err
        assert err.count("\n") == 1
    assert _snapshot(own_program.parent) == before


def test_the_report_does_not_replace_a_file_it_did_not_write(
    own_program: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.html"
    notes.write_text("<p>my notes</p>")
    assert main(_page_args(own_program, notes)) == 2
    assert "--force" in capsys.readouterr().err
    assert notes.read_text() == "<p>my notes</p>"
    # A page the command wrote is replaced; anything with --force.
    report = tmp_path / "report.html"
    assert main(_page_args(own_program, report)) == 0
    report.write_text(report.read_text().replace("All time", "An older run"))
    assert main(_page_args(own_program, report)) == 0
    assert "An older run" not in report.read_text()
    assert main(_page_args(own_program, notes, "--force")) == 0
    assert "my notes" not in notes.read_text()


def test_the_report_into_a_directory_is_a_clear_error(
    own_program: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_page_args(own_program, tmp_path)) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err
    assert err.count("\n") == 1


def test_a_small_page_loads_plotly_from_the_url_given(
    own_program: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://static.shop.example/plotly.min.js"
    page = tmp_path / "small.html"
    assert main(_page_args(own_program, page, "--plotly-js", url)) == 0
    text = page.read_text()
    assert f'<script src="{url}"' in text
    assert len(text) < 100_000
    assert main(["metrics", "--db", str(own_program), "--plotly-js", url]) == 2
    assert "--html" in capsys.readouterr().err
    assert main(_page_args(own_program, tmp_path / "bad.html", "--plotly-js", "javascript:x")) == 2
    assert not (tmp_path / "bad.html").exists()


# -- help that reads as plain text ----------------------------------------------------------


def test_the_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "`" not in out
    for command in ("demo", "codes", "metrics", "simulate"):
        assert command in out


@pytest.mark.parametrize("command", ["demo", "codes", "metrics", "simulate"])
def test_each_commands_help_is_plain_text(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "`" not in out
    assert out.startswith(f"usage: referralkit {command}")


# -- the demo prints the report's figures ----------------------------------------------------


def _numbers(text: str) -> list[str]:
    return re.findall(r"[0-9][0-9,]*(?:\.[0-9]+)?", text)


def test_the_demo_prints_the_reports_figures(tmp_path: Path) -> None:
    """Progress lines, the ledger's total and the report are one set of figures."""
    from decimal import Decimal

    from referralkit._demo import PROGRESS, progress_figures, run_demo
    from referralkit.metrics import DEFINITIONS, format_report

    lines: list[str] = []
    report = run_demo(tmp_path / "demo.db", customers=200, days=40, seed=11, out=lines.append)
    text = "\n".join(lines)
    # The last progress line (day 40) is the final report's.
    last = next(line for line in reversed(lines) if line.startswith("  day  40:"))
    printed = {
        label.strip(): int(n.replace(",", ""))
        for n, label in re.findall(r"([0-9,]+) ([a-z -]+?)(?:,|$)", last.split(":", 1)[1])
    }
    assert printed == {DEFINITIONS[n].label: v for n, v in progress_figures(report).items()}
    assert list(printed) == [DEFINITIONS[n].label for n in PROGRESS]
    # The ledger's states add up to the report's rewards cost.
    usd = report.section("USD")
    assert usd is not None
    rows = [line.split() for line in lines if line.startswith("  ")]
    states = {
        row[0]: (int(row[1]), Decimal(row[2].replace(",", "")))
        for row in rows
        if len(row) == 3 and row[0] in {"held", "available", "paid", "reversed"}
    }
    (recovered,) = [Decimal(r[1].replace(",", "")) for r in rows if r and r[0] == "recovered"]
    kept = sum(states[s][1] for s in ("held", "available", "paid")) - recovered
    assert kept <= usd.rewards_cost  # reversed rewards' unrecovered clawbacks cost too
    total = next(line for line in lines if line.startswith("  held + available + paid"))
    assert _numbers(total) == [f"{usd.rewards_cost:,}", f"{usd.rewards_cost:,}"]
    # A reversed reward shows what it was granted at, never a dash.
    assert states["reversed"][0] > 0
    assert states["reversed"][1] > 0
    assert f"{report.enrolled} of the shop's 200 customers enrolled" in text
    # The demo ends with the report itself, leaderboard included, and no figure of its own.
    assert text.endswith(format_report(report).rstrip("\n"))
    assert "top referrers" not in text
    assert "earned" not in text


# -- forecasts that would run for hours -------------------------------------------------------


def test_a_forecast_that_would_run_for_hours_is_refused_up_front(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import time

    started = time.monotonic()
    assert main(["simulate", "--customers", "10000000", "--weeks", "520"]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "reduce runs" in err
    assert "simulation steps" in err


def test_the_work_estimate_follows_the_simulation() -> None:
    """The estimate's orders are the simulated orders (their cost dominates)."""
    from decimal import Decimal

    from referralkit.metrics import simulate
    from referralkit.metrics._simulate import MAX_SIMULATION_STEPS, simulation_steps

    args = {"customers": 3000, "weeks": 6, "runs": 40}
    rates = {"participation_rate": "0.5", "invites_per_participant": "2", "conversion_rate": "0.5"}
    forecast = simulate(
        Fixed(rk.Money("1", "USD")),
        **args,  # type: ignore[arg-type]
        **rates,  # type: ignore[arg-type]
        repeat_rate="0.3",
        order_value=rk.Money("10", "USD"),
    )
    simulated = sum(w.orders.mean for w in forecast.weeks) * args["runs"]
    with_orders = simulation_steps(3000, Decimal("0.5"), Decimal("0.3"), 6, 40)
    without = simulation_steps(3000, Decimal("0.5"), Decimal(0), 6, 40)
    first_orders = sum(w.new_customers.mean for w in forecast.weeks) * args["runs"]
    repeat_orders = simulated - first_orders
    assert abs((with_orders - without) / 64 - float(repeat_orders)) < 0.05 * float(repeat_orders)
    assert simulation_steps(3000, Decimal("0.5"), Decimal(0), 6, 80) == pytest.approx(2 * without)
    assert (
        simulation_steps(10_000_000, Decimal("0.12"), Decimal(0), 520, 200) > MAX_SIMULATION_STEPS
    )
    with pytest.raises(rk.InvalidInput) as caught:
        simulate(
            Fixed(rk.Money("1", "USD")),
            customers=10_000_000,
            weeks=520,
            participation_rate="0.2",
            invites_per_participant="2",
            conversion_rate="0.3",
            order_value=rk.Money("10", "USD"),
        )
    assert caught.value.field == "runs"


# -- junk on the command line -----------------------------------------------------------------


@pytest.fixture(scope="module")
def junkyard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of things a user may point the command at by mistake."""
    yard = tmp_path_factory.mktemp("junkyard")
    (yard / "adir").mkdir()
    _other_app_db(yard / "shop.db")
    _live_program(yard / "program.db")
    _text_file(yard / "orders.csv")
    _empty_file(yard / "empty.db")
    (yard / "binary.toml").write_bytes(b"\xff\xfe\x00 not text")
    (yard / "flat.toml").write_text('[policy]\npolicy = "fixed"\namount = "10 USD"\n')
    (yard / "notes.html").write_text("<p>my notes</p>")
    return yard


#: Files whose contents no command may change without --force (read as their data).
_PROTECTED = ("shop.db", "program.db", "orders.csv", "empty.db", "binary.toml", "notes.html")


def _contents(path: Path) -> object:
    if path.suffix == ".db" and path.stat().st_size:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()
    return path.read_bytes()


def _cli_flags() -> dict[str, list[str]]:
    from referralkit.cli import _COMMANDS, _flag

    return {
        command: [
            _flag(model, name)
            for name, field in model.model_fields.items()
            if name != "force" and _flag(model, name).startswith("-")
        ]
        for command, model in _COMMANDS.items()
    }


_PATHS = [
    "adir",
    "missing.db",
    "missing/report.html",
    *_PROTECTED,
    "program.db-wal",
    "flat.toml",
    "out.html",
    "new.db",
]
#: A valid, quick argv per command: the junk goes on top of it.
_BASES = {
    "demo": ["--customers", "10", "--days", "2", "--db", "new.db"],
    "codes": ["3"],
    "metrics": ["--db", "program.db"],
    "simulate": ["--customers", "50", "--weeks", "2", "--runs", "5"],
}


def _run_hostile(argv: list[str], junkyard: Path, capsys: pytest.CaptureFixture[str]) -> int:
    """Run ``argv`` in the junkyard: exit 0 or 2, a message, no traceback, no file changed."""
    before = {name: _contents(junkyard / name) for name in _PROTECTED}
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as done:  # argparse: usage errors and --help
        code = done.code
        err = capsys.readouterr().err
        assert code in {0, 2}, (argv, err)
        assert code == 0 or "referralkit" in err
    else:
        err = capsys.readouterr().err
        assert code in {0, 2}, (argv, err)
        if code == 2:
            assert err.startswith("referralkit: "), (argv, err)
            assert err.count("\n") == 1, (argv, err)
    assert "Traceback" not in err
    assert {name: _contents(junkyard / name) for name in _PROTECTED} == before, argv
    return int(code or 0)


#: Every option that takes a path, with a quick valid argv of its command.
_PATH_OPTIONS = [
    (_BASES["demo"], "--db"),
    (_BASES["demo"], "--html"),
    (_BASES["metrics"], "--db"),
    (_BASES["metrics"], "--html"),
    (_BASES["simulate"], "--config"),
]


@pytest.mark.parametrize("path", _PATHS)
@pytest.mark.parametrize(("base", "flag"), _PATH_OPTIONS, ids=str)
def test_every_path_option_takes_any_path_without_harm(
    base: list[str],
    flag: str,
    path: str,
    junkyard: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Directories, missing files, other applications' files: a message, never harm."""
    monkeypatch.chdir(junkyard)
    command = next(c for c, b in _BASES.items() if b is base)
    code = _run_hostile([command, *base, flag, path], junkyard, capsys)
    # What holds whatever earlier cases left in the junkyard:
    not_a_program = {"shop.db", "orders.csv", "empty.db", "binary.toml", "notes.html", "flat.toml"}
    refused = path in {"adir", "missing/report.html"}
    refused |= path in _PROTECTED and (flag == "--html" or command == "demo")
    refused |= command == "metrics" and flag == "--db" and path in not_a_program
    refused |= flag == "--config" and path != "flat.toml"
    if refused:
        assert code == 2, (flag, path)
    if (command, flag, path) in {
        ("simulate", "--config", "flat.toml"),
        ("metrics", "--db", "program.db"),
    }:
        assert code == 0


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=cli_argvs(_BASES, _cli_flags(), frozenset({"--db", "--html", "--config"}), _PATHS))
def test_junk_arguments_get_a_message_and_exit_2_never_a_traceback(
    argv: list[str],
    junkyard: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Random flags, huge numbers, undecodable text, directories, files that are not
    databases: exit 0 or 2, a message on stderr, and no file changed."""
    monkeypatch.chdir(junkyard)
    code = _run_hostile(argv, junkyard, capsys)
    event(f"{argv[0] or 'no command'}: exit {code}")


# -- partners statement and the programme comparison -------------------------------------


def _partner_db(path: Path) -> Path:
    """A program file with an influencer who sold in November 2026 and in December."""
    from referralkit.policies import PercentOfOrder
    from referralkit.storage import SQLiteStore
    from referralkit.testing import FrozenClock

    clock = FrozenClock(datetime(2026, 11, 20, tzinfo=timezone.utc))
    store = SQLiteStore(path)
    program = rk.ReferralProgram(
        store=store,
        secret=b"cli partner secret, 32 bytes long",
        policy=Fixed(rk.Money("5", "USD")),
        clock=clock,
    )
    program.partners.add(
        "anna",
        name="Anna",
        kind="influencer",
        audience=12_000,
        terms=PercentOfOrder("10%", kind="cash"),
    )
    program.partners.post("anna", "ig-1", cost=rk.Money("150", "USD"))
    code = program.partners.code("anna", vanity="ANNA10").code
    program.convert(referee="c1", order_id="o1", amount=rk.Money("80", "USD"), code=code)
    clock.advance(days=15)  # December
    program.convert(referee="c2", order_id="o2", amount=rk.Money("40", "USD"), code=code)
    store.close()
    return path


def test_partners_statement_prints_the_month_as_text_csv_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--period is the calendar month (UTC): November holds one order and the post's fee."""
    import csv
    import io
    import json

    db = str(_partner_db(tmp_path / "shop.db"))
    base = ["partners", "statement", "--db", db, "--partner", "anna", "--period", "2026-11"]
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "statement for 2026-11" in text
    assert re.search(r"orders\s+1\s", text)
    assert main([*base, "--csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert (row["orders"], row["revenue"], row["commission"], row["fees"]) == (
        "1",
        "80.00",
        "8.00",
        "150.00",
    )
    assert row["since"] == "2026-11-01T00:00:00+00:00"
    assert row["until"] == "2026-12-01T00:00:00+00:00"
    assert main([*base[:-1], "2026-12", "--json"]) == 0
    december = json.loads(capsys.readouterr().out)
    assert [(x["orders"], x["revenue"], x["fees"]) for x in december["lines"]] == [
        (1, "40.00", "0.00")
    ]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--period", "2026-13"], "--period"),
        (["--period", "11/2026"], "--period"),
        (["--period", "2026-11-01"], "--period"),
        (["--period", "0000-01"], "--period"),
        (["--period", "2026-11", "--partner", "nobody"], "nobody"),
        (["--period", "2026-11", "--csv", "--json"], "--csv"),
    ],
)
def test_a_bad_statement_request_exits_2_with_one_line(
    args: list[str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(_partner_db(tmp_path / "shop.db"))
    argv = ["partners", "statement", "--db", db, "--partner", "anna", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert field in err
    assert "Traceback" not in err


def test_metrics_by_programme_prints_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--by programme adds the programmes, bands, regions, partners and posts tables."""
    import json

    db = str(_partner_db(tmp_path / "shop.db"))
    assert main(["metrics", "--db", db, "--by", "programme"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("Programmes: customer referrals") :]
    assert "customer referrals" in block
    assert re.search(r"\n  influencer\s+1\s+2\s", block)  # one partner, two new customers
    assert "Per post" in block
    assert main(["metrics", "--db", db, "--by", "programme", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (anna,) = report["programmes"]["partners"]
    assert (anna["partner_id"], anna["band"], anna["new_customers"]) == ("anna", "micro", 2)
    assert anna["total_cost"] == {"USD": "162.00"}
