"""`ProgramCore`: what every capability of a program shares, and the one door to the store.

A program's capabilities (enrolment, attribution, conversions, payouts, the outbox,
status, and the programme types beside them) each hold the same core: the store, the
clock, the id source, the secret's keys, the campaigns and their terms. The core is
the only place that opens a unit of work (`ProgramCore.transaction`); capabilities
read and write through the unit of work it hands them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone

from referralkit._validate import require_id
from referralkit.campaigns import Campaign
from referralkit.codes import CodeFormat
from referralkit.context import Signal, policy_needs
from referralkit.errors import (
    ConfigError,
    InvalidInput,
    InvalidLink,
    LinkTampered,
)
from referralkit.guards import default_guards
from referralkit.guards.identity import IdentityNormalizer, SignalHasher, identity_signals
from referralkit.links import LinkPayload, parse_link
from referralkit.metrics._attribution import Attribution, AttributionModel
from referralkit.model import Identity, ReferralCode, RewardKind
from referralkit.moments import UntilDelivered
from referralkit.program._guard_history import HistoryNeeds, history_needs
from referralkit.program._holds import Holds
from referralkit.program._lookup import TypedCode, find_code, read_code
from referralkit.program._networks import NetworkWatch
from referralkit.program._secret import check_secret
from referralkit.program._setup import (
    campaigns_by_name,
    check_parts,
    duration,
    link_bases,
    optional_name,
    policy_from_definition,
    reward_kinds,
    signup_policy,
)
from referralkit.program._terms import Terms
from referralkit.protocols import Guard, RewardPolicy, Store, UnitOfWork

__all__ = ["ProgramCore", "utc_now"]

_COUPON_FORMAT_LENGTH = 12


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(timezone.utc)


def _uuid4_hex() -> str:
    """``uuid.uuid4().hex`` (a random RFC 4122 version 4 UUID) without the UUID object."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


def _link_key(secret: bytes) -> bytes:
    # Links are signed with a key derived from the secret, never with the secret itself.
    return hmac.new(secret, b"referralkit/links/v1", hashlib.sha256).digest()


