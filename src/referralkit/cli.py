"""The ``referralkit`` command: ``demo``, ``codes``, ``metrics``, ``simulate``.

``demo`` runs a simulated shop, ``codes`` prints bulk codes, ``metrics`` prints the
report of a program's SQLite file (a table, JSON, or an HTML page), ``simulate``
forecasts one or more reward policies before launch.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, FilePath, ValidationError, field_validator

from referralkit.codes import CodeFormat, generate_codes
from referralkit.errors import InvalidInput, ReferralError
from referralkit.money import Money
from referralkit.protocols import RewardPolicy

__all__ = ["main"]


class _DemoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    db: Path
    customers: int = Field(ge=10, le=100_000)
    days: int = Field(ge=1, le=3650)
    seed: int


class _CodesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=1, le=10_000_000)
    length: int = Field(ge=1, le=64)
    prefix: str = Field(max_length=16)
    display: bool


class _MetricsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    db: FilePath
    json_out: bool
    html: Path | None
    since: datetime | None
    until: datetime | None
    by: list[Literal["campaign", "channel", "referrer"]]
    active_customers: int | None = Field(ge=0)
    top: int = Field(ge=1, le=10_000)

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


class _SimulateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: list[FilePath]
    referrer_reward: str
    referee_reward: str
    customers: int = Field(ge=1, le=10_000_000)
    weeks: int = Field(ge=1, le=520)
    participation: Decimal = Field(ge=0, le=1)
    invites: Decimal = Field(ge=0, le=100)
    conversion: Decimal = Field(ge=0, le=1)
    repeat: Decimal = Field(ge=0, le=1)
    order_value: str
    budget: str | None
    runs: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0)
    json_out: bool


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="referralkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a simulated shop on an SQLite file")
    demo.add_argument("--db", default="referralkit-demo.db", help="SQLite file (overwritten)")
    demo.add_argument("--customers", type=int, default=400)
    demo.add_argument("--days", type=int, default=60)
    demo.add_argument("--seed", type=int, default=7)
    codes = sub.add_parser("codes", help="print freshly generated referral codes")
    codes.add_argument("count", type=int)
    codes.add_argument("--length", type=int, default=8)
    codes.add_argument("--prefix", default="")
    codes.add_argument("--display", action="store_true", help="group with dashes for print")
    metrics = sub.add_parser("metrics", help="print the metrics report of a program's SQLite file")
    metrics.add_argument("--db", required=True, help="the program's SQLite file")
    metrics.add_argument("--json", dest="json_out", action="store_true", help="print JSON")
    metrics.add_argument("--html", default=None, help="write a self-contained HTML page here")
    metrics.add_argument("--since", default=None, help="ISO date or time (UTC if no zone)")
    metrics.add_argument("--until", default=None, help="ISO date or time, excluded")
    metrics.add_argument(
        "--by", type=_by, action="extend", default=[], help="campaign, channel, referrer"
    )
    metrics.add_argument("--active-customers", type=int, default=None)
    metrics.add_argument("--top", type=int, default=10, help="rows per breakdown")
    sim = sub.add_parser("simulate", help="forecast reward policies before launching them")
    sim.add_argument(
        "--config",
        action="append",
        default=[],
        help="a program file (TOML or JSON) whose policy to simulate; repeat to compare",
    )
    sim.add_argument("--referrer-reward", default="10 USD", help="without --config")
    sim.add_argument("--referee-reward", default="5 USD", help="without --config")
    sim.add_argument("--customers", type=int, default=1000, help="customers at launch")
    sim.add_argument("--weeks", type=int, default=12)
    sim.add_argument("--participation", default="0.2", help="participation rate, 0-1")
    sim.add_argument("--invites", default="2", help="invites per participant")
    sim.add_argument("--conversion", default="0.3", help="conversion rate, 0-1")
    sim.add_argument("--repeat", default="0", help="weekly repeat-order rate, 0-1")
    sim.add_argument("--order-value", default="60 USD")
    sim.add_argument("--budget", default=None, help="e.g. '5000 USD': report its burn")
    sim.add_argument("--runs", type=int, default=200)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--json", dest="json_out", action="store_true", help="print JSON")
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
    args = {k: v for k, v in vars(ns).items() if k != "command"}
    try:
        if ns.command == "demo":
            from referralkit._demo import run_demo  # noqa: PLC0415 - only the demo needs it

            demo = _DemoArgs.model_validate(args)
            run_demo(demo.db, customers=demo.customers, days=demo.days, seed=demo.seed)
        elif ns.command == "metrics":
            _metrics(_MetricsArgs.model_validate(args))
        elif ns.command == "simulate":
            _simulate(_SimulateArgs.model_validate(args))
        else:
            opts = _CodesArgs.model_validate(args)
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
