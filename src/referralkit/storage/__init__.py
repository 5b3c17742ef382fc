"""Storage: the `Store` protocol's built-in adapters.

`MemoryStore` for tests and demos, `SQLiteStore` as the embedded default. Both have
the core and the `MeasurableStore` capability, and pass the same contract suite,
`referralkit.testing.StoreContract`.
"""

from __future__ import annotations

from referralkit.protocols import (
    CodeRepository,
    ConversionRepository,
    EventOutbox,
    IdentityRepository,
    LedgerEntry,
    MeasurableStore,
    ReferralRepository,
    RewardLedger,
    Store,
    UnitOfWork,
)
from referralkit.storage._errors import CodeTaken
from referralkit.storage._memory import MemoryStore
from referralkit.storage._schema import SCHEMA_VERSION
from referralkit.storage._sqlite import SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "CodeRepository",
    "CodeTaken",
    "ConversionRepository",
    "EventOutbox",
    "IdentityRepository",
    "LedgerEntry",
    "MeasurableStore",
    "MemoryStore",
    "ReferralRepository",
    "RewardLedger",
    "SQLiteStore",
    "Store",
    "UnitOfWork",
]
