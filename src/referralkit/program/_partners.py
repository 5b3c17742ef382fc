"""Partner programmes: affiliates and influencers, their codes, posts, engagement, statements.

A partner is a referrer who need not be a customer. Registering one stores them with an
account code and an account referral (a rejected, self-referring record no buyer is
attributed to) that their commissions and fees are written under, so every partner
reward is an ordinary reward: held, released, paid and clawed back on the usual paths.
How an order with a partner's code earns is in `referralkit.program._commissions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from referralkit._validate import opt_aware, opt_name, require_aware, require_id, require_money
from referralkit.codes import generate_code, validate_vanity
from referralkit.context import Grant
from referralkit.errors import (
    ConfigError,
    IdempotencyConflict,
    InvalidCode,
    InvalidInput,
    InvalidState,
    UnknownPartner,
)
from referralkit.guards import LeakedCode, OwnCode
from referralkit.guards._partner import BANNED
from referralkit.model import (
    Beneficiary,
    CodeKind,
    Identity,
    Partner,
    PartnerCode,
    PartnerEngagement,
    PartnerGroup,
    PartnerPost,
    PartnerReview,
    PartnerState,
    PartnerSubmission,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    RewardKind,
)
from referralkit.money import Money
from referralkit.payouts import PartnerDue, PayoutProvider, PayoutRun
from referralkit.policies import policy_definition, policy_version
from referralkit.program._bounties import Bounties
from referralkit.program._commissions import (
    ACCOUNT_CAMPAIGN,
    PARTNER_KEY,
    Precedence,
    account_view,
    hold_of,
)
from referralkit.program._conversions import store_grants
from referralkit.program._core import ProgramCore
from referralkit.program._partner_payouts import (
    VerificationCheck,
    due,
    pay,
    payout_repo,
    read_hold,
    read_threshold,
    verify,
)
from referralkit.program._partner_review import (
    PartnerRules,
    Screen,
    decide_order,
    decide_review,
    explain,
    hold_for_review,
    hold_unpaid,
    review_queue,
)
from referralkit.program._partner_review_store import PARTNER_REVIEWS
from referralkit.program._partner_store import ACCOUNT_REASONS, PARTNERS, PartnerRepository
from referralkit.protocols import RewardPolicy, UnitOfWork
from referralkit.storage import CodeTaken

if TYPE_CHECKING:
    from referralkit.metrics._partners import PartnerStatement
    from referralkit.metrics._scorecard import Candidate, Scorecard

__all__ = ["Partners"]


class _Unset:
    """An argument left out (None means "off")."""


_UNSET = _Unset()
_CODE_ATTEMPTS = 16
_MAX_NAME = 200
_PARTNER_FIELDS = (
    "name",
    "kind",
    "audience",
    "niches",
    "region",
    "payout_ref",
    "terms_version",
    "group",
)
_COUNTS = ("impressions", "reach", "engagements", "likes", "comments", "shares", "saves")


def _payload(partner: Partner, **more: object) -> dict[str, object]:
    """What a partner's events carry: ids and labels, never personal data."""
    return {"partner_id": partner.id, "kind": partner.kind, "state": partner.state.value, **more}


