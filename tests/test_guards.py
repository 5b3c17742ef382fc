"""Each built-in guard on hand-made contexts: what it flags, what it lets through, and why."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.config import build_guards
from referralkit.guards import (
    REASON_CODES,
    SIGNAL_KINDS,
    DisposableEmail,
    DuplicateReferee,
    GuardContext,
    GuardHistory,
    ReferralCycle,
    SelfReferral,
    SharedSignals,
    Velocity,
    default_guards,
)
from referralkit.model import CodeKind, ReferralCode
from referralkit.registry import create_guard

NOW = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
CODE = ReferralCode("ABCD1234", "ann", "default", CodeKind.GENERATED, NOW)
ALLOW, REVIEW, BLOCK = rk.Decision.ALLOW, rk.Decision.REVIEW, rk.Decision.BLOCK


def context(
    referrer: dict[str, str] | None = None,
    referee: dict[str, str] | None = None,
    *,
    history: GuardHistory | None = None,
    existing_customer: bool = False,
    domain: str | None = None,
) -> GuardContext:
    """A context whose signals are ``kind -> value`` (guards only compare digests)."""
    return GuardContext(
        referrer="ann",
        referee="bob",
        code=CODE,
        referrer_signals=frozenset((referrer or {}).items()),
        referee_signals=frozenset((referee or {}).items()),
        existing_customer=existing_customer,
        now=NOW,
        history=history or GuardHistory(),
        referee_email_domain=domain,
    )


kinds = st.sampled_from(SIGNAL_KINDS)
signal_maps = st.dictionaries(kinds, st.sampled_from(["a", "b", "c"]), max_size=7)

# -- SelfReferral --------------------------------------------------------------------------


def test_self_referral_blocks_a_shared_email_and_reviews_a_shared_ip() -> None:
    guard = SelfReferral()
    verdict = guard.check(context({"email": "h1", "ip": "h2"}, {"email": "h1", "ip": "h2"}))
    assert (verdict.decision, verdict.reasons) == (
        BLOCK,
        ("self_referral.email", "self_referral.ip"),
    )
    verdict = guard.check(context({"email": "h1", "ip": "h2"}, {"email": "h9", "ip": "h2"}))
    assert (verdict.decision, verdict.reasons) == (REVIEW, ("self_referral.ip",))
    assert guard.check(context({"email": "h1"}, {"email": "h9"})) == rk.Verdict.allow()


@given(signal_maps, signal_maps)
def test_self_referral_blocks_exactly_when_a_personal_signal_is_shared(mine, theirs) -> None:
    guard = SelfReferral()
    shared = {k for k, v in mine.items() if theirs.get(k) == v}
    verdict = guard.check(context(mine, theirs))
    if shared & set(guard.block_on):
        assert verdict.decision is BLOCK
    elif shared & set(guard.review_on):
        assert verdict.decision is REVIEW
    else:
        assert verdict.decision is ALLOW
    assert set(verdict.reasons) == {
        f"self_referral.{k}" for k in shared & {*guard.block_on, *guard.review_on}
    }


@given(st.sampled_from(["ip", "network", "address"]), st.sampled_from(["ip", "network", "address"]))
def test_what_a_household_shares_is_never_blocked_by_the_default_guards(k1, k2) -> None:
    shared = {k1: "h", k2: "h2"}
    (self_referral,) = [g for g in default_guards() if isinstance(g, SelfReferral)]
    assert self_referral.check(context(shared, shared)).decision is not BLOCK


def test_self_referral_defaults_are_the_documented_signature() -> None:
    guard = SelfReferral()
    assert guard.block_on == ("email", "phone", "device", "payment", "address")
    assert guard.review_on == ("ip",)
    assert guard.check(context({"ip": "h"}, {"ip": "h"})).decision is REVIEW
    assert guard.check(context({"address": "a"}, {"address": "a"})).decision is BLOCK


def test_self_referral_is_configurable_and_refuses_unknown_kinds() -> None:
    strict = SelfReferral(block_on=["address"], review_on=["network"])
    assert strict.check(context({"address": "x"}, {"address": "x"})).decision is BLOCK
    assert strict.check(context({"network": "n"}, {"network": "n"})).decision is REVIEW
    with pytest.raises(rk.ConfigError, match="unknown signal kind 'cookie'"):
        SelfReferral(block_on=["cookie"])


# -- DuplicateReferee ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "existing", "reason"),
    [
        (GuardHistory(referee_referred_by="cy"), False, "duplicate_referee.already_referred"),
        (GuardHistory(), True, "duplicate_referee.existing_customer"),
        (GuardHistory(referee_is_customer=True), False, "duplicate_referee.has_orders"),
        (GuardHistory(referee_known_kinds=frozenset({"email"})), False, "duplicate_referee.email"),
    ],
)
def test_duplicate_referee_blocks_a_referee_who_is_not_new(history, existing, reason) -> None:
    verdict = DuplicateReferee().check(context(history=history, existing_customer=existing))
    assert (verdict.decision, verdict.reasons) == (BLOCK, (reason,))


def test_duplicate_referee_reviews_a_card_or_device_another_customer_uses() -> None:
    history = GuardHistory(referee_known_kinds=frozenset({"payment", "network"}))
    verdict = DuplicateReferee().check(context(history=history))
    assert (verdict.decision, verdict.reasons) == (REVIEW, ("duplicate_referee.payment",))
    assert DuplicateReferee().check(context()) == rk.Verdict.allow()


# -- Velocity ------------------------------------------------------------------------------


@given(
    st.lists(st.integers(0, 48 * 60), max_size=30),
    st.lists(st.integers(0, 48 * 60), max_size=30),
    st.integers(1, 10),
)
def test_velocity_flags_exactly_the_referral_past_the_limit(mine, network, limit) -> None:
    history = GuardHistory(
        referrer_recent=tuple(NOW - timedelta(minutes=m) for m in mine),
        network_recent=tuple(NOW - timedelta(minutes=m) for m in network),
    )
    guard = Velocity(limit=limit, window=timedelta(days=1))
    verdict = guard.check(context(history=history))
    in_window = sum(1 for m in mine if m < 24 * 60)
    net_in_window = sum(1 for m in network if m < 24 * 60)
    expected = set()
    if in_window + 1 > limit:
        expected.add("velocity.referrer")
    if net_in_window + 1 > limit:
        expected.add("velocity.network")
    assert set(verdict.reasons) == expected
    assert verdict.decision is (REVIEW if expected else ALLOW)


def test_velocity_network_limit_and_decision_are_its_own() -> None:
    history = GuardHistory(network_recent=(NOW,) * 5, referrer_recent=(NOW,) * 5)
    guard = Velocity(limit=10, window=timedelta(hours=1), network_limit=3, decision="block")
    verdict = guard.check(context(history=history))
    assert (verdict.decision, verdict.reasons) == (BLOCK, ("velocity.network",))
    assert guard.lookback == timedelta(hours=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0, "window": timedelta(days=1)},
        {"limit": True, "window": timedelta(days=1)},
        {"limit": 3, "window": timedelta(0)},
        {"limit": 3, "window": 60},
        {"limit": 3, "window": timedelta(days=1), "network_limit": -1},
        {"limit": 3, "window": timedelta(days=1), "decision": "maybe"},
    ],
)
def test_velocity_refuses_nonsense_parameters(kwargs) -> None:
    with pytest.raises(rk.ConfigError):
        Velocity(**kwargs)


# -- DisposableEmail -----------------------------------------------------------------------


def test_disposable_domains_and_their_subdomains_are_reviewed() -> None:
    guard = DisposableEmail(use_package=False)
    for domain in ("mailinator.com", "abc.mailinator.com"):
        verdict = guard.check(context(domain=domain))
        assert (verdict.decision, verdict.reasons) == (REVIEW, ("disposable_email",))
    assert guard.check(context(domain="gmail.com")).decision is ALLOW
    assert guard.check(context(domain=None)).decision is ALLOW
    assert not guard.is_disposable("com")


def test_the_list_is_extendable() -> None:
    guard = DisposableEmail(domains=["Burner.Example"], use_package=False, decision="block")
    assert guard.check(context(domain="burner.example")).decision is BLOCK


@pytest.mark.parametrize("domains", [["not a domain"], [""], "a..b", ["ann@gmail.com"], 5, [5]])
def test_a_bad_domain_on_the_list_is_a_config_error_naming_the_field(domains) -> None:
    with pytest.raises(rk.ConfigError) as err:
        DisposableEmail(domains=domains)
    assert err.value.path == "domains"
    with pytest.raises(rk.ConfigError) as err:
        build_guards([{"guard": "disposable_email", "domains": ["not a domain"]}])
    assert err.value.path == "guards.0.domains"


# -- ReferralCycle -------------------------------------------------------------------------


@given(st.lists(st.sampled_from(["cy", "dee", "eve", "fay", "bob"]), unique=True, max_size=5))
def test_a_cycle_is_found_up_to_its_length(upline) -> None:
    guard = ReferralCycle(max_length=3)
    verdict = guard.check(context(history=GuardHistory(referrer_upline=tuple(upline))))
    closes = "bob" in upline[:2]  # bob -> ann -> bob (2) or bob -> x -> ann -> bob (3)
    assert verdict.decision is (BLOCK if closes else ALLOW)
    assert verdict.reasons == (("referral_cycle",) if closes else ())


def test_cycle_length_must_be_a_ring() -> None:
    with pytest.raises(rk.ConfigError):
        ReferralCycle(max_length=1)


# -- SharedSignals -------------------------------------------------------------------------


def test_shared_signals_review_the_third_referee_on_one_device() -> None:
    guard = SharedSignals(threshold=3)
    referee = {"device": "d1", "email": "e1", "network": "n1"}
    two = GuardHistory(sibling_signal_counts={("device", "d1"): 2, ("network", "n1"): 1})
    verdict = guard.check(context(referee=referee, history=two))
    assert (verdict.decision, verdict.reasons) == (REVIEW, ("shared_signals.device",))
    one = GuardHistory(sibling_signal_counts={("device", "d1"): 1, ("email", "e1"): 5})
    assert guard.check(context(referee=referee, history=one)).decision is ALLOW


def test_shared_signals_add_up_digests_of_one_kind_during_key_rotation() -> None:
    referee = {"device": "new-key-digest"}
    counts = {("device", "new-key-digest"): 1, ("device", "old-key-digest"): 1}
    rotating = context(referee=referee, history=GuardHistory(sibling_signal_counts=counts))
    rotating = attrs.evolve(
        rotating, referee_signals=frozenset(counts)
    )  # one signal, hashed under both keys
    assert SharedSignals(threshold=3).check(rotating).decision is REVIEW


def test_shared_signals_threshold_is_at_least_two() -> None:
    with pytest.raises(rk.ConfigError):
        SharedSignals(threshold=1)


# -- the set and its names -----------------------------------------------------------------


def test_default_guards_are_the_documented_set_and_fresh_each_time() -> None:
    guards = default_guards()
    assert [g.name for g in guards] == [
        "self_referral",
        "duplicate_referee",
        "velocity",
        "disposable_email",
        "referral_cycle",
        "shared_signals",
    ]
    assert all(isinstance(g, rk.Guard) for g in guards)
    assert default_guards() is not guards


def test_every_builtin_guard_builds_from_configuration() -> None:
    built = build_guards(
        [
            {"guard": "self_referral", "block_on": ["email"], "review_on": ["ip", "network"]},
            {"guard": "duplicate_referee"},
            {"guard": "velocity", "limit": 5, "window": "1h", "network_limit": 50},
            {"guard": "disposable_email", "domains": ["burner.example"], "use_package": False},
            {"guard": "referral_cycle", "max_length": 4},
            {"guard": "shared_signals", "threshold": 4, "kinds": ["device"]},
        ]
    )
    assert built == [
        SelfReferral(block_on=("email",), review_on=("ip", "network")),
        DuplicateReferee(),
        Velocity(limit=5, window=timedelta(hours=1), network_limit=50),
        DisposableEmail(domains=["burner.example"], use_package=False),
        ReferralCycle(max_length=4),
        SharedSignals(threshold=4, kinds=("device",)),
    ]
    assert create_guard("velocity", limit=3, window=timedelta(days=1)).name == "velocity"
    with pytest.raises(rk.ConfigError) as err:
        build_guards([{"guard": "velocity", "limit": 0, "window": "1d"}])
    assert err.value.path is not None
    assert err.value.path.startswith("guards.0")


def test_every_reason_code_is_in_the_reference_table_and_no_other() -> None:
    page = Path(__file__).parent.parent / "docs" / "reference" / "guards.md"
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", page.read_text("utf-8"), re.MULTILINE))
    assert documented == set(REASON_CODES)
