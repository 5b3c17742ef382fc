"""``referralkit db``: the SQLAlchemy store's migrations from the command line.

``db upgrade`` brings referralkit's tables to the newest revision, ``db current`` prints
the revision the database is at, and ``db check`` exits with 1 when the database is
behind (or ahead of) this referralkit, so a deploy can stop before starting app servers.
Each takes ``--url`` and the store's ``--table-prefix`` and ``--schema``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from referralkit.errors import ReferralError

__all__ = ["add_db_command", "run_db_command"]

_P = TypeVar("_P", bound=argparse.ArgumentParser)

_ACTIONS = {
    "upgrade": "create or upgrade referralkit's tables to the newest revision",
    "current": "print the revision the database is at ('none' before the first upgrade)",
    "check": "exit with 1 unless the database is at the newest revision",
}


class _DbArgs(BaseModel):
    """One ``db`` action's options."""

    model_config = ConfigDict(extra="forbid")

    action: str
    url: str = Field(min_length=1, description="the database URL, e.g. postgresql://...")
    table_prefix: str = Field("referralkit_", max_length=30)
    db_schema: str | None = Field(None, max_length=63)


def add_db_command(subcommands: argparse._SubParsersAction[_P]) -> None:
    """Register ``db`` and its actions on the ``referralkit`` parser's subcommands."""
    about = "migrate the SQLAlchemy (PostgreSQL) store's tables"
    db = subcommands.add_parser("db", help=about, description=about)
    actions = db.add_subparsers(dest="action", required=True)
    for action, text in _ACTIONS.items():
        parser = actions.add_parser(action, help=text, description=text)
        parser.add_argument("--url", required=True, help="database URL (postgresql://...)")
        parser.add_argument(
            "--table-prefix",
            dest="table_prefix",
            default="referralkit_",
            help="the store's table prefix (default: %(default)s)",
        )
        parser.add_argument(
            "--schema", dest="db_schema", help="the store's schema, if not the default"
        )


def run_db_command(namespace: argparse.Namespace) -> int:
    """Run a parsed ``db`` action; returns the exit status."""
    try:
        opts = _DbArgs.model_validate(
            {k: v for k, v in vars(namespace).items() if k in _DbArgs.model_fields}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).replace("_", "-")
        sys.stderr.write(f"referralkit: --{where}: {first['msg']}\n")
        return 2
    try:
        return _run(opts)
    except ReferralError as exc:
        sys.stderr.write(f"referralkit: {exc}\n")
        return 1


def _run(opts: _DbArgs) -> int:
    try:
        from sqlalchemy import exc as sa_exc  # noqa: PLC0415 - needs the postgres extra

        from referralkit.storage._sqlalchemy import make_engine  # noqa: PLC0415 - needs the postgres extra
        from referralkit.storage._sqlalchemy_errors import cause, storage_error  # noqa: PLC0415 - needs the postgres extra
        from referralkit.storage._sqlalchemy_migrations import (  # noqa: PLC0415 - needs the postgres extra
            HEAD,
            check_revision,
            current_revision,
            upgrade,
        )
        from referralkit.storage._sqlalchemy_tables import build_tables  # noqa: PLC0415 - needs the postgres extra
    except ModuleNotFoundError as exc:
        sys.stderr.write(f"referralkit: db needs {exc.name}: pip install 'referralkit[postgres]'\n")
        return 1
    build_tables(opts.table_prefix, opts.db_schema)  # a ConfigError for a bad prefix or schema
    engine = make_engine(opts.url)
    prefix, schema = opts.table_prefix, opts.db_schema
    try:
        with engine.connect() as conn:
            before = current_revision(conn, table_prefix=prefix, schema=schema)
            if opts.action == "check":
                check_revision(conn, table_prefix=prefix, schema=schema)
        if opts.action == "upgrade":
            after = upgrade(engine, table_prefix=prefix, schema=schema)
            sys.stdout.write(f"referralkit tables: {before or 'none'} -> {after}\n")
        elif opts.action == "current":
            sys.stdout.write(f"{before or 'none'}\n")
        else:
            sys.stdout.write(f"referralkit tables are at {HEAD}, the newest revision\n")
    except sa_exc.SQLAlchemyError as error:
        raise storage_error(error, f"db {opts.action}") from cause(error)
    finally:
        engine.dispose()
    return 0
