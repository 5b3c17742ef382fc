"""The ``referralkit`` command: ``demo`` (a simulated shop), ``codes`` (bulk codes)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from referralkit.codes import CodeFormat, generate_codes
from referralkit.errors import ReferralError

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``referralkit`` console script."""
    ns = _parser().parse_args(argv)
    args = {k: v for k, v in vars(ns).items() if k != "command"}
    try:
        if ns.command == "demo":
            from referralkit._demo import run_demo  # noqa: PLC0415 - only the demo needs it

            demo = _DemoArgs.model_validate(args)
            run_demo(demo.db, customers=demo.customers, days=demo.days, seed=demo.seed)
        else:
            opts = _CodesArgs.model_validate(args)
            fmt = CodeFormat(length=opts.length, prefix=opts.prefix.upper())
            for code in generate_codes(opts.count, fmt):
                sys.stdout.write((fmt.display(code) if opts.display else code) + "\n")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        sys.stderr.write(f"referralkit: --{where}: {first['msg']}\n")
        return 2
    except ReferralError as exc:
        sys.stderr.write(f"referralkit: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