class ProgramCore:
    """A program's configuration and services, shared by all of its capabilities.

    Built once by `referralkit.ReferralProgram`, which documents every argument.
    """

    def __init__(
        self,
        *,
        store: Store,
        secret: bytes,
        policy: RewardPolicy,
        guards: Sequence[Guard] | None,
        link_base: str | None,
        hold: timedelta | UntilDelivered | Mapping[str, timedelta | UntilDelivered],
        code_format: CodeFormat | None,
        campaign: str,
        sign_links: bool,
        clock: Callable[[], datetime],
        rng: Callable[[int], bytes] | None,
        terms: Mapping[str, RewardPolicy] | None,
        campaigns: Sequence[Campaign],
        previous_secrets: Sequence[bytes],
        identity_rules: IdentityNormalizer | None,
        attribution: Attribution | AttributionModel | None,
        order_grace: timedelta = timedelta(0),
        coupon_expiry: timedelta | None = None,
        net_clawbacks: Collection[RewardKind | str] = (RewardKind.CASH, RewardKind.CREDIT),
        signup_reward: RewardPolicy | None = None,
        named_version: str | None = None,
    ) -> None:
        check_parts(
            store=store,
            secret=secret,
            previous_secrets=previous_secrets,
            policy=policy,
            hold=hold,
            guards=guards,
            identity_rules=identity_rules,
            code_format=code_format,
            link_base=link_base,
            sign_links=sign_links,
            clock=clock,
            rng=rng,
            terms=terms,
        )
        self.store = store
        self.policy = policy
        self.guards: tuple[Guard, ...] = tuple(default_guards() if guards is None else guards)
        self._history_needs = (self.guards, history_needs(self.guards))
        self.link_base = link_base
        self.hold = hold
        self.holds = Holds(hold)
        self.order_grace = duration("order_grace", order_grace)
        self.coupon_expiry = (
            None if coupon_expiry is None else duration("coupon_expiry", coupon_expiry)
        )
        self.net_clawbacks = reward_kinds("net_clawbacks", net_clawbacks)
        self.signup_reward = signup_policy(signup_reward)
        self.code_format = code_format or CodeFormat()
        self.campaign = require_id("campaign", campaign)
        self.sign_links = sign_links
        self.clock = clock
        self.rng = rng
        self.hasher = SignalHasher(secret, previous_secrets)  # checks previous_secrets
        previous_secrets = tuple(previous_secrets)
        self.link_key = _link_key(secret)
        self._old_link_keys = tuple(_link_key(old) for old in previous_secrets)
        self.identity = identity_rules or IdentityNormalizer()
        self.campaigns: Mapping[str, Campaign] = campaigns_by_name(campaigns)
        self._labels: dict[str, Campaign] = {}  # undeclared campaign names seen in the store
        known = Terms(
            policy,
            named=optional_name("policy_version", named_version),
            campaigns={
                c.name: (c.policy, c.policy_version)
                for c in self.campaigns.values()
                if c.policy is not None
            },
            earlier=terms or {},
        )
        self.policy_version = known.version
        self._versions: dict[str, str] = dict(known.campaign_versions)
        self._terms: dict[str, RewardPolicy] = known.policies()
        self._restored: dict[str, RewardPolicy | None] = {}
        # What each known policy reads, asked once: the costly context is read to match.
        self._needs = {version: policy_needs(p) for version, p in self._terms.items()}
        self._campaign_formats = tuple(
            dict.fromkeys(
                c.code_format
                for c in self.campaigns.values()
                if c.code_format is not None and c.code_format != self.code_format
            )
        )
        self._formats = (self.code_format, *self._campaign_formats)
        self.link_bases = link_bases(link_base, self.campaigns.values())
        self.coupon_format = CodeFormat(length=_COUPON_FORMAT_LENGTH, group=4)
        self.attribution = Attribution.of(attribution)
        self.networks = NetworkWatch()
        # Start: the secret is checked against the store's, and the promised terms are
        # stored (or found to match), in one unit of work, before any call.
        now = self.now()
        with self.transaction() as uow:
            check_secret(uow, store, secret, previous_secrets, now)
            known.record(uow, now)

    # -- the one door to the store ---------------------------------------------------------

    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """Open one unit of work: everything written in it commits together, or nothing."""
        return self.store.transaction()

    # -- time, ids -------------------------------------------------------------------------

    def now(self) -> datetime:
        """The program clock's current time (refused unless timezone-aware)."""
        now: object = self.clock()
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise ConfigError(
                "the program clock must return timezone-aware datetimes", value=now, path="clock"
            )
        return now

    def new_id(self) -> str:
        """A fresh random id (32 hex characters) from the program's randomness."""
        if self.rng is None:
            return _uuid4_hex()
        raw: object = self.rng(16)
        if not isinstance(raw, bytes) or len(raw) != 16:  # noqa: PLR2004 - 128-bit ids
            raise ConfigError("rng(16) must return 16 bytes", value=raw, path="rng")
        return raw.hex()

    # -- codes, links, campaigns, terms -------------------------------------------------------

    def read_code(self, text: object) -> TypedCode:
        """What typed or linked text can be, against every generated format and as vanity."""
        return read_code(text, self._formats)

    def find_code(self, uow: UnitOfWork, text: object) -> ReferralCode:
        """The stored code ``text`` names, read in ``uow``.

        Raises:
            InvalidCode: the text is no code, or a generated code with a typo
                (``bad_check``) that no vanity code spells.
            UnknownCode: no customer owns the code.
        """
        typed = text if isinstance(text, TypedCode) else self.read_code(text)
        found = find_code(uow, typed)
        if found is None:
            raise typed.missing()
        return found

    def parse_link(self, link: str) -> LinkPayload:
        """Check a clicked link: its signature, then that it points at one of our bases.

        Links signed before a secret rotation still verify. A link to another base (of a
        program sharing the secret, say) is `LinkTampered` if signed, else `InvalidLink`.
        """
        payload = self._verified(link)
        if payload.base not in self.link_bases:
            ours = ", ".join(sorted(self.link_bases)) or "none: set link_base"
            error = LinkTampered if payload.signed else InvalidLink
            raise error(
                f"the link points at {payload.base}, not at one of this program's link bases"
                f" ({ours})",
                value=payload.base,
            )
        return payload

    def _verified(self, link: str) -> LinkPayload:
        if not self.sign_links:
            return parse_link(link, now=self.now())
        try:
            return parse_link(link, secret=self.link_key, now=self.now())
        except LinkTampered:
            for old in self._old_link_keys:
                with contextlib.suppress(LinkTampered):
                    return parse_link(link, secret=old, now=self.now())
            raise

    def campaign_named(self, name: str | None) -> Campaign:
        """The campaign called ``name``; undeclared names are labels on the program's terms.

        Once a program declares campaigns, only those (and the default) may be named.
        """
        name = name or self.campaign
        found = self.campaigns.get(name)
        if found is not None:
            return found
        if self.campaigns and name != self.campaign:
            raise InvalidInput(
                f"no campaign {name!r}; the program has {sorted(self.campaigns)}",
                value=name,
                field="campaign",
            )
        return self.stored_campaign(name)

    def stored_campaign(self, name: str) -> Campaign:
        """The campaign a stored code or referral names; one no longer declared keeps its name."""
        found = self.campaigns.get(name) or self._labels.get(name)
        if found is None:
            found = self._labels[name] = Campaign(name=name)
        return found

    def terms_of(self, campaign: Campaign) -> tuple[RewardPolicy, str]:
        """The policy a referral under ``campaign`` is promised, and its version."""
        if campaign.policy is None:
            return self.policy, self.policy_version
        return campaign.policy, self._versions[campaign.name]

    def policy_for(self, version: str) -> RewardPolicy | None:
        """The policy known under ``version``, if this program knows it."""
        return self._terms.get(version)

    def learn_policy(self, version: str, policy: RewardPolicy) -> None:
        """Know ``policy`` as ``version`` from now on (a partner's terms, say)."""
        if version not in self._terms:
            self._terms[version] = policy
            self._needs[version] = policy_needs(policy)

    def restore_policy(self, uow: UnitOfWork, version: str) -> RewardPolicy | None:
        """The policy stored under ``version`` by an earlier run, built again, if possible."""
        found = self._restored.get(version)
        if found is not None or version in self._restored:
            return found
        definition = uow.terms.get(version)
        if definition is None:
            return None
        policy = policy_from_definition(definition)
        self._restored[version] = policy
        if policy is not None:
            self._needs[version] = policy_needs(policy)
        return policy

    def needs_of(self, version: str, policy: RewardPolicy) -> frozenset[str]:
        """The costly context ``policy`` (known as ``version``) reads."""
        needs = self._needs.get(version)
        return policy_needs(policy) if needs is None else needs

    # -- identities and guards ---------------------------------------------------------------

    def signals(self, identity: Identity | None) -> frozenset[Signal]:
        """The keyed hashes the program stores for ``identity`` (under the current secret)."""
        return identity_signals(identity, self.hasher, self.identity.pairs)

    def match_signals(
        self, identity: Identity | None, stored: frozenset[Signal]
    ) -> frozenset[Signal]:
        """``stored`` signals, plus their hashes under older secrets during a rotation."""
        if not self.hasher.rotating:
            return stored
        return identity_signals(identity, self.hasher, self.identity.pairs, match=True)

    def guard_needs(self) -> HistoryNeeds:
        """What the guards read, gathered once (again if ``guards`` is replaced)."""
        guards, needs = self._history_needs
        if guards is not self.guards:
            needs = history_needs(self.guards)
            self._history_needs = (self.guards, needs)
        return needs
