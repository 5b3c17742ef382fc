"""The extension points, as plain ``typing.Protocol``s: no base class needed.

- `RewardPolicy`: decides what a conversion earns. Must be a pure function of its
  `RewardContext`: deterministic, never negative, one currency per grant, and it
  never touches storage or the clock.
- `Guard`: decides whether an attribution may stand. Pure, like a policy.
- `Store`: opens units of work (transactions) that expose the repositories below.
  Everything written inside one ``with store.transaction() as uow:`` block is
  committed together or not at all.

## Stores by capability

Every store has the core: `Store` opens a `UnitOfWork`, whose six repositories
(`CodeRepository`, `ReferralRepository`, `ConversionRepository`, `RewardLedger`,
`EventOutbox`, `IdentityRepository`) every program needs. Anything more is an optional
**capability**: a runtime-checkable protocol of its own whose docstring is its contract
(what an implementation must guarantee). A store opts in by having the members, never
by inheriting or registering anything. There are two shapes:

- **A store capability** is a protocol of the members it adds to a `Store`, named for
  what it makes possible. `MeasurableStore` adds ``metrics_source()``, which the metrics
  report reads; `referralkit.metrics.metrics_source` refuses a store without it with a
  `ConfigError`.
- **A repository capability** (partners, groups, invitations, the waitlist, moments,
  payouts) declares its repository protocol beside a `Capability` that names it, in the
  capability's own module; click tracking (`ClickRepository`, `CLICKS`), which the
  metrics layer writes too, and store metadata (`MetaRepository`, `META`), where the
  program checks its secret, are declared here. A store opts in by exposing that repository
  on its unit of work under the capability's attribute. The capability's code asks for
  the repository inside the program's transaction, and a store without it is a
  `ConfigError` naming the store, the capability and the missing protocol members:

```python
@runtime_checkable
class PartnerRepository(Protocol):  # the contract: what every implementation guarantees
    def add(self, partner: Partner) -> Partner: ...

PARTNERS: Capability[PartnerRepository] = Capability("partners", "partners", PartnerRepository)

with store.transaction() as uow:  # in the program, the one place that opens it
    partners = PARTNERS.repository(uow, store=store)
```

`missing_members` lists what an object lacks of a protocol. `Capability` and the store
contract suites (`referralkit.testing`, one contract class per capability) use it to say
exactly what is missing, such as ``MyStore's unit of work has no
`identities.referees_since` (IdentityRepository)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

import attrs

from referralkit.context import Grant, GuardContext, RewardContext, Signal, Verdict
from referralkit.errors import ConfigError
from referralkit.model import (
    Conversion,
    Event,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    TierProgress,
)
from referralkit.money import Money

if TYPE_CHECKING:  # the metrics package imports this module
    from referralkit.metrics._source import Click, MetricsSource

__all__ = [
    "CLICKS",
    "META",
    "Capability",
    "ClickRepository",
    "CodeRepository",
    "ConversionRepository",
    "EventOutbox",
    "Guard",
    "IdentityRepository",
    "LedgerEntry",
    "MeasurableStore",
    "MetaRepository",
    "ReferralRepository",
    "RefundRecord",
    "RewardLedger",
    "RewardPolicy",
    "Store",
    "TermsRepository",
    "TieredPolicy",
    "UnitOfWork",
    "missing_members",
]

_R = TypeVar("_R")


@runtime_checkable
class RewardPolicy(Protocol):
    """Decides the rewards one conversion earns.

    ``name`` identifies the policy in the ledger ("why did I get $15?").
    ``evaluate`` returns zero or more `Grant`s; a grant with no beneficiary side
    chosen by a combinator goes to the referrer.
    """

    @property
    def name(self) -> str:
        """A short, stable name recorded on every reward this policy grants."""
        ...

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """Return the grants for this conversion. Pure: no I/O, no clock."""
        ...


@runtime_checkable
class TieredPolicy(Protocol):
    """A policy that can tell a referrer how far the next tier is."""

    def progress(self, qualified: int) -> TierProgress | None:
        """Tier progress for a referrer with ``qualified`` qualified referrals."""
        ...


@runtime_checkable
class Guard(Protocol):
    """Decides whether an attribution is allowed, sent to review, or blocked.

    Pure: everything it needs is in the `GuardContext`. A "no" is a `Verdict`,
    not an exception. ``lookback`` tells the program how much history to read.
    """

    @property
    def name(self) -> str:
        """A short, stable name, used in configuration and reports."""
        ...

    def check(self, context: GuardContext) -> Verdict:
        """Judge one attribution."""
        ...


@attrs.frozen(slots=True)
class LedgerEntry:
    """One movement of value between buckets of a customer's balance.

    Buckets are ``held``, ``available``, ``paid`` and ``clawback`` (owed back after a
    refund of a reward already paid). A grant is one entry into ``held`` (or
    ``available``); every later transition is a pair that sums to zero, so a
    customer's balances are exactly the sum of their entries.
    """

    reward_id: str
    customer_id: str
    bucket: str
    currency: str | None
    amount: Money | None
    points: int
    occurred_at: datetime
    reason: str


@runtime_checkable
class CodeRepository(Protocol):
    """Referral codes, unique by code text, by key and by (owner, campaign).

    A code's key is `referralkit.codes.code_key` of its text (``ANNA-10`` -> ``ANNA10``):
    case, spaces and dashes do not make two codes.
    """

    def add(self, code: ReferralCode) -> ReferralCode:
        """Insert ``code``; if its owner already has one in that campaign, return that one.

        Raises `referralkit.storage.CodeTaken` if the text, or its key, belongs to another
        code.
        """
        ...

    def get(self, code: str) -> ReferralCode | None:
        """The code with this canonical text, if issued."""
        ...

    def find(self, key: str) -> ReferralCode | None:
        """The code whose key (`referralkit.codes.code_key` of its text) is ``key``."""
        ...

    def for_owner(self, owner: str) -> list[ReferralCode]:
        """Every code the customer owns, oldest first."""
        ...


@runtime_checkable
class ReferralRepository(Protocol):
    """Attributions. A referee has at most one non-rejected referral, enforced here."""

    def add(self, referral: Referral) -> Referral:
        """Insert; first valid wins for each referee.

        A non-rejected referral for a referee who has one already is not inserted;
        the existing one is returned instead.
        """
        ...

    def get(self, referral_id: str) -> Referral | None:
        """The referral with this id."""
        ...

    def active_for_referee(self, referee: str) -> Referral | None:
        """The referee's non-rejected referral, if any."""
        ...

    def set_status(
        self, referral_id: str, status: ReferralStatus, reasons: tuple[str, ...]
    ) -> Referral:
        """Change a referral's status and reasons; returns the updated referral."""
        ...

    def set_qualified(self, referral_id: str, qualified_at: datetime | None) -> Referral:
        """Qualify a referral from ``qualified_at``, or, with None, stop it counting.

        Qualified, it counts toward tiers from ``qualified_at`` on; None sets it back to
        pending (every order it had was fully refunded).
        """
        ...

    def qualified_count_at(self, referrer: str, at: datetime) -> int:
        """The referrer's qualified referrals whose ``qualified_at`` is at or before ``at``."""
        ...

    def count_for_code(self, code: str) -> int:
        """Non-rejected referrals made with this code."""
        ...

    def counts_for_referrer(self, referrer: str) -> Mapping[ReferralStatus, int]:
        """How many of the referrer's referrals are in each status."""
        ...

    def referrer_times(self, referrer: str, since: datetime) -> list[datetime]:
        """Attribution times of the referrer's non-rejected referrals since ``since``."""
        ...

    def in_review(self, limit: int) -> list[Referral]:
        """Referrals waiting for a person's decision, oldest first."""
        ...

    def review_page(
        self, limit: int, *, after: str | None, reason: str | None, referrer: str | None
    ) -> list[Referral]:
        """Up to ``limit`` referrals in review, by (attribution time, id), after ``after``.

        ``after`` is the id of the last referral of the previous page (a cursor: the page
        continues after that referral's place, whatever its status now); ``reason``
        keeps those carrying that reason code, ``referrer`` those of that referrer.
        """
        ...

    def friends(self, referrer: str, *, after: str | None, limit: int) -> list[Referral]:
        """Up to ``limit`` of the referrer's referees, one referral each, after ``after``.

        For each referee among the referrer's referrals: the standing (not rejected)
        referral if it is this referrer's, else the most recent rejected one. Ordered by
        (attribution time, id); ``after`` is the id of the previous page's last one.
        """
        ...

    def rejected_for_referee(self, referee: str) -> Referral | None:
        """The referee's most recent rejected referral, if any."""
        ...

    def ordered_count(self, referrer: str) -> int:
        """The referrer's accepted referrals (pending or qualified) with at least one order."""
        ...

    def referrer_of(self, referee: str) -> str | None:
        """Who referred this customer (non-rejected), if anyone."""
        ...

    def referees_of(self, referrer: str, last: int | None = None) -> list[str]:
        """The customers this referrer brought in (non-rejected), oldest first.

        With ``last``, only the most recent ``last`` of them: guards read a bounded
        window even for an influencer with a hundred thousand referees.
        """
        ...

    def reassign(
        self,
        referral_id: str,
        code: ReferralCode,
        reasons: tuple[str, ...],
        policy_version: str | None = None,
    ) -> Referral:
        """Credit a referral to another code (an operator's override).

        Its code, referrer (the code's owner), campaign and reasons change, and its terms
        when ``policy_version`` is given; its id, referee, status, attribution time and
        orders stay. Raises `referralkit.UnknownReferral` for an unknown id.
        """
        ...


