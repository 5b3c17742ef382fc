"""The domain's value objects: frozen, slotted attrs classes.

Everything the program stores or returns is one of these. They are plain data:
behaviour lives in the program, the policies and the guards.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from referralkit._json import JSONForm
from referralkit.money import Money as Money  # noqa: PLC0414 - re-exported (its home is money)

__all__ = [
    "Beneficiary",
    "Bucket",
    "CheckReason",
    "CodeCheck",
    "CodeKind",
    "Conversion",
    "Event",
    "Friend",
    "FriendReward",
    "FriendStage",
    "Group",
    "GroupState",
    "Identity",
    "Invitation",
    "Membership",
    "Partner",
    "PartnerCode",
    "PartnerEngagement",
    "PartnerGroup",
    "PartnerOrder",
    "PartnerPost",
    "PartnerReview",
    "PartnerState",
    "PartnerSubmission",
    "Redemption",
    "Referral",
    "ReferralCode",
    "ReferralStatus",
    "ReferrerStatus",
    "Reward",
    "RewardKind",
    "RewardState",
    "SubmissionState",
    "TierProgress",
    "WaitlistEntry",
    "WaitlistState",
]


class ReferralStatus(str, enum.Enum):
    """Where a referral stands: attributed, earning, refused, or waiting for a person."""

    PENDING = "pending"
    QUALIFIED = "qualified"
    REJECTED = "rejected"
    REVIEW = "review"


class RewardState(str, enum.Enum):
    """A reward's life: held through the refund window, then available, then paid."""

    HELD = "held"
    AVAILABLE = "available"
    PAID = "paid"
    REVERSED = "reversed"


class Bucket(str, enum.Enum):
    """A part of a customer's balance; ledger entries move value between buckets.

    ``clawback`` holds what a customer owes back after a refund of a reward already paid.
    """

    HELD = "held"
    AVAILABLE = "available"
    PAID = "paid"
    CLAWBACK = "clawback"


class Beneficiary(str, enum.Enum):
    """Which side of the referral a reward goes to."""

    REFERRER = "referrer"
    REFEREE = "referee"


class RewardKind(str, enum.Enum):
    """What a reward is: store credit, cash, a coupon, points, or a perk."""

    CREDIT = "credit"
    CASH = "cash"
    COUPON = "coupon"
    POINTS = "points"
    PERK = "perk"


class CodeKind(str, enum.Enum):
    """A generated code (with check character) or a vanity code chosen by hand."""

    GENERATED = "generated"
    VANITY = "vanity"


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        from referralkit.errors import InvalidIdentity  # noqa: PLC0415 - avoid a cycle at import

        raise InvalidIdentity(
            f"identity signals are strings, not {type(value).__name__}", value=value
        )
    return value


@attrs.frozen(slots=True)
class Identity(JSONForm):
    """What the host knows about a person, for fraud checks. All optional.

    The signals are normalised and stored only as keyed hashes, never in the clear.
    """

    email: str | None = attrs.field(default=None, converter=_opt_str)
    phone: str | None = attrs.field(default=None, converter=_opt_str)
    device_id: str | None = attrs.field(default=None, converter=_opt_str)
    ip: str | None = attrs.field(default=None, converter=_opt_str)
    payment_fingerprint: str | None = attrs.field(default=None, converter=_opt_str)
    address: str | None = attrs.field(default=None, converter=_opt_str)


@attrs.frozen(slots=True)
class ReferralCode(JSONForm):
    """A code a customer shares; one per customer and campaign."""

    code: str
    owner: str
    campaign: str
    kind: CodeKind
    created_at: datetime
    expires_at: datetime | None = None
    max_uses: int | None = None


@attrs.frozen(slots=True)
class Referral(JSONForm):
    """One attribution of a referee to a referrer, with the outcome and its reasons."""

    id: str
    code: str
    referrer: str
    referee: str
    status: ReferralStatus
    reasons: tuple[str, ...]
    attributed_at: datetime
    campaign: str
    policy_version: str
    channel: str | None = None
    #: When the referral started counting as qualified: the grant of its earliest order
    #: that is not fully refunded (None while it has no such order).
    qualified_at: datetime | None = None


@attrs.frozen(slots=True)
class Conversion(JSONForm):
    """An order placed by a customer; ``refunded`` grows with each refund.

    ``order_number`` is the order's place among the customer's orders (1 for the first),
    as recorded; a refund does not renumber later orders. ``recorded_at`` is when the
    program recorded it (``occurred_at`` is when the host says it was placed).
    """

    order_id: str
    referee: str
    amount: Money
    occurred_at: datetime
    first_order: bool
    referral_id: str | None = None
    refunded: Money | None = None
    order_number: int = 0
    recorded_at: datetime | None = None

    @property
    def net(self) -> Money:
        """The order amount less what was refunded."""
        return self.amount if self.refunded is None else self.amount - self.refunded


