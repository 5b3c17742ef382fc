"""Test helpers shipped as public API: the store contract suite and a controllable clock.

A host app with its own storage adapter subclasses `StoreContract` and overrides
the ``store`` fixture; it then runs every behaviour the built-in adapters guarantee::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self):
            s = MyStore(...)
            yield s
            s.close()

Requires pytest and hypothesis (``pip install referralkit[test]``).
"""

from __future__ import annotations

from referralkit.testing._clock import FrozenClock
from referralkit.testing._policy_contract import PolicyContract
from referralkit.testing._store_contract import StoreContract

__all__ = ["FrozenClock", "PolicyContract", "StoreContract"]
