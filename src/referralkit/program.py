"""`ReferralProgram`: the one orchestrator, and the only place that opens transactions.

Every public method validates its input, opens one unit of work, reads what the
pure policies and guards need, writes the new state together with its events, and
commits. An error anywhere leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import operator
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from referralkit._guard_history import HistoryNeeds, history_needs, read_guard_history
from referralkit._validate import opt_name as _opt_name
from referralkit._validate import require_id as _require_id
from referralkit.campaigns import Campaign
from referralkit.codes import CodeFormat, generate_code, normalize_code, validate_vanity
from referralkit.context import (
    Decision,
    Grant,
    GuardContext,
    PastReward,
    RewardContext,
    Signal,
    Verdict,
    policy_needs,
)
from referralkit.errors import (
    CodeExpired,
    ConfigError,
    CurrencyMismatch,
    InvalidCode,
    InvalidInput,
    InvalidState,
    LinkTampered,
    NotFound,
    UnknownCode,
    UnknownOrder,
    UnknownReferral,
)
from referralkit.guards import default_guards
from referralkit.guards.identity import IdentityNormalizer, SignalHasher, identity_signals
from referralkit.links import LinkPayload, build_link, parse_link
from referralkit.metrics import _program as _metrics
from referralkit.metrics._attribution import Attribution, AttributionModel
from referralkit.metrics._source import Click
from referralkit.model import (
    Beneficiary,
    CodeKind,
    Conversion,
    Event,
    Identity,
    Referral,
    ReferralCode,
    ReferralStatus,
    ReferrerStatus,
    Reward,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.policies import policy_version
from referralkit.protocols import Guard, LedgerEntry, RewardPolicy, Store, TieredPolicy, UnitOfWork

if TYPE_CHECKING:
    from referralkit.config import ProgramConfig
    from referralkit.metrics import Breakdown, MetricsReport
from referralkit.storage import CodeTaken

__all__ = ["ReferralProgram"]

_CODE_ATTEMPTS = 16
_COUPON_FORMAT_LENGTH = 12
_STATUS_OF = {
    Decision.ALLOW: ReferralStatus.PENDING,
    Decision.REVIEW: ReferralStatus.REVIEW,
    Decision.BLOCK: ReferralStatus.REJECTED,
}


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(timezone.utc)


def _uuid4_hex() -> str:
    """``uuid.uuid4().hex`` (a random RFC 4122 version 4 UUID) without the UUID object."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()


def _limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("limit must be a positive int", value=value, field="limit")
    return value


def _event_ids(values: object) -> list[int]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput("event_ids must be a list of event ids", value=values, field="event_ids")
    ids = list(values)
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput("event ids are ints (Event.id)", value=value, field="event_ids")
    return ids


def _require_aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{field} must be a timezone-aware datetime", value=value, field=field)
    return value


def _require_money(field: str, value: object) -> Money:
    if not isinstance(value, Money):
        raise InvalidInput(
            f"{field} must be Money, e.g. Money('80', 'USD')", value=value, field=field
        )
    if value.round() != value:
        raise InvalidInput(
            f"{field} {value!r} has more decimals than {value.currency} allows",
            value=value,
            field=field,
        )
    return value


_REWARD_FIELDS = tuple(a.name for a in attrs.fields(Reward))
_reward_values = operator.attrgetter(*_REWARD_FIELDS)
_STATE_AT = _REWARD_FIELDS.index("state")


def _with_state(reward: Reward, state: RewardState) -> Reward:
    """``attrs.evolve(reward, state=state)``, without its per-call field introspection."""
    values = list(_reward_values(reward))
    values[_STATE_AT] = state
    return Reward(*values)


@attrs.frozen(slots=True)
class _Move:
    """A ledger movement for one reward: value leaves ``source`` and enters ``target``."""

    source: str | None
    target: str | None
    amount: Money | None
    points: int
    reason: str


def _entries(reward: Reward, move: _Move, now: datetime) -> list[LedgerEntry]:
    currency = None if move.amount is None else move.amount.currency
    out = []
    if move.source is not None:
        out.append(
            LedgerEntry(
                reward_id=reward.id,
                customer_id=reward.customer_id,
                bucket=move.source,
                currency=currency,
                amount=None if move.amount is None else -move.amount,
                points=-move.points,
                occurred_at=now,
                reason=move.reason,
            )
        )
    if move.target is not None:
        out.append(
            LedgerEntry(
                reward_id=reward.id,
                customer_id=reward.customer_id,
                bucket=move.target,
                currency=currency,
                amount=move.amount,
                points=move.points,
                occurred_at=now,
                reason=move.reason,
            )
        )
    return out


def _reward_payload(reward: Reward) -> dict[str, Any]:
    return {
        "reward_id": reward.id,
        "customer_id": reward.customer_id,
        "beneficiary": reward.beneficiary.value,
        "kind": reward.kind.value,
        "amount": None if reward.amount is None else reward.amount.to_json(),
        "points": reward.points,
        "perk": reward.perk,
        "coupon_code": reward.coupon_code,
        "state": reward.state.value,
        "order_id": reward.order_id,
        "referral_id": reward.referral_id,
        "policy": reward.policy,
    }


def _refund_targets(reward: Reward, conversion: Conversion) -> tuple[Money | None, int]:
    """What a reward is worth once its order is refunded down to its net amount."""
    total, net = conversion.amount.amount, conversion.net.amount
    if net <= 0:
        zero = None if reward.granted is None else Money.zero(reward.granted.currency)
        return zero, 0
    if not reward.proportional or total <= 0:
        return reward.granted, reward.granted_points
    share = net / total
    amount = None if reward.granted is None else (reward.granted * share).round()
    return amount, int(reward.granted_points * share)


