"""Storage: the `Store` protocol's built-in adapters.

`MemoryStore` for tests and demos, `SQLiteStore` as the embedded default, and
`SQLAlchemyStore` (``pip install 'referralkit[postgres]'``) for PostgreSQL, the store of
shops with several app servers, with `upgrade` to migrate its tables. All have the
core and the `MeasurableStore` capability, and pass the same contract suite,
`referralkit.testing.StoreContract`.

``SQLAlchemyStore`` and ``upgrade`` load SQLAlchemy on first use only: importing this
package never does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The protocols' home is referralkit.protocols; importable from here as before.
from referralkit.protocols import CodeRepository as CodeRepository
from referralkit.protocols import ConversionRepository as ConversionRepository
from referralkit.protocols import EventOutbox as EventOutbox
from referralkit.protocols import IdentityRepository as IdentityRepository
from referralkit.protocols import LedgerEntry as LedgerEntry
from referralkit.protocols import MeasurableStore as MeasurableStore
from referralkit.protocols import ReferralRepository as ReferralRepository
from referralkit.protocols import RewardLedger as RewardLedger
from referralkit.protocols import Store as Store
from referralkit.protocols import UnitOfWork as UnitOfWork
from referralkit.storage._errors import CodeTaken
from referralkit.storage._memory import MemoryStore
from referralkit.storage._schema import SCHEMA_VERSION
from referralkit.storage._sqlite import SQLiteStore

if TYPE_CHECKING:
    from referralkit.storage._sqlalchemy import SQLAlchemyStore
    from referralkit.storage._sqlalchemy_migrations import upgrade

__all__ = [
    "SCHEMA_VERSION",
    "CodeTaken",
    "MemoryStore",
    "SQLAlchemyStore",
    "SQLiteStore",
    "upgrade",
]

# Names that need SQLAlchemy (the postgres extra), and the module each lives in.
_LAZY = {
    "SQLAlchemyStore": "referralkit.storage._sqlalchemy",
    "upgrade": "referralkit.storage._sqlalchemy_migrations",
}


def __getattr__(name: str) -> Any:
    """Load a SQLAlchemy-backed name on first use; without SQLAlchemy, say how to get it."""
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415 - only lazy names need it

    try:
        module = importlib.import_module(home)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in {"sqlalchemy", "psycopg"}:
            raise
        from referralkit.errors import ConfigError  # noqa: PLC0415 - only on this error

        raise ConfigError(
            f"{name} needs SQLAlchemy: pip install 'referralkit[postgres]'", value=exc.name
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