@runtime_checkable
class ConversionRepository(Protocol):
    """Orders, unique by order id."""

    def add(self, conversion: Conversion) -> tuple[Conversion, bool]:
        """Insert unless the order id exists; returns the stored one and whether it is new."""
        ...

    def get(self, order_id: str) -> Conversion | None:
        """The conversion recorded under this order id."""
        ...

    def count_for_referee(self, referee: str) -> int:
        """How many orders the customer has placed."""
        ...

    def set_refunded(self, order_id: str, refunded: Money) -> Conversion:
        """Record the total refunded so far on this order."""
        ...

    def for_referral(self, referral_id: str) -> list[Conversion]:
        """The orders attributed to a referral, oldest first."""
        ...

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Conversion]:
        """The orders attributed to any of these referrals, oldest first (one query)."""
        ...

    def add_refund(self, refund: RefundRecord) -> tuple[RefundRecord, bool]:
        """Record a refund unless its id exists; returns the stored one and whether new."""
        ...


@runtime_checkable
class RewardLedger(Protocol):
    """Rewards and the entries that move them between balance buckets."""

    def add(self, reward: Reward) -> tuple[Reward, bool]:
        """Insert unless (customer, key) exists; returns the stored reward and whether new."""
        ...

    def get(self, reward_id: str) -> Reward | None:
        """The reward with this id."""
        ...

    def update(self, reward: Reward) -> None:
        """Replace the stored reward with the same id (state, amount, clawback)."""
        ...

    def for_order(self, order_id: str) -> list[Reward]:
        """Rewards granted for this order, in grant order."""
        ...

    def for_customer(self, customer_id: str) -> list[Reward]:
        """Rewards whose beneficiary is this customer, in grant order."""
        ...

    def for_referral(self, referral_id: str) -> list[Reward]:
        """Rewards granted under this referral, in grant order."""
        ...

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Reward]:
        """Rewards granted under any of these referrals, in grant order (one query)."""
        ...

    def due(self, now: datetime, limit: int) -> list[Reward]:
        """Held rewards whose hold ended at or before ``now``: the first ``limit`` of them.

        In order of hold end, then of reward id (text order) among equal hold ends, so
        every store releases the same rewards in the same order.
        """
        ...

    def append(self, entries: Iterable[LedgerEntry]) -> None:
        """Append ledger entries."""
        ...

    def balances(self, customer_id: str) -> list[tuple[str, str | None, Money | None, int]]:
        """Sum of the customer's entries per (bucket, currency).

        Rows are ``(bucket, currency, money, points)``.
        """
        ...

    def spend(self) -> tuple[Mapping[str, Money], int]:
        """Program-wide value of rewards not reversed, per currency, and points.

        Kept as a running total in the same transaction as the rewards it sums, so a
        budget reads it in constant time however large the program grows.
        """
        ...

    def for_referrer_since(self, referrer: str, since: datetime) -> list[Reward]:
        """Rewards not reversed, under the referrer's referrals, granted from ``since`` on.

        Any beneficiary, in grant order: the rewards a change in the referrer's count of
        qualified referrals may reprice.
        """
        ...

    def by_coupon(self, coupon_code: str) -> Reward | None:
        """The coupon reward with this (canonical) coupon code."""
        ...

    def add_redemption(
        self, coupon_code: str, order_id: str, customer_id: str, at: datetime
    ) -> tuple[str, bool]:
        """Record that a coupon was used on an order, once per coupon.

        Returns the order id the coupon is recorded against and whether it is this call's.
        """
        ...

    def available(
        self, *, kind: str | None, currency: str | None, after: str | None, limit: int
    ) -> list[Reward]:
        """Available rewards across customers, by id after ``after``, optionally filtered."""
        ...

    def outstanding(self, customer_id: str, currency: str) -> list[Reward]:
        """The customer's rewards with a clawback not yet recovered, oldest first."""
        ...

    def add_payout(
        self, payout_id: str, reward_ids: Sequence[str], at: datetime
    ) -> tuple[tuple[str, ...], bool]:
        """Record a payout batch unless its id exists; returns its reward ids and whether new."""
        ...

    def add_settlement(
        self, reference: str, customer_id: str, amount: Money, at: datetime
    ) -> tuple[Money, bool]:
        """Record a clawback collected outside, once per reference.

        Returns the amount recorded under the reference and whether it is this call's.
        """
        ...


