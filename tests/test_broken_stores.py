"""The store contract catches what it promises to catch: each broken store fails it.

Every variant in `_broken_stores` breaks one rule. The whole `StoreContract`, and the
one capability contract that owns the rule, run on it in a pytester session; both
must fail, in (at least) the tests named here, while the rest of the suite still
passes on it. The same capability contracts pass on a sound `MemoryStore`.
"""

from __future__ import annotations

import pytest

from _broken_stores import VARIANTS

# variant -> (the capability contract that owns the rule, tests that must catch it,
# text the failure must show)
EXPECTED: dict[str, tuple[str, set[str], str]] = {
    "NoRollback": (
        "TransactionsContract",
        {"test_a_unit_of_work_that_raises_leaves_nothing_behind"},
        "",
    ),
    "TwoActiveReferrals": (
        "ReferralsContract",
        {"test_one_active_referral_per_referee"},
        "",
    ),
    "DuplicateRewardKeys": (
        "LedgerContract",
        {"test_reward_is_idempotent_on_customer_and_key"},
        "",
    ),
    "CodeTextNotUnique": (
        "CodesContract",
        {"test_code_text_owned_by_someone_else_raises_code_taken"},
        "CodeTaken",
    ),
    "EventsOutOfOrder": (
        "OutboxContract",
        {"test_events_are_pending_until_acked"},
        "",
    ),
    "LeasesIgnored": (
        "OutboxContract",
        {
            "test_a_claim_hands_each_event_out_once_while_its_lease_holds",
            "test_concurrent_claims_never_share_an_event",
        },
        "",
    ),
    "PruneTakesPending": (
        "OutboxContract",
        {"test_prune_deletes_only_acknowledged_events_from_before_a_time"},
        "",
    ),
    "ClicksOutsideTheWindow": (
        "ClicksContract",
        {"test_clicks_are_found_by_any_of_a_visitors_keys_inside_a_window"},
        "",
    ),
    "NaiveTimesAccepted": (
        "TransactionsContract",
        {"test_backend_errors_are_storage_errors[conversion]"},
        "StorageError",
    ),
    "MissingRefereesSince": (
        "IdentitiesContract",
        {
            "test_referees_sharing_a_signal_are_listed_newest_first_from_a_time",
            "test_identity_signals_are_stored_once_and_searchable",
        },
        (
            "MissingRefereesSince's unit of work has no `identities.referees_since`"
            " (IdentityRepository)"
        ),
    ),
    "MetricsWithoutClicks": (
        "MetricsContract",
        {
            "test_metrics_are_identical_to_the_reference_on_a_generated_program[1]",
            "test_metrics_are_identical_to_the_reference_in_the_corners[1]",
        },
        "clicks",
    ),
}

CAPABILITY_CONTRACTS = [
    "CodesContract",
    "ReferralsContract",
    "ConversionsContract",
    "LedgerContract",
    "OutboxContract",
    "IdentitiesContract",
    "TransactionsContract",
    "ClicksContract",
    "MetaContract",
    "MetricsContract",
]


def _suite(classes: dict[str, str]) -> str:
    """A test module: one class per (name, contract), each on the store ``make()`` builds."""
    body = [
        "import pytest",
        "from referralkit import testing",
        "from _broken_stores import VARIANTS",
        "from referralkit.storage import MemoryStore",
    ]
    for name, (contract, make) in classes.items():
        body += [
            f"class {name}(testing.{contract}):",
            "    @pytest.fixture",
            "    def store(self):",
            f"        return {make}",
        ]
    return "\n".join(body) + "\n"


def _outcomes(pytester: pytest.Pytester) -> tuple[dict[str, set[str]], set[str], str]:
    """Run the module; failed (or errored) tests per class, passed tests, and the report."""
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    failed: dict[str, set[str]] = {}
    passed: set[str] = set()
    text = []
    for report in recorder.getreports("pytest_runtest_logreport"):
        cls, test = report.nodeid.split("::")[1:]
        if report.failed:
            failed.setdefault(cls, set()).add(test)
            text.append(str(report.longrepr))
        elif report.passed and report.when == "call":
            passed.add(f"{cls}::{test}")
    return failed, passed, "\n".join(text)


def test_every_variant_is_expected_to_fail_somewhere() -> None:
    assert set(EXPECTED) == set(VARIANTS)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_contract_fails_a_store_that_breaks_it(pytester: pytest.Pytester, variant: str) -> None:
    """The whole suite and the capability's own contract both fail, where they should."""
    contract, catching, shown = EXPECTED[variant]
    pytester.makepyfile(
        _suite(
            {
                "TestWhole": ("StoreContract", f"VARIANTS[{variant!r}]()"),
                "TestAlone": (contract, f"VARIANTS[{variant!r}]()"),
            }
        )
    )
    failed, passed, text = _outcomes(pytester)
    for cls in ("TestWhole", "TestAlone"):
        missed = catching - failed.get(cls, set())
        assert not missed, f"{variant}: {cls} did not fail {sorted(missed)}"
    assert shown in text
    # One rule broken, not the whole store: most of the suite still passes on it.
    assert len(passed) > len(failed["TestWhole"])


def test_each_capability_contract_passes_on_its_own_on_a_sound_store(
    pytester: pytest.Pytester,
) -> None:
    """Each capability contract runs alone, only its own tests, and a sound store passes."""
    from referralkit import testing

    pytester.makepyfile(_suite({f"Test{c}": (c, "MemoryStore()") for c in CAPABILITY_CONTRACTS}))
    failed, passed, _ = _outcomes(pytester)
    assert failed == {}
    whole = {name for name in dir(testing.StoreContract) if name.startswith("test_")}
    ran = {test.split("::")[1].split("[")[0] for test in passed}
    assert ran == whole
    for contract in CAPABILITY_CONTRACTS:
        own = {name for name in vars(getattr(testing, contract)) if name.startswith("test_")}
        tests = {
            t.split("::")[1].split("[")[0] for t in passed if t.startswith(f"Test{contract}::")
        }
        assert tests == own, contract
