"""The public surface is pinned: adding a name is a choice, removing one is a break.

Every public module's ``__all__`` is pinned as a list, so its order is pinned too. Each
object has one public home: the ``__all__`` of the public module that defines it (or of
the package whose private module does); the root package re-exports the most used ones.
A name that left a module's ``__all__`` for its home stays importable where it was.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections import defaultdict
from collections.abc import Iterable
from types import ModuleType

import pytest

import referralkit as rk

ROOT = "referralkit"

EXPORTS: dict[str, list[str]] = {
    "referralkit": [
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
    ],
    "referralkit.campaigns": ["Campaign"],
    "referralkit.cli": ["main"],
    "referralkit.codes": [
        "CROCKFORD",
        "DEFAULT_FORMAT",
        "DEFAULT_VANITY_BLOCKLIST",
        "CodeFormat",
        "Rng",
        "code_key",
        "generate_code",
        "generate_codes",
        "guess_probability",
        "is_valid_code",
        "normalize_code",
        "validate_vanity",
        "vanity_key",
    ],
    "referralkit.config": [
        "AllOfSpec",
        "AttributionSpec",
        "BudgetPerPeriodSpec",
        "BudgetSpec",
        "CampaignSpec",
        "CappedPerPeriodSpec",
        "CappedSpec",
        "CodeFormatSpec",
        "DoubleSidedSpec",
        "FirstMatchSpec",
        "FirstOrderOnlySpec",
        "FirstOrdersSpec",
        "FixedSpec",
        "GuardSpec",
        "MilestoneSpec",
        "MinimumOrderSpec",
        "OrderAttributeSpec",
        "PerClickSpec",
        "PerLeadSpec",
        "PercentOfOrderSpec",
        "PluginPolicySpec",
        "PolicySpec",
        "ProgramConfig",
        "RecurringSpec",
        "ReturningCustomerSpec",
        "TierSpec",
        "TieredSpec",
        "VolumeTierSpec",
        "VolumeTiersSpec",
        "build_guards",
        "build_policy",
        "program_kwargs",
        "write_json_schema",
    ],
    "referralkit.context": [
        "COSTLY_CONTEXT",
        "Decision",
        "Grant",
        "GuardContext",
        "GuardHistory",
        "PastReward",
        "RewardContext",
        "Signal",
        "Verdict",
        "policy_needs",
    ],
    "referralkit.errors": [
        "CodeExpired",
        "ConfigError",
        "CurrencyMismatch",
        "GroupClosed",
        "IdempotencyConflict",
        "InvalidCode",
        "InvalidIdentity",
        "InvalidInput",
        "InvalidLink",
        "InvalidLinkInput",
        "InvalidMoney",
        "InvalidState",
        "InvitationQuotaReached",
        "InvitationRequired",
        "InvitationUsedUp",
        "LinkExpired",
        "LinkTampered",
        "MoneyTypeError",
        "NotFound",
        "PartnerCodeRefused",
        "ReferralError",
        "ReferralWarning",
        "RetryableStorageError",
        "SchemaVersionError",
        "SharedNetworkWarning",
        "StorageError",
        "UnknownCode",
        "UnknownCurrency",
        "UnknownGroup",
        "UnknownOrder",
        "UnknownPartner",
        "UnknownReferral",
    ],
    "referralkit.guards": [
        "ADDRESS_ABBREVIATIONS",
        "ALREADY_REFERRED",
        "BUILTIN_DISPOSABLE_DOMAINS",
        "DEFAULT_EMAIL_RULES",
        "PHONE_REGIONS",
        "REASON_CODES",
        "SELF_REFERRAL_BY_ID",
        "DisposableEmail",
        "DuplicateReferee",
        "EmailRules",
        "LeakedCode",
        "OwnCode",
        "PhoneRegion",
        "ReferralCycle",
        "SelfReferral",
        "SharedSignals",
        "Structural",
        "Velocity",
        "default_guards",
        "email_domain",
        "normalize_address",
        "normalize_email",
        "normalize_ip",
        "normalize_phone",
    ],
    "referralkit.guards.identity": [
        "SIGNAL_KINDS",
        "IdentityNormalizer",
        "SignalHasher",
        "identity_signals",
        "normalize_device",
        "normalize_payment",
    ],
    "referralkit.links": [
        "SHARE_CHANNELS",
        "LinkPayload",
        "build_link",
        "canonical_base",
        "parse_link",
        "share_links",
    ],
    "referralkit.metrics": [
        "ATTRIBUTION_MODELS",
        "BREAKDOWNS",
        "CHART_COLOURS",
        "CLICK_EVENT",
        "DEFAULT_WINDOW",
        "DEFINITIONS",
        "Attribution",
        "AttributionModel",
        "Breakdown",
        "BreakdownRow",
        "Candidate",
        "Click",
        "ClickRow",
        "CohortRow",
        "CurrencySection",
        "Definition",
        "Dimension",
        "Forecast",
        "FunnelRow",
        "Interval",
        "MetricsReport",
        "MetricsSource",
        "MetricsView",
        "MomentRow",
        "MoneyRow",
        "PartnerRow",
        "ProgrammeComparison",
        "ProgrammeRow",
        "RewardRow",
        "Scorecard",
        "ScorecardRow",
        "WeekForecast",
        "Window",
        "build_report",
        "definitions_markdown",
        "format_forecast",
        "format_report",
        "metrics_source",
        "record_click",
        "render_html",
        "resolve_attribution",
        "simulate",
        "visitor_clicks",
        "winning_click",
        "write_html",
    ],
    "referralkit.model": [
        "Beneficiary",
        "Bucket",
        "CheckReason",
        "CodeCheck",
        "CodeKind",
        "Conversion",
        "Event",
        "Friend",
        "FriendReward",
        "FriendStage",
        "Group",
        "GroupState",
        "Identity",
        "Invitation",
        "Membership",
        "Partner",
        "PartnerCode",
        "PartnerEngagement",
        "PartnerGroup",
        "PartnerOrder",
        "PartnerPost",
        "PartnerReview",
        "PartnerState",
        "PartnerSubmission",
        "Redemption",
        "Referral",
        "ReferralCode",
        "ReferralStatus",
        "ReferrerStatus",
        "Reward",
        "RewardKind",
        "RewardState",
        "SubmissionState",
        "TierProgress",
        "WaitlistEntry",
        "WaitlistState",
    ],
    "referralkit.money": ["CURRENCY_EXPONENTS", "Amounts", "Money", "minor_unit"],
    "referralkit.payouts": [
        "CsvPayoutProvider",
        "LineStatus",
        "PartnerDue",
        "PartnerPayout",
        "PayoutBatch",
        "PayoutLine",
        "PayoutOutcome",
        "PayoutProvider",
        "PayoutRun",
        "Verification",
    ],
    "referralkit.policies": [
        "AllOf",
        "Budget",
        "BudgetPerPeriod",
        "Capped",
        "CappedPerPeriod",
        "DoubleSided",
        "FirstMatch",
        "FirstOrderOnly",
        "FirstOrders",
        "Fixed",
        "Form",
        "Milestone",
        "MinimumOrder",
        "OrderAttribute",
        "PerClick",
        "PerLead",
        "PercentOfOrder",
        "Recurring",
        "ReturningCustomer",
        "Setting",
        "Tier",
        "Tiered",
        "VolumeTier",
        "VolumeTiers",
        "one_of",
        "period_bounds",
        "policy_config",
        "policy_definition",
        "policy_version",
        "setting",
    ],
    "referralkit.program": [
        "GROUPS",
        "INVITATIONS",
        "PARTNERS",
        "PARTNER_PAYOUTS",
        "PARTNER_REVIEWS",
        "WAITLIST",
        "GroupRepository",
        "Groups",
        "InvitationRepository",
        "Invitations",
        "PartnerPayoutRepository",
        "PartnerRepository",
        "PartnerReviewRepository",
        "PartnerRules",
        "Partners",
        "Precedence",
        "ReferralProgram",
        "Waitlist",
        "WaitlistRepository",
    ],
    "referralkit.outbox": [
        "DEFAULT_BACKOFF",
        "EVENT_ID_HEADER",
        "SIGNATURE_HEADER",
        "Backoff",
        "DrainResult",
        "Handler",
        "Webhook",
        "drain",
        "drain_all",
        "sign_webhook",
        "verify_webhook",
    ],
    "referralkit.protocols": [
        "CLICKS",
        "META",
        "Capability",
        "ClickRepository",
        "CodeRepository",
        "ConversionRepository",
        "EventOutbox",
        "Guard",
        "IdentityRepository",
        "LedgerEntry",
        "MeasurableStore",
        "MetaRepository",
        "ReferralRepository",
        "RefundRecord",
        "RewardLedger",
        "RewardPolicy",
        "Store",
        "TermsRepository",
        "TieredPolicy",
        "UnitOfWork",
        "missing_members",
    ],
    "referralkit.registry": [
        "GUARD_GROUP",
        "GUARD_REGISTRY",
        "POLICY_GROUP",
        "POLICY_REGISTRY",
        "Factory",
        "Registry",
        "create_guard",
        "create_policy",
        "guard_factory",
        "guard_names",
        "policy_factory",
        "policy_names",
        "refresh_plugins",
        "register_guard",
        "register_policy",
        "unregister_guard",
        "unregister_policy",
    ],
    "referralkit.invitee": [
        "CLAIMS",
        "DISPLAY_NAMES",
        "MAX_DISPLAY_NAME",
        "ClaimRepository",
        "ClaimToken",
        "DisplayNameRepository",
        "Landing",
        "Offer",
        "check_display_name",
    ],
    "referralkit.moments": [
        "BEST",
        "COOLDOWN",
        "DELIVERED",
        "DELIVERIES",
        "EXPLORE",
        "INVITE",
        "LOW_SCORE",
        "LOYALTY_MILESTONE",
        "MOMENTS",
        "NOT_BEST",
        "NPS",
        "PERIOD_LIMIT",
        "REFUNDED",
        "REPEAT_PURCHASE",
        "REVIEW",
        "DecisionRecord",
        "DeliveryRepository",
        "InviteDecision",
        "Learning",
        "MomentContext",
        "MomentEvidence",
        "MomentRecord",
        "MomentRepository",
        "MomentRules",
        "MomentStats",
        "UntilDelivered",
        "decide",
    ],
    "referralkit.storage": [
        "SCHEMA_VERSION",
        "CodeTaken",
        "MemoryStore",
        "SQLAlchemyStore",
        "SQLiteStore",
        "upgrade",
    ],
    "referralkit.testing": [
        "ClaimsContract",
        "ClicksContract",
        "CodesContract",
        "ConversionsContract",
        "DeliveriesContract",
        "DisplayNamesContract",
        "FrozenClock",
        "GroupsContract",
        "IdentitiesContract",
        "InvitationsContract",
        "LedgerContract",
        "MetaContract",
        "MetricsContract",
        "MomentsContract",
        "OutboxContract",
        "PartnerPayoutsContract",
        "PartnerReviewsContract",
        "PartnersContract",
        "PolicyContract",
        "ProgrammeMetricsContract",
        "ReferralsContract",
        "StoreContract",
        "TransactionsContract",
        "WaitlistContract",
    ],
}

CONTRACT = {
    # Names the design's public API contract promises (add, never rename).
    "ReferralProgram",
    "Money",
    "Identity",
    "CodeFormat",
    "generate_code",
    "generate_codes",
    "normalize_code",
    "build_link",
    "parse_link",
    "share_links",
    "LinkPayload",
    "ReferralError",
    "InvalidCode",
    "UnknownCode",
    "CodeExpired",
    "InvalidLink",
    "ConfigError",
    "CurrencyMismatch",
    "StorageError",
    "Referral",
    "Reward",
    "ReferralCode",
    "Conversion",
    "Event",
}


# Names that left a module's ``__all__`` for their home, still importable from there.
MOVED: dict[str, dict[str, str]] = {
    "referralkit.config": {"Campaign": "referralkit.campaigns"},
    "referralkit.guards": {
        "Decision": "referralkit.context",
        "GuardContext": "referralkit.context",
        "GuardHistory": "referralkit.context",
        "Signal": "referralkit.context",
        "Verdict": "referralkit.context",
        "Guard": "referralkit.protocols",
        "SIGNAL_KINDS": "referralkit.guards.identity",
        "IdentityNormalizer": "referralkit.guards.identity",
        "SignalHasher": "referralkit.guards.identity",
        "identity_signals": "referralkit.guards.identity",
        "normalize_device": "referralkit.guards.identity",
        "normalize_payment": "referralkit.guards.identity",
    },
    "referralkit.guards.identity": {"normalize_email": "referralkit.guards"},
    "referralkit.model": {"Money": "referralkit.money"},
    "referralkit.policies": {
        "Grant": "referralkit.context",
        "PastReward": "referralkit.context",
        "RewardContext": "referralkit.context",
        "RewardPolicy": "referralkit.protocols",
        "TieredPolicy": "referralkit.protocols",
    },
    "referralkit.storage": dict.fromkeys(
        (
            "CodeRepository",
            "ConversionRepository",
            "EventOutbox",
            "IdentityRepository",
            "LedgerEntry",
            "ReferralRepository",
            "RewardLedger",
            "Store",
            "UnitOfWork",
        ),
        "referralkit.protocols",
    ),
}


def _is_private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def _isort_key(name: str) -> tuple[int, list[int | str]]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then the rest; digits compare as numbers."""
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return kind, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _object_key(name: str, obj: object) -> object:
    # Equal small ints and strings may be one cached object: only the same name counts.
    if isinstance(obj, str | bytes | int | float) or obj is None:
        return (name, id(obj))
    return id(obj)


