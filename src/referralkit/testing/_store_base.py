"""What every capability contract shares: the ``store`` fixture and the protocol check.

A capability contract declares the protocols its tests rely on in `needs`: those of the
store itself and the repositories on its unit of work.
Before each of its tests, the store under test is checked against exactly those, so a
missing method fails with a message naming it, not with an ``AttributeError`` deep
inside a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pytest

from referralkit.protocols import (
    Capability,
    CodeRepository,
    ConversionRepository,
    EventOutbox,
    IdentityRepository,
    ReferralRepository,
    RewardLedger,
    Store,
    TermsRepository,
    UnitOfWork,
    missing_members,
)

__all__ = [
    "CODES",
    "CONVERSIONS",
    "CORE",
    "EVENTS",
    "IDENTITIES",
    "REFERRALS",
    "REWARDS",
    "TERMS",
    "CapabilityContract",
    "Needs",
    "protocol_gaps",
]

# The core repositories, described as capabilities so that gaps are named the same way.
CODES: Capability[CodeRepository] = Capability("codes", "codes", CodeRepository)
REFERRALS: Capability[ReferralRepository] = Capability("referrals", "referrals", ReferralRepository)
CONVERSIONS: Capability[ConversionRepository] = Capability(
    "conversions", "conversions", ConversionRepository
)
REWARDS: Capability[RewardLedger] = Capability("rewards", "rewards", RewardLedger)
EVENTS: Capability[EventOutbox] = Capability("events", "events", EventOutbox)
TERMS: Capability[TermsRepository] = Capability("terms", "terms", TermsRepository)
IDENTITIES: Capability[IdentityRepository] = Capability(
    "identities", "identities", IdentityRepository
)
#: Every repository of the core `UnitOfWork`.
CORE: tuple[Capability[Any], ...] = (
    CODES,
    REFERRALS,
    CONVERSIONS,
    REWARDS,
    EVENTS,
    TERMS,
    IDENTITIES,
)


@attrs.frozen(slots=True)
class Needs:
    """The protocols a capability contract's tests rely on.

    ``store``: protocols the store object satisfies beyond `Store`; ``repositories``:
    repositories on its unit of work; ``unit_of_work``: the whole `UnitOfWork` protocol.
    """

    store: tuple[type, ...] = ()
    repositories: tuple[Capability[Any], ...] = ()
    unit_of_work: bool = False


def protocol_gaps(store: object, needs: Needs) -> list[str]:
    """One line per member the store (or its unit of work) lacks, naming its protocol.

    Opens one unit of work, and only when the store is a `Store` and a repository is needed.
    """
    name = type(store).__name__
    gaps = [
        f"{name} has no `{member}` ({protocol.__name__})"
        for protocol in (Store, *needs.store)
        for member in missing_members(store, protocol)
    ]
    wanted = needs.repositories or needs.unit_of_work
    if not wanted or gaps or not isinstance(store, Store):
        return list(dict.fromkeys(gaps))
    with store.transaction() as uow:
        if needs.unit_of_work:
            gaps += [
                f"{name}'s unit of work has no `{member}` (UnitOfWork)"
                for member in missing_members(uow, UnitOfWork)
            ]
        gaps += [
            f"{name}'s unit of work has no `{member}` ({capability.protocol.__name__})"
            for capability in needs.repositories
            for member in capability.missing(uow)
        ]
    return list(dict.fromkeys(gaps))


class CapabilityContract:
    """Base of the capability contracts: subclass one (or `StoreContract`), override ``store``."""

    #: The protocols this capability's tests rely on; checked before each of them.
    needs: ClassVar[Needs] = Needs()

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """Return a fresh, empty store. Subclasses must override this fixture."""
        msg = "override the `store` fixture to return your adapter"
        raise NotImplementedError(msg)

    @pytest.fixture(autouse=True)
    def _store_has_the_capability(self, request: pytest.FixtureRequest, store: Store) -> None:
        """Before each test: the store has every member its capability's protocols declare."""
        name = request.function.__name__
        owner = next((c for c in type(self).__mro__ if name in vars(c)), type(self))
        gaps = protocol_gaps(store, getattr(owner, "needs", Needs()))
        if gaps:
            pytest.fail("; ".join(gaps), pytrace=False)