@attrs.frozen(slots=True)
class RefundRecord:
    """A refund as recorded under its id: the order, the amount, and the rewards it changed."""

    refund_id: str
    order_id: str
    amount: Money
    occurred_at: datetime
    reward_ids: tuple[str, ...] = ()


@runtime_checkable
class TermsRepository(Protocol):
    """The definition of every policy version a program has run, so promises outlive it."""

    def add(self, version: str, definition: str, at: datetime) -> str:
        """Record ``definition`` under ``version`` unless recorded; returns the stored one."""
        ...

    def get(self, version: str) -> str | None:
        """The definition recorded under ``version``."""
        ...


@runtime_checkable
class MetaRepository(Protocol):
    """Small facts about the store itself, by name: the check value of the program secret.

    A repository capability (`META`, ``uow.meta``). A program records there a keyed check
    value of its secret the first time it runs on the store, and refuses to start on the
    store under another secret; a store without it starts without that check.
    """

    def add(self, name: str, value: str, at: datetime) -> str:
        """Record ``value`` under ``name`` unless one is recorded; returns the stored value.

        The store decides atomically: of two programs starting at once, one value wins.
        """
        ...

    def put(self, name: str, value: str, at: datetime) -> None:
        """Record ``value`` under ``name``, replacing any value recorded before."""
        ...

    def get(self, name: str) -> str | None:
        """The value recorded under ``name``."""
        ...