def _shared_exports(modules: Iterable[ModuleType]) -> list[list[str]]:
    """Every object that more than one of ``modules`` lists in its ``__all__``."""
    places: dict[object, list[str]] = defaultdict(list)
    for module in modules:
        for name in module.__all__:
            places[_object_key(name, getattr(module, name))].append(f"{module.__name__}.{name}")
    return [where for where in places.values() if len(where) > 1]


def test_every_public_module_is_pinned() -> None:
    """A new public module is a choice: it gets its pinned ``__all__`` here."""
    found = {
        info.name
        for info in pkgutil.walk_packages(rk.__path__, f"{ROOT}.")
        if not _is_private(info.name)
    }
    assert found | {ROOT} == set(EXPORTS)


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_all_is_exactly_the_pinned_list(module: str) -> None:
    assert importlib.import_module(module).__all__ == EXPORTS[module]


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_all_lists_only_names_that_exist_and_is_sorted_uniquely(module: str) -> None:
    mod = importlib.import_module(module)
    names = list(mod.__all__)
    assert names == sorted(set(names), key=_isort_key)
    for name in names:
        assert hasattr(mod, name), f"{module}.{name}"


def test_the_sort_order_is_ruffs() -> None:
    """The order checked above is the one ``ruff --fix`` (RUF022) writes."""
    names = ["a10", "SQLiteStore", "A", "__version__", "a9", "AB", "ScheduleX", "_x", "A1"]
    assert sorted(names, key=_isort_key) == [
        "A1",
        "AB",
        "A",
        "SQLiteStore",
        "ScheduleX",
        "__version__",
        "_x",
        "a9",
        "a10",
    ]


