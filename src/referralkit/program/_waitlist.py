"""A waitlist before the launch: people join, move up by bringing friends, and are admitted.

The position rule (documented in *Launch invitation-only*):

- Everyone gets a join sequence ``seq`` (1 for the first to join), decided by the store.
- A friend who joins through a waitlister's code (``join(..., code=...)``), and whom the
  program's guards accept, moves that waitlister up ``places_per_referral`` places (5
  by default, `Waitlist.configure`): their score is ``seq - places_per_referral *
  referred``. The waiting are ranked by score, then by ``seq`` (earlier joiners first).
- So with no referrals the list is the join order; a referral moves its referrer up,
  never anyone down but the people it passes, and never anyone else up; and nobody is
  ever below someone who joined after them and brought no more friends than they did:
  a later joiner passes an earlier one only by bringing more friends.
- A join the guards refuse (``self_referral.*`` for a ring of one person's accounts,
  any block or review) still puts the friend on the list, and gives the referrer no
  places: a fraud ring cannot buy positions with fake friends.

`Waitlist.admit` lets the top ``n`` in, in one unit of work; each is admitted by a
conditional write on their state, so concurrent admits let each person in once, and
each admitted person is issued an invitation of their own
(`Invitations.issue`, the configured uses) in that same unit of work.
"""

from __future__ import annotations

from datetime import datetime

from referralkit._validate import opt_name, require_id
from referralkit.codes import generate_code, normalize_code
from referralkit.context import Decision
from referralkit.errors import InvalidInput, NotFound, UnknownCode
from referralkit.metrics._waitlist import WaitlistFacts
from referralkit.model import CodeKind, Identity, ReferralCode, WaitlistEntry
from referralkit.program._attribution import judge
from referralkit.program._core import ProgramCore
from referralkit.program._enrolment import enroll
from referralkit.program._invitations import Invitations
from referralkit.program._waitlist_store import PLACES_PER_REFERRAL, WAITLIST, WaitlistRepository
from referralkit.protocols import UnitOfWork
from referralkit.storage import CodeTaken

__all__ = ["Waitlist"]

_CODE_ATTEMPTS = 16
_CHANNEL = "waitlist"
_MAX_PLACES = 1_000_000


