"""Reading the history guards need, before they run (guards themselves stay pure).

Each guard lists what it reads in ``needs`` (``referrer_recent``, ``network_recent``,
``upline``, ``siblings``, ``lookalikes``); only those are read. ``lookback`` bounds
time windows and ``max_length`` bounds the referral chain walked for cycles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from referralkit.context import GuardHistory, Signal
from referralkit.guards._duplicate import PERSONAL_KINDS
from referralkit.protocols import Guard, UnitOfWork

__all__ = ["HistoryNeeds", "history_needs", "read_guard_history"]

_LIMIT = 1000
#: Signal kinds looked up among other customers for ``lookalikes``: those that name one
#: person. Addresses and networks are shared by design and would be long lists.
LOOKALIKE_KINDS = frozenset(PERSONAL_KINDS)


def _network_times(
    uow: UnitOfWork, signals: frozenset[Signal], since: datetime
) -> tuple[datetime, ...]:
    # One network has a digest per active key during a rotation: count each referee once.
    seen: dict[str, datetime] = {}
    for signal in signals:
        if signal[0] == "network":
            seen.update(uow.identities.referees_since(signal, since, _LIMIT))
    return tuple(sorted(seen.values()))


def _upline(uow: UnitOfWork, referrer: str, depth: int) -> tuple[str, ...]:
    chain: list[str] = []
    cursor: str | None = referrer
    while cursor is not None and len(chain) < depth:
        cursor = uow.referrals.referrer_of(cursor)
        if cursor is not None:
            chain.append(cursor)
    return tuple(chain)


def _known_kinds(
    uow: UnitOfWork, signals: frozenset[Signal], sides: frozenset[str]
) -> frozenset[str]:
    """Kinds of ``signals`` that a customer other than ``sides`` carries."""
    known = set()
    for signal in signals:
        kind = signal[0]
        if kind in LOOKALIKE_KINDS and kind not in known:
            owners = uow.identities.customers_with(signal, len(sides) + 1)
            if any(owner not in sides for owner in owners):
                known.add(kind)
    return frozenset(known)


@attrs.frozen(slots=True)
class HistoryNeeds:
    """What a set of guards reads: the kinds of history, how far back, how deep a chain."""

    needs: frozenset[str]
    lookback: timedelta
    depth: int


def history_needs(guards: Sequence[Guard]) -> HistoryNeeds:
    """Gather ``needs``, ``lookback`` and ``max_length`` from ``guards`` (once per program)."""
    needs: set[str] = set()
    lookback = timedelta(0)
    depth = 0
    for guard in guards:
        needs |= set(getattr(guard, "needs", ()))
        lookback = max(lookback, getattr(guard, "lookback", timedelta(0)))
        depth = max(depth, int(getattr(guard, "max_length", 0)))
    return HistoryNeeds(frozenset(needs), lookback, depth)


def read_guard_history(
    uow: UnitOfWork,
    wanted: HistoryNeeds,
    *,
    referrer: str,
    referee: str,
    signals: frozenset[Signal],
    now: datetime,
    referred_by: str | None,
) -> GuardHistory:
    """Read what the guards declared they need about this referrer and referee.

    ``signals`` are the referee's, hashed under every active key; ``referred_by`` is the
    referrer of the referee's standing referral, which the caller has already read.
    """
    needs, depth = wanted.needs, wanted.depth
    since = now - wanted.lookback
    sibling_counts: Mapping[Signal, int] = {}
    siblings: list[str] = []
    if "siblings" in needs:
        siblings = uow.referrals.referees_of(referrer, last=_LIMIT)
        if siblings:
            sibling_counts = uow.identities.signal_counts(siblings, only=signals)
    return GuardHistory(
        referee_referred_by=referred_by,
        referee_is_customer=uow.conversions.count_for_referee(referee) > 0,
        referrer_recent=tuple(uow.referrals.referrer_times(referrer, since))
        if "referrer_recent" in needs
        else (),
        network_recent=_network_times(uow, signals, since) if "network_recent" in needs else (),
        referrer_upline=_upline(uow, referrer, depth) if "upline" in needs else (),
        referee_downline=tuple(uow.referrals.referees_of(referee)[:_LIMIT])
        if "upline" in needs
        else (),
        sibling_signal_counts=sibling_counts,
        siblings=len(siblings),
        referee_known_kinds=_known_kinds(uow, signals, frozenset({referrer, referee}))
        if "lookalikes" in needs
        else frozenset(),
    )