def _count(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{field} must be an int >= 0", value=value, field=field)
    return value


def _niches(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput("niches must be a list of tags", value=value, field="niches")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise InvalidInput("each niche is a non-empty string", value=tag, field="niches")
        tags.append(tag.strip().lower())
    return tuple(dict.fromkeys(tags))


def _payout_terms(threshold: Money | None, hold_seconds: int | None) -> dict[str, object]:
    return {
        "payout_threshold": None if threshold is None else threshold.to_json(),
        "hold_seconds": hold_seconds,
    }


def _differs(stored: object, wanted: object, fields: Iterable[str], key: str) -> None:
    for field in fields:
        was, now = getattr(stored, field), getattr(wanted, field)
        if was != now:
            raise IdempotencyConflict(
                f"{key!r} was recorded with {field} {was!r}, not {now!r}",
                value=now,
                field=field,
            )


class Partners:
    """`referralkit.ReferralProgram.partners`: register partners, their codes, posts and terms.

    ``precedence`` (a `Precedence`, default ``both``) says what a friend's referral earns
    on an order where the buyer typed a partner's code.
    """

    def __init__(self, core: ProgramCore) -> None:
        self._core = core
        self._precedence = Precedence.BOTH
        self._rules = PartnerRules()
        self._bounties = Bounties(core)

    @property
    def precedence(self) -> Precedence:
        """Who an order with a partner's code earns for when a friend referred the buyer."""
        return self._precedence

    @precedence.setter
    def precedence(self, value: Precedence | str) -> None:
        try:
            self._precedence = Precedence(value)
        except ValueError:
            raise InvalidInput(
                f"precedence is one of {[p.value for p in Precedence]}",
                value=value,
                field="precedence",
            ) from None

    def _repo(self, uow: UnitOfWork) -> PartnerRepository:
        return PARTNERS.repository(uow, store=self._core.store)

    def _partner(self, uow: UnitOfWork, partner_id: str) -> Partner:
        partner = self._repo(uow).get(partner_id)
        if partner is None:
            raise UnknownPartner(f"no partner {partner_id!r}", value=partner_id)
        return partner

    def _terms(self, uow: UnitOfWork, terms: object, now: datetime) -> str:
        """Store ``terms`` (any reward policy) and give back its version."""
        if not isinstance(terms, RewardPolicy):
            raise InvalidInput("terms must be a reward policy", value=terms, field="terms")
        definition = policy_definition(terms)
        version = policy_version(terms)
        if definition is None:
            definition = f'{{"undescribed":"{terms.name}"}}'
        stored = uow.terms.add(version, definition, now)
        if stored != definition:  # pragma: no cover - a version is a hash of its definition
            raise ConfigError(
                f"the terms version {version!r} is stored with other terms",
                value=version,
                path="terms",
            )
        self._core.learn_policy(version, terms)
        return version

    # -- registry ------------------------------------------------------------------------

    def add(
        self,
        partner_id: str,
        *,
        name: str,
        kind: str = "affiliate",
        audience: int = 0,
        niches: Iterable[str] = (),
        region: str | None = None,
        payout_ref: str | None = None,
        terms: RewardPolicy | None = None,
        group: str | None = None,
        state: PartnerState | str = PartnerState.APPROVED,
        payout_threshold: Money | None = None,
        hold: timedelta | None = None,
        identity: Identity | None = None,
    ) -> Partner:
        """Register a partner (``partner.added``); the same call again returns the same partner.

        ``kind`` is ``affiliate``, ``influencer`` or a label of the host's; ``payout_ref``
        an opaque host id to pay them by; ``terms`` their commission (any reward policy;
        without it they earn their ``group``'s). A registered partner is ``approved``
        unless ``state`` says otherwise. ``payout_threshold`` and ``hold`` are their own
        (without them, their group's; see `set_payout_terms`). A second call with other
        values is an `IdempotencyConflict` naming the first field that differs.
        ``identity`` is kept only as keyed hashes, for the partner rules at checkout
        (`configure`); a call again with an identity adds its signals.
        """
        core = self._core
        partner_id = require_id("partner_id", partner_id)
        if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
            raise InvalidInput(
                f"name must be a non-empty string of at most {_MAX_NAME} characters",
                value=name,
                field="name",
            )
        kind = require_id("kind", kind)
        audience = _count("audience", audience)
        tags = _niches(niches)
        region = opt_name("region", region)
        payout_ref = opt_name("payout_ref", payout_ref)
        group = opt_name("group", group)
        try:
            state = PartnerState(state)
        except ValueError:
            raise InvalidInput(
                f"state is one of {[s.value for s in PartnerState]}", value=state, field="state"
            ) from None
        threshold = read_threshold(payout_threshold)
        hold_seconds = read_hold(hold)
        signals = core.signals(identity)
        now = core.now()
        with core.transaction() as uow:
            repo = self._repo(uow)
            if threshold is not None or hold_seconds is not None:
                repo = payout_repo(core, uow)  # a store that keeps them, or refused
            version = None if terms is None else self._terms(uow, terms, now)
            if group is not None and repo.get_group(group) is None:
                raise UnknownPartner(f"no partner group {group!r}", value=group)
            wanted = Partner(
                id=partner_id,
                name=name.strip(),
                kind=kind,
                state=state,
                created_at=now,
                account_referral=core.new_id(),
                audience=audience,
                niches=tags,
                region=region,
                payout_ref=payout_ref,
                terms_version=version,
                group=group,
                payout_threshold=threshold,
                hold_seconds=hold_seconds,
            )
            stored, created = repo.add(wanted)
            if signals:
                PARTNER_REVIEWS.repository(uow, store=core.store).add_signals(partner_id, signals)
            if not created:
                given = tuple(
                    name
                    for name, value in (
                        ("payout_threshold", threshold),
                        ("hold_seconds", hold_seconds),
                    )
                    if value is not None
                )
                _differs(stored, wanted, _PARTNER_FIELDS + given, partner_id)
                return stored
            account = self._account_code(uow, partner_id, now)
            uow.referrals.add(
                Referral(
                    id=stored.account_referral,
                    code=account.code,
                    referrer=partner_id,
                    referee=partner_id,
                    status=ReferralStatus.REJECTED,
                    reasons=ACCOUNT_REASONS,
                    attributed_at=now,
                    campaign=account.campaign,
                    policy_version=version or "partner",
                    channel="partner",
                )
            )
            repo.add_code(PartnerCode(account.code, partner_id))
            uow.events.add("partner.added", _payload(stored, name=stored.name), now)
            return stored

    def _account_code(self, uow: UnitOfWork, partner_id: str, now: datetime) -> ReferralCode:
        core = self._core
        for attempt in range(_CODE_ATTEMPTS):
            candidate = ReferralCode(
                code=generate_code(core.code_format, rng=core.rng),
                owner=partner_id,
                campaign=ACCOUNT_CAMPAIGN.format(partner_id),
                kind=CodeKind.GENERATED,
                created_at=now,
            )
            try:
                return uow.codes.add(candidate)
            except CodeTaken:
                if attempt == _CODE_ATTEMPTS - 1:  # pragma: no cover - 2^-500 odds
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, partner_id: str) -> Partner:
        """The partner with this id.

        Raises:
            UnknownPartner: no partner has it.
        """
        partner_id = require_id("partner_id", partner_id)
        with self._core.transaction() as uow:
            return self._partner(uow, partner_id)

    def set_state(self, partner_id: str, state: PartnerState | str) -> Partner:
        """Move a partner through onboarding (``partner.<state>``; no event if unchanged).

        Only an ``approved`` partner's codes earn at checkout; a ``banned`` partner's codes
        are disabled, not deleted: they stay the partner's, so nobody else can claim them,
        and every reward of theirs not paid yet goes to review (`review_queue`) in the
        same unit of work.
        """
        partner_id = require_id("partner_id", partner_id)
        try:
            state = PartnerState(state)
        except ValueError:
            raise InvalidInput(
                f"state is one of {[s.value for s in PartnerState]}", value=state, field="state"
            ) from None
        now = self._core.now()
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            was = self._partner(uow, partner_id)
            if repo.set_state(partner_id, state):
                moved = attrs.evolve(was, state=state)
                uow.events.add(f"partner.{state.value}", _payload(moved, was=was.state.value), now)
                if state is PartnerState.BANNED:
                    hold_unpaid(self._core, uow, moved, now)
                return moved
            return was

    def group(
        self,
        group_id: str,
        *,
        terms: RewardPolicy,
        hold: timedelta | None = None,
        payout_threshold: Money | None = None,
    ) -> PartnerGroup:
        """Create a partner group with ``terms``, or give an existing one new terms.

        Its members without terms of their own earn them from their next order on
        (``partner.group_terms``; orders attributed before keep the terms they had).
        ``hold`` and ``payout_threshold`` are those of members without their own
        (``partner.group_payout_terms``); left out, a group keeps what it has.
        """
        group_id = require_id("group_id", group_id)
        hold_seconds = read_hold(hold)
        threshold = read_threshold(payout_threshold)
        now = self._core.now()
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            if hold_seconds is not None or threshold is not None:
                repo = payout_repo(self._core, uow)  # a store that keeps them, or refused
            version = self._terms(uow, terms, now)
            wanted = PartnerGroup(group_id, version, now, hold_seconds, threshold)
            stored, created = repo.add_group(wanted)
            if created or stored.terms_version != version:
                if not created:
                    repo.set_group_terms(group_id, version)
                    stored = attrs.evolve(stored, terms_version=version)
                uow.events.add(
                    "partner.group_terms", {"group_id": group_id, "terms_version": version}, now
                )
            changed = created and (hold_seconds is not None or threshold is not None)
            if not created:
                hold_seconds = stored.hold_seconds if hold_seconds is None else hold_seconds
                threshold = stored.payout_threshold if threshold is None else threshold
                if (hold_seconds, threshold) != (stored.hold_seconds, stored.payout_threshold):
                    payout_repo(self._core, uow).set_group_payout_terms(
                        group_id, threshold, hold_seconds
                    )
                    stored = attrs.evolve(
                        stored, hold_seconds=hold_seconds, payout_threshold=threshold
                    )
                    changed = True
            if changed:
                uow.events.add(
                    "partner.group_payout_terms",
                    {"group_id": group_id, **_payout_terms(threshold, hold_seconds)},
                    now,
                )
            return stored

    def set_payout_terms(
        self,
        partner_id: str,
        *,
        payout_threshold: Money | None = None,
        hold: timedelta | None = None,
    ) -> Partner:
        """Give a partner their own payout threshold and hold (None: their group's).

        The hold applies to commissions and fees granted from now on (each reward's hold
        is decided when it is granted); the threshold to the next `pay`. No event when
        nothing changes (``partner.payout_terms`` otherwise).
        """
        partner_id = require_id("partner_id", partner_id)
        threshold = read_threshold(payout_threshold)
        hold_seconds = read_hold(hold)
        now = self._core.now()
        with self._core.transaction() as uow:
            repo = payout_repo(self._core, uow)
            partner = self._partner(uow, partner_id)
            if (partner.payout_threshold, partner.hold_seconds) == (threshold, hold_seconds):
                return partner
            repo.set_payout_terms(partner_id, threshold, hold_seconds)
            moved = attrs.evolve(partner, payout_threshold=threshold, hold_seconds=hold_seconds)
            uow.events.add(
                "partner.payout_terms",
                _payload(moved, **_payout_terms(threshold, hold_seconds)),
                now,
            )
            return moved

    def set_terms(self, partner_id: str, terms: RewardPolicy | None) -> Partner:
        """Give a partner new terms of their own (None: their group's) from their next order on.

        Orders attributed before keep the terms they had, refunds included
        (``partner.terms_changed`` with the new ``terms_version``; no event if unchanged).
        """
        partner_id = require_id("partner_id", partner_id)
        now = self._core.now()
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            partner = self._partner(uow, partner_id)
            version = None if terms is None else self._terms(uow, terms, now)
            if version == partner.terms_version:
                return partner
            repo.set_terms(partner_id, version, partner.group)
            changed = attrs.evolve(partner, terms_version=version)
            uow.events.add(
                "partner.terms_changed",
                _payload(changed, terms_version=version, was=partner.terms_version),
                now,
            )
            return changed

    def join_group(self, partner_id: str, group_id: str | None) -> Partner:
        """Put a partner in a group (None: in none); they keep terms of their own if any."""
        partner_id = require_id("partner_id", partner_id)
        group_id = opt_name("group_id", group_id)
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            partner = self._partner(uow, partner_id)
            if group_id is not None and repo.get_group(group_id) is None:
                raise UnknownPartner(f"no partner group {group_id!r}", value=group_id)
            repo.set_terms(partner_id, partner.terms_version, group_id)
            return attrs.evolve(partner, group=group_id)

    # -- codes ---------------------------------------------------------------------------

    def code(
        self, partner_id: str, *, vanity: str | None = None, post: str | None = None
    ) -> ReferralCode:
        """A code owned by the partner: their account code, a vanity code, or a post's code.

        Without ``vanity`` it is the partner's account code (generated, made when they were
        registered); with it, the vanity code (``ANNA10``, or ``ANNA-IG-0312`` for a post),
        the same one on every call. ``post`` (recorded first with `post`) attributes the
        code's orders to that post. Raises `InvalidCode` (reason ``taken``) when the vanity
        code is anyone else's, and `InvalidState` for a banned partner.
        """
        core = self._core
        partner_id = require_id("partner_id", partner_id)
        post = opt_name("post", post)
        wanted = None if vanity is None else validate_vanity(vanity)
        now = core.now()
        with core.transaction() as uow:
            repo = self._repo(uow)
            partner = self._partner(uow, partner_id)
            if partner.state is PartnerState.BANNED:
                raise InvalidState(
                    f"the partner {partner_id!r} is banned: they get no new codes",
                    value=partner_id,
                )
            if post is not None:
                stored_post = repo.get_post(post)
                if stored_post is None or stored_post.partner_id != partner_id:
                    raise UnknownPartner(f"{partner_id!r} has no post {post!r}", value=post)
            if wanted is None and post is None:
                account = ACCOUNT_CAMPAIGN.format(partner_id)
                return next(rc for rc in uow.codes.for_owner(partner_id) if rc.campaign == account)
            if wanted is None:
                raise InvalidInput(
                    "a post's code is a vanity code: give vanity=", value=None, field="vanity"
                )
            campaign = ACCOUNT_CAMPAIGN.format(partner_id) + f":{wanted}"
            candidate = ReferralCode(
                code=wanted,
                owner=partner_id,
                campaign=campaign,
                kind=CodeKind.VANITY,
                created_at=now,
            )
            try:
                stored = uow.codes.add(candidate)
            except CodeTaken:
                raise InvalidCode(
                    f"the code {wanted!r} is already taken", value=wanted, reason="taken"
                ) from None
            mapped = repo.add_code(PartnerCode(stored.code, partner_id, post))
            if mapped.post_id != post:
                raise IdempotencyConflict(
                    f"the code {stored.code!r} is for the post {mapped.post_id!r}, not {post!r}",
                    value=post,
                    field="post",
                )
            if stored is candidate:
                uow.events.add(
                    "partner.code_issued", _payload(partner, code=stored.code, post_id=post), now
                )
            return stored

    def codes(self, partner_id: str) -> list[ReferralCode]:
        """Every code the partner owns (the account code first), banned or not."""
        partner_id = require_id("partner_id", partner_id)
        with self._core.transaction() as uow:
            self._partner(uow, partner_id)
            return list(uow.codes.for_owner(partner_id))

    # -- posts and engagement ------------------------------------------------------------

    def post(
        self,
        partner_id: str,
        post_id: str,
        *,
        channel: str | None = None,
        cost: Money | None = None,
    ) -> PartnerPost:
        """Record a partner's post and its flat fee (``partner.post_recorded``).

        The fee is owed to the partner as a cash reward under their account (held like any
        reward, paid by `referralkit.ReferralProgram.payout`); the same call again records
        nothing more, so a fee recorded twice is one fee. Other values for a recorded post
        are an `IdempotencyConflict` naming the field.
        """
        core = self._core
        partner_id = require_id("partner_id", partner_id)
        post_id = require_id("post_id", post_id)
        channel = opt_name("channel", channel)
        if cost is not None:
            cost = require_money("cost", cost)
            if cost.amount < 0:
                raise InvalidInput("a post's cost cannot be negative", value=cost, field="cost")
            cost = cost.round()
        now = core.now()
        with core.transaction() as uow:
            repo = self._repo(uow)
            partner = self._partner(uow, partner_id)
            wanted = PartnerPost(post_id, partner_id, channel, now, cost)
            stored, created = repo.add_post(wanted)
            if not created:
                _differs(stored, wanted, ("partner_id", "channel", "cost"), post_id)
                return stored
            reward_id = None
            if cost is not None and not cost.is_zero():
                fee = Grant(
                    beneficiary=Beneficiary.REFERRER,
                    kind=RewardKind.CASH,
                    policy="partner.post_fee",
                    explanation=f"fee for the post {post_id}",
                    key=f"{PARTNER_KEY}{partner_id}:post:{post_id}",
                    amount=cost,
                    per_referrer=True,
                )
                view = account_view(partner, partner_id, "partner.post_fee", now)
                hold = hold_of(repo, partner)
                granted = store_grants(core, uow, [fee], view, None, now=now, hold=hold)
                if partner.state is PartnerState.BANNED:  # owed, but only once a person says so
                    hold_for_review(core, uow, partner, granted, reasons=(BANNED,), now=now)
                if granted:
                    reward_id = granted[0].id
                    repo.set_post_reward(post_id, reward_id)
                    stored = attrs.evolve(stored, reward_id=reward_id)
            uow.events.add(
                "partner.post_recorded",
                _payload(
                    partner,
                    post_id=post_id,
                    channel=channel,
                    cost=None if cost is None else cost.to_json(),
                    reward_id=reward_id,
                ),
                now,
            )
            return stored

    def engagement(
        self,
        post_id: str,
        *,
        as_of: datetime,
        impressions: int = 0,
        reach: int = 0,
        engagements: int = 0,
        likes: int = 0,
        comments: int = 0,
        shares: int = 0,
        saves: int = 0,
    ) -> PartnerEngagement:
        """Record what a post did as of ``as_of``; idempotent on (post, ``as_of``).

        Figures arrive repeatedly and late; reports read the latest ``as_of``
        (`latest_engagement`). The same (post, as-of) with other figures is an
        `IdempotencyConflict` naming the figure.
        """
        core = self._core
        post_id = require_id("post_id", post_id)
        as_of = require_aware("as_of", as_of)
        figures = {
            name: _count(name, value)
            for name, value in zip(
                _COUNTS,
                (impressions, reach, engagements, likes, comments, shares, saves),
                strict=True,
            )
        }
        now = core.now()
        if as_of > now:
            raise InvalidInput("as_of cannot be in the future", value=as_of, field="as_of")
        with core.transaction() as uow:
            repo = self._repo(uow)
            post = repo.get_post(post_id)
            if post is None:
                raise UnknownPartner(f"no partner post {post_id!r}", value=post_id)
            wanted = PartnerEngagement(post_id, as_of, now, **figures)
            stored, created = repo.add_engagement(wanted)
            if not created:
                _differs(stored, wanted, _COUNTS, f"{post_id} as of {as_of.isoformat()}")
                return stored
            uow.events.add(
                "partner.engagement_recorded",
                {"partner_id": post.partner_id, "post_id": post_id, "as_of": as_of.isoformat()}
                | figures,
                now,
            )
            return stored

    def latest_engagement(self, post_id: str) -> PartnerEngagement | None:
        """The post's figures with the latest as-of time (None before any report)."""
        post_id = require_id("post_id", post_id)
        with self._core.transaction() as uow:
            return self._repo(uow).engagement(post_id)

    def get_post(self, post_id: str) -> PartnerPost:
        """The post with this id (its fee's reward id included)."""
        post_id = require_id("post_id", post_id)
        with self._core.transaction() as uow:
            post = self._repo(uow).get_post(post_id)
            if post is None:
                raise UnknownPartner(f"no partner post {post_id!r}", value=post_id)
            return post

    # -- statements ----------------------------------------------------------------------

    def statement(
        self, partner_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> PartnerStatement:
        """The partner's statement over ``[since, until)``: orders, revenue, what they earned.

        Orders and revenue (net of refunds) are the orders placed with their codes in the
        window; commission, fees and their held / available / paid / clawed-back split are
        over what was granted in the window; ``payable`` is what is available less the
        clawbacks still owed. One line per currency; added up by the store (SQL on SQLite).
        """
        partner_id = require_id("partner_id", partner_id)
        since = opt_aware("since", since)
        until = opt_aware("until", until)
        if since is not None and until is not None and until <= since:
            raise InvalidInput("until must be after since", value=until, field="until")
        with self._core.transaction() as uow:
            self._partner(uow, partner_id)
            figures = self._repo(uow).figures(partner_id, since, until)
        from referralkit.metrics._partners import PartnerStatement  # noqa: PLC0415 - pydantic loads with the first statement

        return PartnerStatement.of(partner_id, since, until, figures)

    # -- payouts -------------------------------------------------------------------------

    def payable(
        self,
        *,
        currency: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> list[PartnerDue]:
        """Partners due a payout now, one `PartnerDue` per partner and currency, paged.

        What each is due is the statement's ``payable`` over all time (available less the
        clawbacks still owed); a partner is listed once that reaches their payout
        threshold (their own, else their group's; a threshold binds its own currency
        only). In (partner id, currency) order after ``after`` (a `PartnerDue.key`);
        added up by the store (SQL on SQLite), never by loading rewards.
        """
        return due(self._core, currency=currency, after=after, limit=limit)

    def verify(self, partner_id: str, *, ok: bool, reference: str | None = None) -> Partner:
        """Record the host's tax and identity decision on a partner (``partner.verification``).

        Only the yes/no and the host's ``reference`` (a KYC case id) are stored, never any
        document. `pay` with ``require_verification=True`` pays only verified partners.
        """
        return verify(self._core, partner_id, ok=ok, reference=reference)

    def pay(
        self,
        provider: PayoutProvider,
        *,
        payout_id: str,
        currency: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
        require_verification: bool = False,
        check: VerificationCheck | None = None,
    ) -> PayoutRun:
        """Pay the partners who are due through ``provider``, as one batch ``payout_id``.

        Takes the first ``limit`` lines of `payable` (after ``after``), nets what each
        partner owes against their rewards, pays the rest through the payout path
        (``payout.paid``, one payout per line) and sends the provider one line per
        partner and currency. Each line records the provider's reference
        (``partner.payout_sent``), or its failure, which returns the line's rewards to
        available (``partner.payout_failed``, ``reward.payout_failed``). A partner not
        verified (``check`` says no, or ``require_verification`` and no stored yes) is
        skipped with the reason (``partner.payout_skipped``); their rewards stay
        available. The same ``payout_id`` again sends only the lines the provider has
        not answered yet, under the same line ids, and returns the same run. A line's id
        is ``<payout_id>/<partner id>/<currency>``, so ``payout_id`` has no ``/``.
        """
        return pay(
            self._core,
            provider,
            payout_id=payout_id,
            currency=currency,
            after=after,
            limit=limit,
            require_verification=require_verification,
            check=check,
        )

    # -- fraud signals and review ----------------------------------------------------------

    def configure(
        self,
        *,
        own_code: OwnCode | _Unset | None = _UNSET,
        leaked_code: LeakedCode | _Unset | None = _UNSET,
    ) -> None:
        """Set the partner rules run on every order with a partner's code (None: off).

        ``own_code`` (`referralkit.guards.OwnCode`): the buyer shares a signal with the
        partner. ``leaked_code`` (`referralkit.guards.LeakedCode`): more than ``limit``
        orders with no click on the partner's links within ``window``. Both are on by
        default; an argument left out keeps its rule as it is.
        """
        rules = self._rules
        if not isinstance(own_code, _Unset):
            if own_code is not None and not isinstance(own_code, OwnCode):
                raise ConfigError(
                    "own_code must be an OwnCode or None", value=own_code, path="own_code"
                )
            rules = attrs.evolve(rules, own_code=own_code)
        if not isinstance(leaked_code, _Unset):
            if leaked_code is not None and not isinstance(leaked_code, LeakedCode):
                raise ConfigError(
                    "leaked_code must be a LeakedCode or None",
                    value=leaked_code,
                    path="leaked_code",
                )
            rules = attrs.evolve(rules, leaked_code=leaked_code)
        self._rules = rules

    @property
    def rules(self) -> PartnerRules:
        """The partner rules in force (`configure` sets them)."""
        return self._rules

    def screen(self, identity: Identity | None, visitor: str | None) -> Screen:
        """The partner rules for one checkout (`referralkit.ReferralProgram.convert`)."""
        return Screen(self._core, self._rules, identity, visitor)

    def review_queue(
        self,
        limit: int = 50,
        *,
        after: str | None = None,
        partner: str | None = None,
        reason: str | None = None,
    ) -> list[PartnerReview]:
        """Partner rewards waiting for an operator, oldest first; ``after`` a review id.

        Filter by ``partner`` id or by ``reason`` (``partner.own_code``,
        ``partner.leaked_code``, ``partner.banned``). A reward in review is held: it is
        never released, paid or payable until `approve` or `reject`.
        """
        return review_queue(self._core, limit, after=after, partner=partner, reason=reason)

    def approve(self, review_id: str) -> Reward | None:
        """Let a reward in review earn as it would have (``partner.review_approved``).

        It is held out its hold counted from when it was earned, or available now if
        that has passed. Raises `InvalidState` for a review decided already.
        """
        return decide_review(self._core, review_id, approve=True)

    def reject(self, review_id: str, reason: str = "review.rejected") -> Reward | None:
        """Take a reward in review back (``partner.review_rejected``, ``reward.reversed``)."""
        reason = require_id("reason", reason)
        return decide_review(self._core, review_id, approve=False, note=reason)

    def approve_order(self, order_id: str) -> list[Reward]:
        """`approve` every partner reward of the order in review; the rewards after."""
        return decide_order(self._core, order_id, approve=True)

    def reject_order(self, order_id: str, reason: str = "review.rejected") -> list[Reward]:
        """`reject` every partner reward of the order in review; the rewards after."""
        reason = require_id("reason", reason)
        return decide_order(self._core, order_id, approve=False, note=reason)

    @staticmethod
    def explain(review: PartnerReview) -> list[str]:
        """A review's reasons in words."""
        if not isinstance(review, PartnerReview):
            raise InvalidInput("review must be a PartnerReview", value=review, field="review")
        return explain(review)

    # -- bounties ------------------------------------------------------------------------

    def submit(
        self, partner_id: str, submission_id: str, *, url: str, fee: Money
    ) -> PartnerSubmission:
        """Send in a partner's post for a bounty of ``fee``: pending until an operator decides.

        Idempotent on ``submission_id`` (other values are an `IdempotencyConflict` naming
        the field); a bad ``url`` or ``fee`` is `InvalidInput` naming it; a banned partner
        earns no bounties (`InvalidState`).
        """
        return self._bounties.submit(partner_id, submission_id, url=url, fee=fee)

    def approve_submission(self, submission_id: str) -> PartnerSubmission:
        """Approve a pending submission: its fee is owed to the partner (a cash reward), once."""
        return self._bounties.approve(submission_id)

    def reject_submission(
        self, submission_id: str, *, reason: str | None = None
    ) -> PartnerSubmission:
        """Reject a pending submission with the operator's ``reason``: nothing is owed."""
        return self._bounties.reject(submission_id, reason=reason)

    def submission(self, submission_id: str) -> PartnerSubmission:
        """The bounty submission with this id (`UnknownPartner` when there is none)."""
        return self._bounties.get(submission_id)

    # -- scorecard -----------------------------------------------------------------------

    def scorecard(
        self,
        candidates: Sequence[Candidate] = (),
        *,
        niches: Sequence[str] = (),
        regions: Sequence[str] = (),
        currency: str = "USD",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Scorecard:
        """Rank the partners and ``candidates`` by expected cost per acquisition.

        ``niches`` and ``regions`` are the shop's (a partner outside them fits less); the
        partners' history is their figures over ``[since, until)``. The formula and its
        inputs: `referralkit.metrics.Scorecard` (module ``referralkit.metrics._scorecard``).
        """
        from referralkit.metrics._attribution import metrics_source  # noqa: PLC0415 - pydantic loads with the first scorecard
        from referralkit.metrics._programme_facts import programme_view  # noqa: PLC0415 - as above
        from referralkit.metrics._programmes import compare_programmes  # noqa: PLC0415 - as above
        from referralkit.metrics._report import check_window  # noqa: PLC0415 - as above
        from referralkit.metrics._scorecard import score_partners  # noqa: PLC0415 - as above

        window = check_window(since, until)
        with metrics_source(self._core.store).snapshot() as view:
            source = programme_view(view)
            if source is None:
                raise ConfigError(
                    "this store cannot compare programmes (its metrics view has no"
                    " programme_facts): the scorecard needs the partners' history",
                    value=type(self._core.store).__name__,
                    path="store",
                )
            comparison = compare_programmes(source.programme_facts(window))
        return score_partners(
            comparison, candidates, currency=currency, niches=niches, regions=regions
        )
