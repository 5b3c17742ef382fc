"""Partner commissions: a partner's code typed at checkout, and what the order earns them.

A code typed at checkout attributes that one order to the partner who owns it, whoever
referred the buyer (or nobody did), and grants the partner's commission under the
partner's terms (their own, else their group's), evaluated by the policy machinery on
the order. The customer is not moved to the partner: customer-level referrals stay as
they are, and `Precedence` says what a friend's referral earns on that order.

Commissions and fees are rewards like any other (held, released, paid through
`referralkit.ReferralProgram.payout`, clawed back), written under the partner's account
referral with keys that start ``partner:`` so a refund reprices them under the partner's
terms, not the referral's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from referralkit.context import Grant
from referralkit.errors import (
    ConfigError,
    CurrencyMismatch,
    IdempotencyConflict,
    InvalidCode,
    PartnerCodeRefused,
    UnknownCode,
)
from referralkit.model import (
    Conversion,
    Partner,
    PartnerCode,
    PartnerOrder,
    Referral,
    ReferralStatus,
    Reward,
)
from referralkit.money import Money
from referralkit.program._conversions import qualify, reward_context, store_grants
from referralkit.program._core import ProgramCore
from referralkit.program._partner_store import PARTNERS, PartnerRepository, refusal
from referralkit.protocols import RewardPolicy, UnitOfWork

__all__ = [
    "ACCOUNT_CAMPAIGN",
    "PARTNER_KEY",
    "Checkout",
    "Precedence",
    "account_view",
    "commission_grants",
    "hold_of",
    "is_partner_reward",
    "terms_policy",
    "terms_version_of",
]

#: Every partner reward's policy key starts with this (after the order scope).
PARTNER_KEY = "partner:"
#: The campaign label of a partner's codes: ``partner:<id>`` (and ``:<post>`` / ``:<code>``).
ACCOUNT_CAMPAIGN = "partner:{}"
#: What holds a checkout's partner rewards for review when a partner rule fires (the
#: partner rules of `referralkit.program._partner_review`): the rewards as they are after.
Review = Callable[[UnitOfWork, Partner, PartnerOrder, list[Reward], datetime], list[Reward]]


class Precedence(str, enum.Enum):
    """Who an order with a partner's code earns for, when a friend referred the buyer.

    ``both`` (the default): the partner earns their commission on the order and the
    friend's referral earns what it would have. ``partner``: only the partner earns on
    that order. ``referral``: the friend's referral keeps the order and the code earns
    nothing. Without a friend's referral the partner earns in every case; on a buyer the
    partner referred, the partner earns once, under their partner terms.
    """

    BOTH = "both"
    PARTNER = "partner"
    REFERRAL = "referral"


def is_partner_reward(reward: Reward, order_id: str | None) -> bool:
    """Whether ``reward`` is a partner's commission on ``order_id`` (or a partner's fee)."""
    key = reward.key if order_id is None else reward.key.removeprefix(f"{order_id}:")
    return key.startswith(PARTNER_KEY)


def terms_version_of(repo: PartnerRepository, partner: Partner) -> str | None:
    """The version of the terms the partner earns now: their own, else their group's."""
    if partner.terms_version is not None:
        return partner.terms_version
    if partner.group is None:
        return None
    group = repo.get_group(partner.group)
    return None if group is None else group.terms_version


def hold_of(repo: PartnerRepository, partner: Partner) -> timedelta | None:
    """A partner's hold on new rewards: their own, else their group's (None: the program's)."""
    if partner.hold is not None or partner.group is None:
        return partner.hold
    group = repo.get_group(partner.group)
    return None if group is None else group.hold


def terms_policy(core: ProgramCore, uow: UnitOfWork, version: str) -> RewardPolicy:
    """The policy stored (or known) under ``version``."""
    policy = core.policy_for(version) or core.restore_policy(uow, version)
    if policy is None:
        raise ConfigError(
            f"the partner terms {version!r} are not known to this program: register the"
            " partner's terms here, or describe them as configuration",
            value=version,
            path="terms",
        )
    return policy


