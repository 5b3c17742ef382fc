"""Versioned migrations of the SQLAlchemy store's tables, with Alembic.

The revisions live in ``_migrations/versions``, shipped in the package. They keep their
own version table (``<prefix>alembic_version``, in the store's schema), so they never
meet the shop's own Alembic history, and the prefix and schema apply to every table
they create. They run on a connection the caller opens: from ``referralkit db upgrade``,
from ``SQLAlchemyStore(..., migrate=True)``, or from the shop's own Alembic ``env.py``
(`upgrade` on the connection it migrates with).

Alembic itself loads only when migrations run; opening a store only reads the version
table and compares it with `HEAD`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, MetaData, Table, inspect, select, text
from sqlalchemy import exc as sa_exc

from referralkit.errors import ConfigError, SchemaVersionError
from referralkit.storage._sqlalchemy_errors import cause, storage_error
from referralkit.storage._sqlalchemy_session import lock_salt
from referralkit.storage._sqlalchemy_tables import build_tables

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext

__all__ = [
    "HEAD",
    "MIGRATIONS",
    "check_revision",
    "current_revision",
    "migration_options",
    "upgrade",
]

#: The newest revision this referralkit ships; a database at it needs no migration.
HEAD = "0006"
#: Where the revision files are (a folder inside the installed package).
MIGRATIONS = Path(__file__).with_name("_migrations")
_OPTIONS = "referralkit"


def migration_options(context: MigrationContext) -> tuple[str, str | None]:
    """``(table_prefix, schema)`` of the migration run ``context`` belongs to (for revisions)."""
    options: dict[str, Any] = context.opts.get(_OPTIONS) or {}
    return options.get("table_prefix", "referralkit_"), options.get("schema")


def current_revision(
    connection: Connection, *, table_prefix: str = "referralkit_", schema: str | None = None
) -> str | None:
    """The revision the database is at, or None when referralkit's tables are not there."""
    tables = build_tables(table_prefix, schema)
    try:
        if not inspect(connection).has_table(tables.version_table, schema=schema):
            return None
        version = Table(
            tables.version_table, MetaData(schema=schema), autoload_with=connection
        ).c.version_num
        found = connection.execute(select(version)).scalars().all()
    except sa_exc.SQLAlchemyError as error:
        raise storage_error(error, "reading the schema revision") from cause(error)
    return found[0] if len(found) == 1 else None


def check_revision(
    connection: Connection, *, table_prefix: str = "referralkit_", schema: str | None = None
) -> None:
    """Raise `SchemaVersionError` unless the database is at `HEAD`, saying what to do."""
    found = current_revision(connection, table_prefix=table_prefix, schema=schema)
    if found == HEAD:
        return
    where = f"schema {schema!r}" if schema else "the database"
    if found is None:
        raise SchemaVersionError(
            f"referralkit's tables ({table_prefix}*) are not in {where}: run"
            " `referralkit db upgrade --url ...` (or open the store with migrate=True)",
            value=None,
        )
    if found in _revisions():
        raise SchemaVersionError(
            f"{where} is at referralkit revision {found}, behind {HEAD}: run"
            " `referralkit db upgrade --url ...` (or open the store with migrate=True)",
            value=found,
        )
    raise SchemaVersionError(
        f"{where} is at referralkit revision {found}, newer than this referralkit"
        f" understands ({HEAD}); upgrade referralkit to open it",
        value=found,
    )


def _revisions() -> set[str]:
    return {p.stem.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*.py")}


def upgrade(
    connection: Connection | Engine,
    *,
    table_prefix: str = "referralkit_",
    schema: str | None = None,
    revision: str = "head",
) -> str | None:
    """Bring referralkit's tables to ``revision`` (the newest by default); returns it.

    On a `Connection` the migrations run inside its transaction (the caller commits,
    as the shop's own Alembic ``env.py`` does); on an `Engine` in one transaction of
    their own. On PostgreSQL an advisory lock makes app servers that start together
    migrate one after the other. Raises `ConfigError` when Alembic is not installed.
    """
    if isinstance(connection, Engine):
        with connection.begin() as conn:
            return upgrade(conn, table_prefix=table_prefix, schema=schema, revision=revision)
    try:
        from alembic.operations import Operations  # noqa: PLC0415 - loads only to migrate
        from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - loads only to migrate
        from alembic.script import ScriptDirectory  # noqa: PLC0415 - loads only to migrate
    except ImportError as exc:  # pragma: no cover - alembic is in the postgres extra
        raise ConfigError(
            "migrations need Alembic: pip install 'referralkit[postgres]'", value="alembic"
        ) from exc
    tables = build_tables(table_prefix, schema)
    script = ScriptDirectory(str(MIGRATIONS))

    def steps(heads: Any, _context: Any) -> Any:
        return script._upgrade_revs(revision, heads)  # noqa: SLF001 - what alembic's own upgrade runs

    try:
        if connection.dialect.name == "postgresql":
            key = int.from_bytes(lock_salt(table_prefix, schema)[:8], "big", signed=True)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            if schema is not None:  # checked to be a plain name by build_tables
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": tables.version_table,
                "version_table_schema": schema,
                "fn": steps,
                _OPTIONS: {"table_prefix": tables.prefix, "schema": tables.schema},
            },
        )
        with Operations.context(context):
            context.run_migrations()
        return context.get_current_revision()
    except sa_exc.SQLAlchemyError as error:
        raise storage_error(error, "migrating referralkit's tables") from cause(error)
