"""Invitation-only sign-up: holders issue invitation codes, new customers redeem them.

The launch mode: while a shop runs invitation-only, its sign-up calls
`Invitations.redeem` and opens an account only for a referral that came back
``pending`` (accepted); a refused redeem raises (`UnknownCode`, `CodeExpired`,
`InvitationUsedUp`, `InvalidCode`) or returns a rejected / review referral.

- An invitation's code is a generated code of the program's format (check character,
  forgiving input); it allows ``uses`` sign-ups (1 by default, `Invitations.configure`),
  until ``expires_at`` if given. A holder may issue ``quota`` invitations at most
  (None: no quota); the store counts them in the statement that inserts.
- Redeeming is an attribution to the holder: the new customer is referred by the holder
  through the holder's code in the invitation's campaign, judged by the program's
  guards with the customer's identity signals. Only an accepted referral takes a use; a
  rejected one (or one sent to review) takes none and signs nobody up.
- The store decides the use count: one conditional write takes a use
  (`InvitationRepository.take_use`), and a redemption is unique per (invitation,
  customer), so an invitation never signs up more customers than its uses, and a
  redelivered redeem returns the same referral, changing nothing.
"""

from __future__ import annotations

from datetime import datetime

from referralkit._validate import opt_aware, opt_name, require_id
from referralkit.codes import generate_code, normalize_code
from referralkit.errors import (
    CodeExpired,
    InvalidInput,
    InvalidState,
    InvitationQuotaReached,
    InvitationRequired,
    InvitationUsedUp,
    UnknownCode,
)
from referralkit.metrics._invitations import InvitationFacts
from referralkit.model import (
    CodeKind,
    Identity,
    Invitation,
    Redemption,
    Referral,
    ReferralCode,
    ReferralStatus,
)
from referralkit.program._attribution import judge, record_referral
from referralkit.program._conversions import grant_signup
from referralkit.program._core import ProgramCore
from referralkit.program._enrolment import enroll
from referralkit.program._invitation_store import INVITATIONS, InvitationRepository
from referralkit.protocols import UnitOfWork
from referralkit.storage import CodeTaken

__all__ = ["Invitations"]

_CODE_ATTEMPTS = 16
_MAX_USES = 1_000_000
_CHANNEL = "invitation"


def _count(field: str, value: object, *, optional: bool = False) -> int | None:
    """``value`` if it is an int from 1 to `_MAX_USES` (or None when ``optional``)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_USES:
        raise InvalidInput(
            f"{field} must be an int from 1 to {_MAX_USES}", value=value, field=field
        )
    return value


def _payload(invitation: Invitation, **more: object) -> dict[str, object]:
    """What an invitation's events carry: enough for a message, no personal data."""
    return {
        "code": invitation.code,
        "holder": invitation.holder,
        "campaign": invitation.campaign,
        "uses": invitation.uses,
        "expires_at": None if invitation.expires_at is None else invitation.expires_at.isoformat(),
        **more,
    }


def as_code(invitation: Invitation) -> ReferralCode:
    """The invitation as the `ReferralCode` its holder shares."""
    return ReferralCode(
        code=invitation.code,
        owner=invitation.holder,
        campaign=invitation.campaign,
        kind=CodeKind.GENERATED,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        max_uses=invitation.uses,
    )