@attrs.frozen(slots=True)
class Reward(JSONForm):
    """A grant in the ledger: who gets what, for which order, under which policy and why.

    ``amount`` is the current value (reduced by partial refunds); ``granted`` the original.
    Points rewards carry ``points``; perks carry ``perk``; coupons carry ``coupon_code``.
    A paid reward refunded later records what is owed back in ``clawback``;
    ``recovered`` is how much of it was collected (settled outside, or netted against
    a later reward). ``netted`` is the part of this reward's value that went to pay
    such a debt instead of the customer (what to pay out is ``amount - netted``).
    ``redeemed_order`` is the order a coupon was used on; ``payout_id`` the payout
    batch that paid the reward; ``expires_at`` when a coupon stops being usable.
    """

    id: str
    key: str
    referral_id: str
    beneficiary: Beneficiary
    customer_id: str
    kind: RewardKind
    amount: Money | None
    granted: Money | None
    points: int
    state: RewardState
    order_id: str | None
    policy: str
    explanation: str
    created_at: datetime
    hold_until: datetime | None
    perk: str | None = None
    coupon_code: str | None = None
    proportional: bool = False
    clawback: Money | None = None
    granted_points: int = 0
    clawback_points: int = 0
    netted: Money | None = None
    recovered: Money | None = None
    redeemed_order: str | None = None
    payout_id: str | None = None
    expires_at: datetime | None = None


@attrs.frozen(slots=True)
class Event(JSONForm):
    """Something that happened, written in the same transaction as the state it reports.

    ``attempts`` counts the claims that handed the event to a drainer
    (`referralkit.ReferralProgram.claim_events`): 0 until first claimed, so a host can
    give an event up after a number of failed deliveries.
    """

    id: int
    type: str
    payload: Mapping[str, Any]
    occurred_at: datetime
    attempts: int = 0


@attrs.frozen(slots=True)
class TierProgress(JSONForm):
    """How far a referrer is from the next tier of a tiered policy."""

    qualified: int
    current_tier: int | None
    next_tier_at: int | None

    @property
    def remaining(self) -> int | None:
        """Qualified referrals still needed to reach the next tier, or None at the top."""
        return None if self.next_tier_at is None else max(self.next_tier_at - self.qualified, 0)


@attrs.frozen(slots=True)
class ReferrerStatus(JSONForm):
    """What a referrer sees: invites, conversions, balances and tier progress.

    The counts are of the referrer's referrals, one per friend at most (a friend has one
    standing referral): ``invites`` is every referral that is not rejected (pending,
    qualified and in review); ``friends_joined`` those accepted (pending or qualified,
    not in review); ``friends_ordered`` the accepted ones with at least one order,
    refunded or not; ``qualified`` those with an order that is not refunded in full
    (what tiers count). So ``invites >= friends_joined >= friends_ordered >= qualified``.
    ``pending``, ``in_review`` and ``rejected`` count referrals in those statuses
    (``rejected`` counts every refused attempt). ``tier`` is the ladder of the terms
    the referrer's codes are under (see `referralkit.ReferralProgram.status`).
    """

    customer_id: str
    codes: tuple[str, ...]
    invites: int
    pending: int
    qualified: int
    in_review: int
    rejected: int
    held: Mapping[str, Money]
    available: Mapping[str, Money]
    paid: Mapping[str, Money]
    clawbacks: Mapping[str, Money]
    points_held: int
    points_available: int
    points_paid: int
    tier: TierProgress | None = None
    friends_joined: int = 0
    friends_ordered: int = 0
    #: The open group-buys the customer is in (started or joined), with their fill level.
    groups: tuple[Group, ...] = ()


class CheckReason(str, enum.Enum):
    """Why a typed code cannot be used now (`CodeCheck.reason`)."""

    UNKNOWN = "unknown"
    TYPO = "typo"
    INVALID = "invalid"
    EXPIRED = "expired"
    USED_UP = "used_up"
    CAMPAIGN_NOT_RUNNING = "campaign_not_running"


@attrs.frozen(slots=True)
class CodeCheck(JSONForm):
    """What a sign-up page learns about a typed code, before any account exists.

    ``code`` is the code as issued when one is found (the canonical form of what was
    typed when no customer owns it; None for a typo or text that is no code);
    ``usable`` whether an attribution with it would be accepted for its code now;
    ``reason`` why not (None when usable); ``message`` a sentence for the person.
    """

    code: str | None
    usable: bool
    reason: CheckReason | None
    message: str


