"""The ``referralkit`` command: ``demo``, ``codes``, ``metrics``, ``simulate``.

``demo`` runs a simulated shop, ``codes`` prints bulk codes, ``metrics`` prints the
report of a program's SQLite file (a table, JSON, or an HTML page), ``simulate``
forecasts one or more reward policies before launch.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import typing
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import attrs
from pydantic import BaseModel, ConfigDict, Field, FilePath, ValidationError, field_validator
from pydantic.fields import FieldInfo

from referralkit._db_cli import add_db_command, run_db_command
from referralkit.codes import CodeFormat, generate_codes
from referralkit.errors import InvalidInput, ReferralError
from referralkit.money import Money
from referralkit.protocols import RewardPolicy

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


class _DemoArgs(_Args):
    """Run a simulated shop on an SQLite file."""

    db: Path = Field(Path("referralkit-demo.db"), description="SQLite file, overwritten")
    customers: int = Field(400, ge=10, le=100_000, description="customers in the simulated shop")
    days: int = Field(60, ge=1, le=3650, description="days to simulate")
    seed: int = Field(7, description="random seed: the same seed gives the same run")


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
    html: Path | None = Field(None, description="write a self-contained HTML page here")
    since: datetime | None = Field(
        None, description="start: ISO date or time (UTC if no zone); all time if left out"
    )
    until: datetime | None = Field(
        None, description="end, excluded: ISO date or time (UTC if no zone)"
    )
    by: Annotated[list[Literal["campaign", "channel", "referrer"]], _Cli(commas=True)] = Field(
        [], description="breakdowns: campaign, channel, referrer (comma-separated or repeated)"
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


_COMMANDS: dict[str, type[_Args]] = {
    "demo": _DemoArgs,
    "codes": _CodesArgs,
    "metrics": _MetricsArgs,
    "simulate": _SimulateArgs,
}


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referralkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, model in _COMMANDS.items():
        about = (model.__doc__ or "").strip()
        _add_options(sub.add_parser(command, help=about, description=about), model)
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
        sys.stdout.write(f"[{text}]\n")
    else:
        sys.stdout.write("\n".join(format_forecast(f) for f in forecasts))


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


def _metrics(opts: _MetricsArgs) -> None:
    from referralkit.metrics import build_report, format_report, metrics_source  # noqa: PLC0415 - only this command needs it
    from referralkit.storage import SQLiteStore  # noqa: PLC0415 - only this command needs it

    by = list(opts.by)
    if opts.html is not None and "referrer" not in by:
        by.append("referrer")  # the page shows the leaderboard
    _check_program_file(opts.db)
    store = SQLiteStore(opts.db)
    try:
        with metrics_source(store).snapshot() as view:
            report = build_report(
                view,
                since=opts.since,
                until=opts.until,
                active_customers=opts.active_customers,
                by=by,
                top=opts.top,
            )
    finally:
        store.close()
    if opts.html is not None:
        from referralkit.metrics import write_html  # noqa: PLC0415 - needs the report extra

        try:
            write_html(report, opts.html)
        except OSError as exc:
            raise InvalidInput(
                f"cannot write {opts.html}: {exc.strerror}", value=str(opts.html), field="html"
            ) from exc
        sys.stdout.write(f"wrote {opts.html}\n")
    elif opts.json_out:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(format_report(report))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``referralkit`` console script."""
    ns = _parser().parse_args(argv)
    if ns.command == "db":
        return run_db_command(ns)
    args = {k: v for k, v in vars(ns).items() if k != "command"}
    try:
        opts = _COMMANDS[ns.command].model_validate(args)
        if isinstance(opts, _DemoArgs):
            from referralkit._demo import run_demo  # noqa: PLC0415 - only the demo needs it

            run_demo(opts.db, customers=opts.customers, days=opts.days, seed=opts.seed)
        elif isinstance(opts, _MetricsArgs):
            _metrics(opts)
        elif isinstance(opts, _SimulateArgs):
            _simulate(opts)
        elif isinstance(opts, _CodesArgs):
            fmt = CodeFormat(length=opts.length, prefix=opts.prefix.upper())
            for code in generate_codes(opts.count, fmt):
                sys.stdout.write((fmt.display(code) if opts.display else code) + "\n")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).replace("_", "-")
        sys.stderr.write(f"referralkit: --{where}: {first['msg']}\n")
        return 2
    except ReferralError as exc:
        sys.stderr.write(f"referralkit: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
