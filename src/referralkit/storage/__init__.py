"""Storage: the `Store` protocol's built-in adapters.

`MemoryStore` for tests and demos, `SQLiteStore` as the embedded default. Both have
the core and the `MeasurableStore` capability, and pass the same contract suite,
`referralkit.testing.StoreContract`.
"""

from __future__ import annotations

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

__all__ = [
    "SCHEMA_VERSION",
    "CodeTaken",
    "MemoryStore",
    "SQLiteStore",
]