def account_view(partner: Partner, customer: str, version: str, at: datetime) -> Referral:
    """The partner's account referral as a policy sees it for one buyer's order."""
    return Referral(
        id=partner.account_referral,
        code=partner.id,
        referrer=partner.id,
        referee=customer,
        status=ReferralStatus.QUALIFIED,
        reasons=(),
        attributed_at=at,
        campaign=ACCOUNT_CAMPAIGN.format(partner.id),
        policy_version=version,
        channel="checkout",
    )


def commission_grants(
    core: ProgramCore,
    uow: UnitOfWork,
    partner: Partner,
    order: PartnerOrder,
    conversion: Conversion,
    *,
    now: datetime,
    exclude_order: str | None = None,
) -> tuple[Referral, list[Grant]]:
    """What ``conversion`` earns under the terms the order was attributed with.

    The policy sees the partner's account as a referral attributed when the partner's
    first checkout order from this buyer was, so ``Recurring(within=...)`` pays on the
    buyer's repeat orders with the partner's code for that long after.
    """
    policy = terms_policy(core, uow, order.terms_version)
    # The partner brought this customer at their first order with the partner's code:
    # `Recurring(within=...)` counts from then.
    repo = PARTNERS.repository(uow, store=core.store)
    since = repo.first_attributed(partner.id, conversion.referee) or order.attributed_at
    view = account_view(partner, conversion.referee, order.terms_version, since)
    if conversion.amount.amount <= 0:
        return view, []
    context = reward_context(
        core, uow, policy, view, conversion, now=now, exclude_order=exclude_order
    )
    grants = [
        attrs.evolve(
            g,
            key=f"{PARTNER_KEY}{partner.id}:{g.key}",
            per_referrer=False,
            explanation=f"partner {partner.id}, code {order.code}: {g.explanation}",
        )
        for g in policy.evaluate(context)
    ]
    return view, grants


@attrs.frozen(slots=True)
class _Resolved:
    partner: Partner
    code: PartnerCode
    terms_version: str


#: What an order of a buyer a partner referred, placed while the partner is not approved,
#: earns: nothing, for the partner or under the customer terms.
_NOTHING = object()


