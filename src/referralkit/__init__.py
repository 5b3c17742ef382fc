"""referralkit: referral programs for shops, as a typed Python library.

The public surface is what ``__all__`` lists; everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from referralkit.campaigns import Campaign
from referralkit.codes import (
    CROCKFORD,
    CodeFormat,
    generate_code,
    generate_codes,
    guess_probability,
    is_valid_code,
    normalize_code,
    validate_vanity,
)
from referralkit.context import (
    Decision,
    Grant,
    GuardContext,
    GuardHistory,
    PastReward,
    RewardContext,
    Verdict,
)
from referralkit.errors import (
    CodeExpired,
    ConfigError,
    CurrencyMismatch,
    GroupClosed,
    IdempotencyConflict,
    InvalidCode,
    InvalidIdentity,
    InvalidInput,
    InvalidLink,
    InvalidMoney,
    InvalidState,
    InvitationQuotaReached,
    InvitationRequired,
    InvitationUsedUp,
    LinkExpired,
    LinkTampered,
    NotFound,
    PartnerCodeRefused,
    ReferralError,
    RetryableStorageError,
    SchemaVersionError,
    StorageError,
    UnknownCode,
    UnknownCurrency,
    UnknownGroup,
    UnknownOrder,
    UnknownPartner,
    UnknownReferral,
)
from referralkit.links import LinkPayload, build_link, parse_link, share_links
from referralkit.model import (
    Beneficiary,
    CodeKind,
    Conversion,
    Event,
    Group,
    GroupState,
    Identity,
    Membership,
    Partner,
    PartnerState,
    Referral,
    ReferralCode,
    ReferralStatus,
    ReferrerStatus,
    Reward,
    RewardKind,
    RewardState,
    TierProgress,
)
from referralkit.money import Money
from referralkit.payouts import CsvPayoutProvider, PayoutOutcome, PayoutProvider, Verification
from referralkit.program import ReferralProgram
from referralkit.protocols import Guard, RewardPolicy, Store

if TYPE_CHECKING:
    __version__: str


def _load(name: str) -> str:
    """``__version__``, read from the installed metadata on first use (a cheaper import)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - on first use

    try:
        value = version("referralkit")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        value = "0.0.0+unknown"
    globals()[name] = value
    return value


if not TYPE_CHECKING:  # type checkers see the annotation above; a typo stays an error
    __getattr__ = _load


def __dir__() -> list[str]:
    return sorted({*globals(), "__version__"})


__all__ = [
    "CROCKFORD",
    "Beneficiary",
    "Campaign",
    "CodeExpired",
    "CodeFormat",
    "CodeKind",
    "ConfigError",
    "Conversion",
    "CsvPayoutProvider",
    "CurrencyMismatch",
    "Decision",
    "Event",
    "Grant",
    "Group",
    "GroupClosed",
    "GroupState",
    "Guard",
    "GuardContext",
    "GuardHistory",
    "IdempotencyConflict",
    "Identity",
    "InvalidCode",
    "InvalidIdentity",
    "InvalidInput",
    "InvalidLink",
    "InvalidMoney",
    "InvalidState",
    "InvitationQuotaReached",
    "InvitationRequired",
    "InvitationUsedUp",
    "LinkExpired",
    "LinkPayload",
    "LinkTampered",
    "Membership",
    "Money",
    "NotFound",
    "Partner",
    "PartnerCodeRefused",
    "PartnerState",
    "PastReward",
    "PayoutOutcome",
    "PayoutProvider",
    "Referral",
    "ReferralCode",
    "ReferralError",
    "ReferralProgram",
    "ReferralStatus",
    "ReferrerStatus",
    "RetryableStorageError",
    "Reward",
    "RewardContext",
    "RewardKind",
    "RewardPolicy",
    "RewardState",
    "SchemaVersionError",
    "StorageError",
    "Store",
    "TierProgress",
    "UnknownCode",
    "UnknownCurrency",
    "UnknownGroup",
    "UnknownOrder",
    "UnknownPartner",
    "UnknownReferral",
    "Verdict",
    "Verification",
    "__version__",
    "build_link",
    "generate_code",
    "generate_codes",
    "guess_probability",
    "is_valid_code",
    "normalize_code",
    "parse_link",
    "share_links",
    "validate_vanity",
]
