"""The contracts of display names (``uow.display_names``) and claims (``uow.claims``)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from referralkit.errors import StorageError
from referralkit.invitee import CLAIMS, DISPLAY_NAMES
from referralkit.protocols import Store
from referralkit.testing._store_base import CapabilityContract, Needs
from referralkit.testing._store_contract import _NAIVE, T0, _Boom, _then_fail

__all__ = ["ClaimsContract", "DisplayNamesContract"]


class DisplayNamesContract(CapabilityContract):
    """Display names (``uow.display_names``): the last one set stands; None removes it."""

    needs = Needs(repositories=(DISPLAY_NAMES,))

    def test_a_display_name_is_replaced_and_removed(self, store: Store) -> None:
        """Set, replace, remove; each customer their own; rolled back with its unit of work."""
        with store.transaction() as uow:
            names = DISPLAY_NAMES.repository(uow, store=store)
            assert names.get("ann") is None
            names.put("ann", "Ann K.", T0)
            names.put("bob", "Bob", T0)
            names.put("ann", "Annie", T0 + timedelta(hours=1))
            assert names.get("ann") == "Annie"
            names.put("bob", None, T0)
            assert names.get("bob") is None
            names.put("cy", None, T0)  # removing what is not there is fine
        with pytest.raises(_Boom):
            _then_fail(
                store, lambda uow: DISPLAY_NAMES.repository(uow, store=store).put("ann", "X", T0)
            )
        with store.transaction() as uow:
            assert DISPLAY_NAMES.repository(uow, store=store).get("ann") == "Annie"
        with pytest.raises(StorageError), store.transaction() as uow:
            DISPLAY_NAMES.repository(uow, store=store).put("dee", "Dee", _NAIVE)


class ClaimsContract(CapabilityContract):
    """Claims (``uow.claims``): a token id is spent once, by whoever is first."""

    needs = Needs(repositories=(CLAIMS,))

    def test_a_token_is_spent_once(self, store: Store) -> None:
        """The first customer keeps it; a repeat says who spent it; rolled back with its unit."""
        with store.transaction() as uow:
            claims = CLAIMS.repository(uow, store=store)
            assert claims.add("t-1", "bob", T0) == ("bob", True)
            assert claims.add("t-1", "cy", T0) == ("bob", False)
            assert claims.add("t-1", "bob", T0) == ("bob", False)
        with pytest.raises(_Boom):
            _then_fail(store, lambda uow: CLAIMS.repository(uow, store=store).add("t-2", "x", T0))
        with store.transaction() as uow:
            assert CLAIMS.repository(uow, store=store).add("t-2", "dee", T0) == ("dee", True)

    def test_racing_claims_of_one_token_have_one_winner(self, store: Store) -> None:
        """Eight threads spend one token at once: exactly one is told it spent it."""
        won: list[str] = []
        start = threading.Barrier(8)

        def spend(customer: str) -> None:
            start.wait()
            with store.transaction() as uow:
                who, new = CLAIMS.repository(uow, store=store).add("race", customer, T0)
            if new:
                won.append(who)

        threads = [threading.Thread(target=spend, args=(f"c-{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1