def test_no_object_is_exported_from_two_modules_besides_the_root() -> None:
    modules = [importlib.import_module(m) for m in EXPORTS if m != ROOT]
    assert _shared_exports(modules) == []


def test_the_shared_export_check_finds_an_object_listed_twice() -> None:
    shared, constant = object(), 3
    one, two, three = ModuleType("one"), ModuleType("two"), ModuleType("three")
    one.__dict__.update(__all__=["X", "N"], X=shared, N=constant)
    two.__dict__.update(__all__=["Y", "M"], Y=shared, M=constant)
    three.__dict__.update(__all__=["N"], N=constant)
    assert _shared_exports([one, two, three]) == [["one.X", "two.Y"], ["one.N", "three.N"]]


def test_every_root_name_has_a_home() -> None:
    """The root re-exports: each of its names (but ``__version__``) is its home's too."""
    homes = {
        _object_key(name, getattr(mod, name))
        for mod in map(importlib.import_module, EXPORTS)
        if mod.__name__ != ROOT
        for name in mod.__all__
    }
    orphans = [n for n in rk.__all__ if _object_key(n, getattr(rk, n)) not in homes]
    assert orphans == ["__version__"]


@pytest.mark.parametrize("module", sorted(set(EXPORTS) - {ROOT}))
def test_a_class_or_function_is_exported_by_the_public_module_that_defines_it(
    module: str,
) -> None:
    mod = importlib.import_module(module)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        defined_in: str = obj.__module__
        if defined_in.startswith(f"{ROOT}.") and not _is_private(defined_in):
            assert defined_in == module, f"{module}.{name} lives in {defined_in}"