def _standing_value(reward: Reward) -> tuple[Money | None, int]:
    """What the customer still holds of a reward: a paid one less its clawbacks."""
    if reward.state is not RewardState.PAID:
        return reward.amount, reward.points
    amount = reward.granted
    if amount is not None and reward.clawback is not None:
        amount -= reward.clawback
    return amount, reward.granted_points - reward.clawback_points


def _positive_difference(current: Money | None, target: Money | None) -> Money | None:
    if current is None or target is None:
        return None
    delta = current - target
    return delta if delta.amount > 0 else None


def _plus(total: Money | None, extra: Money | None) -> Money | None:
    if extra is None:
        return total
    return extra if total is None else total + extra


def _check_parts(*, guards: object, campaigns: object, identity_rules: object) -> None:
    """Refuse constructor parts of the wrong kind before anything uses them."""
    if guards is not None:
        if not isinstance(guards, Sequence) or isinstance(guards, str):
            raise ConfigError("guards must be a list of guards", value=guards, path="guards")
        for i, guard in enumerate(guards):
            if not isinstance(guard, Guard):
                raise ConfigError(
                    "a guard needs a name and a check(context) method",
                    value=guard,
                    path=f"guards.{i}",
                )
    if not isinstance(campaigns, Sequence) or isinstance(campaigns, str):
        raise ConfigError("campaigns must be a list of Campaign", value=campaigns, path="campaigns")
    if identity_rules is not None and not isinstance(identity_rules, IdentityNormalizer):
        raise ConfigError(
            "identity_rules must be an IdentityNormalizer",
            value=identity_rules,
            path="identity_rules",
        )


def _campaigns_by_name(campaigns: Sequence[Campaign]) -> dict[str, Campaign]:
    by_name: dict[str, Campaign] = {}
    for i, campaign in enumerate(campaigns):
        if not isinstance(campaign, Campaign):
            raise ConfigError(
                f"campaigns[{i}] must be a Campaign", value=campaign, path=f"campaigns.{i}"
            )
        if campaign.name in by_name:
            raise ConfigError(
                f"two campaigns are called {campaign.name!r}",
                value=campaign.name,
                path=f"campaigns.{i}.name",
            )
        by_name[campaign.name] = campaign
    return by_name


def _link_key(secret: bytes) -> bytes:
    # Links are signed with a key derived from the secret, never with the secret itself.
    return hmac.new(secret, b"referralkit/links/v1", hashlib.sha256).digest()