@runtime_checkable
class EventOutbox(Protocol):
    """Events written with the state they describe, claimed by drainers and acknowledged.

    An event is *pending* until acknowledged (`ack`) or given up (`dead_letter`). A claim
    (`claim`) hands pending events to one drainer under a lease: until the lease ends,
    no other claim returns them, so drainers running at once never share an event while
    its lease holds. The store decides who wins a claim, atomically (one statement, or
    one serialised unit of work), never by a read and a later write. An event whose lease
    ended without an acknowledgement is claimable again: delivery is at least once.
    Every claim adds one to the event's ``attempts``. Ids only grow: a pruned event's id
    is never reused.
    """

    def add(self, type: str, payload: Mapping[str, Any], occurred_at: datetime) -> Event:  # noqa: A002 - the field is called type
        """Append an event."""
        ...

    def pending(self, limit: int, now: datetime | None = None) -> list[Event]:
        """Unacknowledged events not given up, oldest first; read only.

        With ``now``, only those claimable at ``now``: not under a lease, nor waiting
        for a retry (`release`) later than ``now``.
        """
        ...

    def ack(self, event_ids: Iterable[int]) -> int:
        """Mark events delivered; returns how many were pending."""
        ...

    def claim(
        self, limit: int, now: datetime, until: datetime, worker: str | None = None
    ) -> list[Event]:
        """Lease up to ``limit`` events claimable at ``now`` to one drainer until ``until``.

        Oldest first; each returned event's ``attempts`` already counts this claim.
        ``worker`` is recorded with the lease, for an operator reading the store.
        """
        ...

    def release(self, event_ids: Iterable[int], at: datetime) -> int:
        """Hand unacknowledged events back, claimable again from ``at`` (a retry's backoff).

        Ends their lease; a dead letter released is pending again. Returns how many changed.
        """
        ...

    def dead_letter(self, event_ids: Iterable[int], at: datetime) -> int:
        """Give unacknowledged events up at ``at``: never pending nor claimed again.

        They stay stored (`dead_letters`) until released or acknowledged; returns how
        many were given up by this call.
        """
        ...

    def dead_letters(self, limit: int) -> list[Event]:
        """Events given up and not acknowledged since, oldest first."""
        ...

    def prune(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` acknowledged events that occurred before ``before``.

        Never an unacknowledged event; returns how many were deleted.
        """
        ...


@runtime_checkable
class ClickRepository(Protocol):
    """Tracked clicks on referral links: facts that attribution and the metrics read.

    A repository capability (`CLICKS`, ``uow.clicks``). Clicks are not events: they never
    reach the outbox. ``visitor`` is the key the program stores, a keyed hash of the
    host's visitor id, so a visitor id that is an IP or an email is not stored in the
    clear. Ids only grow: clicks of the same instant are ordered by id.
    """

    def add(self, click: Click) -> Click:
        """Store ``click`` (its ``id`` is ignored); returns it with the id the store gave it."""
        ...

    def for_visitor(
        self, visitors: Collection[str], since: datetime, until: datetime
    ) -> list[Click]:
        """Clicks stored under any of ``visitors`` with ``since <= t <= until``.

        Oldest first, then by id. Several keys: a visitor's hash under each secret still
        accepted during a rotation.
        """
        ...


@runtime_checkable
class IdentityRepository(Protocol):
    """Customers' identity signals, stored only as keyed hashes."""

    def add(self, customer_id: str, signals: Iterable[Signal]) -> None:
        """Remember these hashed signals for the customer (idempotent)."""
        ...

    def signals(self, customer_id: str) -> frozenset[Signal]:
        """Every hashed signal known for the customer."""
        ...

    def customers_with(self, signal: Signal, limit: int) -> list[str]:
        """Customers who share this hashed signal."""
        ...

    def referees_since(
        self, signal: Signal, since: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        """Referees carrying ``signal`` attributed (not rejected) from ``since``, with when.

        Newest first, at most ``limit``: velocity per network sees recent bursts even on
        a network thousands of customers share.
        """
        ...

    def signal_counts(
        self, customer_ids: Sequence[str], only: Collection[Signal] | None = None
    ) -> Mapping[Signal, int]:
        """How many of these customers carry each signal (each of ``only``, if given)."""
        ...


@runtime_checkable
class UnitOfWork(Protocol):
    """One transaction's view of the store: the six repositories."""

    @property
    def codes(self) -> CodeRepository:
        """Referral codes."""
        ...

    @property
    def referrals(self) -> ReferralRepository:
        """Attributions."""
        ...

    @property
    def conversions(self) -> ConversionRepository:
        """Orders."""
        ...

    @property
    def rewards(self) -> RewardLedger:
        """Rewards and ledger entries."""
        ...

    @property
    def events(self) -> EventOutbox:
        """The transactional outbox."""
        ...

    @property
    def terms(self) -> TermsRepository:
        """Policy versions and their definitions."""
        ...

    @property
    def identities(self) -> IdentityRepository:
        """Hashed identity signals."""
        ...


@runtime_checkable
class Store(Protocol):
    """Storage behind a program. ``transaction()`` commits on success, rolls back on error.

    Implementations must make every write idempotent under its natural key (code text,
    order id, referral + reward key), enforce one non-rejected referral per referee,
    serialise concurrent units of work so they never observe each other half-done,
    and wrap backend errors in `referralkit.StorageError`.
    """

    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """Open a unit of work."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class MeasurableStore(Protocol):
    """A store whose facts the metrics report can read.

    A store capability, so it holds only what it adds to a `Store`: ``metrics_source()``,
    a `referralkit.metrics.MetricsSource` over the very facts its units of work commit.
    An implementation must guarantee that each view (``with source.snapshot() as view:``)
    reads one consistent state and sees every unit of work committed before it opened;
    that it never blocks writers longer than it has to; that its methods return
    aggregate rows, never every stored row; and that the figures equal the
    `MemoryStore`'s on the same facts, figure by figure (the store contract's metrics
    cases check exactly that).
    """

    def metrics_source(self) -> MetricsSource:
        """A source of consistent, read-only metrics views over this store."""
        ...


def _protocol_members(protocol: type) -> list[str]:
    """The public members ``protocol`` declares, its bases' first, in declaration order."""
    names: dict[str, None] = {}
    for cls in reversed(protocol.__mro__):
        if cls is object or cls.__module__ in {"typing", "typing_extensions"}:
            continue
        for name in (*vars(cls), *vars(cls).get("__annotations__", {})):
            if not name.startswith("_"):
                names[name] = None
    return list(names)


def missing_members(obj: object, protocol: type) -> tuple[str, ...]:
    """The members of ``protocol`` that ``obj`` lacks, in the protocol's order.

    A method must be there and callable; a property or attribute must be there. Only
    presence is checked: signatures and behaviour are the contract suites' business.
    """
    missing: list[str] = []
    for name in _protocol_members(protocol):
        declared = inspect.getattr_static(protocol, name, None)
        try:
            value = getattr(obj, name)
        except AttributeError:
            missing.append(name)
            continue
        if inspect.isfunction(declared) and not callable(value):
            missing.append(name)
    return tuple(missing)


@attrs.frozen(slots=True)
class Capability(Generic[_R]):
    """An optional capability a store opts into with one more repository on its unit of work.

    ``name`` is what the capability is called in errors (``"partners"``), ``attribute``
    the unit of work's attribute holding its repository (``uow.partners``), and
    ``protocol`` the repository protocol that attribute must satisfy.
    """

    name: str
    attribute: str
    # Any, not type[_R]: mypy refuses a protocol class where type[_R] is expected.
    protocol: Any

    def missing(self, uow: object) -> tuple[str, ...]:
        """What ``uow`` lacks: the attribute itself, or ``attribute.method`` for each method."""
        try:
            repository = getattr(uow, self.attribute)
        except AttributeError:
            return (self.attribute,)
        return tuple(f"{self.attribute}.{m}" for m in missing_members(repository, self.protocol))

    def repository(self, uow: object, *, store: object) -> _R:
        """The capability's repository on ``uow`` (a unit of work of ``store``).

        Raises:
            ConfigError: the store's unit of work lacks the repository or one of its
                methods; the message names the store, the capability and the protocol.
        """
        missing = self.missing(uow)
        if missing:
            store_name = type(store).__name__
            gaps = ", ".join(f"`{m}`" for m in missing)
            raise ConfigError(
                f"{store_name} does not support {self.name}: its unit of work has no {gaps}"
                f" ({self.protocol.__name__}); use a store that implements it",
                value=store_name,
                path="store",
            )
        repository: _R = getattr(uow, self.attribute)
        return repository


#: Store metadata (`MetaRepository` as ``uow.meta``): the program checks its secret there on
#: start; a store without it starts without the check.
META: Capability[MetaRepository] = Capability("store metadata", "meta", MetaRepository)

#: Click tracking (`ClickRepository` as ``uow.clicks``): ``track_click`` and attribution
#: by ``visitor=`` need it; a store without it is a `ConfigError` naming what it lacks.
CLICKS: Capability[ClickRepository] = Capability("click tracking", "clicks", ClickRepository)
