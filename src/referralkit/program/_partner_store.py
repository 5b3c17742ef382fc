"""What a store must offer for partner programmes: `PartnerRepository`, reached through `PARTNERS`.

A repository capability (``uow.partners``): a store without it runs every other part of a
program, and `program.partners` names what it lacks. Every write is an insert under a
natural key the store enforces (a partner's id, a post's id, a code, an order id, a
post and an as-of time), never a read and a later write: a retried call finds the row
it wrote and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from referralkit.metrics._partner_figures import PartnerFigures
from referralkit.model import (
    Partner,
    PartnerCode,
    PartnerEngagement,
    PartnerGroup,
    PartnerOrder,
    PartnerPost,
    PartnerState,
    PartnerSubmission,
    Referral,
    SubmissionState,
)
from referralkit.money import Money
from referralkit.payouts import LineStatus, PartnerDue, PartnerPayout
from referralkit.protocols import Capability

__all__ = [
    "ACCOUNT_REASONS",
    "PARTNERS",
    "PARTNER_PAYOUTS",
    "PartnerPayoutRepository",
    "PartnerRepository",
    "is_account",
    "refusal",
]

#: The reasons of a partner's account referral: the record a partner's commissions and
#: fees hang off. It is no attribution: metrics, status and friends leave it out.
ACCOUNT_REASONS = ("partner.account",)


_REFUSED = {
    PartnerState.BANNED: ("banned", "is disabled: its partner is banned"),
    PartnerState.ENDED: ("ended", "has ended: its partnership ended"),
    PartnerState.PAUSED: ("paused", "is paused: its partner is paused"),
    PartnerState.APPLIED: ("not_approved", "is not active yet: its partner is not approved"),
    PartnerState.INVITED: ("not_approved", "is not active yet: its partner is not approved"),
}


def refusal(state: PartnerState) -> tuple[str, str] | None:
    """Why a partner in ``state`` cannot use their codes (reason, words); None if they can."""
    return _REFUSED.get(state)


def is_account(referral: Referral) -> bool:
    """Whether ``referral`` is a partner's account record rather than an attribution."""
    return referral.reasons == ACCOUNT_REASONS and referral.referee == referral.referrer


@runtime_checkable
class PartnerRepository(Protocol):
    """Partners, their groups, codes, posts, engagement and checkout orders.

    The contract every implementation guarantees:

    - `add`, `add_group`, `add_post` and `attribute` insert once per id (order id for
      `attribute`) and return what is stored with whether this call stored it;
      `add_code` maps a code to one partner once, `add_engagement` stores one report per
      (post, as-of time).
    - `set_state` changes a partner's state in one conditional write and says whether it
      changed (a state set again is no change); `decide_submission` decides a pending
      submission the same way, so it is approved or rejected once.
    - `figures` adds up a partner's statement in the store (SQL on SQL stores).
    """

    def add(self, partner: Partner) -> tuple[Partner, bool]:
        """Insert ``partner`` unless its id exists; what is stored, and whether it is new."""
        ...

    def get(self, partner_id: str) -> Partner | None:
        """The partner with this id."""
        ...

    def set_state(self, partner_id: str, state: PartnerState) -> bool:
        """Move the partner to ``state``; whether it was in another state before."""
        ...

    def set_terms(self, partner_id: str, terms_version: str | None, group: str | None) -> None:
        """Replace the partner's own terms and group (None: none)."""
        ...

    def add_group(self, group: PartnerGroup) -> tuple[PartnerGroup, bool]:
        """Insert ``group`` unless its id exists; what is stored, and whether it is new."""
        ...

    def get_group(self, group_id: str) -> PartnerGroup | None:
        """The partner group with this id."""
        ...

    def set_group_terms(self, group_id: str, terms_version: str) -> None:
        """Replace the group's terms (its members without terms of their own earn them)."""
        ...

    def add_code(self, code: PartnerCode) -> PartnerCode:
        """Map ``code`` (canonical text) to its partner unless mapped; the stored mapping."""
        ...

    def code(self, code: str) -> PartnerCode | None:
        """The partner (and post) a code belongs to, if it is a partner's code."""
        ...

    def codes(self, partner_id: str) -> list[PartnerCode]:
        """Every code of the partner, in the order they were made."""
        ...

    def add_post(self, post: PartnerPost) -> tuple[PartnerPost, bool]:
        """Insert ``post`` unless its id exists; what is stored, and whether it is new."""
        ...

    def get_post(self, post_id: str) -> PartnerPost | None:
        """The post with this id."""
        ...

    def set_post_reward(self, post_id: str, reward_id: str) -> None:
        """Record the reward that is the post's fee."""
        ...

    def add_engagement(self, report: PartnerEngagement) -> tuple[PartnerEngagement, bool]:
        """Insert ``report`` unless (post, as-of) exists; what is stored, and whether new."""
        ...

    def engagement(self, post_id: str) -> PartnerEngagement | None:
        """The post's report with the latest as-of time."""
        ...

    def attribute(self, order: PartnerOrder) -> tuple[PartnerOrder, bool]:
        """Insert ``order`` unless its order id exists; what is stored, and whether new."""
        ...

    def order(self, order_id: str) -> PartnerOrder | None:
        """The partner the order was attributed to at checkout, if any."""
        ...

    def figures(
        self, partner_id: str, since: datetime | None, until: datetime | None
    ) -> list[PartnerFigures]:
        """The partner's statement over ``[since, until)``, one per currency, by currency."""
        ...

    def revenue(
        self, partner_id: str, since: datetime, until: datetime, *, before: str
    ) -> list[Money]:
        """Net revenue of the partner's orders placed in ``[since, until)``, by currency.

        Only orders recorded no later than the order ``before`` count, that order left
        out: what the partner had brought in the period when that order came (added up
        in the store; SQL on SQL stores).
        """
        ...

    def add_submission(self, submission: PartnerSubmission) -> tuple[PartnerSubmission, bool]:
        """Insert a bounty ``submission`` unless its id exists; what is stored, whether new."""
        ...

    def submission(self, submission_id: str) -> PartnerSubmission | None:
        """The bounty submission with this id."""
        ...

    def decide_submission(
        self,
        submission_id: str,
        state: SubmissionState,
        at: datetime,
        *,
        reason: str | None = None,
        reward_id: str | None = None,
    ) -> bool:
        """Decide a pending submission in one conditional write; whether it was pending."""
        ...

    def period_spend(self, since: datetime, until: datetime) -> tuple[list[Money], int]:
        """The programme's spend on rewards granted in ``[since, until)``: money, points.

        Every reward not reversed, for both sides, at its current value, by currency
        (added up in the store; SQL on SQL stores).
        """
        ...

    def add_order_attributes(
        self, order_id: str, attributes: Mapping[str, tuple[str, ...]]
    ) -> Mapping[str, tuple[str, ...]]:
        """Store what the host sent with the order unless stored; what is stored."""
        ...

    def order_attributes(self, order_id: str) -> Mapping[str, tuple[str, ...]] | None:
        """What the host sent with the order, if anything."""
        ...

    def first_attributed(self, partner_id: str, customer_id: str) -> datetime | None:
        """When the partner's first checkout order from this customer was attributed."""
        ...


