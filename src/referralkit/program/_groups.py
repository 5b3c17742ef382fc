"""Group-buys: friends join a customer's group through its code; a full group rewards all.

- A group's code is a generated code of the program's format (check character, forgiving
  input), its link a signed program link, shared with `Groups.share`.
- Joining is an attribution to the initiator: a member without a referral is referred by
  the initiator through the initiator's code in the group's campaign, judged by the
  guards; a member already referred by the initiator keeps that referral; a member
  referred by someone else is refused (``group.already_referred``: a customer belongs to
  the referrer who brought them). Signals shared with any member already in the group
  are refused (``self_referral.<signal>``), and so are existing customers unless the
  group allows them (``group.existing_customer``).
- The join that takes the last place completes the group, in its own unit of work: every
  member's reward is granted there, with ``group.completed``. The store decides who takes
  a place (`GroupRepository.take_place`), so completion happens exactly once.
- `Groups.expire_due` ends groups past their deadline (``group.expired``; nothing granted),
  safe on any number of workers at once: each close is conditional on the group being open.
- A member's group reward hangs off their referral (the initiator's off the first
  friend's, as the referrer); it has no order, so refunds never reprice it:
  `Groups.refund` reverses it (or claws it back once paid), like any reward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from referralkit._validate import opt_aware, opt_name, require_aware, require_channels, require_id
from referralkit.codes import generate_code, normalize_code
from referralkit.context import Decision, RewardContext
from referralkit.errors import (
    ConfigError,
    GroupClosed,
    IdempotencyConflict,
    InvalidInput,
    InvalidState,
    UnknownGroup,
)
from referralkit.links import SHARE_CHANNELS, build_link, share_links
from referralkit.metrics._groups import GroupFacts
from referralkit.model import (
    Beneficiary,
    Conversion,
    Group,
    GroupState,
    Identity,
    Membership,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
)
from referralkit.money import Money
from referralkit.policies import policy_definition, policy_version
from referralkit.program._attribution import judge, record_referral
from referralkit.program._conversions import grant_signup, store_grants
from referralkit.program._core import ProgramCore
from referralkit.program._enrolment import enroll
from referralkit.program._group_store import GROUPS, GroupRepository
from referralkit.program._refunds import shrink_to
from referralkit.protocols import RewardPolicy, UnitOfWork
from referralkit.storage import CodeTaken

__all__ = ["Groups"]

_CODE_ATTEMPTS = 16
_MAX_SIZE = 1000
_CHANNEL = "group"


def _payload(group: Group, **more: object) -> dict[str, object]:
    """What a group's events carry: enough for a message, no personal data."""
    return {
        "group_id": group.id,
        "code": group.code,
        "initiator": group.initiator,
        "campaign": group.campaign,
        "size": group.size,
        "filled": group.filled,
        "places_left": group.places_left,
        "deadline": group.deadline.isoformat(),
        **more,
    }


def _refuse_closed(group: Group, now: datetime) -> None:
    """Raise `GroupClosed` unless ``group`` can take a member at ``now``."""
    if group.state is not GroupState.OPEN:
        reason = group.state.value
    elif group.deadline <= now:
        reason = "expired"
    elif group.filled >= group.size:
        reason = "full"
    else:
        return
    raise GroupClosed(
        f"the group {group.code!r} cannot be joined: it is {reason}",
        value=group.code,
        reason=reason,
    )