def _count(field: str, value: object, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _MAX_PLACES:
        raise InvalidInput(
            f"{field} must be an int from {low} to {_MAX_PLACES}", value=value, field=field
        )
    return value


class Waitlist:
    """`referralkit.ReferralProgram.waitlist`: join, move up by referring, admit in batches."""

    def __init__(self, core: ProgramCore, invitations: Invitations) -> None:
        self._core = core
        self._invitations = invitations
        self._per_referral = PLACES_PER_REFERRAL

    def _repo(self, uow: UnitOfWork) -> WaitlistRepository:
        return WAITLIST.repository(uow, store=self._core.store)

    def configure(self, *, places_per_referral: int = PLACES_PER_REFERRAL) -> None:
        """How many places each accepted friend moves their referrer up (0: referrals don't)."""
        self._per_referral = _count("places_per_referral", places_per_referral, low=0)

    @property
    def places_per_referral(self) -> int:
        """How many places each accepted friend moves their referrer up."""
        return self._per_referral

    def _code(self, text: object) -> str:
        if not isinstance(text, str):
            raise InvalidInput("a waitlist code is a string", value=text, field="code")
        return normalize_code(text, self._core.code_format)

    # -- joining -------------------------------------------------------------------------

    def join(
        self,
        member: str,
        *,
        identity: Identity | None = None,
        code: str | None = None,
        campaign: str | None = None,
    ) -> int:
        """Put ``member`` on the waitlist; their 1-based position.

        ``code`` is another waitlister's waitlist code: when the guards accept the join,
        that waitlister moves up. Joining again changes nothing (and credits nobody).
        The member is enrolled (a referral code in ``campaign``, as `enroll` gives) so the
        invitations they get when admitted are credited there; their identity's signals
        are stored, hashed, for the guards to judge later joins against.

        Raises:
            UnknownCode: ``code`` is no waitlister's code.
        """
        core = self._core
        member = require_id("member", member)
        typed = None if code is None else self._code(code)
        enrolled = enroll(
            core,
            member,
            identity=identity,
            campaign=opt_name("campaign", campaign),
            vanity=None,
            expires_at=None,
            max_uses=None,
        )
        signals = core.signals(identity)
        now = core.now()
        with core.transaction() as uow:
            repo = self._repo(uow)
            if repo.get(member) is not None:  # a retry: nothing new
                return self._position(repo, member)
            referrer = None if typed is None else repo.by_code(typed)
            if typed is not None and referrer is None:
                raise UnknownCode(
                    f"no waitlister has the code {typed!r}", value=typed, field="code"
                )
            reasons: tuple[str, ...] = ()
            accepted = False
            if referrer is not None:
                verdict = judge(
                    core,
                    uow,
                    ReferralCode(
                        code=referrer.code,
                        owner=referrer.member,
                        campaign=referrer.campaign,
                        kind=CodeKind.GENERATED,
                        created_at=referrer.joined_at,
                    ),
                    referee=member,
                    signals=signals,
                    identity=identity,
                    existing_customer=False,
                    referred_by=None,
                    now=now,
                    channel=_CHANNEL,
                )
                accepted = verdict.decision is Decision.ALLOW
                reasons = verdict.reasons
            entry, created = self._add(
                repo,
                member,
                campaign=enrolled.campaign,
                referred_by=referrer.member if accepted and referrer is not None else None,
                now=now,
            )
            if not created:  # pragma: no cover - read in this very unit of work
                return self._position(repo, member)
            if signals:
                uow.identities.add(member, signals)
            payload: dict[str, object] = {
                "member": member,
                "code": entry.code,
                "seq": entry.seq,
                "referred_by": entry.referred_by,
            }
            if referrer is not None and accepted:
                repo.credit(referrer.member)
                uow.events.add("waitlist.joined", payload, now)
            elif referrer is not None:
                uow.events.add(
                    "waitlist.referral_refused",
                    {**payload, "referrer": referrer.member, "reasons": list(reasons)},
                    now,
                )
            else:
                uow.events.add("waitlist.joined", payload, now)
            return self._position(repo, member)

    def _add(
        self,
        repo: WaitlistRepository,
        member: str,
        *,
        campaign: str,
        referred_by: str | None,
        now: datetime,
    ) -> tuple[WaitlistEntry, bool]:
        """Insert the member with a fresh waitlist code; the stored entry, and new?"""
        core = self._core
        for attempt in range(_CODE_ATTEMPTS):
            candidate = WaitlistEntry(
                member=member,
                code=generate_code(core.code_format, rng=core.rng),
                campaign=campaign,
                seq=0,
                joined_at=now,
                referred_by=referred_by,
            )
            try:
                return repo.add(candidate)
            except CodeTaken:
                if attempt == _CODE_ATTEMPTS - 1:  # pragma: no cover - 2^-500 odds
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _position(self, repo: WaitlistRepository, member: str) -> int:
        position = repo.position(member, self._per_referral)
        return 0 if position is None else position

    # -- reading -------------------------------------------------------------------------

    def entry(self, member: str) -> WaitlistEntry:
        """The member's entry on the waitlist.

        Raises:
            NotFound: the member never joined.
        """
        member = require_id("member", member)
        with self._core.transaction() as uow:
            found = self._repo(uow).get(member)
        if found is None:
            raise NotFound(f"{member!r} is not on the waitlist", value=member)
        return found

    def code(self, member: str) -> str:
        """The member's waitlist code, for their friends to join with."""
        return self.entry(member).code

    def position(self, member: str) -> int:
        """The member's 1-based position among the waiting; 0 once admitted.

        Raises:
            NotFound: the member never joined.
        """
        member = require_id("member", member)
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            if repo.get(member) is None:
                raise NotFound(f"{member!r} is not on the waitlist", value=member)
            return self._position(repo, member)

    def facts(self) -> WaitlistFacts | None:
        """Aggregates over the waitlist; None on a store without one."""
        with self._core.transaction() as uow:
            if WAITLIST.missing(uow):
                return None
            return self._repo(uow).facts(self._per_referral)

    # -- admitting -----------------------------------------------------------------------

    def admit(self, n: int) -> list[WaitlistEntry]:
        """Admit the top ``n`` waiting, each issued an invitation of their own; those admitted.

        In one unit of work; each admission is conditional on the person still waiting, so
        concurrent admits let each person in once (and issue them one invitation).
        """
        n = _count("n", n, low=1)
        now = self._core.now()
        admitted: list[WaitlistEntry] = []
        with self._core.transaction() as uow:
            repo = self._repo(uow)
            for entry in repo.top(n, self._per_referral):
                if not repo.admit(entry.member, now):  # pragma: no cover - serialised stores
                    continue
                invitation = self._invitations.issue_in(
                    uow,
                    entry.member,
                    campaign=entry.campaign,
                    uses=self._invitations.uses,
                    expires_at=None,
                    now=now,
                )
                uow.events.add(
                    "waitlist.admitted",
                    {
                        "member": entry.member,
                        "code": entry.code,
                        "seq": entry.seq,
                        "invitation": None if invitation is None else invitation.code,
                    },
                    now,
                )
                admitted.append(repo.get(entry.member) or entry)
        return admitted