class ReferralProgram:
    """A referral program on a store: enrol, link, attribute, convert, refund, release, pay.

    ``secret`` (at least 32 bytes) keys link signatures and identity hashes; keep it
    out of source control. ``clock`` returns the current time (timezone-aware);
    ``rng(n) -> bytes`` draws randomness for codes and ids (``secrets`` by default).
    ``guards`` defaults to `referralkit.guards.default_guards` (``[]`` runs none);
    ``previous_secrets`` are older secrets whose identity hashes still match, and whose
    signed links still verify, during a key rotation; ``identity_rules`` sets how
    identities are normalised (email provider rules, the phone region).
    """

    def __init__(
        self,
        *,
        store: Store,
        secret: bytes,
        policy: RewardPolicy,
        guards: Sequence[Guard] | None = None,
        link_base: str | None = None,
        hold: timedelta = timedelta(days=14),
        code_format: CodeFormat | None = None,
        campaign: str = "default",
        sign_links: bool = True,
        clock: Callable[[], datetime] = utc_now,
        rng: Callable[[int], bytes] | None = None,
        terms: Mapping[str, RewardPolicy] | None = None,
        campaigns: Sequence[Campaign] = (),
        previous_secrets: Sequence[bytes] = (),
        identity_rules: IdentityNormalizer | None = None,
        attribution: Attribution | AttributionModel | None = None,
    ) -> None:
        raw_secret: object = secret  # checked at runtime: callers may not be type-checked
        if not isinstance(raw_secret, bytes) or len(raw_secret) < 32:  # noqa: PLR2004 - documented minimum
            raise ConfigError(
                "secret must be at least 32 random bytes (e.g. secrets.token_bytes(32))",
                path="secret",
            )
        if not isinstance(policy, RewardPolicy):
            raise ConfigError(
                "policy must have a name and an evaluate(context) method",
                value=policy,
                path="policy",
            )
        raw_hold: object = hold
        if not isinstance(raw_hold, timedelta) or raw_hold < timedelta(0):
            raise ConfigError("hold must be a non-negative timedelta", value=hold, path="hold")
        _check_parts(guards=guards, campaigns=campaigns, identity_rules=identity_rules)
        self.store = store
        self.policy = policy
        self.guards: tuple[Guard, ...] = tuple(default_guards() if guards is None else guards)
        self._history_needs = (self.guards, history_needs(self.guards))
        self.link_base = link_base
        self.hold = hold
        self.code_format = code_format or CodeFormat()
        self.campaign = _require_id("campaign", campaign)
        self.sign_links = sign_links
        self.clock = clock
        self.rng = rng
        self._hasher = SignalHasher(secret, previous_secrets)  # checks previous_secrets
        self._link_key = _link_key(secret)
        self._old_link_keys = tuple(_link_key(old) for old in previous_secrets)
        self._identity = identity_rules or IdentityNormalizer()
        self.policy_version = policy_version(policy)
        self._terms: dict[str, RewardPolicy] = {self.policy_version: policy}
        self.campaigns: Mapping[str, Campaign] = _campaigns_by_name(campaigns)
        self._labels: dict[str, Campaign] = {}  # undeclared campaign names seen in the store
        self._versions: dict[str, str] = {}
        for declared in self.campaigns.values():
            if declared.policy is not None:
                self._versions[declared.name] = policy_version(declared.policy)
                self._terms.setdefault(self._versions[declared.name], declared.policy)
        for version, old in (terms or {}).items():
            self._terms.setdefault(version, old)
        # What each known policy reads, asked once: the costly context is read to match.
        self._needs = {version: policy_needs(p) for version, p in self._terms.items()}
        self._campaign_formats = tuple(
            dict.fromkeys(
                c.code_format
                for c in self.campaigns.values()
                if c.code_format is not None and c.code_format != self.code_format
            )
        )
        self._coupon_format = CodeFormat(length=_COUPON_FORMAT_LENGTH, group=4)
        self.attribution = Attribution.of(attribution)

    @classmethod
    def from_config(
        cls,
        config: ProgramConfig | Mapping[str, Any],
        *,
        store: Store,
        secret: bytes,
        previous_secrets: Sequence[bytes] = (),
        clock: Callable[[], datetime] = utc_now,
        rng: Callable[[int], bytes] | None = None,
    ) -> ReferralProgram:
        """A program as a `ProgramConfig` (or its dict form) describes it.

        Raises `ConfigError` naming the field path when the configuration is invalid.
        """
        from referralkit.config import ProgramConfig, program_kwargs  # noqa: PLC0415 - pydantic models load only for configured programs

        if not isinstance(config, ProgramConfig):
            if not isinstance(config, Mapping):
                raise ConfigError(
                    "config must be a ProgramConfig or a dict", value=config, path="config"
                )
            config = ProgramConfig.from_dict(config)
        return cls(
            store=store,
            secret=secret,
            previous_secrets=previous_secrets,
            clock=clock,
            rng=rng,
            **program_kwargs(config),
        )

    # -- helpers ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ConfigError("the program clock must return timezone-aware datetimes")
        return now

    def _new_id(self) -> str:
        if self.rng is None:
            return _uuid4_hex()
        return self.rng(16).hex()

    def _canonical_code(self, text: object) -> tuple[str, CodeKind]:
        try:
            return normalize_code(text, self.code_format), CodeKind.GENERATED  # type: ignore[arg-type]
        except InvalidCode as generated_error:
            for fmt in self._campaign_formats:
                with contextlib.suppress(InvalidCode):
                    return normalize_code(text, fmt), CodeKind.GENERATED  # type: ignore[arg-type]
            try:
                return validate_vanity(text), CodeKind.VANITY  # type: ignore[arg-type]
            except InvalidCode:
                raise generated_error from None

    def _campaign(self, name: str | None) -> Campaign:
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
        return self._stored_campaign(name)

    def _guard_needs(self) -> HistoryNeeds:
        """What the guards read, gathered once (again if ``guards`` is replaced)."""
        guards, needs = self._history_needs
        if guards is not self.guards:
            needs = history_needs(self.guards)
            self._history_needs = (self.guards, needs)
        return needs

    def _stored_campaign(self, name: str) -> Campaign:
        """The campaign a stored code or referral names; one no longer declared keeps its name."""
        found = self.campaigns.get(name) or self._labels.get(name)
        if found is None:
            found = self._labels[name] = Campaign(name=name)
        return found

    def _terms_of(self, campaign: Campaign) -> tuple[RewardPolicy, str]:
        """The policy a referral under ``campaign`` is promised, and its version."""
        if campaign.policy is None:
            return self.policy, self.policy_version
        return campaign.policy, self._versions[campaign.name]

    def signals(self, identity: Identity | None) -> frozenset[Signal]:
        """The keyed hashes the program stores for ``identity`` (under the current secret)."""
        return identity_signals(identity, self._hasher, self._identity.pairs)

    # -- enrol and share -------------------------------------------------------------------

    def enroll(
        self,
        customer_id: str,
        *,
        identity: Identity | None = None,
        campaign: str | None = None,
        vanity: str | None = None,
        expires_at: datetime | None = None,
        max_uses: int | None = None,
    ) -> ReferralCode:
        """Give a customer their referral code; the same customer gets the same code again.

        ``vanity`` asks for a chosen code (an influencer's ``ANNA10``) instead of a
        generated one; it raises `InvalidCode` (reason ``taken``) if someone else has it.
        """
        owner = _require_id("customer_id", customer_id)
        chosen = self._campaign(_opt_name("campaign", campaign))
        campaign = chosen.name
        code_format = chosen.code_format or self.code_format
        if expires_at is not None:
            _require_aware("expires_at", expires_at)
        raw_uses: object = max_uses
        if raw_uses is not None and (
            isinstance(raw_uses, bool) or not isinstance(raw_uses, int) or raw_uses < 1
        ):
            raise InvalidInput("max_uses must be a positive int", value=max_uses, field="max_uses")
        wanted = None if vanity is None else validate_vanity(vanity)
        signals = self.signals(identity)
        now = self._now()
        if chosen.end is not None and chosen.end <= now:
            raise InvalidState(
                f"the campaign {campaign!r} ended at {chosen.end.isoformat()}", value=campaign
            )
        with self.store.transaction() as uow:
            if signals:
                uow.identities.add(owner, signals)
            for attempt in range(_CODE_ATTEMPTS):
                text = wanted or generate_code(code_format, rng=self.rng)
                candidate = ReferralCode(
                    code=text,
                    owner=owner,
                    campaign=campaign,
                    kind=CodeKind.VANITY if wanted else CodeKind.GENERATED,
                    created_at=now,
                    expires_at=expires_at,
                    max_uses=max_uses,
                )
                try:
                    stored = uow.codes.add(candidate)
                except CodeTaken:
                    if wanted is not None:
                        raise InvalidCode(
                            f"the code {wanted!r} is already taken", value=wanted, reason="taken"
                        ) from None
                    if attempt == _CODE_ATTEMPTS - 1:  # pragma: no cover - 2^-500 odds
                        raise
                    continue
                if stored is candidate:
                    uow.events.add(
                        "code.enrolled",
                        {"customer_id": owner, "code": text, "campaign": campaign},
                        now,
                    )
                return stored
        raise AssertionError("unreachable")  # pragma: no cover

    def link(
        self,
        code: str,
        *,
        channel: str | None = None,
        campaign: str | None = None,
        expires_at: datetime | None = None,
        utm: Mapping[str, str] | None = None,
    ) -> str:
        """The customer's personal referral link for ``code``, signed unless disabled.

        When the program declares campaigns, the link uses the code's campaign: its link
        base, and only its channels (`InvalidInput` for another channel or campaign).
        """
        canonical, _ = self._canonical_code(code)
        channel = _opt_name("channel", channel)
        chosen = self._campaign(_opt_name("campaign", campaign)) if campaign else None
        if self.campaigns:
            with self.store.transaction() as uow:
                rc = uow.codes.get(canonical)
            if rc is None:
                raise UnknownCode(f"no customer owns the code {canonical!r}", value=canonical)
            owned = self._stored_campaign(rc.campaign)
            if chosen is not None and chosen.name != owned.name:
                raise InvalidInput(
                    f"the code {canonical!r} belongs to the campaign {owned.name!r}",
                    value=campaign,
                    field="campaign",
                )
            chosen = owned
        if chosen is not None and not chosen.allows(channel):
            raise InvalidInput(
                f"the campaign {chosen.name!r} is shared on {list(chosen.channels)},"
                f" not {channel!r}",
                value=channel,
                field="channel",
            )
        base = (chosen.link_base if chosen is not None else None) or self.link_base
        if base is None:
            raise ConfigError("set link_base on the program to build links", path="link_base")
        return build_link(
            base,
            canonical,
            secret=self._link_key if self.sign_links else None,
            channel=channel,
            campaign=None if chosen is None else chosen.name,
            expires_at=expires_at,
            utm=utm,
        )

    def code_for(self, customer_id: str, campaign: str | None = None) -> ReferralCode | None:
        """The customer's code in ``campaign`` (the default campaign if omitted), if any."""
        campaign = self._campaign(_opt_name("campaign", campaign)).name
        with self.store.transaction() as uow:
            for code in uow.codes.for_owner(_require_id("customer_id", customer_id)):
                if code.campaign == campaign:
                    return code
        return None

    # -- attribution -----------------------------------------------------------------------

    def attribute(
        self,
        *,
        referee: str,
        code: str | None = None,
        link: str | None = None,
        identity: Identity | None = None,
        existing_customer: bool = False,
        channel: str | None = None,
        visitor: str | None = None,
    ) -> Referral:
        """Attribute a new customer to the owner of ``code`` (typed) or ``link`` (clicked).

        With ``visitor`` (and no typed code) the program's attribution model picks the
        winning touch among the visitor's tracked clicks and ``link``, if given.

        Returns the `Referral`: ``pending`` when accepted, ``rejected`` or ``review``
        with reason codes when a rule or a guard objects. Raises `InvalidCode`,
        `UnknownCode`, `CodeExpired` or `InvalidLink` for a code that cannot be used.
        """
        referee = _require_id("referee", referee)
        channel = _opt_name("channel", channel)
        if code is not None and link is not None:
            raise InvalidInput("pass code= or link=, not both", field="code")
        # A typed code beats any click; with a visitor, the attribution model picks the touch.
        code, link, channel, campaign_hint = _metrics.touch(
            self, code=code, link=link, visitor=visitor, channel=channel
        )
        if link is not None:
            payload = self._parse_link(link)
            text = payload.code
            channel = channel or payload.channel
            campaign_hint = payload.campaign
        elif code is not None:
            text = code
        else:
            raise InvalidInput("pass code= (typed) or link= (clicked)", field="code")
        canonical, _ = self._canonical_code(text)
        signals = self.signals(identity)
        now = self._now()
        with self.store.transaction() as uow:
            rc, owned = self._usable_code(uow, canonical, now)
            if signals:
                uow.identities.add(referee, signals)
            existing = uow.referrals.active_for_referee(referee)
            if existing is not None and existing.code == canonical:
                return existing  # the same attribution again: nothing new
            if rc.max_uses is not None and uow.referrals.count_for_code(canonical) >= rc.max_uses:
                raise CodeExpired(
                    f"the code {canonical!r} has been used {rc.max_uses} times, its limit",
                    value=canonical,
                )
            verdict = self._judge(
                uow,
                rc,
                referee=referee,
                signals=signals,
                identity=identity,
                existing_customer=existing_customer,
                existing=existing,
                now=now,
                channel=channel,
            )
            status = _STATUS_OF[verdict.decision]
            referral = Referral(
                id=self._new_id(),
                code=canonical,
                referrer=rc.owner,
                referee=referee,
                status=status,
                reasons=verdict.reasons,
                attributed_at=now,
                # Declared campaigns own their codes; otherwise a link's label is kept.
                campaign=owned.name if self.campaigns else campaign_hint or rc.campaign,
                policy_version=self._terms_of(owned)[1],
                channel=channel,
            )
            stored = uow.referrals.add(referral)
            if stored.id != referral.id:
                # Someone attributed this referee first: first valid attribution wins.
                referral = attrs.evolve(
                    referral,
                    status=ReferralStatus.REJECTED,
                    reasons=("duplicate_referee.already_referred",),
                )
                uow.referrals.add(referral)
            uow.events.add(
                f"referral.{referral.status.value}",
                {
                    "referral_id": referral.id,
                    "referrer": referral.referrer,
                    "referee": referee,
                    "code": canonical,
                    "reasons": list(referral.reasons),
                    "channel": channel,
                },
                now,
            )
            return referral

    def _parse_link(self, link: str) -> LinkPayload:
        """Check a clicked link; links signed before a secret rotation still verify."""
        if not self.sign_links:
            return parse_link(link, now=self._now())
        try:
            return parse_link(link, secret=self._link_key, now=self._now())
        except LinkTampered:
            for old in self._old_link_keys:
                with contextlib.suppress(LinkTampered):
                    return parse_link(link, secret=old, now=self._now())
            raise

    def _usable_code(
        self, uow: UnitOfWork, canonical: str, now: datetime
    ) -> tuple[ReferralCode, Campaign]:
        """The stored code and its campaign, if the code may be used at ``now``."""
        rc = uow.codes.get(canonical)
        if rc is None:
            raise UnknownCode(f"no customer owns the code {canonical!r}", value=canonical)
        if rc.expires_at is not None and rc.expires_at <= now:
            raise CodeExpired(f"the code {canonical!r} expired at {rc.expires_at}", value=canonical)
        owned = self._stored_campaign(rc.campaign)
        if not owned.is_open(now):
            raise CodeExpired(
                f"the code {canonical!r} belongs to the campaign {owned.name!r},"
                " which is not running now",
                value=canonical,
            )
        return rc, owned

    def _judge(
        self,
        uow: UnitOfWork,
        rc: ReferralCode,
        *,
        referee: str,
        signals: frozenset[Signal],
        identity: Identity | None,
        existing_customer: bool,
        existing: Referral | None,
        now: datetime,
        channel: str | None,
    ) -> Verdict:
        # Structural rules first: these are never optional.
        if rc.owner == referee:
            return Verdict(Decision.BLOCK, ("self_referral.customer_id",), 1.0)
        if existing is not None:
            return Verdict(Decision.BLOCK, ("duplicate_referee.already_referred",), 1.0)
        if not self.guards:
            return Verdict.allow()
        if self._hasher.rotating:  # match signals stored under older secrets too
            signals = identity_signals(identity, self._hasher, self._identity.pairs, match=True)
        context = GuardContext(
            referrer=rc.owner,
            referee=referee,
            code=rc,
            referrer_signals=uow.identities.signals(rc.owner),
            referee_signals=signals,
            existing_customer=bool(existing_customer),
            now=now,
            history=read_guard_history(
                uow,
                self._guard_needs(),
                referrer=rc.owner,
                referee=referee,
                signals=signals,
                now=now,
                referred_by=None if existing is None else existing.referrer,
            ),
            referee_email_domain=self._identity.email_domain(identity),
            channel=channel,
        )
        decision = Decision.ALLOW
        reasons: list[str] = []
        score = 0.0
        for guard in self.guards:
            verdict = guard.check(context)
            if verdict.decision is Decision.ALLOW:
                continue
            reasons.extend(r for r in verdict.reasons if r not in reasons)
            score = max(score, verdict.score)
            if verdict.decision is Decision.BLOCK:
                decision = Decision.BLOCK
            elif decision is Decision.ALLOW:
                decision = Decision.REVIEW
        return Verdict(decision, tuple(reasons), score)

    # -- review ----------------------------------------------------------------------------

    def review_queue(self, limit: int = 100) -> list[Referral]:
        """Referrals waiting for a person to approve or reject them, oldest first."""
        limit = _limit(limit)
        with self.store.transaction() as uow:
            return uow.referrals.in_review(limit)

    def approve(self, referral_id: str) -> list[Reward]:
        """Accept a referral held for review; grants what its orders earned meanwhile, once."""
        referral_id = _require_id("referral_id", referral_id)
        now = self._now()
        with self.store.transaction() as uow:
            referral = uow.referrals.get(referral_id)
            if referral is None:
                raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
            if referral.status is not ReferralStatus.REVIEW:
                raise InvalidState(
                    f"referral {referral_id!r} is {referral.status.value}, not in review",
                    value=referral.status.value,
                )
            referral = uow.referrals.set_status(
                referral_id, ReferralStatus.PENDING, (*referral.reasons, "review.approved")
            )
            uow.events.add("referral.approved", {"referral_id": referral_id}, now)
            rewards: list[Reward] = []
            conversions = uow.conversions.for_referral(referral_id)
            before = uow.conversions.count_for_referee(referral.referee) - len(conversions)
            for number, conversion in enumerate(conversions, start=before + 1):
                referral, granted = self._grant(uow, referral, conversion, now, number)
                if conversion.refunded is not None:
                    # Refunded while in review: grant what the order earned, then refund it.
                    granted = [self._shrink(uow, r, conversion, now) or r for r in granted]
                rewards += granted
            return rewards

    def reject(self, referral_id: str, reason: str = "review.rejected") -> Referral:
        """Refuse a referral held for review; it earns nothing, now or later."""
        referral_id = _require_id("referral_id", referral_id)
        reason = _require_id("reason", reason)
        now = self._now()
        with self.store.transaction() as uow:
            referral = uow.referrals.get(referral_id)
            if referral is None:
                raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
            if referral.status is not ReferralStatus.REVIEW:
                raise InvalidState(
                    f"referral {referral_id!r} is {referral.status.value}, not in review",
                    value=referral.status.value,
                )
            referral = uow.referrals.set_status(
                referral_id, ReferralStatus.REJECTED, (*referral.reasons, reason)
            )
            uow.events.add(
                "referral.rejected", {"referral_id": referral_id, "reasons": [reason]}, now
            )
            return referral

    # -- conversions and the ledger --------------------------------------------------------

    def convert(
        self,
        *,
        referee: str,
        order_id: str,
        amount: Money,
        first_order: bool | None = None,
        occurred_at: datetime | None = None,
    ) -> list[Reward]:
        """Record an order and grant what it earns; a repeated ``order_id`` grants nothing new.

        Returns the rewards this order earned (the same list on every retry). Rewards
        start ``held`` until the program's hold period has passed.
        """
        referee = _require_id("referee", referee)
        order_id = _require_id("order_id", order_id)
        amount = _require_money("amount", amount)
        if amount.amount < 0:
            raise InvalidInput("an order amount cannot be negative", value=amount, field="amount")
        now = self._now()
        when = now if occurred_at is None else _require_aware("occurred_at", occurred_at)
        with self.store.transaction() as uow:
            referral = uow.referrals.active_for_referee(referee)
            number = uow.conversions.count_for_referee(referee) + 1
            conversion = Conversion(
                order_id=order_id,
                referee=referee,
                amount=amount,
                occurred_at=when,
                first_order=number == 1 if first_order is None else bool(first_order),
                referral_id=None if referral is None else referral.id,
            )
            stored, created = uow.conversions.add(conversion)
            if not created:
                # A retry (or a race lost to another worker): hand back what the order earned.
                if stored.referee != referee:
                    raise InvalidInput(
                        f"order {order_id!r} was recorded for another customer",
                        value=order_id,
                        field="order_id",
                    )
                return uow.rewards.for_order(order_id)
            uow.events.add(
                "conversion.recorded",
                {
                    "order_id": order_id,
                    "referee": referee,
                    "amount": amount.to_json(),
                    "referral_id": conversion.referral_id,
                },
                now,
            )
            if referral is None or referral.status is ReferralStatus.REVIEW:
                return []
            _, rewards = self._grant(uow, referral, conversion, now, number)
            return rewards

    def _grant(
        self,
        uow: UnitOfWork,
        referral: Referral,
        conversion: Conversion,
        now: datetime,
        order_number: int | None = None,
    ) -> tuple[Referral, list[Reward]]:
        if referral.status is ReferralStatus.PENDING:
            referral = uow.referrals.set_status(
                referral.id, ReferralStatus.QUALIFIED, referral.reasons
            )
            uow.events.add(
                "referral.qualified",
                {
                    "referral_id": referral.id,
                    "referrer": referral.referrer,
                    "order_id": conversion.order_id,
                },
                now,
            )
        policy = self._terms.get(referral.policy_version)
        if policy is None:
            # The program no longer knows these terms: say so, and apply the campaign's.
            policy, applied = self._terms_of(self._stored_campaign(referral.campaign))
            uow.events.add(
                "referral.terms_unknown",
                {
                    "referral_id": referral.id,
                    "policy_version": referral.policy_version,
                    "applied": applied,
                },
                now,
            )
        needs = self._needs.get(referral.policy_version)
        if needs is None:
            needs = policy_needs(policy)
        qualified = 0
        if "qualified" in needs:
            qualified = uow.referrals.counts_for_referrer(referral.referrer)[
                ReferralStatus.QUALIFIED
            ]
        spend: Mapping[str, Money] = {}
        points = 0
        if "program_spend" in needs:
            spend, points = uow.rewards.spend()
        past: tuple[PastReward, ...] = ()
        if "referrer_rewards" in needs:
            past = tuple(
                PastReward(r.key, r.policy, r.amount, r.points, r.created_at)
                for r in uow.rewards.for_customer(referral.referrer)
                if r.beneficiary is Beneficiary.REFERRER and r.state is not RewardState.REVERSED
            )
        context = RewardContext(
            referral=referral,
            conversion=conversion,
            qualified=qualified,
            order_number=order_number or uow.conversions.count_for_referee(conversion.referee),
            referrer_rewards=past,
            program_spend=spend,
            program_points=points,
            campaign=referral.campaign,
            now=now,
        )
        rewards: list[Reward] = []
        for grant in policy.evaluate(context):
            reward = self._materialise(grant, referral, conversion, now)
            stored, created = uow.rewards.add(reward)
            if not created:
                continue
            state_bucket = stored.state.value
            uow.rewards.append(
                _entries(
                    stored, _Move(None, state_bucket, stored.amount, stored.points, "grant"), now
                )
            )
            uow.events.add("reward.granted", _reward_payload(stored), now)
            rewards.append(stored)
        return referral, rewards

    def _materialise(
        self, grant: Grant, referral: Referral, conversion: Conversion, now: datetime
    ) -> Reward:
        if not isinstance(grant, Grant):
            raise ConfigError(f"policy returned {grant!r}, not a Grant", value=grant, path="policy")
        amount = grant.amount if grant.kind is not RewardKind.COUPON else grant.coupon_value
        if amount is not None:
            amount = amount.round()
            if amount.amount < 0:
                raise ConfigError(f"policy {grant.policy} granted a negative amount", value=amount)
        if grant.points < 0:
            raise ConfigError(f"policy {grant.policy} granted negative points", value=grant.points)
        held = self.hold > timedelta(0)
        customer = (
            referral.referrer if grant.beneficiary is Beneficiary.REFERRER else referral.referee
        )
        key = grant.key if grant.per_referrer else f"{conversion.order_id}:{grant.key}"
        coupon = None
        if grant.kind is RewardKind.COUPON:
            coupon = generate_code(self._coupon_format, rng=self.rng)
        return Reward(
            id=self._new_id(),
            key=key,
            referral_id=referral.id,
            beneficiary=grant.beneficiary,
            customer_id=customer,
            kind=grant.kind,
            amount=amount,
            granted=amount,
            points=grant.points,
            granted_points=grant.points,
            state=RewardState.HELD if held else RewardState.AVAILABLE,
            order_id=conversion.order_id,
            policy=grant.policy,
            explanation=grant.explanation,
            created_at=now,
            hold_until=now + self.hold if held else None,
            perk=grant.perk,
            coupon_code=coupon,
            proportional=grant.proportional,
        )

    def refund(self, *, order_id: str, amount: Money | None = None) -> list[Reward]:
        """Refund an order in full (no ``amount``) or in part, and reverse what it earned.

        Rewards that scale with the order (``proportional``) shrink in proportion; fixed
        rewards are reversed only when the order is refunded in full. A reward already
        paid out keeps its state and records a ``clawback`` for the host to collect.
        Returns the rewards that changed.
        """
        order_id = _require_id("order_id", order_id)
        now = self._now()
        with self.store.transaction() as uow:
            conversion = uow.conversions.get(order_id)
            if conversion is None:
                raise UnknownOrder(f"no order {order_id!r} was recorded", value=order_id)
            remaining = conversion.net
            if amount is None:
                amount = remaining
            amount = _require_money("amount", amount)
            if amount.currency != conversion.amount.currency:
                raise CurrencyMismatch(
                    f"order {order_id!r} is in {conversion.amount.currency},"
                    f" the refund in {amount.currency}",
                    value=amount,
                )
            if amount.amount < 0 or amount > remaining:
                raise InvalidInput(
                    f"refund {amount} is more than the {remaining} left on order {order_id!r}",
                    value=amount,
                    field="amount",
                )
            if amount.is_zero():
                return []
            refunded = (conversion.refunded or Money.zero(amount.currency)) + amount
            conversion = uow.conversions.set_refunded(order_id, refunded)
            uow.events.add(
                "conversion.refunded",
                {"order_id": order_id, "amount": amount.to_json(), "refunded": refunded.to_json()},
                now,
            )
            changed = []
            for reward in uow.rewards.for_order(order_id):
                updated = self._shrink(uow, reward, conversion, now)
                if updated is not None:
                    changed.append(updated)
            return changed

    def _shrink(
        self, uow: UnitOfWork, reward: Reward, conversion: Conversion, now: datetime
    ) -> Reward | None:
        if reward.state is RewardState.REVERSED:
            return None
        target_amount, target_points = _refund_targets(reward, conversion)
        current_amount, current_points = _standing_value(reward)
        delta = _positive_difference(current_amount, target_amount)
        delta_points = max(current_points - target_points, 0)
        valueless = reward.granted is None and reward.granted_points == 0
        fully_refunded = conversion.net.amount <= 0
        if delta is None and delta_points == 0 and not (fully_refunded and valueless):
            return None
        if reward.state is RewardState.PAID:
            # Paid out: the value cannot be taken back here, so record what is owed.
            updated = attrs.evolve(
                reward,
                clawback=_plus(reward.clawback, delta),
                clawback_points=reward.clawback_points + delta_points,
            )
            move = _Move(None, "clawback", delta, delta_points, "refund")
            event = "reward.clawback"
        else:
            gone = (target_amount is None or target_amount.is_zero()) and target_points == 0
            updated = attrs.evolve(
                reward,
                amount=target_amount,
                points=target_points,
                state=RewardState.REVERSED if gone else reward.state,
            )
            move = _Move(reward.state.value, None, delta, delta_points, "refund")
            event = "reward.reversed" if gone else "reward.reduced"
        uow.rewards.update(updated)
        if delta is not None or delta_points:
            uow.rewards.append(_entries(updated, move, now))
        uow.events.add(event, _reward_payload(updated), now)
        return updated

    def release_due(self, limit: int = 1000) -> list[Reward]:
        """Make held rewards whose hold has ended available; returns them."""
        limit = _limit(limit)
        now = self._now()
        with self.store.transaction() as uow:
            released = []
            for reward in uow.rewards.due(now, limit):
                updated = _with_state(reward, RewardState.AVAILABLE)
                uow.rewards.update(updated)
                uow.rewards.append(
                    _entries(
                        updated,
                        _Move("held", "available", updated.amount, updated.points, "release"),
                        now,
                    )
                )
                uow.events.add("reward.available", _reward_payload(updated), now)
                released.append(updated)
            return released

    def mark_paid(self, reward_id: str) -> Reward:
        """Record that the host paid an available reward out (credited, sent, shipped)."""
        reward_id = _require_id("reward_id", reward_id)
        now = self._now()
        with self.store.transaction() as uow:
            reward = uow.rewards.get(reward_id)
            if reward is None:
                raise NotFound(f"no reward {reward_id!r}", value=reward_id)
            if reward.state is RewardState.PAID:
                return reward
            if reward.state is not RewardState.AVAILABLE:
                raise InvalidState(
                    f"reward {reward_id!r} is {reward.state.value};"
                    " only available rewards can be paid",
                    value=reward.state.value,
                )
            updated = _with_state(reward, RewardState.PAID)
            uow.rewards.update(updated)
            uow.rewards.append(
                _entries(
                    updated, _Move("available", "paid", updated.amount, updated.points, "paid"), now
                )
            )
            uow.events.add("reward.paid", _reward_payload(updated), now)
            return updated

    # -- reading ---------------------------------------------------------------------------

    def rewards(self, customer_id: str) -> list[Reward]:
        """Every reward granted to the customer, oldest first."""
        with self.store.transaction() as uow:
            return uow.rewards.for_customer(_require_id("customer_id", customer_id))

    def rewards_for_order(self, order_id: str) -> list[Reward]:
        """The rewards an order earned."""
        with self.store.transaction() as uow:
            return uow.rewards.for_order(_require_id("order_id", order_id))

    def referral(self, referral_id: str) -> Referral:
        """The referral with this id; raises `UnknownReferral`."""
        with self.store.transaction() as uow:
            found = uow.referrals.get(_require_id("referral_id", referral_id))
        if found is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        return found

    def status(self, customer_id: str) -> ReferrerStatus:
        """What a referrer sees: invites, conversions, balances, progress to the next tier."""
        customer_id = _require_id("customer_id", customer_id)
        with self.store.transaction() as uow:
            codes = tuple(c.code for c in uow.codes.for_owner(customer_id))
            counts = uow.referrals.counts_for_referrer(customer_id)
            balances = uow.rewards.balances(customer_id)
        buckets: dict[str, dict[str, Money]] = {
            b: {} for b in ("held", "available", "paid", "clawback")
        }
        points: dict[str, int] = dict.fromkeys(buckets, 0)
        for bucket, currency, money, pts in balances:
            points[bucket] = points.get(bucket, 0) + pts
            if currency is not None and money is not None and not money.is_zero():
                buckets.setdefault(bucket, {})[currency] = money
        qualified = counts[ReferralStatus.QUALIFIED]
        tier = self.policy.progress(qualified) if isinstance(self.policy, TieredPolicy) else None
        return ReferrerStatus(
            customer_id=customer_id,
            codes=codes,
            invites=sum(n for s, n in counts.items() if s is not ReferralStatus.REJECTED),
            pending=counts[ReferralStatus.PENDING],
            qualified=qualified,
            in_review=counts[ReferralStatus.REVIEW],
            rejected=counts[ReferralStatus.REJECTED],
            held=buckets["held"],
            available=buckets["available"],
            paid=buckets["paid"],
            clawbacks=buckets["clawback"],
            points_held=points["held"],
            points_available=points["available"],
            points_paid=points["paid"],
            tier=tier,
        )

    # -- the outbox ------------------------------------------------------------------------

    def pending_events(self, limit: int = 100) -> list[Event]:
        """Events not yet acknowledged, oldest first: send the emails, then `ack` them."""
        limit = _limit(limit)
        with self.store.transaction() as uow:
            return uow.events.pending(limit)

    def ack(self, event_ids: Iterable[int]) -> int:
        """Mark events as delivered; returns how many were still pending."""
        ids = _event_ids(event_ids)
        with self.store.transaction() as uow:
            return uow.events.ack(ids)

    # -- clicks, reassignment and metrics --------------------------------------------------

    def track_click(
        self,
        link_or_code: str,
        *,
        visitor: str,
        channel: str | None = None,
        campaign: str | None = None,
    ) -> Click:
        """Record that ``visitor`` (an opaque cookie value) followed a referral link.

        A link is checked as `attribute` checks it and gives its channel and campaign
        (arguments given here win). Stored as a ``click`` event; `attribute` with
        ``visitor=`` later credits the click the program's attribution model picks.
        """
        return _metrics.track_click(
            self, link_or_code, visitor=visitor, channel=channel, campaign=campaign
        )

    def attribution_for(self, visitor: str) -> Click | None:
        """The click that would attribute ``visitor`` now, if any (greet them by referrer)."""
        return _metrics.attribution_for(self, visitor)

    def reassign(self, *, referee: str, code: str, note: str | None = None) -> Referral:
        """An operator's override: credit ``referee`` to the owner of ``code`` from now on.

        The referee's referral keeps its id, status, time and orders; its code, referrer
        and campaign change (a referee without one gets a new ``pending`` referral).
        Moved to another campaign, it earns that campaign's terms from then on; within
        one campaign the terms it was promised stand. Guards are not consulted, but
        nobody refers themselves. Recorded as a ``referral.reassigned`` event naming the
        previous referrer.
        """
        return _metrics.reassign(self, referee=referee, code=code, note=note)

    def metrics(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        active_customers: int | None = None,
        by: Breakdown | Sequence[Breakdown] | None = None,
        top: int = 10,
    ) -> MetricsReport:
        """The program's `MetricsReport` for referrals attributed in ``[since, until)``.

        Computed by the store (in SQL on SQL stores); every figure is defined in
        `referralkit.metrics.DEFINITIONS`.
        """
        return _metrics.program_metrics(
            self, since=since, until=until, active_customers=active_customers, by=by, top=top
        )