class Groups:
    """`referralkit.ReferralProgram.groups`: start, join, complete, expire and cancel groups."""

    def __init__(self, core: ProgramCore) -> None:
        self._core = core
        self._policies: dict[str, RewardPolicy] = {}

    def _repo(self, uow: UnitOfWork) -> GroupRepository:
        return GROUPS.repository(uow, store=self._core.store)

    # -- starting ------------------------------------------------------------------------

    def start(
        self,
        initiator: str,
        *,
        size: int,
        deadline: datetime,
        reward: RewardPolicy,
        campaign: str | None = None,
        identity: Identity | None = None,
        new_customers_only: bool = True,
        policy_version: str | None = None,
        group_id: str | None = None,
    ) -> Group:
        """Start a group of ``size`` members (the initiator included) open until ``deadline``.

        ``reward`` is what completing earns each member (the initiator too), evaluated on
        the member's attached order if any (else on an order of nothing): a group price
        as ``Fixed(Money(...), kind="credit")`` per member, a coupon, points, or any
        policy. Its terms are stored, so any worker completes the group on them; a policy
        that cannot be described as configuration must be named (``policy_version``).
        ``new_customers_only`` refuses existing customers. ``group_id`` makes a retried
        call return the group it started.
        """
        core = self._core
        initiator = require_id("initiator", initiator)
        if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= _MAX_SIZE:  # noqa: PLR2004 - a group is two at least
            raise InvalidInput(
                f"size must be an int from 2 to {_MAX_SIZE}", value=size, field="size"
            )
        deadline = require_aware("deadline", deadline)
        if not isinstance(reward, RewardPolicy):
            raise InvalidInput("reward must be a reward policy", value=reward, field="reward")
        group_id = require_id("group_id", group_id) if group_id is not None else core.new_id()
        version, definition = self._terms(reward, opt_name("policy_version", policy_version))
        now = core.now()
        if deadline <= now:
            raise InvalidInput(
                "the deadline must be in the future", value=deadline, field="deadline"
            )
        code = enroll(
            core,
            initiator,
            identity=identity,
            campaign=campaign,
            vanity=None,
            expires_at=None,
            max_uses=None,
        )
        with core.transaction() as uow:
            repo = self._repo(uow)
            stored = uow.terms.add(version, definition, now)
            if stored != definition:
                raise ConfigError(
                    f"the policy version {version!r} is stored with other terms: name the"
                    " group's reward with a new version",
                    value=version,
                    path="policy_version",
                )
            for attempt in range(_CODE_ATTEMPTS):
                candidate = Group(
                    id=group_id,
                    code=generate_code(core.code_format, rng=core.rng),
                    initiator=initiator,
                    campaign=code.campaign,
                    size=size,
                    state=GroupState.OPEN,
                    created_at=now,
                    deadline=deadline,
                    policy_version=version,
                    new_customers_only=bool(new_customers_only),
                )
                try:
                    group, created = repo.add(candidate)
                except CodeTaken:
                    if attempt == _CODE_ATTEMPTS - 1:  # pragma: no cover - 2^-500 odds
                        raise
                    continue
                if not created:
                    if (group.initiator, group.size, group.deadline) != (
                        initiator,
                        size,
                        deadline,
                    ):
                        raise IdempotencyConflict(
                            f"group {group_id!r} was started by {group.initiator!r} for"
                            f" {group.size} members until {group.deadline.isoformat()}",
                            value=group_id,
                            field="group_id",
                        )
                    return group
                uow.events.add("group.started", _payload(group), now)
                return group
        raise AssertionError("unreachable")  # pragma: no cover

    def _terms(self, reward: RewardPolicy, named: str | None) -> tuple[str, str]:
        definition = policy_definition(reward)
        if definition is None:
            if named is None:
                raise ConfigError(
                    f"the group reward ({reward.name}) cannot be described as configuration:"
                    " name it (policy_version='...')",
                    value=reward,
                    path="policy_version",
                )
            definition = f'{{"undescribed":"{reward.name}"}}'
        version = named or policy_version(reward)
        self._policies[version] = reward
        return version, definition

    # -- reading -------------------------------------------------------------------------

    def _code(self, text: str) -> str:
        if not isinstance(text, str):
            raise InvalidInput("a group code is a string", value=text, field="code")
        if "://" in text:
            return self._core.parse_link(text).code
        return normalize_code(text, self._core.code_format)

    def _find(self, uow: UnitOfWork, text: str) -> Group:
        code = self._code(text)
        group = self._repo(uow).by_code(code)
        if group is None:
            raise UnknownGroup(f"no group has the code {code!r}", value=code)
        return group

    def get(self, code: str) -> Group:
        """The group with this code (typed or its link), its members in join order."""
        with self._core.transaction() as uow:
            return self._find(uow, code)

    def members(self, code: str) -> list[Membership]:
        """Every place in the group, in join order (the initiator's first)."""
        with self._core.transaction() as uow:
            return self._repo(uow).memberships(self._find(uow, code).id)

    def link(self, code: str, *, channel: str | None = None) -> str:
        """The group's signed link (it expires with the group)."""
        core = self._core
        group = self.get(code)
        campaign = core.stored_campaign(group.campaign)
        base = campaign.link_base or core.link_base
        if base is None:
            raise ConfigError("set link_base on the program to build links", path="link_base")
        return build_link(
            base,
            group.code,
            secret=core.link_key if core.sign_links else None,
            channel=opt_name("channel", channel),
            campaign=group.campaign,
            expires_at=group.deadline,
        )

    def share(
        self, code: str, message: str, *, channels: Sequence[str] | None = None
    ) -> dict[str, str]:
        """Channel -> share URL carrying the group's link for that channel."""
        if not isinstance(message, str):
            raise InvalidInput("message must be a string", value=message, field="message")
        wanted = (
            list(SHARE_CHANNELS) if channels is None else require_channels(channels, SHARE_CHANNELS)
        )
        return {
            c: share_links(self.link(code, channel=c), message)[c] for c in dict.fromkeys(wanted)
        }

    # -- joining -------------------------------------------------------------------------

    def join(
        self,
        code: str,
        member: str,
        *,
        identity: Identity | None = None,
        existing_customer: bool = False,
        order_id: str | None = None,
    ) -> Membership:
        """Join the group ``code`` (typed, or its link) as ``member``.

        Returns the member's place (the same one again on a retry), or a refused
        `Membership` (``accepted`` False, ``reasons`` why) when a rule says no. The join
        that takes the last place completes the group and grants every member's reward.

        Raises:
            GroupClosed: the group is full, expired, completed or cancelled.
            UnknownGroup: no group has the code.
        """
        core = self._core
        member = require_id("member", member)
        order_id = opt_name("order_id", order_id)
        now = core.now()
        signals = core.signals(identity)
        with core.transaction() as uow:
            repo = self._repo(uow)
            group = self._find(uow, code)
            held = repo.membership(group.id, member)
            if held is not None:
                return self._attach(uow, group, held, order_id)
            _refuse_closed(group, now)
            if signals:
                uow.identities.add(member, signals)
            standing = uow.referrals.active_for_referee(member)
            existing = bool(existing_customer) or uow.conversions.count_for_referee(member) > 0
            reasons = self._rules(
                uow,
                group,
                signals=signals,
                identity=identity,
                standing=standing,
                existing=existing,
            )
            if reasons:
                return self._refused(uow, group, member, reasons, now)
            referral = standing
            if referral is None:
                referral = self._refer(
                    uow,
                    group,
                    member,
                    signals=signals,
                    identity=identity,
                    existing=existing,
                    now=now,
                )
                if referral.status is not ReferralStatus.PENDING:
                    return self._refused(uow, group, member, referral.reasons, now)
            place = Membership(
                group_id=group.id,
                member=member,
                joined_at=now,
                referral_id=referral.id,
                new_customer=standing is None and not existing,
            )
            if not repo.add_member(place):  # another worker placed them meanwhile: theirs
                raced = repo.membership(group.id, member)
                assert raced is not None  # noqa: S101 - the store just said it exists
                return self._attach(uow, group, raced, order_id)
            taken = repo.take_place(group.id, member, now)
            if taken is None:
                # Another worker took the last place, or the deadline passed: undo it all.
                _refuse_closed(repo.get(group.id) or group, now)
                raise GroupClosed(
                    f"the group {group.code!r} is full", value=group.code, reason="full"
                )
            uow.events.add("group.joined", _payload(taken, member=member), now)
            if taken.state is GroupState.COMPLETED:
                self._complete(uow, taken, now)
            return self._attach(uow, taken, place, order_id)

    def _rules(
        self,
        uow: UnitOfWork,
        group: Group,
        *,
        signals: frozenset[tuple[str, str]],
        identity: Identity | None,
        standing: Referral | None,
        existing: bool,
    ) -> tuple[str, ...]:
        """The group's own rules, before the guards: the reasons to refuse, if any."""
        if standing is not None and standing.referrer != group.initiator:
            return ("group.already_referred",)
        if existing and group.new_customers_only:
            return ("group.existing_customer",)
        mine = self._core.match_signals(identity, signals)
        shared = sorted(
            {
                kind
                for m in group.members
                for kind, digest in uow.identities.signals(m)
                if (kind, digest) in mine
            }
        )
        return tuple(f"self_referral.{kind}" for kind in shared)

    def _refer(
        self,
        uow: UnitOfWork,
        group: Group,
        member: str,
        *,
        signals: frozenset[tuple[str, str]],
        identity: Identity | None,
        existing: bool,
        now: datetime,
    ) -> Referral:
        """Attribute a new member to the initiator, judged by the guards; the stored referral."""
        core = self._core
        rc = self._initiator_code(uow, group)
        verdict = judge(
            core,
            uow,
            rc,
            referee=member,
            signals=signals,
            identity=identity,
            existing_customer=existing,
            referred_by=None,
            now=now,
            channel=_CHANNEL,
        )
        referral = record_referral(
            core,
            uow,
            rc,
            referee=member,
            verdict=verdict,
            campaign=group.campaign,
            policy_version=core.terms_of(core.stored_campaign(group.campaign))[1],
            channel=_CHANNEL,
            now=now,
            taken="group.already_referred",
            details={"group_id": group.id},
        )
        if verdict.decision is Decision.ALLOW:
            grant_signup(core, uow, referral, now)
        return referral

    @staticmethod
    def _initiator_code(uow: UnitOfWork, group: Group) -> ReferralCode:
        for rc in uow.codes.for_owner(group.initiator):
            if rc.campaign == group.campaign:
                return rc
        raise InvalidState(  # pragma: no cover - enrolled when the group started
            f"{group.initiator!r} has no code in the campaign {group.campaign!r}",
            value=group.initiator,
        )

    @staticmethod
    def _refused(
        uow: UnitOfWork, group: Group, member: str, reasons: tuple[str, ...], now: datetime
    ) -> Membership:
        uow.events.add(
            "group.join_refused", _payload(group, member=member, reasons=list(reasons)), now
        )
        return Membership(group.id, member, now, accepted=False, reasons=reasons)

    def _attach(
        self, uow: UnitOfWork, group: Group, place: Membership, order_id: str | None
    ) -> Membership:
        if order_id is None or place.order_id == order_id:
            return place
        stored = self._repo(uow).attach_order(group.id, place.member, order_id)
        if stored is None or stored.order_id != order_id:
            raise IdempotencyConflict(
                f"{place.member!r}'s place in {group.code!r} has the order"
                f" {place.order_id!r}, or the order {order_id!r} is another place's",
                value=order_id,
                field="order_id",
            )
        return stored

    def attach_order(self, code: str, member: str, order_id: str) -> Membership:
        """Attach the member's order to their place (once; idempotent on ``order_id``).

        The reward of a group completing later is evaluated on that order.
        """
        member = require_id("member", member)
        order_id = require_id("order_id", order_id)
        with self._core.transaction() as uow:
            group = self._find(uow, code)
            place = self._repo(uow).membership(group.id, member)
            if place is None:
                raise InvalidState(
                    f"{member!r} holds no place in the group {group.code!r}", value=member
                )
            return self._attach(uow, group, place, order_id)

    # -- completing ----------------------------------------------------------------------

    def _policy(self, uow: UnitOfWork, version: str) -> RewardPolicy:
        core = self._core
        policy = self._policies.get(version) or core.policy_for(version)
        policy = policy or core.restore_policy(uow, version)
        if policy is None:
            raise ConfigError(
                f"the group's reward {version!r} is not known to this program: start a group"
                " with it here, or describe it as configuration",
                value=version,
                path="policy_version",
            )
        return policy

    def _complete(self, uow: UnitOfWork, group: Group, now: datetime) -> list[Reward]:
        """Grant every member's reward, in the unit of work that took the last place."""
        policy = self._policy(uow, group.policy_version)
        places = self._repo(uow).memberships(group.id)
        anchor = next(p.referral_id for p in places if p.referral_id is not None)
        needs = self._core.needs_of(group.policy_version, policy)
        value = getattr(policy, "value", None)  # a Fixed reward names its currency
        currency = value.currency if isinstance(value, Money) else "USD"
        rewards: list[Reward] = []
        for place in places:
            referral = uow.referrals.get(place.referral_id or anchor)
            assert referral is not None  # noqa: S101 - the store keeps referrals (a foreign key)
            side = Beneficiary.REFERRER if place.member == group.initiator else Beneficiary.REFEREE
            context = self._context(uow, group, referral, place, reads=(needs, currency), now=now)
            grants = [
                attrs.evolve(
                    g,
                    beneficiary=side,
                    key=f"group:{group.id}:{g.key}",
                    per_referrer=True,
                    explanation=f"group {group.code} filled: {g.explanation}",
                )
                for g in policy.evaluate(context)
            ]
            rewards += store_grants(self._core, uow, grants, referral, None, now=now)
        uow.events.add(
            "group.completed",
            _payload(
                group,
                members=list(group.members),
                rewards=[r.id for r in rewards],
                filled_in_seconds=(now - group.created_at).total_seconds(),
            ),
            now,
        )
        return rewards

    def _context(
        self,
        uow: UnitOfWork,
        group: Group,
        referral: Referral,
        place: Membership,
        *,
        reads: tuple[frozenset[str], str],
        now: datetime,
    ) -> RewardContext:
        """What the reward policy reads for one member: their order, or an order of nothing."""
        needs, currency = reads
        order = None if place.order_id is None else uow.conversions.get(place.order_id)
        if order is None:
            order = Conversion(
                order_id=f"group:{group.id}",
                referee=place.member,
                amount=Money.zero(currency),
                occurred_at=now,
                first_order=False,
            )
        qualified = 0
        if "qualified" in needs:
            qualified = uow.referrals.counts_for_referrer(group.initiator)[ReferralStatus.QUALIFIED]
        spend: Mapping[str, Money] = {}
        points = 0
        if "program_spend" in needs:
            spend, points = uow.rewards.spend()
        return RewardContext(
            referral=referral,
            conversion=order,
            qualified=qualified,
            order_number=order.order_number,
            referrer_rewards=(),
            program_spend=spend,
            program_points=points,
            campaign=group.campaign,
            now=now,
        )

    # -- measuring -----------------------------------------------------------------------

    def facts(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> GroupFacts | None:
        """Aggregates over the groups started in ``[since, until)``; None without group-buys."""
        since = opt_aware("since", since)
        until = opt_aware("until", until)
        with self._core.transaction() as uow:
            if GROUPS.missing(uow):
                return None
            return self._repo(uow).facts(since, until)

    # -- ending --------------------------------------------------------------------------

    def expire_due(self, limit: int = 1000) -> list[Group]:
        """End open groups past their deadline (``group.expired``); nothing is granted.

        Safe on any number of workers at once: a group expires in one of them only.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput("limit must be an int >= 1", value=limit, field="limit")
        now = self._core.now()
        expired: list[Group] = []
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            for group in repo.due(now, limit):
                if repo.close(group.id, GroupState.EXPIRED, now):
                    ended = attrs.evolve(group, state=GroupState.EXPIRED, closed_at=now)
                    uow.events.add("group.expired", _payload(ended), now)
                    expired.append(ended)
        return expired

    def cancel(self, code: str, *, by: str) -> Group:
        """The initiator ``by`` cancels their open group (``group.cancelled``); nobody is rewarded.

        Raises:
            InvalidState: ``by`` is not the group's initiator.
            GroupClosed: the group is no longer open.
        """
        by = require_id("by", by)
        now = self._core.now()
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            group = self._find(uow, code)
            if by != group.initiator:
                raise InvalidState(
                    f"only the initiator {group.initiator!r} may cancel the group {group.code!r}",
                    value=by,
                )
            if not repo.close(group.id, GroupState.CANCELLED, now):
                _refuse_closed(repo.get(group.id) or group, now)
            ended = attrs.evolve(group, state=GroupState.CANCELLED, closed_at=now)
            uow.events.add("group.cancelled", _payload(ended), now)
            return ended

    def refund(self, order_id: str) -> list[Reward]:
        """The order attached to a place was refunded: take that member's group reward back.

        A held or available reward is reversed, a paid one clawed back, like any reward
        whose order is refunded; the other members keep theirs (the group did fill).
        Idempotent: a second call changes nothing. Returns the rewards changed.
        """
        order_id = require_id("order_id", order_id)
        now = self._core.now()
        changed: list[Reward] = []
        with self._core.transaction() as uow:
            place = self._repo(uow).by_order(order_id)
            if place is None:
                return []
            prefix = f"group:{place.group_id}:"
            for reward in uow.rewards.for_customer(place.member):
                if not reward.key.startswith(prefix):
                    continue
                zero = None if reward.amount is None else Money.zero(reward.amount.currency)
                updated = shrink_to(uow, reward, zero, 0, now, reverse=True)
                if updated is not None:
                    changed.append(updated)
        return changed
