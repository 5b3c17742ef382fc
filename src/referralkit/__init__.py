"""referralkit: referral programs for shops, as a typed Python library."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from referralkit.errors import (
    CodeExpired,
    ConfigError,
    CurrencyMismatch,
    InvalidCode,
    InvalidIdentity,
    InvalidInput,
    InvalidLink,
    InvalidMoney,
    InvalidState,
    LinkExpired,
    LinkTampered,
    NotFound,
    ReferralError,
    SchemaVersionError,
    StorageError,
    UnknownCode,
    UnknownCurrency,
    UnknownOrder,
    UnknownReferral,
)
from referralkit.money import Money

try:
    __version__ = version("referralkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "CodeExpired",
    "ConfigError",
    "CurrencyMismatch",
    "InvalidCode",
    "InvalidIdentity",
    "InvalidInput",
    "InvalidLink",
    "InvalidMoney",
    "InvalidState",
    "LinkExpired",
    "LinkTampered",
    "Money",
    "NotFound",
    "ReferralError",
    "SchemaVersionError",
    "StorageError",
    "UnknownCode",
    "UnknownCurrency",
    "UnknownOrder",
    "UnknownReferral",
    "__version__",
]
