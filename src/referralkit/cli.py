"""The referralkit command: demo, codes, metrics, simulate, partners.

demo runs a simulated shop on an SQLite file, codes prints fresh referral codes,
metrics prints the report of a program's SQLite file (a table, JSON, or an HTML
page), simulate forecasts one or more reward policies before launch, partners
statement prints a partner's statement for a calendar month (text, CSV or JSON). Bad input
ends with a one-line message and exit status 2; no file is replaced unless it is
one the command wrote before, or --force says so.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import typing
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import attrs
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FilePath,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo

from referralkit._db_cli import add_db_command, run_db_command
from referralkit.codes import CodeFormat, generate_codes
from referralkit.errors import InvalidInput, ReferralError
from referralkit.money import Money
from referralkit.protocols import RewardPolicy, Store

if typing.TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from referralkit.metrics import MetricsReport
    from referralkit.metrics._groups import GroupFacts
    from referralkit.metrics._invitations import InvitationFacts
    from referralkit.metrics._partners import PartnerStatement
    from referralkit.metrics._waitlist import WaitlistFacts
    from referralkit.moments import MomentStats

__all__ = ["main"]


@attrs.frozen
class _Cli:
    """How a field is typed on the command line, when not as ``--field-name VALUE``."""

    flag: str | None = None
    positional: bool = False
    #: ``--by a,b`` gives both; the option may also be repeated.
    commas: bool = False


_POSITIONAL = _Cli(positional=True)


class _Args(BaseModel):
    """A command's options, one field each: its type, default, bounds and help text.

    The command-line parser is derived from these fields (`_add_options`); the model
    then validates what the parser read.
    """

    model_config = ConfigDict(extra="forbid")


def _no_nul(value: Path) -> Path:
    if "\x00" in str(value):
        raise ValueError("a path cannot contain a NUL character")
    return value


#: A file to write: any path, but not one no system can open.
_OutPath = Annotated[Path, AfterValidator(_no_nul)]


_FORCE = Field(
    default=False,
    description="replace the output file even when it is not one this command wrote before",
)


class _DemoArgs(_Args):
    """Run a simulated shop on an SQLite file."""

    db: _OutPath = Field(
        Path("referralkit-demo.db"),
        description="SQLite file to create; a previous demo's is replaced, any other refused",
    )
    customers: int = Field(400, ge=10, le=100_000, description="customers in the simulated shop")
    days: int = Field(60, ge=1, le=3650, description="days to simulate")
    seed: int = Field(7, description="random seed: the same seed gives the same run")
    html: _OutPath | None = Field(
        None, description="also write the report as an HTML page here (the report extra)"
    )
    force: bool = _FORCE


class _CodesArgs(_Args):
    """Print freshly generated referral codes."""

    count: Annotated[int, _POSITIONAL] = Field(ge=1, le=10_000_000, description="how many codes")
    length: int = Field(8, ge=1, le=64, description="characters per code, check included")
    prefix: str = Field("", max_length=16, description="characters in front of every code")
    display: bool = Field(default=False, description="group with dashes for print")


class _MetricsArgs(_Args):
    """Print the metrics report of a program's SQLite file."""

    db: FilePath = Field(description="the program's SQLite file")
    json_out: Annotated[bool, _Cli(flag="--json")] = Field(default=False, description="print JSON")
    html: _OutPath | None = Field(
        None, description="write the report as a self-contained HTML page here (about 4.9 MB)"
    )
    plotly_js: str | None = Field(
        None,
        description="with --html: load plotly.js from this URL instead of inlining it"
        " (a page of tens of kB)",
    )
    force: bool = _FORCE
    since: datetime | None = Field(
        None, description="start: ISO date or time (UTC if no zone); all time if left out"
    )
    until: datetime | None = Field(
        None, description="end, excluded: ISO date or time (UTC if no zone)"
    )
    by: Annotated[
        list[Literal["campaign", "channel", "referrer", "programme"]], _Cli(commas=True)
    ] = Field(
        [],
        description="breakdowns: campaign, channel, referrer, and programme (customer"
        " referrals, affiliates and influencers side by side); comma-separated or repeated",
    )
    active_customers: int | None = Field(
        None,
        ge=0,
        description="your active customers, the base of participation and k-factor "
        "(default: the enrolled customers)",
    )
    top: int = Field(10, ge=1, le=10_000, description="rows per breakdown")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _utc(cls, value: object) -> object:
        """A date is midnight UTC; a time without a zone is UTC."""
        if isinstance(value, str) and len(value) == len("2026-03-01"):
            value = datetime.combine(date.fromisoformat(value), time(), timezone.utc)
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class _SimulateArgs(_Args):
    """Forecast reward policies before launching them."""

    config: list[FilePath] = Field(
        [], description="a program file (TOML or JSON) whose policy to simulate; repeat to compare"
    )
    referrer_reward: str = Field("10 USD", description="the referrer's reward, without --config")
    referee_reward: str = Field("5 USD", description="the friend's reward, without --config")
    customers: int = Field(1000, ge=1, le=10_000_000, description="customers at launch")
    weeks: int = Field(12, ge=1, le=520, description="weeks to forecast")
    participation: Decimal = Field(
        Decimal("0.2"), ge=0, le=1, description="participation rate, 0-1"
    )
    invites: Decimal = Field(Decimal(2), ge=0, le=100, description="invites per participant")
    conversion: Decimal = Field(Decimal("0.3"), ge=0, le=1, description="conversion rate, 0-1")
    repeat: Decimal = Field(Decimal(0), ge=0, le=1, description="weekly repeat-order rate, 0-1")
    order_value: str = Field("60 USD", description="the value of each order")
    budget: str | None = Field(None, description="e.g. '5000 USD': report its burn")
    runs: int = Field(200, ge=1, le=100_000, description="Monte Carlo runs")
    seed: int = Field(0, ge=0, description="random seed: the same seed gives the same forecast")
    json_out: Annotated[bool, _Cli(flag="--json")] = Field(default=False, description="print JSON")


