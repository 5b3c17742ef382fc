"""Bounties: a fee on a partner's post, owed once an operator approves the submission.

The host sends the post's URL with the fee (`submit`, pending); an operator approves it
(the fee becomes a cash reward under the partner's account, held, paid and clawed back
like any reward) or rejects it with a reason. Each step is one conditional write, so a
retried call changes nothing and a decided submission is never decided again.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import attrs

from referralkit._validate import opt_name, require_id, require_money
from referralkit.context import Grant
from referralkit.errors import IdempotencyConflict, InvalidInput, InvalidState, UnknownPartner
from referralkit.model import (
    Beneficiary,
    Partner,
    PartnerState,
    PartnerSubmission,
    RewardKind,
    SubmissionState,
)
from referralkit.money import Money
from referralkit.program._commissions import PARTNER_KEY, account_view
from referralkit.program._conversions import store_grants
from referralkit.program._core import ProgramCore
from referralkit.program._partner_store import PARTNERS, PartnerRepository
from referralkit.protocols import UnitOfWork

__all__ = ["Bounties"]

_MAX_URL = 2_000
_POLICY = "partner.bounty"


def _url(value: object) -> str:
    """An absolute http(s) URL of at most 2000 characters, else `InvalidInput` naming ``url``."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > _MAX_URL
        or " " in value.strip()
    ):
        raise InvalidInput(
            f"url must be the post's address, at most {_MAX_URL} characters",
            value=value,
            field="url",
        )
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc or not text.isprintable():
        raise InvalidInput("url must be an absolute http(s) address", value=value, field="url")
    return text


def _fee(value: object) -> Money:
    fee = require_money("fee", value)
    if fee.amount <= 0 or not fee.is_whole_minor():
        raise InvalidInput(
            f"a bounty's fee is a positive amount in whole {fee.currency} minor units",
            value=value,
            field="fee",
        )
    return fee


def _payload(submission: PartnerSubmission, **more: object) -> dict[str, object]:
    return {
        "partner_id": submission.partner_id,
        "submission_id": submission.id,
        "url": submission.url,
        "fee": submission.fee.to_json(),
        **more,
    }


class Bounties:
    """The bounties of `referralkit.program.Partners` (submit, approve, reject), on the core."""

    def __init__(self, core: ProgramCore) -> None:
        self._core = core

    def _repo(self, uow: UnitOfWork) -> PartnerRepository:
        return PARTNERS.repository(uow, store=self._core.store)

    def _stored(self, repo: PartnerRepository, submission_id: str) -> PartnerSubmission:
        found = repo.submission(submission_id)
        if found is None:
            raise UnknownPartner(f"no bounty submission {submission_id!r}", value=submission_id)
        return found

    def submit(
        self, partner_id: object, submission_id: object, *, url: object, fee: object
    ) -> PartnerSubmission:
        """Record a pending submission (``partner.submission_received``); a retry returns it."""
        partner_id = require_id("partner_id", partner_id)
        submission_id = require_id("submission_id", submission_id)
        wanted_url = _url(url)
        wanted_fee = _fee(fee)
        now = self._core.now()
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            partner = repo.get(partner_id)
            if partner is None:
                raise UnknownPartner(f"no partner {partner_id!r}", value=partner_id)
            wanted = PartnerSubmission(
                submission_id, partner_id, wanted_url, wanted_fee, SubmissionState.PENDING, now
            )
            stored, created = repo.add_submission(wanted)
            if not created:
                for field in ("partner_id", "url", "fee"):
                    was, given = getattr(stored, field), getattr(wanted, field)
                    if was != given:
                        raise IdempotencyConflict(
                            f"{submission_id!r} was submitted with {field} {was!s}, not {given!s}",
                            value=given,
                            field=field,
                        )
                return stored
            if partner.state is PartnerState.BANNED:
                raise InvalidState(
                    f"the partner {partner_id!r} is banned: they earn no bounties", value=partner_id
                )
            uow.events.add("partner.submission_received", _payload(stored), now)
            return stored

    def approve(self, submission_id: object) -> PartnerSubmission:
        """Approve a pending submission and grant its fee once (``partner.submission_approved``).

        Approving an approved submission returns it; a rejected one is `InvalidState`.
        """
        submission_id = require_id("submission_id", submission_id)
        core = self._core
        now = core.now()
        with core.transaction() as uow:
            repo = self._repo(uow)
            stored = self._stored(repo, submission_id)
            if stored.state is SubmissionState.APPROVED:
                return stored
            if stored.state is SubmissionState.REJECTED:
                raise InvalidState(
                    f"the submission {submission_id!r} was rejected: it cannot be approved",
                    value=submission_id,
                )
            partner = repo.get(stored.partner_id)
            assert partner is not None  # noqa: S101 - a submission is stored for a partner
            reward_id = self._grant(uow, partner, stored, now)
            if not repo.decide_submission(
                submission_id, SubmissionState.APPROVED, now, reward_id=reward_id
            ):  # pragma: no cover - the unit of work is serialised
                return self._stored(repo, submission_id)
            approved = attrs.evolve(
                stored, state=SubmissionState.APPROVED, decided_at=now, reward_id=reward_id
            )
            uow.events.add(
                "partner.submission_approved", _payload(approved, reward_id=reward_id), now
            )
            return approved

    def _grant(
        self, uow: UnitOfWork, partner: Partner, submission: PartnerSubmission, now: datetime
    ) -> str | None:
        fee = Grant(
            beneficiary=Beneficiary.REFERRER,
            kind=RewardKind.CASH,
            policy=_POLICY,
            explanation=f"bounty for the post {submission.url}",
            key=f"{PARTNER_KEY}{partner.id}:bounty:{submission.id}",
            amount=submission.fee,
            per_referrer=True,
        )
        view = account_view(partner, partner.id, _POLICY, now)
        granted = store_grants(self._core, uow, [fee], view, None, now=now)
        return granted[0].id if granted else None

    def reject(self, submission_id: object, *, reason: object = None) -> PartnerSubmission:
        """Reject a pending submission (``partner.submission_rejected``); nothing is owed.

        Rejecting a rejected submission returns it; an approved one is `InvalidState`.
        """
        submission_id = require_id("submission_id", submission_id)
        why = opt_name("reason", reason)
        now = self._core.now()
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            stored = self._stored(repo, submission_id)
            if stored.state is SubmissionState.REJECTED:
                return stored
            if stored.state is SubmissionState.APPROVED:
                raise InvalidState(
                    f"the submission {submission_id!r} was approved: its fee is owed",
                    value=submission_id,
                )
            repo.decide_submission(submission_id, SubmissionState.REJECTED, now, reason=why)
            rejected = attrs.evolve(
                stored, state=SubmissionState.REJECTED, decided_at=now, reason=why
            )
            uow.events.add("partner.submission_rejected", _payload(rejected, reason=why), now)
            return rejected

    def get(self, submission_id: object) -> PartnerSubmission:
        """The submission with this id."""
        submission_id = require_id("submission_id", submission_id)
        with self._core.transaction() as uow:
            return self._stored(self._repo(uow), submission_id)