class FriendStage(str, enum.Enum):
    """How far a friend a referrer brought has come (`Friend.stage`).

    - ``joined``: accepted, no order yet;
    - ``in_review``: held for a person to approve or reject;
    - ``ordered``: accepted, with an order that is not refunded in full, and no reward
      for the referrer past its hold yet;
    - ``rewarded``: an order of theirs earned the referrer a reward that is available or
      paid (its hold is over);
    - ``refunded``: accepted, with orders, every one of them refunded in full;
    - ``rejected``: refused, by a guard or a person (the reasons say why).
    """

    JOINED = "joined"
    IN_REVIEW = "in_review"
    ORDERED = "ordered"
    REWARDED = "rewarded"
    REFUNDED = "refunded"
    REJECTED = "rejected"


@attrs.frozen(slots=True)
class FriendReward(JSONForm):
    """A reward a friend's referral earned, as a referrer page shows it: no coupon code."""

    beneficiary: Beneficiary
    kind: RewardKind
    amount: Money | None
    points: int
    state: RewardState
    hold_until: datetime | None = None


@attrs.frozen(slots=True)
class Friend(JSONForm):
    """A friend a referrer brought, by the host's own customer id; no personal data.

    ``referral_id`` is the referral this entry shows (the friend's standing referral, or
    their last rejected one) and the cursor of the list: pass the last entry's as
    ``after`` for the next page. ``rewards`` are every reward that referral earned,
    either side, reversed ones included.
    """

    referee: str
    referral_id: str
    stage: FriendStage
    attributed_at: datetime
    code: str
    campaign: str
    channel: str | None = None
    orders: int = 0
    reasons: tuple[str, ...] = ()
    rewards: tuple[FriendReward, ...] = ()


class GroupState(str, enum.Enum):
    """A group-buy's life: open until it fills (completed), runs out of time, or is cancelled."""

    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@attrs.frozen(slots=True)
class Group(JSONForm):
    """A group-buy: an initiator and the friends who joined it through its code.

    ``size`` counts every member, the initiator included; ``members`` are the customer
    ids in join order (the initiator first). ``policy_version`` names the terms that
    completing earns each member; ``closed_at`` is when it completed, expired or was
    cancelled.
    """

    id: str
    code: str
    initiator: str
    campaign: str
    size: int
    state: GroupState
    created_at: datetime
    deadline: datetime
    policy_version: str
    members: tuple[str, ...] = ()
    new_customers_only: bool = True
    closed_at: datetime | None = None

    @property
    def filled(self) -> int:
        """How many places are taken (the initiator's included)."""
        return len(self.members)

    @property
    def places_left(self) -> int:
        """How many more members the group needs to complete."""
        return max(self.size - self.filled, 0)


@attrs.frozen(slots=True)
class Membership(JSONForm):
    """A customer's place in a group, or a refused attempt (``accepted`` False, reasons why).

    ``referral_id`` is the member's referral to the initiator, which the member's reward
    is granted under (None for the initiator); ``new_customer`` whether joining brought
    them in; ``order_id`` the order the host attached to the place.
    """

    group_id: str
    member: str
    joined_at: datetime
    referral_id: str | None = None
    new_customer: bool = False
    order_id: str | None = None
    accepted: bool = True
    reasons: tuple[str, ...] = ()


@attrs.frozen(slots=True)
class Invitation(JSONForm):
    """An invitation code a holder hands out: ``uses`` sign-ups at most, ``used`` so far.

    ``campaign`` is the holder's campaign the redeemed referrals are credited in;
    ``expires_at`` None never expires.
    """

    code: str
    holder: str
    campaign: str
    uses: int
    created_at: datetime
    used: int = 0
    expires_at: datetime | None = None

    @property
    def uses_left(self) -> int:
        """How many more customers the invitation can sign up."""
        return max(self.uses - self.used, 0)


@attrs.frozen(slots=True)
class Redemption(JSONForm):
    """A new customer signed up with an invitation, under the referral it created."""

    code: str
    customer: str
    referral_id: str
    redeemed_at: datetime


class WaitlistState(str, enum.Enum):
    """Where a waitlister stands: still waiting, or admitted (with invitations of their own)."""

    WAITING = "waiting"
    ADMITTED = "admitted"


@attrs.frozen(slots=True)
class WaitlistEntry(JSONForm):
    """A person on the waitlist: their place in the join order and the friends they brought.

    ``seq`` is the join sequence (1 for the first to join), ``code`` their waitlist code
    for friends, ``referred_by`` the waitlister whose code brought them (None when they
    came on their own or the guards refused the code), ``referred`` how many friends
    joined through their code and were accepted.
    """

    member: str
    code: str
    campaign: str
    seq: int
    joined_at: datetime
    state: WaitlistState = WaitlistState.WAITING
    referred_by: str | None = None
    referred: int = 0
    admitted_at: datetime | None = None