@pytest.mark.parametrize(
    ("module", "name", "home"),
    [(module, name, home) for module, names in MOVED.items() for name, home in names.items()],
)
def test_a_name_that_left_an_all_is_still_importable_from_there(
    module: str, name: str, home: str
) -> None:
    assert name not in EXPORTS[module]
    assert name in EXPORTS[home]
    assert getattr(importlib.import_module(module), name) is getattr(
        importlib.import_module(home), name
    )


def test_every_contract_name_is_exported() -> None:
    missing = CONTRACT - set(rk.__all__)
    assert not missing


def test_storage_exports_the_contract_adapters() -> None:
    from referralkit import protocols, storage

    assert {"MemoryStore", "SQLiteStore"} <= set(storage.__all__)
    assert storage.Store is protocols.Store


def test_every_error_is_a_referral_error_and_carries_a_value() -> None:
    from referralkit import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if issubclass(cls, Warning):
            continue  # the warnings, pinned below
        assert issubclass(cls, rk.ReferralError)
        err = cls("message", value=42)
        assert err.value == 42
        assert str(err) == "message"


def test_every_warning_is_a_referral_warning_and_a_user_warning() -> None:
    from referralkit import errors

    warnings = [getattr(errors, n) for n in errors.__all__ if n.endswith("Warning")]
    assert warnings == [errors.ReferralWarning, errors.SharedNetworkWarning]
    for cls in warnings:
        assert issubclass(cls, errors.ReferralWarning)
        assert issubclass(cls, UserWarning)
        assert not issubclass(cls, rk.ReferralError)


