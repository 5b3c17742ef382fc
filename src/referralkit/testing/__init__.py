"""Test helpers shipped as public API: the store and policy contract suites, and a clock.

A host app with its own storage adapter subclasses `StoreContract` and overrides
the ``store`` fixture; it then runs every behaviour the built-in adapters guarantee::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self):
            s = MyStore(...)
            yield s
            s.close()

`StoreContract` is the union of one contract class per capability, each usable on its
own while an adapter grows: `CodesContract`, `ReferralsContract`, `ConversionsContract`,
`LedgerContract`, `OutboxContract`, `IdentitiesContract`, `TransactionsContract`,
`ClicksContract` (click tracking, ``uow.clicks``), `MetaContract` (store metadata,
``uow.meta``) and `MetricsContract` (for a `referralkit.protocols.MeasurableStore`).
Optional capabilities beyond the store contract have their own: `MomentsContract`
(trigger moments, ``uow.moments``), `DeliveriesContract` (``uow.deliveries``),
`DisplayNamesContract` (``uow.display_names``) and `ClaimsContract` (``uow.claims``).
`GroupsContract` checks the optional group-buys capability (``uow.groups``,
`referralkit.program.GroupRepository`) on its own; `InvitationsContract`
(``uow.invitations``) and `WaitlistContract` (``uow.waitlist``) check invitations and
the waitlist.
`referralkit.program.GroupRepository`) on its own, and `PartnersContract` the optional
partner programmes (``uow.partners``, `referralkit.program.PartnerRepository`), and
`PartnerPayoutsContract` paying them (`referralkit.program.PartnerPayoutRepository`),
`PartnerReviewsContract` their fraud signals and reviews, and `ProgrammeMetricsContract`
their programme comparison beside customer referrals (``metrics(by="programme")``).
Before each test the store is checked against the protocols that capability relies on,
and a missing method fails the test with a message naming it and its protocol.

`FrozenClock` needs nothing more than referralkit, so a tutorial or an app imports it
from a plain install. The contract suites need pytest and hypothesis
(``pip install referralkit[test]``): they load on first use, and without those an
`ImportError` says so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from referralkit.testing._clock import FrozenClock

if TYPE_CHECKING:
    from referralkit.testing._groups_contract import GroupsContract
    from referralkit.testing._invitations_contract import InvitationsContract, WaitlistContract
    from referralkit.testing._invitee_contract import ClaimsContract, DisplayNamesContract
    from referralkit.testing._metrics_contract import MetricsContract, ProgrammeMetricsContract
    from referralkit.testing._moments_contract import DeliveriesContract, MomentsContract
    from referralkit.testing._partner_payouts_contract import PartnerPayoutsContract
    from referralkit.testing._partner_reviews_contract import PartnerReviewsContract
    from referralkit.testing._partners_contract import PartnersContract
    from referralkit.testing._policy_contract import PolicyContract
    from referralkit.testing._store_contract import (
        ClicksContract,
        CodesContract,
        ConversionsContract,
        IdentitiesContract,
        LedgerContract,
        MetaContract,
        OutboxContract,
        ReferralsContract,
        StoreContract,
        TransactionsContract,
    )

#: The contract suites, by the private module that defines each (they import pytest).
_LAZY = {
    "ClaimsContract": "_invitee_contract",
    "ClicksContract": "_store_contract",
    "CodesContract": "_store_contract",
    "ConversionsContract": "_store_contract",
    "DeliveriesContract": "_moments_contract",
    "DisplayNamesContract": "_invitee_contract",
    "GroupsContract": "_groups_contract",
    "IdentitiesContract": "_store_contract",
    "InvitationsContract": "_invitations_contract",
    "LedgerContract": "_store_contract",
    "MetaContract": "_store_contract",
    "MetricsContract": "_metrics_contract",
    "MomentsContract": "_moments_contract",
    "OutboxContract": "_store_contract",
    "PartnerPayoutsContract": "_partner_payouts_contract",
    "PartnerReviewsContract": "_partner_reviews_contract",
    "PartnersContract": "_partners_contract",
    "PolicyContract": "_policy_contract",
    "ProgrammeMetricsContract": "_metrics_contract",
    "ReferralsContract": "_store_contract",
    "StoreContract": "_store_contract",
    "TransactionsContract": "_store_contract",
    "WaitlistContract": "_invitations_contract",
}


def _load(name: str) -> object:
    """Load a contract suite's module on first use (it needs pytest), then keep the name."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f"{__name__}.{module}")
    except ImportError as exc:
        msg = (
            f"referralkit.testing.{name} needs pytest and hypothesis: "
            "pip install 'referralkit[test]'"
        )
        raise ImportError(msg, name=exc.name) from exc
    value: object = getattr(loaded, name)
    globals()[name] = value
    return value


if not TYPE_CHECKING:  # type checkers see the imports above; a typo stays an error
    __getattr__ = _load


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
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
]
