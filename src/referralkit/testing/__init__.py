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
`ClicksContract` (click tracking, ``uow.clicks``) and `MetricsContract` (for a
`referralkit.protocols.MeasurableStore`). Before each test the
store is checked against the protocols that capability relies on, and a missing method
fails the test with a message naming it and its protocol.

Requires pytest and hypothesis (``pip install referralkit[test]``).
"""

from __future__ import annotations

from referralkit.testing._clock import FrozenClock
from referralkit.testing._metrics_contract import MetricsContract
from referralkit.testing._policy_contract import PolicyContract
from referralkit.testing._store_contract import (
    ClicksContract,
    CodesContract,
    ConversionsContract,
    IdentitiesContract,
    LedgerContract,
    OutboxContract,
    ReferralsContract,
    StoreContract,
    TransactionsContract,
)

__all__ = [
    "ClicksContract",
    "CodesContract",
    "ConversionsContract",
    "FrozenClock",
    "IdentitiesContract",
    "LedgerContract",
    "MetricsContract",
    "OutboxContract",
    "PolicyContract",
    "ReferralsContract",
    "StoreContract",
    "TransactionsContract",
]