class Checkout:
    """A code typed at checkout (or none), for `referralkit.program._conversions.convert`.

    Without a typed code, an order of a buyer a partner referred at sign-up earns the
    partner their commission as if their code had been typed.
    """

    def __init__(
        self,
        core: ProgramCore,
        code: object,
        precedence: Precedence,
        review: Review | None = None,
    ) -> None:
        self._core = core
        self._text = code
        self._precedence = precedence
        self._review = review

    def _repo(self, uow: UnitOfWork) -> PartnerRepository:
        return PARTNERS.repository(uow, store=self._core.store)

    def resolve(self, uow: UnitOfWork, amount: Money, referral: Referral | None) -> object:
        """The partner the code names; refused before anything is written.

        Raises `CurrencyMismatch` when the partner's terms pay in other currencies only.
        """
        if self._text is None:
            return self._referred(uow, amount, referral)
        repo = self._repo(uow)  # a store without partners says so first
        text = self._text
        if not isinstance(text, str) or not text.strip():
            raise PartnerCodeRefused(
                "code must be the text of a partner's code", value=text, reason="invalid"
            )
        try:
            rc = self._core.find_code(uow, text)
        except UnknownCode as e:
            raise PartnerCodeRefused(
                f"no partner owns the code {text!r} given at checkout (code)",
                value=text,
                reason="unknown",
            ) from e
        except InvalidCode as e:
            raise PartnerCodeRefused(
                f"{text!r} given at checkout (code) is not a code", value=text, reason="invalid"
            ) from e
        mapped = repo.code(rc.code)
        partner = None if mapped is None else repo.get(mapped.partner_id)
        if mapped is None or partner is None:
            raise PartnerCodeRefused(
                f"the code {rc.code!r} given at checkout (code) is a customer's referral"
                " code, not a partner's: attribute it at sign-up instead",
                value=rc.code,
                reason="not_partner",
            )
        refused = refusal(partner.state)
        if refused is not None:
            raise PartnerCodeRefused(
                f"the code {rc.code!r} given at checkout (code) {refused[1]}",
                value=rc.code,
                reason=refused[0],
            )
        version = terms_version_of(repo, partner)
        if version is None:
            raise ConfigError(
                f"the partner {partner.id!r} has no commission terms: give them terms="
                " or put them in a group with terms",
                value=partner.id,
                path="terms",
            )
        return self._covered(uow, _Resolved(partner, mapped, version), amount)

    def _covered(self, uow: UnitOfWork, resolved: _Resolved, amount: Money) -> _Resolved:
        policy = terms_policy(self._core, uow, resolved.terms_version)
        covers = getattr(policy, "currencies", None)
        if covers is not None and amount.currency not in covers:
            raise CurrencyMismatch(
                f"the partner {resolved.partner.id!r}'s terms ({policy.name}) pay in"
                f" {sorted(covers)}, not {amount.currency}: give them terms in {amount.currency}",
                value=amount.currency,
            )
        return resolved

    def _referred(self, uow: UnitOfWork, amount: Money, referral: Referral | None) -> object:
        """The partner who referred the buyer at sign-up, if one did (no code typed).

        None leaves the order to the customer terms: no partner referred the buyer, or the
        partner has no commission terms (they earn the customer terms, as before terms).
        """
        if (
            referral is None
            or not referral.campaign.startswith(PARTNER_KEY)
            or PARTNERS.missing(uow)
        ):
            return None
        repo = self._repo(uow)
        mapped = repo.code(referral.code)
        partner = None if mapped is None else repo.get(mapped.partner_id)
        if mapped is None or partner is None or partner.id != referral.referrer:
            return None
        if refusal(partner.state) is not None:
            return _NOTHING
        version = terms_version_of(repo, partner)
        if version is None:
            return None
        return self._covered(uow, _Resolved(partner, mapped, version), amount)

    def replay(self, uow: UnitOfWork, order_id: str) -> None:
        """Refuse a retried order that names another code than it was attributed with."""
        if self._text is None:
            return
        stored = self._repo(uow).order(order_id)
        if stored is None:
            return
        try:
            typed = self._core.find_code(uow, self._text).code
        except (InvalidCode, UnknownCode):
            typed = str(self._text)
        if typed != stored.code:
            raise IdempotencyConflict(
                f"order {order_id!r} was recorded with the code {stored.code!r}, not {typed!r}",
                value=typed,
                field="code",
            )

    def grant(
        self,
        uow: UnitOfWork,
        resolved: object,
        conversion: Conversion,
        referral: Referral | None,
        now: datetime,
    ) -> tuple[bool, list[Reward]]:
        """Attribute the order and grant the commission; and whether the referral still earns."""
        if not isinstance(resolved, _Resolved):  # no partner (None), or one not approved
            return resolved is None, []
        partner = resolved.partner
        friend = referral is not None and referral.referrer != partner.id
        if friend and self._precedence is Precedence.REFERRAL:
            return True, []
        order = PartnerOrder(
            order_id=conversion.order_id,
            partner_id=partner.id,
            code=resolved.code.code,
            customer_id=conversion.referee,
            terms_version=resolved.terms_version,
            attributed_at=now,
            post_id=resolved.code.post_id,
        )
        stored, created = self._repo(uow).attribute(order)
        if not created:  # pragma: no cover - the conversion row decided the race first
            return True, []
        uow.events.add(
            "partner.order_attributed",
            {
                "partner_id": partner.id,
                "order_id": order.order_id,
                "code": order.code,
                "post_id": order.post_id,
                "customer_id": order.customer_id,
                "amount": conversion.amount.to_json(),
                "referral_id": None if referral is None else referral.id,
                "precedence": self._precedence.value,
            },
            now,
        )
        view, grants = commission_grants(self._core, uow, partner, stored, conversion, now=now)
        hold = hold_of(self._repo(uow), partner)
        rewards = store_grants(self._core, uow, grants, view, conversion, now=now, hold=hold)
        if self._review is not None and self._text is not None:  # a code typed, not a referral
            rewards = self._review(uow, partner, stored, rewards, now)
        if referral is None:
            return False, rewards
        if not friend:
            # The partner referred this buyer: they earn once, under their partner terms.
            if conversion.amount.amount > 0 and referral.status is not ReferralStatus.REVIEW:
                qualify(uow, referral, conversion.order_id, now)
            return False, rewards
        return self._precedence is Precedence.BOTH, rewards