def _month(value: object) -> object:
    """``2026-11``: the calendar month, as its first day (UTC)."""
    if isinstance(value, str):
        year, dash, month = value.partition("-")
        if not (dash and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):  # noqa: PLR2004 - YYYY-MM
            raise ValueError("a period is a calendar month, YYYY-MM (e.g. 2026-11)")
        if not 1 <= int(month) <= 12:  # noqa: PLR2004 - months
            raise ValueError("a period's month is 01 to 12")
        if int(year) < 1 or int(year) > 9998:  # noqa: PLR2004 - the month after must exist
            raise ValueError("a period's year is 0001 to 9998")
        return date(int(year), int(month), 1)
    return value


class _StatementArgs(_Args):
    """Print a partner's statement for a calendar month (UTC)."""

    db: FilePath = Field(description="the program's SQLite file")
    partner: str = Field(min_length=1, max_length=200, description="the partner's id")
    period: Annotated[date, BeforeValidator(_month)] = Field(
        description="the calendar month, YYYY-MM (UTC)"
    )
    csv_out: Annotated[bool, _Cli(flag="--csv")] = Field(default=False, description="print CSV")
    json_out: Annotated[bool, _Cli(flag="--json")] = Field(default=False, description="print JSON")

    def window(self) -> tuple[datetime, datetime]:
        """The month's first instant and the next month's, UTC."""
        start = self.period
        after = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return (
            datetime.combine(start, time(), timezone.utc),
            datetime.combine(after, time(), timezone.utc),
        )


#: ``referralkit partners <action>``: the partner programmes' commands.
_PARTNER_COMMANDS: dict[str, type[_Args]] = {"statement": _StatementArgs}

_COMMANDS: dict[str, type[_Args]] = {
    "demo": _DemoArgs,
    "codes": _CodesArgs,
    "metrics": _MetricsArgs,
    "simulate": _SimulateArgs,
}
_NESTED = {"partners": ("partners_action", _PARTNER_COMMANDS)}


def _money_arg(field: str, text: str) -> Money:
    """``"80 USD"`` as Money; a clear error otherwise."""
    parts = text.split()
    if len(parts) != 2:  # noqa: PLR2004 - an amount and a currency
        raise InvalidInput(
            f"--{field} takes an amount and a currency, e.g. '80 USD'", value=text, field=field
        )
    return Money(parts[0], parts[1].upper())


