"""Optional store capabilities are explicit protocols, and a store without one is told so."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pytest

import referralkit as rk
from referralkit.metrics import Window, metrics_source
from referralkit.protocols import (
    Capability,
    EventOutbox,
    IdentityRepository,
    MeasurableStore,
    Store,
    UnitOfWork,
    missing_members,
)
from referralkit.storage import MemoryStore


@runtime_checkable
class Greetings(Protocol):
    """A capability's repository, as a later issue would declare it."""

    def hello(self, name: str) -> str: ...

    def count(self) -> int: ...


GREETINGS: Capability[Greetings] = Capability("greetings", "greetings", Greetings)


class _Hello:
    def hello(self, name: str) -> str:
        return f"hello {name}"

    def count(self) -> int:
        return 1


class _HalfHello:
    def hello(self, name: str) -> str:
        return name

    count = 3  # there, but not a method


class _Unit:
    def __init__(self, greetings: object | None) -> None:
        if greetings is not None:
            self.greetings = greetings


class BareStore:
    """A store with the core only: no metrics, no greetings."""

    def __init__(self) -> None:
        self.inner = MemoryStore()

    def transaction(self):  # type: ignore[no-untyped-def]
        return self.inner.transaction()

    def close(self) -> None:
        pass


def test_the_built_in_stores_are_measurable(store: Store) -> None:
    assert isinstance(store, MeasurableStore)
    assert missing_members(store, MeasurableStore) == ()
    with metrics_source(store).snapshot() as view:
        assert view.funnel(Window())[0].attributions == 0


def test_a_store_that_cannot_be_measured_is_a_config_error_naming_it() -> None:
    store = BareStore()
    assert not isinstance(store, MeasurableStore)
    with pytest.raises(rk.ConfigError, match="metrics_source") as err:
        metrics_source(store)
    assert "BareStore" in str(err.value)
    assert "MeasurableStore" in str(err.value)
    assert err.value.value == "BareStore"


def test_a_metrics_source_that_is_not_callable_is_refused() -> None:
    store = BareStore()
    store.metrics_source = "not a method"  # type: ignore[attr-defined]
    with pytest.raises(rk.ConfigError, match="has no metrics_source"):
        metrics_source(store)


def test_missing_members_lists_what_is_absent_or_not_callable_in_protocol_order() -> None:
    assert missing_members(_Hello(), Greetings) == ()
    assert missing_members(_HalfHello(), Greetings) == ("count",)
    assert missing_members(object(), Greetings) == ("hello", "count")
    assert missing_members(object(), EventOutbox) == (
        "add",
        "pending",
        "ack",
        "claim",
        "release",
        "dead_letter",
        "dead_letters",
        "prune",
    )


def test_missing_members_reads_properties_as_attributes() -> None:
    store = MemoryStore()
    with store.transaction() as uow:
        assert missing_members(uow, UnitOfWork) == ()
        assert missing_members(object(), UnitOfWork) == (
            "codes",
            "referrals",
            "conversions",
            "rewards",
            "events",
            "terms",
            "identities",
        )


def test_a_capability_hands_over_its_repository() -> None:
    repository = _Hello()
    assert GREETINGS.repository(_Unit(repository), store=BareStore()) is repository
    assert GREETINGS.missing(_Unit(repository)) == ()


def test_a_core_repository_is_a_capability_too() -> None:
    identities = Capability("identities", "identities", IdentityRepository)
    store = MemoryStore()
    with store.transaction() as uow:
        assert identities.repository(uow, store=store) is uow.identities


@pytest.mark.parametrize(
    ("unit", "gaps"),
    [
        (_Unit(None), "`greetings`"),
        (_Unit(object()), "`greetings.hello`, `greetings.count`"),
        (_Unit(_HalfHello()), "`greetings.count`"),
    ],
    ids=["no repository", "no methods", "one method missing"],
)
def test_a_store_without_the_capability_is_a_config_error_naming_store_capability_and_protocol(
    unit: _Unit, gaps: str
) -> None:
    with pytest.raises(rk.ConfigError) as err:
        GREETINGS.repository(unit, store=BareStore())
    message = str(err.value)
    assert message.startswith("BareStore does not support greetings:")
    assert f"its unit of work has no {gaps} (Greetings)" in message
    assert err.value.value == "BareStore"