def test_errors_survive_pickling_for_worker_processes() -> None:
    import pickle

    err = rk.InvalidCode("bad", value="X", reason="bad_check")
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), back.value, back.reason, str(back)) == (
        rk.InvalidCode,
        "X",
        "bad_check",
        "bad",
    )


def test_version_comes_from_installed_metadata() -> None:
    from importlib.metadata import version

    assert rk.__version__ == version("referralkit")


def test_the_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("referralkit").joinpath("py.typed").is_file()


def test_the_outbox_entry_points_have_the_designed_signatures() -> None:
    """The design names claim_events and prune_events with these defaults: they are the contract."""
    from datetime import timedelta

    def defaults(name: str) -> dict[str, object]:
        parameters = inspect.signature(getattr(rk.ReferralProgram, name)).parameters
        return {p.name: p.default for p in parameters.values() if p.name != "self"}

    assert defaults("claim_events") == {
        "limit": 100,
        "lease": timedelta(minutes=5),
        "worker": None,
    }
    assert defaults("prune_events") == {"older_than": timedelta(days=90)}
    assert defaults("release_events") == {"event_ids": inspect.Parameter.empty, "retry_at": None}
    assert defaults("dead_letter") == {"event_ids": inspect.Parameter.empty}
    assert defaults("dead_letters") == {"limit": 100}
