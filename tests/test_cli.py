"""The `referralkit` command: the demo runs a whole shop, `codes` prints valid codes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import referralkit as rk
from referralkit.cli import main
from referralkit.policies import Fixed


def test_demo_runs_a_shop_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db), "--customers", "120", "--days", "20", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "day  10:" in out
    for heading in ("referrals", "rewards by state", "top referrers"):
        assert heading in out
    # The run ends with the metrics report, leaderboard included.
    report = out[out.index("referralkit metrics (all time)") :]
    for heading in ("Funnel", "Fraud and review", "Money (USD)", "Leaderboard (by referrer)"):
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
            " GROUP BY order_id, beneficiary HAVING count(*) > 1)"
        ).fetchone()[0]
        assert dup == 0
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

    argv = ["metrics", "--db", str(program_db), "--json", "--since", "2026-01-12"]
    assert main([*argv, "--until", "2026-02-01T12:00", "--by", "campaign"]) == 0
    report = MetricsReport.model_validate_json(capsys.readouterr().out)
    assert report.since == datetime(2026, 1, 12, tzinfo=timezone.utc)
    assert report.until == datetime(2026, 2, 1, 12, tzinfo=timezone.utc)
    assert list(report.breakdowns) == ["campaign"]
    store = SQLiteStore(program_db)
    program = rk.ReferralProgram(store=store, secret=b"s" * 32, policy=Fixed(rk.Money("1", "USD")))
    assert report == program.metrics(since=report.since, until=report.until, by="campaign")
    store.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["metrics", "--db", "no-such-file.db"],
        ["metrics", "--db", "{db}", "--by", "week"],
        ["metrics", "--db", "{db}", "--since", "yesterday"],
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
    assert main(["metrics", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("referralkit:")
    assert "referralkit" in err.removeprefix("referralkit:")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_metrics_html_to_a_missing_folder_is_a_clear_error(
    program_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "report.html"
    assert main(["metrics", "--db", str(program_db), "--html", str(target)]) == 1
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