#: Partner programmes (`PartnerRepository` as ``uow.partners``):
#: `referralkit.ReferralProgram.partners` needs it; a store without it is a `ConfigError`
#: naming what it lacks.
PARTNERS: Capability[PartnerRepository] = Capability(
    "partner programmes", "partners", PartnerRepository
)


@runtime_checkable
class PartnerPayoutRepository(Protocol):
    """Paying partners: payout terms, verification, who is due, and payout batches.

    A second capability on the same ``uow.partners`` repository, so a store whose
    partners cannot be paid through a provider yet still runs partner programmes (and
    `referralkit.program.Partners.pay` names what it lacks). The contract:

    - `set_payout_terms` and `set_group_payout_terms` replace in place; they and
      `PartnerRepository.add` / ``add_group`` store and read back ``payout_threshold``
      and ``hold_seconds``; `set_verification` says whether the decision changed.
    - `due` adds up the partners past their payout threshold in the store (SQL on SQL
      stores), paged, without loading rewards.
    - `add_batch` records a payout batch once per id, `add_payout_line` a line once per
      line id, and `set_line_outcome` changes only a pending line, in one write.
    """

    def set_payout_terms(
        self, partner_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        """Replace the partner's own payout threshold and hold (None: their group's)."""
        ...

    def set_group_payout_terms(
        self, group_id: str, threshold: Money | None, hold_seconds: int | None
    ) -> None:
        """Replace the group's payout threshold and hold (None: none, the program's hold)."""
        ...

    def set_verification(self, partner_id: str, ok: bool, reference: str | None) -> bool:
        """Record the host's decision on the partner; whether it differs from the stored one."""
        ...

    def due(
        self, *, currency: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[PartnerDue]:
        """Partners due a payout, by (partner id, currency) after ``after``: at most ``limit``.

        Per partner and currency, payable is the value of their available rewards (less
        what was netted) less the clawbacks still owed on their rewards; a partner is due
        when it is more than nothing and at least their threshold (their own, else their
        group's; a threshold binds only its own currency). Added up in the store (SQL).
        """
        ...

    def available_rewards(self, partner_id: str, currency: str) -> list[str]:
        """The ids of the partner's available rewards in ``currency``, by id."""
        ...

    def add_batch(
        self, batch_id: str, currency: str | None, at: datetime
    ) -> tuple[tuple[str | None, datetime], bool]:
        """Record a payout batch unless its id exists: its (currency, created at), and if new."""
        ...

    def batch(self, batch_id: str) -> tuple[str | None, datetime] | None:
        """The payout batch's (currency, created at), if it was recorded."""
        ...

    def add_payout_line(self, line: PartnerPayout) -> None:
        """Record one line of a batch (its line id is unique across batches)."""
        ...

    def set_line_outcome(
        self, line_id: str, status: LineStatus, reference: str | None, reason: str | None
    ) -> bool:
        """Record what became of a pending line (one conditional write); whether it was pending."""
        ...

    def batch_lines(self, batch_id: str) -> list[PartnerPayout]:
        """The lines of a batch, in the order they were recorded."""
        ...


#: Partner payouts (`PartnerPayoutRepository`, on ``uow.partners`` too): thresholds,
#: holds, verification and payout batches need it; a store without it is a
#: `ConfigError` naming what it lacks.
PARTNER_PAYOUTS: Capability[PartnerPayoutRepository] = Capability(
    "partner payouts", "partners", PartnerPayoutRepository
)