def _by(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _help(field: FieldInfo) -> str:
    """The field's description, with its default when it has one worth showing."""
    text = (field.description or "").replace("%", "%%")
    default = field.default
    if field.is_required() or default is None or default is False or default in ("", []):
        return text
    return f"{text} (default: %(default)s)"


def _add_options(parser: argparse.ArgumentParser, model: type[_Args]) -> None:
    """One argument per field of ``model``: int fields parse as int, the rest as text."""
    for name, field in model.model_fields.items():
        cli = next((m for m in field.metadata if isinstance(m, _Cli)), _Cli())
        kwargs: dict[str, Any] = {"help": _help(field)}
        annotation = field.annotation
        if annotation is bool:
            kwargs["action"] = "store_true"
        elif typing.get_origin(annotation) is list and cli.commas:
            kwargs.update(action="extend", type=_by)
        elif typing.get_origin(annotation) is list:
            kwargs["action"] = "append"
        elif annotation is int or int in typing.get_args(annotation):
            kwargs["type"] = int
        if cli.positional:
            parser.add_argument(name, **kwargs)
            continue
        if field.is_required():
            kwargs["required"] = True
        else:
            kwargs["default"] = field.default
        flag = cli.flag or f"--{name.replace('_', '-')}"
        parser.add_argument(flag, dest=name, **kwargs)


class _Parser(argparse.ArgumentParser):
    """argparse, printing what it cannot encode (an undecodable path) escaped."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        super()._print_message(_safe(message), file)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="referralkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, model in _COMMANDS.items():
        about = (model.__doc__ or "").strip()
        _add_options(sub.add_parser(command, help=about, description=about), model)
    about = "partner programmes: statements"
    partners = sub.add_parser("partners", help=about, description=about)
    actions = partners.add_subparsers(dest="partners_action", required=True)
    for action, model in _PARTNER_COMMANDS.items():
        about = (model.__doc__ or "").strip()
        _add_options(actions.add_parser(action, help=about, description=about), model)
    add_db_command(sub)
    return parser


def _simulate(opts: _SimulateArgs) -> None:
    from referralkit.config import ProgramConfig, program_kwargs  # noqa: PLC0415 - only this command needs it
    from referralkit.metrics import format_forecast, simulate  # noqa: PLC0415 - only this command needs it
    from referralkit.policies import DoubleSided, FirstOrderOnly, Fixed  # noqa: PLC0415 - only this command needs it

    policies: list[RewardPolicy] = [
        program_kwargs(ProgramConfig.load(path))["policy"] for path in opts.config
    ]
    if not policies:
        policies.append(
            FirstOrderOnly(
                DoubleSided(
                    referrer=Fixed(_money_arg("referrer-reward", opts.referrer_reward)),
                    referee=Fixed(_money_arg("referee-reward", opts.referee_reward)),
                )
            )
        )
    budget = None if opts.budget is None else _money_arg("budget", opts.budget)
    forecasts = [
        simulate(
            policy,
            customers=opts.customers,
            weeks=opts.weeks,
            participation_rate=opts.participation,
            invites_per_participant=opts.invites,
            conversion_rate=opts.conversion,
            repeat_rate=opts.repeat,
            order_value=_money_arg("order-value", opts.order_value),
            budget=budget,
            runs=opts.runs,
            seed=opts.seed,
        )
        for policy in policies
    ]
    if opts.json_out:
        text = ",\n".join(f.model_dump_json(indent=2) for f in forecasts)
        _say(sys.stdout, f"[{text}]\n")
    else:
        _say(sys.stdout, "\n".join(format_forecast(f) for f in forecasts))


def _check_program_file(path: Path) -> None:
    """Refuse a file that is not a referralkit database, without writing to it.

    Opening an `SQLiteStore` creates the schema, which a read-only command must never
    do to another application's file (or to an empty one named by mistake).
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InvalidInput(
            f"{path} is not a referralkit database: {exc}", value=str(path), field="db"
        ) from exc
    if found is None:
        raise InvalidInput(
            f"{path} is not a referralkit database (it has no referralkit schema)",
            value=str(path),
            field="db",
        )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False


def _check_report_target(target: Path, *, db: Path, force: bool) -> None:
    """Refuse to write the HTML report where it would destroy something.

    Never over the program database (or its ``-wal`` / ``-shm``); over an existing
    file only when it is a report written before (it carries the report's marker), or
    with ``--force``.
    """
    from referralkit.metrics._html import is_report_file  # noqa: PLC0415 - only --html needs it

    if any(_same_file(target, Path(f"{db}{suffix}")) for suffix in ("", "-wal", "-shm")):
        raise InvalidInput(
            f"--html {target} is the program database: not writing the report over it",
            value=str(target),
            field="html",
        )
    if target.is_dir():
        raise InvalidInput(
            f"--html {target} is a directory; give a file, e.g. {target / 'report.html'}",
            value=str(target),
            field="html",
        )
    if not target.parent.is_dir():
        raise InvalidInput(
            f"cannot write {target}: the folder {target.parent} does not exist",
            value=str(target),
            field="html",
        )
    if (target.exists() or target.is_symlink()) and not force and not is_report_file(target):
        raise InvalidInput(
            f"{target} exists and is not a report this command wrote: not replacing it;"
            " choose another file, or pass --force to replace it",
            value=str(target),
            field="html",
        )


def _write_html(report: MetricsReport, target: Path, plotly_js: str | None) -> None:
    from referralkit.metrics import write_html  # noqa: PLC0415 - needs the report extra

    try:
        write_html(report, target, plotly_js=plotly_js)
    except OSError as exc:
        raise InvalidInput(
            f"cannot write {target}: {exc.strerror}", value=str(target), field="html"
        ) from exc
    _say(sys.stdout, f"wrote {target}\n")


def _group_facts(store: Store, since: datetime | None, until: datetime | None) -> GroupFacts | None:
    """The group-buy facts of the report's window; None on a store without group-buys."""
    from referralkit.metrics._report import check_window  # noqa: PLC0415 - only this command needs it
    from referralkit.program import GROUPS  # noqa: PLC0415 - only this command needs it

    window = check_window(since, until)  # before any query: a bad window is an error
    with store.transaction() as uow:
        if GROUPS.missing(uow):
            return None
        return GROUPS.repository(uow, store=store).facts(window.since, window.until)


def _moment_stats(
    store: Store, since: datetime | None, until: datetime | None
) -> list[MomentStats]:
    """The moment types' counts of the report's window; empty on a store without moments."""
    from referralkit.moments import MOMENTS  # noqa: PLC0415 - only this command needs it

    with store.transaction() as uow:
        if MOMENTS.missing(uow):
            return []
        return MOMENTS.repository(uow, store=store).stats(since, until)


def _launch_facts(
    store: Store, since: datetime | None, until: datetime | None
) -> tuple[InvitationFacts | None, WaitlistFacts | None]:
    """The invitations issued in the window and the waitlist now; None for what is missing.

    The waitlist's places gained are counted at the default places per referral: a
    program configured otherwise reports its own in `ReferralProgram.metrics`.
    """
    from referralkit.program import INVITATIONS, WAITLIST  # noqa: PLC0415 - only this command needs it
    from referralkit.program._waitlist_store import PLACES_PER_REFERRAL  # noqa: PLC0415 - only this command needs it

    with store.transaction() as uow:
        invitations = (
            None
            if INVITATIONS.missing(uow)
            else INVITATIONS.repository(uow, store=store).facts(since, until)
        )
        waitlist = (
            None
            if WAITLIST.missing(uow)
            else WAITLIST.repository(uow, store=store).facts(PLACES_PER_REFERRAL)
        )
    return invitations, waitlist


def _metrics(opts: _MetricsArgs) -> None:
    from referralkit.metrics import build_report, format_report, metrics_source  # noqa: PLC0415 - only this command needs it
    from referralkit.storage import SQLiteStore  # noqa: PLC0415 - only this command needs it

    by = list(opts.by)
    if opts.plotly_js is not None and opts.html is None:
        raise InvalidInput(
            "--plotly-js only applies to --html", value=opts.plotly_js, field="plotly_js"
        )
    if opts.html is not None:
        _check_report_target(opts.html, db=opts.db, force=opts.force)
        if "referrer" not in by:
            by.append("referrer")  # the page shows the leaderboard
    _check_program_file(opts.db)
    store = SQLiteStore(opts.db)
    try:
        groups = _group_facts(store, opts.since, opts.until)
        moments = _moment_stats(store, opts.since, opts.until)
        invitations, waitlist = _launch_facts(store, opts.since, opts.until)
        with metrics_source(store).snapshot() as view:
            report = build_report(
                view,
                since=opts.since,
                until=opts.until,
                active_customers=opts.active_customers,
                by=by,
                top=opts.top,
                groups=groups,
                moments=moments,
                invitations=invitations,
                waitlist=waitlist,
            )
    finally:
        store.close()
    if opts.html is not None:
        _write_html(report, opts.html, opts.plotly_js)
    elif opts.json_out:
        _say(sys.stdout, report.model_dump_json(indent=2) + "\n")
    else:
        _say(sys.stdout, format_report(report))


def _demo(opts: _DemoArgs) -> None:
    from referralkit._demo import run_demo  # noqa: PLC0415 - only the demo needs it

    if opts.html is not None:
        _check_report_target(opts.html, db=opts.db, force=opts.force)
    report = run_demo(
        opts.db,
        customers=opts.customers,
        days=opts.days,
        seed=opts.seed,
        force=opts.force,
        out=lambda line: _say(sys.stdout, line + "\n"),
    )
    if opts.html is not None:
        _write_html(report, opts.html, None)


def _statement(opts: _StatementArgs) -> None:
    from referralkit.errors import UnknownPartner  # noqa: PLC0415 - only this command needs it
    from referralkit.metrics._partners import PartnerStatement  # noqa: PLC0415 - only this command needs it
    from referralkit.program import PARTNERS  # noqa: PLC0415 - only this command needs it
    from referralkit.storage import SQLiteStore  # noqa: PLC0415 - only this command needs it

    if opts.csv_out and opts.json_out:
        raise InvalidInput("give --csv or --json, not both", value="--csv --json", field="csv")
    since, until = opts.window()
    _check_program_file(opts.db)
    store = SQLiteStore(opts.db)
    try:
        with store.transaction() as uow:
            repo = PARTNERS.repository(uow, store=store)
            if repo.get(opts.partner) is None:
                raise UnknownPartner(
                    f"no partner {opts.partner!r} in {opts.db}", value=opts.partner
                )
            statement = PartnerStatement.of(
                opts.partner, since, until, repo.figures(opts.partner, since, until)
            )
    finally:
        store.close()
    if opts.csv_out:
        _say(sys.stdout, statement.to_csv())
    elif opts.json_out:
        _say(sys.stdout, statement.model_dump_json(indent=2) + "\n")
    else:
        _say(sys.stdout, _statement_text(statement, opts.period))


def _statement_text(statement: PartnerStatement, period: date) -> str:
    from referralkit.metrics._partners import StatementLine  # noqa: PLC0415 - only this command needs it

    lines = [f"partner {statement.partner_id}: statement for {period:%Y-%m} (UTC)"]
    if not statement.lines:
        lines.append("  nothing in this period")
    for line in statement.lines:
        lines.append(f"  {line.currency}")
        for name, field in StatementLine.model_fields.items():
            if name != "currency":
                lines.append(f"    {name:<14}{getattr(line, name)!s:>14}   {field.description}")
    return "\n".join(lines) + "\n"


def _codes(opts: _CodesArgs) -> None:
    # Only ASCII is upper-cased here: CodeFormat refuses ß rather than reading SS.
    prefix = opts.prefix.upper() if opts.prefix.isascii() else opts.prefix
    fmt = CodeFormat(length=opts.length, prefix=prefix)
    for code in generate_codes(opts.count, fmt):
        sys.stdout.write((fmt.display(code) if opts.display else code) + "\n")


def _safe(text: str) -> str:
    """``text`` printable on any terminal: undecodable bytes of a path shown escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _say(stream: typing.TextIO, text: str) -> None:
    stream.write(_safe(text))


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _flag(command: type[_Args], name: str) -> str:
    field = command.model_fields.get(name)
    cli = next((m for m in field.metadata if isinstance(m, _Cli)), None) if field else None
    if cli is not None and cli.flag:
        return cli.flag
    if cli is not None and cli.positional:
        return name
    return f"--{name.replace('_', '-')}"


def _validation_message(command: type[_Args], exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = first["loc"]
    where = _flag(command, str(loc[0])) if loc else "arguments"
    given = first.get("input")
    shown = f" (got {given!r})" if isinstance(given, str | int | Path) and given != "" else ""
    return f"{where}: {first['msg']}{shown}"


def _run(opts: _Args) -> None:
    """Carry out one validated command."""
    if isinstance(opts, _DemoArgs):
        _demo(opts)
    elif isinstance(opts, _MetricsArgs):
        _metrics(opts)
    elif isinstance(opts, _SimulateArgs):
        _simulate(opts)
    elif isinstance(opts, _CodesArgs):
        _codes(opts)
    elif isinstance(opts, _StatementArgs):
        _statement(opts)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``referralkit`` console script.

    Exit status: 0 done, 2 bad input (a one-line message, never a traceback), 1 an
    operating-system failure while working, 130 interrupted.
    """
    ns = _parser().parse_args(argv)
    if ns.command == "db":
        return run_db_command(ns)
    return _main_command(ns)


def _main_command(ns: argparse.Namespace) -> int:
    """Validate and run a command other than ``db``; the exit status as ``main`` says."""
    args = {k: v for k, v in vars(ns).items() if k != "command"}
    if ns.command in _NESTED:
        dest, actions = _NESTED[ns.command]
        command = actions[args.pop(dest)]
    else:
        command = _COMMANDS[ns.command]
    try:
        _run(command.model_validate(args))
    except ValidationError as exc:
        _say(sys.stderr, f"referralkit: {_validation_message(command, exc)}\n")
        return 2
    except ReferralError as exc:
        _say(sys.stderr, f"referralkit: {exc}\n")
        return 2
    except BrokenPipeError:  # the reader left (``| head``): stop quietly
        _silence_stdout()
        return 1
    except OSError as exc:
        _say(sys.stderr, f"referralkit: {exc}\n")
        return 1
    except KeyboardInterrupt:
        _say(sys.stderr, "referralkit: interrupted\n")
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