class Invitations:
    """`referralkit.ReferralProgram.invitations`: issue invitation codes, redeem them."""

    def __init__(self, core: ProgramCore) -> None:
        self._core = core
        self._quota: int | None = None
        self._uses = 1
        self._required = False

    def _repo(self, uow: UnitOfWork) -> InvitationRepository:
        return INVITATIONS.repository(uow, store=self._core.store)

    def configure(
        self, *, quota: int | None = None, uses: int = 1, required: bool | None = None
    ) -> None:
        """Set the per-holder ``quota`` (None: none) and the default ``uses`` of an invitation.

        "Each member gets 3 invitations" is ``configure(quota=3)``; the waitlist issues
        admitted people invitations with these ``uses``. ``required=True`` makes the
        launch invitation-only: `referralkit.ReferralProgram.attribute` and ``claim``
        refuse every sign-up with `InvitationRequired` before writing anything, so the
        only way in is `redeem`; ``required=False`` opens the launch, None leaves it as is.
        """
        if required is not None and not isinstance(required, bool):
            raise InvalidInput("required must be True or False", value=required, field="required")
        self._quota = _count("quota", quota, optional=True)
        self._uses = _count("uses", uses) or 1
        if required is not None:
            self._required = required

    @property
    def required(self) -> bool:
        """Whether the launch is invitation-only (sign-ups only through `redeem`)."""
        return self._required

    def refuse_open_sign_up(self, referee: object) -> None:
        """Raise `InvitationRequired` while the launch is invitation-only; else nothing."""
        if self._required:
            raise InvitationRequired(
                "sign-up is by invitation only: redeem an invitation code instead",
                value=referee,
            )

    @property
    def quota(self) -> int | None:
        """How many invitations a holder may issue (None: no limit)."""
        return self._quota

    @property
    def uses(self) -> int:
        """The uses an invitation gets when `issue` is not told."""
        return self._uses

    # -- issuing -------------------------------------------------------------------------

    def issue(
        self,
        holder: str,
        *,
        uses: int | None = None,
        expires_at: datetime | None = None,
        campaign: str | None = None,
        identity: Identity | None = None,
    ) -> ReferralCode:
        """Issue ``holder`` an invitation for ``uses`` sign-ups (the configured default if None).

        Raises:
            InvitationQuotaReached: the holder has issued their quota already.
            InvalidInput: ``uses`` is not a count, or ``expires_at`` is not in the future.
        """
        core = self._core
        holder = require_id("holder", holder)
        count = self._uses if uses is None else _count("uses", uses)
        assert count is not None  # noqa: S101 - a required count
        expires_at = opt_aware("expires_at", expires_at)
        now = core.now()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput(
                "expires_at must be in the future", value=expires_at, field="expires_at"
            )
        code = enroll(
            core,
            holder,
            identity=identity,
            campaign=opt_name("campaign", campaign),
            vanity=None,
            expires_at=None,
            max_uses=None,
        )
        with core.transaction() as uow:
            invitation = self.issue_in(
                uow, holder, campaign=code.campaign, uses=count, expires_at=expires_at, now=now
            )
            if invitation is None:
                raise InvitationQuotaReached(
                    f"{holder!r} has issued {self._quota} invitations, their quota",
                    value=holder,
                    quota=self._quota or 0,
                )
            return as_code(invitation)

    def issue_in(
        self,
        uow: UnitOfWork,
        holder: str,
        *,
        campaign: str,
        uses: int,
        expires_at: datetime | None,
        now: datetime,
    ) -> Invitation | None:
        """`issue`'s work in the caller's unit of work (the holder enrolled in ``campaign``).

        None when the holder has issued their quota.
        """
        repo = self._repo(uow)
        for attempt in range(_CODE_ATTEMPTS):
            invitation = Invitation(
                code=generate_code(self._core.code_format, rng=self._core.rng),
                holder=holder,
                campaign=campaign,
                uses=uses,
                created_at=now,
                expires_at=expires_at,
            )
            try:
                added = repo.add(invitation, self._quota)
            except CodeTaken:
                if attempt == _CODE_ATTEMPTS - 1:  # pragma: no cover - 2^-500 odds
                    raise
                continue
            if not added:
                return None
            uow.events.add("invitation.issued", _payload(invitation), now)
            return invitation
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading -------------------------------------------------------------------------

    def _code(self, text: object) -> str:
        if not isinstance(text, str):
            raise InvalidInput("an invitation code is a string", value=text, field="code")
        if "://" in text:
            return self._core.parse_link(text).code
        return normalize_code(text, self._core.code_format)

    def get(self, code: str) -> Invitation | None:
        """The invitation with this code (typed, forgiving), its uses taken so far."""
        canonical = self._code(code)
        with self._core.transaction() as uow:
            return self._repo(uow).get(canonical)

    def held_by(self, holder: str) -> list[Invitation]:
        """The holder's invitations, oldest first."""
        holder = require_id("holder", holder)
        with self._core.transaction() as uow:
            return self._repo(uow).for_holder(holder)

    def facts(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> InvitationFacts | None:
        """Aggregates over the invitations issued in ``[since, until)``; None without them."""
        since = opt_aware("since", since)
        until = opt_aware("until", until)
        with self._core.transaction() as uow:
            if INVITATIONS.missing(uow):
                return None
            return self._repo(uow).facts(since, until)

    # -- redeeming -----------------------------------------------------------------------

    def redeem(
        self,
        code: str,
        customer: str,
        *,
        identity: Identity | None = None,
        existing_customer: bool = False,
    ) -> Referral:
        """Sign ``customer`` up with the invitation ``code``: the referral from its holder.

        Judged by the program's guards; only an accepted (``pending``) referral takes a
        use. Idempotent per customer: redeeming again returns the same referral.

        Raises:
            UnknownCode: no invitation has this code.
            CodeExpired: the invitation is past its expiry.
            InvitationUsedUp: every use of it is taken.
        """
        core = self._core
        customer = require_id("customer", customer)
        canonical = self._code(code)
        now = core.now()
        with core.transaction() as uow:
            repo = self._repo(uow)
            invitation = repo.get(canonical)
            if invitation is None:
                raise UnknownCode(
                    f"no invitation has the code {canonical!r}", value=canonical, field="code"
                )
            done = repo.redemption(canonical, customer)
            if done is not None:  # redelivered: the same referral, nothing new
                referral = uow.referrals.get(done.referral_id)
                assert referral is not None  # noqa: S101 - a foreign key keeps it
                return referral
            if invitation.expires_at is not None and invitation.expires_at <= now:
                raise CodeExpired(
                    f"the invitation {canonical!r} expired at {invitation.expires_at}",
                    value=canonical,
                    field="code",
                )
            if invitation.used >= invitation.uses:  # early answer; take_use decides below
                raise self._used_up(invitation)
            referral = self._refer(
                uow,
                invitation,
                customer,
                identity=identity,
                existing_customer=bool(existing_customer)
                or uow.conversions.count_for_referee(customer) > 0,
                now=now,
            )
            if referral.status is not ReferralStatus.PENDING:
                uow.events.add(
                    "invitation.refused",
                    _payload(invitation, customer=customer, reasons=list(referral.reasons)),
                    now,
                )
                return referral
            if not repo.add_redemption(Redemption(canonical, customer, referral.id, now)):
                raise InvalidState(  # pragma: no cover - the referral's own index caught it
                    f"{customer!r} redeemed {canonical!r} at the same time: call again",
                    value=customer,
                )
            if not repo.take_use(canonical, now):  # the store decides: none left (or expired)
                raise self._used_up(invitation)
            uow.events.add(
                "invitation.redeemed",
                _payload(invitation, customer=customer, referral_id=referral.id),
                now,
            )
            grant_signup(core, uow, referral, now)
            return referral

    @staticmethod
    def _used_up(invitation: Invitation) -> InvitationUsedUp:
        return InvitationUsedUp(
            f"the invitation {invitation.code!r} has been used {invitation.uses} times, its limit",
            value=invitation.code,
        )

    def _refer(
        self,
        uow: UnitOfWork,
        invitation: Invitation,
        customer: str,
        *,
        identity: Identity | None,
        existing_customer: bool,
        now: datetime,
    ) -> Referral:
        """The referral from the holder, judged by the guards; stored with its event."""
        core = self._core
        signals = core.signals(identity)
        if signals:
            uow.identities.add(customer, signals)
        rc = self._holder_code(uow, invitation)
        standing = uow.referrals.active_for_referee(customer)
        verdict = judge(
            core,
            uow,
            rc,
            referee=customer,
            signals=signals,
            identity=identity,
            existing_customer=existing_customer,
            referred_by=None if standing is None else standing.referrer,
            now=now,
            channel=_CHANNEL,
        )
        campaign = invitation.campaign
        return record_referral(
            core,
            uow,
            rc,
            referee=customer,
            verdict=verdict,
            campaign=campaign,
            policy_version=core.terms_of(core.stored_campaign(campaign))[1],
            channel=_CHANNEL,
            now=now,
            details={"invitation": invitation.code},
        )

    @staticmethod
    def _holder_code(uow: UnitOfWork, invitation: Invitation) -> ReferralCode:
        for rc in uow.codes.for_owner(invitation.holder):
            if rc.campaign == invitation.campaign:
                return rc
        raise InvalidState(  # pragma: no cover - enrolled when the invitation was issued
            f"{invitation.holder!r} has no code in the campaign {invitation.campaign!r}",
            value=invitation.holder,
        )
