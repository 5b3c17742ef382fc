"""Memory stores that each break one rule of the store contract, to prove the suite sees it.

Each variant is a `MemoryStore` subclass; most swap one repository of the unit of work
for a subclass that gets one thing wrong. `test_broken_stores.py` runs the contract
suite on every variant and expects it to fail, in the tests named there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, ClassVar

import attrs

from referralkit.codes import code_key
from referralkit.model import ReferralStatus
from referralkit.storage import MemoryStore
from referralkit.storage._memory import (
    _Clicks,
    _Codes,
    _Conversions,
    _Events,
    _Referrals,
    _Rewards,
)
from referralkit.storage._memory_metrics import MemoryMetricsView


def _recast(cls: type) -> Callable[[object], object]:
    """Turn a unit of work's repository into ``cls`` (a subclass), keeping its state."""

    def recast(repository: object) -> object:
        broken = object.__new__(cls)
        vars(broken).update(vars(repository))
        return broken

    return recast


class _Swapped(MemoryStore):
    """A memory store whose unit of work has some repositories replaced."""

    swaps: ClassVar[dict[str, Callable[[object], object]]] = {}

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as uow:
            for attribute, swap in self.swaps.items():
                setattr(uow, attribute, swap(getattr(uow, attribute)))
            yield uow


class NoRollback(MemoryStore):
    """A unit of work that raises keeps what it wrote."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as uow:
            try:
                yield uow
            except BaseException:
                uow.codes._undo.clear()  # forget how to undo: the writes stay
                raise


class _EveryReferralActive(_Referrals):
    def add(self, referral):
        t = self._t
        if (
            referral.status is not ReferralStatus.REJECTED
            and referral.referee in t.active_by_referee
        ):
            previous = t.active_by_referee.pop(referral.referee)  # forgotten: the new one goes in
            self._undo.append(lambda: t.active_by_referee.__setitem__(referral.referee, previous))
        return super().add(referral)


class TwoActiveReferrals(_Swapped):
    """A referee can hold a second non-rejected referral."""

    swaps: ClassVar = {"referrals": _recast(_EveryReferralActive)}


class _EveryRewardNew(_Rewards):
    def add(self, reward):
        t = self._t
        natural = (reward.customer_id, reward.key)
        previous = t.reward_keys.pop(natural, None)  # forgotten: the retry is stored again
        if previous is not None:
            self._undo.append(lambda: t.reward_keys.__setitem__(natural, previous))
        return super().add(reward)


class DuplicateRewardKeys(_Swapped):
    """A retried grant with the same (customer, key) is stored again."""

    swaps: ClassVar = {"rewards": _recast(_EveryRewardNew)}


class _CodeTextOverwritten(_Codes):
    def add(self, code):
        t = self._t
        taken = t.codes.get(code.code)
        if taken is not None and (code.owner, code.campaign) not in t.code_by_owner:
            del t.codes[code.code]  # another owner's code text is silently taken over
            key = code_key(code.code)
            t.code_keys.pop(key, None)
            self._undo.append(lambda: t.codes.__setitem__(code.code, taken))
            self._undo.append(lambda: t.code_keys.__setitem__(key, taken.code))
        return super().add(code)


class CodeTextNotUnique(_Swapped):
    """Two owners can be given the same code text."""

    swaps: ClassVar = {"codes": _recast(_CodeTextOverwritten)}


class _NewestEventsFirst(_Events):
    def pending(self, limit, now=None):
        return sorted(super().pending(10**9, now), key=lambda e: -e.id)[:limit]


class EventsOutOfOrder(_Swapped):
    """Pending events come newest first."""

    swaps: ClassVar = {"events": _recast(_NewestEventsFirst)}


class _ClaimsIgnoreLeases(_Events):
    def claim(self, limit, now, until, worker=None):
        t = self._t
        for event_id in list(t.claimable_at):  # every lease forgotten before the claim
            self._set(t.claimable_at, event_id, None)
        return super().claim(limit, now, until, worker)


class LeasesIgnored(_Swapped):
    """A claim hands out events another claim still holds."""

    swaps: ClassVar = {"events": _recast(_ClaimsIgnoreLeases)}


class _PrunesPending(_Events):
    def prune(self, before, limit):
        self.ack(list(self._t.events))  # pending, leased and dead events count as delivered
        return super().prune(before, limit)


class PruneTakesPending(_Swapped):
    """Pruning deletes events that were never acknowledged."""

    swaps: ClassVar = {"events": _recast(_PrunesPending)}


class _ClicksOfAllTime(_Clicks):
    def for_visitor(self, visitors, since, until):
        return super().for_visitor(visitors, datetime.min.replace(tzinfo=timezone.utc), until)


class ClicksOutsideTheWindow(_Swapped):
    """A visitor's clicks from before the window are returned too."""

    swaps: ClassVar = {"clicks": _recast(_ClicksOfAllTime)}


class _AssumesUtc(_Conversions):
    def add(self, conversion):
        if conversion.occurred_at.tzinfo is None:
            when = conversion.occurred_at.replace(tzinfo=timezone.utc)
            conversion = attrs.evolve(conversion, occurred_at=when)
        return super().add(conversion)


class NaiveTimesAccepted(_Swapped):
    """An order with a naive time is stored as if it were UTC, instead of refused."""

    swaps: ClassVar = {"conversions": _recast(_AssumesUtc)}


class _Without:
    """A repository that lacks one method: written against an older protocol."""

    def __init__(self, inner: object, missing: str) -> None:
        self._inner = inner
        self._missing = missing

    def __getattr__(self, name: str) -> Any:
        if name == self._missing:
            raise AttributeError(name)
        return getattr(self._inner, name)


class MissingRefereesSince(_Swapped):
    """The identities repository has no ``referees_since``."""

    swaps: ClassVar = {"identities": lambda repository: _Without(repository, "referees_since")}


class _NoClicksView(MemoryMetricsView):
    def clicks(self, window, by=None, keys=None):
        return []


class _NoClicksSource:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    @contextmanager
    def snapshot(self) -> Iterator[MemoryMetricsView]:
        with self._store._lock:
            yield _NoClicksView(self._store._tables)


class MetricsWithoutClicks(MemoryStore):
    """The metrics view forgets the clicks: the report differs from the reference's."""

    def metrics_source(self) -> Any:
        return _NoClicksSource(self)


VARIANTS: dict[str, type[MemoryStore]] = {
    cls.__name__: cls
    for cls in (
        NoRollback,
        TwoActiveReferrals,
        DuplicateRewardKeys,
        CodeTextNotUnique,
        EventsOutOfOrder,
        LeasesIgnored,
        PruneTakesPending,
        ClicksOutsideTheWindow,
        NaiveTimesAccepted,
        MissingRefereesSince,
        MetricsWithoutClicks,
    )
}
