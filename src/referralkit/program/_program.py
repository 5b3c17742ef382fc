"""`ReferralProgram`: the public entry points of a referral program, each a thin call.

Every method validates its input, opens one unit of work through the program's core,
reads what the pure policies and guards need, writes the new state together with its
events, and commits; an error anywhere leaves nothing behind. The work behind each
method lives in the capability module named for it (`referralkit.program` lists them).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, overload

from referralkit.campaigns import Campaign
from referralkit.codes import CodeFormat
from referralkit.context import Signal
from referralkit.errors import ConfigError
from referralkit.guards.identity import IdentityNormalizer
from referralkit.invitee import Landing
from referralkit.metrics._attribution import Attribution, AttributionModel, metrics_source
from referralkit.metrics._source import Click
from referralkit.model import (
    CodeCheck,
    Conversion,
    Event,
    Friend,
    Identity,
    Referral,
    ReferralCode,
    ReferrerStatus,
    Reward,
    RewardKind,
)
from referralkit.moments import Learning, MomentRules, UntilDelivered
from referralkit.money import Money
from referralkit.program import (
    _attribution,
    _claims,
    _clawbacks,
    _clicks,
    _code_check,
    _conversions,
    _coupons,
    _deliveries,
    _enrolment,
    _friends,
    _landing,
    _outbox,
    _payouts,
    _reassign,
    _refunds,
    _review,
    _status,
)
from referralkit.program._commissions import Checkout
from referralkit.program._core import ProgramCore, utc_now
from referralkit.program._groups import Groups
from referralkit.program._invitations import Invitations
from referralkit.program._moments import Moments, window_stats
from referralkit.program._partners import Partners
from referralkit.program._waitlist import Waitlist
from referralkit.protocols import Guard, RewardPolicy, Store

if TYPE_CHECKING:
    from referralkit.config import ProgramConfig
    from referralkit.metrics._report import MetricsReport
    from referralkit.metrics._source import Breakdown

__all__ = ["ReferralProgram"]


class ReferralProgram:
    """A referral program on a store: enrol, link, attribute, convert, refund, release, pay.

    ``secret`` (at least 32 bytes) keys link signatures and identity hashes; keep it
    out of source control. ``clock`` returns the current time (timezone-aware);
    ``rng(n) -> bytes`` draws randomness for codes and ids (``secrets`` by default).
    ``guards`` defaults to `referralkit.guards.default_guards` (``[]`` runs none);
    ``previous_secrets`` are older secrets whose identity hashes still match, and whose
    signed links still verify, during a key rotation; ``identity_rules`` sets how
    identities are normalised (email provider rules, the phone region).

    ``hold`` is how long rewards wait out the refund window: one duration, or a mapping
    by beneficiary and reward kind (``{"referee": timedelta(0), "referrer":
    timedelta(days=14)}``; see `Holds`). ``order_grace`` lets an order placed that
    long before its referral still count (clocks of two systems disagree); an order
    placed earlier is not a referred order. ``coupon_expiry`` is how long a coupon
    reward stays usable once available. ``net_clawbacks`` lists the reward kinds a
    customer's clawbacks are netted against as they become available (``()``: none).
    ``signup_reward`` is granted when a referral is accepted, before any order
    (`Fixed`, or `DoubleSided` of `Fixed`): a friend's welcome coupon.

    Every policy version the program runs is stored with its definition on start, so
    referrals keep the terms they were promised across restarts: ``policy_version``
    names the policy's version (derived from its definition when not given; a policy
    that cannot be described as configuration must be named). A version stored with
    other terms refuses the start with a `ConfigError` that says what changed.

    ``moment_rules`` (`referralkit.moments.MomentRules`) and ``learning``
    (`referralkit.moments.Learning`) configure `moments`, when to ask for a referral.
    """

    def __init__(
        self,
        *,
        store: Store,
        secret: bytes,
        policy: RewardPolicy,
        guards: Sequence[Guard] | None = None,
        link_base: str | None = None,
        hold: timedelta | UntilDelivered | Mapping[str, timedelta | UntilDelivered] = timedelta(
            days=14
        ),
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
        order_grace: timedelta = timedelta(0),
        coupon_expiry: timedelta | None = None,
        net_clawbacks: Collection[RewardKind | str] = (RewardKind.CASH, RewardKind.CREDIT),
        signup_reward: RewardPolicy | None = None,
        policy_version: str | None = None,
        moment_rules: MomentRules | None = None,
        learning: Learning | None = None,
    ) -> None:
        self._core = ProgramCore(
            store=store,
            secret=secret,
            policy=policy,
            guards=guards,
            link_base=link_base,
            hold=hold,
            code_format=code_format,
            campaign=campaign,
            sign_links=sign_links,
            clock=clock,
            rng=rng,
            terms=terms,
            campaigns=campaigns,
            previous_secrets=previous_secrets,
            identity_rules=identity_rules,
            attribution=attribution,
            order_grace=order_grace,
            coupon_expiry=coupon_expiry,
            net_clawbacks=net_clawbacks,
            signup_reward=signup_reward,
            named_version=policy_version,
        )
        #: Trigger moments: report them, ask `Moments.should_invite` before inviting.
        self.moments = Moments(self._core, moment_rules, learning)
        #: Group-buys: `start`, `join`, `expire_due`, `cancel` (see *Run a group-buy*).
        self.groups = Groups(self._core)
        #: Invitation-only sign-up: `issue`, `redeem` (see *Launch invitation-only*).
        self.invitations = Invitations(self._core)
        #: A waitlist before launch: `join`, `code`, `position`, `admit`.
        self.waitlist = Waitlist(self._core, self.invitations)
        #: Partner programmes: `add`, `code`, `post`, `engagement`, `statement`
        #: (see *Run a partner programme*).
        self.partners = Partners(self._core)

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

    # -- configuration, as given -------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The store the program reads and writes."""
        return self._core.store

    @property
    def policy(self) -> RewardPolicy:
        """The program's reward policy (the default campaign's terms)."""
        return self._core.policy

    @property
    def policy_version(self) -> str:
        """The version id of `policy` (`referralkit.policies.policy_version`)."""
        return self._core.policy_version

    @property
    def guards(self) -> tuple[Guard, ...]:
        """The guards every attribution runs, in order."""
        return self._core.guards

    @guards.setter
    def guards(self, guards: Sequence[Guard]) -> None:
        self._core.guards = tuple(guards)

    @property
    def link_base(self) -> str | None:
        """The base URL of referral links (a campaign's own base wins)."""
        return self._core.link_base

    @property
    def hold(self) -> timedelta | UntilDelivered | Mapping[str, timedelta | UntilDelivered]:
        """How long rewards are held before they become available, as given."""
        return self._core.hold

    @property
    def code_format(self) -> CodeFormat:
        """The shape of generated codes (a campaign's own format wins)."""
        return self._core.code_format

    @property
    def campaign(self) -> str:
        """The campaign codes get when none is named."""
        return self._core.campaign

    @property
    def campaigns(self) -> Mapping[str, Campaign]:
        """The declared campaigns, by name."""
        return self._core.campaigns

    @property
    def sign_links(self) -> bool:
        """Whether links are signed (and unsigned ones refused)."""
        return self._core.sign_links

    @property
    def clock(self) -> Callable[[], datetime]:
        """The program's clock."""
        return self._core.clock

    @property
    def rng(self) -> Callable[[int], bytes] | None:
        """The program's source of randomness (None: the operating system's)."""
        return self._core.rng

    @property
    def attribution(self) -> Attribution:
        """How clicks earn referees: the model and the window."""
        return self._core.attribution

    def signals(self, identity: Identity | None) -> frozenset[Signal]:
        """The keyed hashes the program stores for ``identity`` (under the current secret)."""
        return self._core.signals(identity)

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
        generated one, kept as given (upper-cased) for display; it raises `InvalidCode`
        (reason ``taken``) if someone else has it in any spelling (case, spaces and
        dashes do not make another code: ``ANNA-10`` takes ``ANNA10``).
        """
        return _enrolment.enroll(
            self._core,
            customer_id,
            identity=identity,
            campaign=campaign,
            vanity=vanity,
            expires_at=expires_at,
            max_uses=max_uses,
        )

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
        return _enrolment.link(
            self._core, code, channel=channel, campaign=campaign, expires_at=expires_at, utm=utm
        )

    def share(
        self,
        code: str,
        message: str,
        *,
        channels: Sequence[str] | None = None,
        campaign: str | None = None,
        expires_at: datetime | None = None,
        utm: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Share targets for ``code``: channel -> a ready-to-open URL carrying its own link.

        Each channel's URL shares the customer's link built for that channel, so the
        report credits the channel a friend came from. ``channels`` defaults to the
        campaign's channels (all of `referralkit.links.SHARE_CHANNELS` if it lists none);
        ``message`` is the text shared with the link.
        """
        return _enrolment.share(
            self._core,
            code,
            message,
            channels=channels,
            campaign=campaign,
            expires_at=expires_at,
            utm=utm,
        )

    def code_for(self, customer_id: str, campaign: str | None = None) -> ReferralCode | None:
        """The customer's code in ``campaign`` (the default campaign if omitted), if any."""
        return _enrolment.code_for(self._core, customer_id, campaign)

    def check_code(self, text: str) -> CodeCheck:
        """What a sign-up page says about a typed code, before any account exists.

        Reads only: no write, no event. Returns a `CodeCheck`: the code as issued, whether
        an attribution with it would be accepted for the code now, and if not why
        (``unknown``, ``typo``, ``invalid``, ``expired``, ``used_up``,
        ``campaign_not_running``), with a message for the person who typed it. The
        guards judge the referee only at `attribute`. Text that is not a string is an
        `InvalidInput` (``field="code"``).
        """
        return _code_check.check_code(self._core, text)

    def owner_of(self, code: str) -> str | None:
        """The customer who owns ``code`` (typed in any case, with spaces or dashes), or None.

        Raises `InvalidCode` for text that is no code (a generated code with a typo
        included), `InvalidInput` for a value that is not a string.
        """
        return _code_check.owner_of(self._core, code)

    def landing(self, link_or_code: str, *, claim_ttl: timedelta = timedelta(hours=1)) -> Landing:
        """What the invitee's page shows for a link (or a typed code); reads, never writes.

        A `referralkit.invitee.Landing`: the code's check (as `check_code`), the offers
        for the invitee in words and numbers, the display name the referrer chose to
        share (`set_display_name`; never an email), the campaign and its end, and, when
        the code is usable, a claim token valid for ``claim_ttl`` (at most 7 days; never
        past the campaign's end) for an app installed after the click (`claim`). A link
        that fails its checks is a landing that is not usable, not an exception.
        """
        return _landing.landing(self._core, link_or_code, claim_ttl=claim_ttl)

    def set_display_name(self, customer_id: str, name: str | None) -> str | None:
        """Set the name a referrer's friends see on their landing page (None removes it).

        Returns the name as stored (spaces tidied). An email address, a phone number,
        control characters or more than 40 characters are refused (`InvalidInput`).
        """
        return _landing.set_display_name(self._core, customer_id, name)

    def claim(
        self,
        token: str,
        customer_id: str,
        *,
        identity: Identity | None = None,
        existing_customer: bool = False,
    ) -> Referral:
        """Attribute a customer from a landing's claim token, reported by an app at first open.

        The same attribution a click on the link gives (guards included), once: the
        store spends the token, so another customer with the same token gets an
        `InvalidState`; the same customer again gets their referral back. A forged token
        is `LinkTampered`, an expired one `LinkExpired`, text that is none `InvalidLink`.
        No device fingerprint is read or kept. While the launch is invitation-only
        (``invitations.configure(required=True)``) it raises `InvitationRequired`.
        """
        self.invitations.refuse_open_sign_up(customer_id)
        return _claims.claim(
            self._core,
            token,
            customer_id,
            identity=identity,
            existing_customer=existing_customer,
        )

    def referees(
        self, customer_id: str, *, after: str | None = None, limit: int = 50
    ) -> list[Friend]:
        """The friends a referrer brought, oldest first, a page at a time: no personal data.

        One `Friend` per referee: their standing referral with this referrer, else their
        last rejected one, with its stage (`referralkit.model.FriendStage`), reasons and
        the rewards it earned. ``after`` is the previous page's last ``referral_id``;
        ``limit`` is at most 500. Ordered by attribution time (then referral id).
        """
        return _friends.referees(self._core, customer_id, after=after, limit=limit)

    # -- attribution -----------------------------------------------------------------------

    @overload
    def attribute(
        self,
        *,
        referee: str,
        code: str,
        link: None = None,
        identity: Identity | None = None,
        existing_customer: bool = False,
        channel: str | None = None,
        visitor: str | None = None,
    ) -> Referral: ...

    @overload
    def attribute(
        self,
        *,
        referee: str,
        link: str,
        code: None = None,
        identity: Identity | None = None,
        existing_customer: bool = False,
        channel: str | None = None,
        visitor: str | None = None,
    ) -> Referral: ...

    @overload
    def attribute(
        self,
        *,
        referee: str,
        visitor: str,
        code: None = None,
        link: None = None,
        identity: Identity | None = None,
        existing_customer: bool = False,
        channel: str | None = None,
    ) -> Referral | None: ...

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
    ) -> Referral | None:
        """Attribute a new customer to the owner of ``code`` (typed) or ``link`` (clicked).

        With ``visitor`` (and no typed code) the program's attribution model picks the
        winning touch among the visitor's tracked clicks and ``link``, if given; a
        visitor who followed no referral link in the window (and brings no link) is a
        plain sign-up: the answer is None, and nothing is written.

        Returns the `Referral`: ``pending`` when accepted, ``rejected`` or ``review``
        with reason codes when a rule or a guard objects. Raises `InvalidCode`,
        `UnknownCode`, `CodeExpired` or `InvalidLink` for a code that cannot be used: a
        typed code is found in any case, with spaces or dashes; a generated code with a
        typo is an `InvalidCode` with reason ``bad_check`` (its message is for the person
        who typed it), unless a vanity code is spelled exactly so; a link must point at
        the program's ``link_base`` or a campaign's (`LinkTampered` otherwise). While the
        launch is invitation-only (``invitations.configure(required=True)``) every call
        raises `InvitationRequired`: new customers come in through
        ``invitations.redeem``.
        """
        self.invitations.refuse_open_sign_up(referee)
        return _attribution.attribute(
            self._core,
            referee=referee,
            code=code,
            link=link,
            identity=identity,
            existing_customer=existing_customer,
            channel=channel,
            visitor=visitor,
        )

    def track_click(
        self,
        link_or_code: str,
        *,
        visitor: str,
        channel: str | None = None,
        campaign: str | None = None,
    ) -> Click:
        """Record that ``visitor`` (a cookie value, or any stable id) followed a referral link.

        A link is checked as `attribute` checks it and gives its channel and campaign
        (arguments given here win). Stored as a click (a fact, not an outbox event) under
        a keyed hash of ``visitor``, never the id itself; the returned `Click` carries
        ``visitor`` as given. `attribute` with ``visitor=`` later credits the click the
        program's attribution model picks, read in the attribution's unit of work.
        """
        return _clicks.track_click(
            self._core, link_or_code, visitor=visitor, channel=channel, campaign=campaign
        )

    def attribution_for(self, visitor: str) -> Click | None:
        """The click that would attribute ``visitor`` now, if any (greet them by referrer).

        Its ``visitor`` is the id passed here (the store holds only its keyed hash).
        """
        return _clicks.attribution_for(self._core, visitor)

    def reassign(self, *, referee: str, code: str, note: str | None = None) -> Referral:
        """An operator's override: credit ``referee`` to the owner of ``code`` from now on.

        The referee's referral keeps its id, status, time and orders; its code, referrer
        and campaign change (a referee without one gets a new ``pending`` referral).
        Moved to another campaign, it earns that campaign's terms from then on; within
        one campaign the terms it was promised stand. Guards are not consulted, but
        nobody refers themselves. Recorded as a ``referral.reassigned`` event naming the
        previous referrer.
        """
        return _reassign.reassign(self._core, referee=referee, code=code, note=note)

    # -- review ----------------------------------------------------------------------------

    def review_queue(
        self,
        limit: int = 100,
        *,
        after: str | None = None,
        reason: str | None = None,
        referrer: str | None = None,
    ) -> list[Referral]:
        """Referrals waiting for a person to approve or reject them, oldest first.

        A page at a time: ``after`` is the previous page's last referral id. ``reason``
        keeps those carrying that reason code (``velocity.network``), ``referrer`` those
        of one referrer.
        """
        return _review.review_queue(
            self._core, limit, after=after, reason=reason, referrer=referrer
        )

    def referral_of(self, referee: str) -> Referral | None:
        """The referee's standing referral, else their latest rejected one; None if neither."""
        return _review.referral_of(self._core, referee)

    def explain(self, referral: Referral) -> list[str]:
        """The referral's reasons in words, in order (`referralkit.guards.REASON_CODES`).

        A reason code the library does not know (a plugin guard's) is given as it is.
        """
        return _review.explain(referral)

    def approve(self, referral_id: str) -> list[Reward]:
        """Accept a referral held for review; grants what its orders earned meanwhile, once."""
        return _review.approve(self._core, referral_id)

    def reject(self, referral_id: str, reason: str = "review.rejected") -> Referral:
        """Refuse a referral held for review; it earns nothing, now or later."""
        return _review.reject(self._core, referral_id, reason)

    # -- conversions and the ledger --------------------------------------------------------

    def convert(
        self,
        *,
        referee: str,
        order_id: str,
        amount: Money,
        first_order: bool | None = None,
        occurred_at: datetime | None = None,
        code: str | None = None,
        identity: Identity | None = None,
        visitor: str | None = None,
        attributes: Mapping[str, str | Sequence[str]] | None = None,
    ) -> list[Reward]:
        """Record an order and grant what it earns; a repeated ``order_id`` grants nothing new.

        With a partner's ``code``, the partner rules (`Partners.configure`) read the
        buyer's ``identity`` (else their stored signals) and the ``visitor`` id their
        clicks were tracked under (else their customer id): a rule that fires holds the
        partner's commission for review, never the order.

        Returns the rewards this order earned (the same list on every retry). Rewards
        start ``held`` until the program's hold period has passed. ``code`` is a partner's
        code typed at checkout: it attributes this order to the partner, who earns their
        commission on it (what a friend's referral then earns: `Partners.precedence`);
        a code that names no active partner is a `PartnerCodeRefused` (``.field`` code).
        A buyer a partner referred at sign-up earns the partner their commission on every
        order, code typed or not (nothing while the partner is not approved).
        ``attributes`` are what the order holds for policies that look (`OrderAttribute`):
        ``{"category": ["shoes"], "product": "sku-1"}``, stored with the order (a store
        with partner programmes keeps them).
        """
        return _conversions.convert(
            self._core,
            referee=referee,
            order_id=order_id,
            amount=amount,
            first_order=first_order,
            occurred_at=occurred_at,
            checkout=Checkout(
                self._core, code, self.partners.precedence, self.partners.screen(identity, visitor)
            ),
            attributes=attributes,
        )

    def refund(
        self, *, order_id: str, amount: Money | None = None, refund_id: str | None = None
    ) -> list[Reward]:
        """Refund an order in full (no ``amount``) or in part; it earns only what is kept.

        The order is evaluated again on its net amount: a reward the policy now grants
        less shrinks, one it no longer grants is reversed; a reward already paid keeps
        its state and records a ``clawback``. A referral whose every order is refunded in
        full stops counting as qualified, and the referrer's later tier and milestone
        rewards are repriced to match. ``refund_id`` makes a partial refund idempotent: a
        refund id seen before changes nothing and returns the same rewards, and the same
        id with another amount is an `IdempotencyConflict`. Returns the rewards changed.
        """
        return _refunds.refund(self._core, order_id=order_id, amount=amount, refund_id=refund_id)

    def delivered(self, order_id: str, *, at: datetime | None = None) -> list[Reward]:
        """Record that the order was delivered (``at``, default now); the first report stands.

        Rewards of the order held `referralkit.moments.UntilDelivered` get their release
        date: the delivery plus the return window (``reward.release_scheduled``). An
        order not recorded yet keeps the delivery for when it is. Returns the order's
        rewards.
        """
        return _deliveries.delivered(self._core, order_id, at)

    def conversion(self, order_id: str) -> Conversion | None:
        """The order recorded under ``order_id``, if any (reconcile a webhook after a crash)."""
        return _status.conversion(self._core, order_id)

    def release_due(self, limit: int = 1000, *, all: bool = False) -> list[Reward]:  # noqa: A002 - the mode is called all
        """Make held rewards whose hold has ended available; returns them.

        At most ``limit`` per unit of work; with ``all=True`` it goes on, batch by batch,
        until none is due. Each reward of a netting kind is applied to its customer's
        clawbacks as it becomes available.
        """
        return _payouts.release_due(self._core, limit, every=all)

    def mark_paid(self, reward_id: str) -> Reward:
        """Record that the host paid an available reward out (credited, sent, shipped)."""
        return _payouts.mark_paid(self._core, reward_id)

    def payable(
        self,
        *,
        kind: RewardKind | str | None = None,
        currency: str | None = None,
        after: str | None = None,
        limit: int = 500,
    ) -> list[Reward]:
        """Available rewards across all customers, by id: what a payout job pays.

        ``after`` is the last id of the previous page (a cursor); what to pay for each is
        ``amount - netted``. One query per page, however many customers.
        """
        return _payouts.payable(self._core, kind=kind, currency=currency, after=after, limit=limit)

    def payout(self, reward_ids: Sequence[str], *, payout_id: str) -> list[Reward]:
        """Pay these available rewards in one unit of work; idempotent on ``payout_id``.

        All or nothing: a reward that is not available refuses the whole batch. The same
        payout id again returns the same rewards; with other rewards it is an
        `IdempotencyConflict`.
        """
        return _payouts.payout(self._core, reward_ids, payout_id=payout_id)

    def settle_clawback(self, customer_id: str, amount: Money, *, reference: str) -> list[Reward]:
        """Record a clawback collected outside (a transfer, a charge); once per ``reference``.

        Recovers the customer's debts oldest first; returns the rewards whose clawback
        was recovered. More than is owed is refused.
        """
        return _clawbacks.settle_clawback(self._core, customer_id, amount, reference=reference)

    # -- coupons ---------------------------------------------------------------------------

    def coupon(self, code: str) -> Reward | None:
        """The coupon reward with this code (who owns it, its amount, state and expiry)."""
        return _coupons.coupon(self._core, code)

    def redeem_coupon(self, code: str, *, customer_id: str, order_id: str) -> Reward:
        """Use a coupon on an order: only its owner, only while available; once.

        Idempotent on ``order_id``: the same checkout again returns the same reward.
        Recorded in the ledger (available to paid) and as a ``coupon.redeemed`` event.
        """
        return _coupons.redeem_coupon(self._core, code, customer_id=customer_id, order_id=order_id)

    # -- reading ---------------------------------------------------------------------------

    def rewards(self, customer_id: str) -> list[Reward]:
        """Every reward granted to the customer, oldest first."""
        return _status.rewards(self._core, customer_id)

    def rewards_for_order(self, order_id: str) -> list[Reward]:
        """The rewards an order earned."""
        return _status.rewards_for_order(self._core, order_id)

    def referral(self, referral_id: str) -> Referral:
        """The referral with this id; raises `UnknownReferral`."""
        return _status.referral(self._core, referral_id)

    def status(self, customer_id: str) -> ReferrerStatus:
        """What a referrer sees: invites, conversions, balances, progress to the next tier.

        The counts are defined on `ReferrerStatus`. The tier ladder is that of the terms
        the referrer's codes are under: the campaign of their oldest code whose terms are
        tiered (a partner whose codes earn a commission has none); a customer without a
        code sees the program's policy.
        """
        return _status.status(self._core, customer_id)

    # -- the outbox ------------------------------------------------------------------------

    def pending_events(self, limit: int = 100) -> list[Event]:
        """Events not yet acknowledged, oldest first: send the emails, then `ack` them.

        Read only. Events under a drainer's lease (`claim_events`), waiting for a retry,
        or given up (`dead_letter`) are left out. Several drainers at once: use
        `claim_events` (or `referralkit.outbox.drain`), which never shares an event.
        """
        return _outbox.pending_events(self._core, limit)

    def ack(self, event_ids: Iterable[int]) -> int:
        """Mark events as delivered; returns how many were not acknowledged before.

        Ends their lease; acknowledging a dead letter (delivered by hand) clears it.
        """
        return _outbox.ack(self._core, event_ids)

    def claim_events(
        self,
        limit: int = 100,
        lease: timedelta = timedelta(minutes=5),
        worker: str | None = None,
    ) -> list[Event]:
        """Claim up to ``limit`` pending events, oldest first, for one drainer for ``lease``.

        The store decides the claim atomically: while the lease holds, no other claim
        gets these events. `ack` each one delivered; one not acknowledged when the lease
        ends is claimable again, so delivery is at least once and a handler must be
        idempotent (key it on `Event.id`). Each claim adds one to `Event.attempts`.
        ``worker`` names the drainer in the store. Refuses a ``limit`` above 10,000 and a
        ``lease`` that is not positive or longer than a day.
        """
        return _outbox.claim_events(self._core, limit, lease, worker)

    def release_events(self, event_ids: Iterable[int], retry_at: datetime | None = None) -> int:
        """Hand unacknowledged events back, to be claimed again from ``retry_at`` (now).

        Ends their lease: a drainer whose delivery failed gives the event back with a
        backoff. A dead letter released is pending again (its ``attempts`` kept). Returns
        how many events changed.
        """
        return _outbox.release_events(self._core, event_ids, retry_at)

    def dead_letter(self, event_ids: Iterable[int]) -> int:
        """Give unacknowledged events up: never claimed or pending again, kept for a look.

        They are listed by `dead_letters` until released (`release_events`) or
        acknowledged; returns how many were given up by this call.
        """
        return _outbox.dead_letter(self._core, event_ids)

    def dead_letters(self, limit: int = 100) -> list[Event]:
        """Events given up (`dead_letter`) and neither released nor acknowledged, oldest first."""
        return _outbox.dead_letters(self._core, limit)

    def prune_events(self, older_than: timedelta = timedelta(days=90)) -> int:
        """Delete acknowledged events that occurred more than ``older_than`` ago.

        Never an unacknowledged event (pending, leased or dead), and never a fact the
        metrics read: events are notifications, the metrics' facts live in their own
        tables. Deletes in batches, each its own unit of work; returns how many went.
        """
        return _outbox.prune_events(self._core, older_than)

    # -- metrics ---------------------------------------------------------------------------

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
        from referralkit.metrics._report import build_report, check_window  # noqa: PLC0415 - pydantic loads with the first report

        window = check_window(since, until)
        groups = self.groups.facts(since=window.since, until=window.until)
        moments = window_stats(self._core, window.since, window.until)
        invitations = self.invitations.facts(since=window.since, until=window.until)
        waitlist = self.waitlist.facts()
        with metrics_source(self._core.store).snapshot() as view:
            return build_report(
                view,
                since=since,
                until=until,
                active_customers=active_customers,
                by=by,
                top=top,
                groups=groups,
                moments=moments,
                invitations=invitations,
                waitlist=waitlist,
            )