class PartnerState(str, enum.Enum):
    """A partner's onboarding state; only an approved partner's codes earn at checkout.

    ``approved`` is an active partner; ``ended`` a partnership that ended on good terms
    (their codes stop earning, what they earned is still theirs); ``banned`` one ended for
    cause.
    """

    APPLIED = "applied"
    INVITED = "invited"
    APPROVED = "approved"
    PAUSED = "paused"
    BANNED = "banned"
    ENDED = "ended"


@attrs.frozen(slots=True)
class Partner(JSONForm):
    """An affiliate or influencer: a referrer who need not be a customer.

    ``kind`` is ``affiliate``, ``influencer`` or a host's own label; ``payout_ref`` an
    opaque host id for paying them (never personal data). ``terms_version`` names the
    partner's own commission terms (None: its group's); ``account_referral`` is the
    record their commissions and fees are written under. ``payout_threshold`` and
    ``hold_seconds`` override their group's; ``verified`` and ``verification_ref`` are
    the host's tax and identity decision (None: none recorded), never its documents.
    """

    id: str
    name: str
    kind: str
    state: PartnerState
    created_at: datetime
    account_referral: str
    audience: int = 0
    niches: tuple[str, ...] = ()
    region: str | None = None
    payout_ref: str | None = None
    terms_version: str | None = None
    group: str | None = None
    payout_threshold: Money | None = None
    hold_seconds: int | None = None
    verified: bool | None = None
    verification_ref: str | None = None

    @property
    def hold(self) -> timedelta | None:
        """The partner's own hold on new commissions and fees (None: their group's)."""
        return None if self.hold_seconds is None else timedelta(seconds=self.hold_seconds)


@attrs.frozen(slots=True)
class PartnerGroup(JSONForm):
    """Partners sharing terms: a member without terms of its own earns the group's.

    ``hold_seconds`` and ``payout_threshold`` are the hold and the payout threshold of
    members without their own (None: the program's hold, no threshold).
    """

    id: str
    terms_version: str
    created_at: datetime
    hold_seconds: int | None = None
    payout_threshold: Money | None = None

    @property
    def hold(self) -> timedelta | None:
        """The group's hold on its members' new commissions and fees (None: the program's)."""
        return None if self.hold_seconds is None else timedelta(seconds=self.hold_seconds)


@attrs.frozen(slots=True)
class PartnerPost(JSONForm):
    """A partner's post (or campaign piece) and the flat fee it costs, if any."""

    id: str
    partner_id: str
    channel: str | None
    created_at: datetime
    cost: Money | None = None
    reward_id: str | None = None


@attrs.frozen(slots=True)
class PartnerEngagement(JSONForm):
    """What a post did as of one moment, as the host reported it (figures only grow)."""

    post_id: str
    as_of: datetime
    recorded_at: datetime
    impressions: int = 0
    reach: int = 0
    engagements: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0


@attrs.frozen(slots=True)
class PartnerOrder(JSONForm):
    """An order attributed to a partner by a code typed at checkout.

    ``terms_version`` is the terms in force when it was attributed; ``post_id`` the post
    whose code was typed, if any.
    """

    order_id: str
    partner_id: str
    code: str
    customer_id: str
    terms_version: str
    attributed_at: datetime
    post_id: str | None = None


@attrs.frozen(slots=True)
class PartnerCode(JSONForm):
    """A code a partner owns, and the post it was made for (None: the partner's own)."""

    code: str
    partner_id: str
    post_id: str | None = None


@attrs.frozen(slots=True)
class PartnerReview(JSONForm):
    """A partner's reward waiting for an operator: held, never released or paid meanwhile.

    ``reasons`` say why (``partner.own_code``, ``partner.leaked_code``, ``partner.banned``);
    ``decision`` is None while open, then ``approved`` or ``rejected`` (with ``note``).
    """

    id: str
    reward_id: str
    partner_id: str
    order_id: str | None
    reasons: tuple[str, ...]
    opened_at: datetime
    decision: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


class SubmissionState(str, enum.Enum):
    """Where a partner's bounty submission stands: waiting for an operator, or decided."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@attrs.frozen(slots=True)
class PartnerSubmission(JSONForm):
    """A partner's post sent in for a bounty: the fee is owed once an operator approves it.

    ``url`` is the post's address as the host sent it; ``reward_id`` the fee's reward
    once approved; ``reason`` the operator's words on a rejection.
    """

    id: str
    partner_id: str
    url: str
    fee: Money
    state: SubmissionState
    submitted_at: datetime
    decided_at: datetime | None = None
    reason: str | None = None
    reward_id: str | None = None
