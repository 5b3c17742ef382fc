"""Asking at the right moment: the host reports moments and asks before inviting.

`Moments` is reached as ``program.moments``. Every answer of `Moments.should_invite` is
recorded with its reason, and what followed (a share the host reports, friends joining
and ordering, read from the referrals themselves) is counted per moment type by
`Moments.stats`. The fixed rules (`referralkit.moments.MomentRules`) always apply;
with `referralkit.moments.Learning`, the moments that bring friends are learned.
Moments and decisions are facts, like clicks: they are not outbox events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from referralkit._validate import opt_aware, opt_name, require_id
from referralkit.errors import ConfigError, IdempotencyConflict, InvalidInput, NotFound
from referralkit.moments import (
    MOMENTS,
    DecisionRecord,
    InviteDecision,
    Learning,
    MomentContext,
    MomentEvidence,
    MomentRecord,
    MomentRules,
    MomentStats,
    decide,
)
from referralkit.program._core import ProgramCore

__all__ = ["Moments"]


def _score(value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInput(
            "score must be an int (stars, an NPS answer)", value=value, field="score"
        )
    return value


class Moments:
    """Trigger moments for one program: report them, ask before inviting, measure."""

    def __init__(
        self, core: ProgramCore, rules: MomentRules | None, learning: Learning | None
    ) -> None:
        if rules is not None and not isinstance(rules, MomentRules):
            raise ConfigError(
                "moment_rules must be a MomentRules", value=rules, path="moment_rules"
            )
        if learning is not None and not isinstance(learning, Learning):
            raise ConfigError("learning must be a Learning", value=learning, path="learning")
        self._core = core
        self.rules = rules or MomentRules()
        self.learning = learning
        # The learner's evidence as last read: (when, moment -> (asked, followed)).
        self._evidence: tuple[datetime, dict[str, tuple[int, int]]] | None = None

    def report(
        self,
        customer_id: str,
        moment: str,
        *,
        at: datetime | None = None,
        score: int | None = None,
        order_id: str | None = None,
        key: str | None = None,
    ) -> MomentRecord:
        """Record that ``moment`` happened for the customer; once per ``key``.

        ``moment`` is one of `referralkit.moments`' names (``order_delivered``,
        ``review``, ``nps``, ``repeat_purchase``, ``loyalty_milestone``) or the host's
        own; ``score`` a review's stars or an NPS answer. ``key`` (the host's event id)
        makes a retried report a no-op; without one it is the moment with its order, or
        its time. Returns the stored moment (the first one under its key).
        """
        customer_id = require_id("customer_id", customer_id)
        moment = require_id("moment", moment)
        core = self._core
        when = opt_aware("at", at) or core.now()
        order_id = opt_name("order_id", order_id)
        key = opt_name("key", key) or (
            f"{moment}:{order_id}" if order_id is not None else f"{moment}:{when.isoformat()}"
        )
        record = MomentRecord(customer_id, moment, key, when, _score(score), order_id)
        with core.transaction() as uow:
            stored, _ = MOMENTS.repository(uow, store=core.store).add(record)
        return stored

    def should_invite(
        self, customer_id: str, moment: str, *, key: str | None = None
    ) -> InviteDecision:
        """Whether to show the invitation to the customer now, at ``moment``; recorded.

        The fixed rules first (`MomentRules`: a refunded last order, a low latest score,
        the cool-down, at most N per period); when they allow it and learning is on, the
        learner decides, showing its exploration rate and evidence. ``key`` (a page view's
        or a push job's id) makes the question once per customer: asked again with the
        key, the recorded answer comes back (without the learner's evidence), so a
        re-rendered page is not turned down by the cool-down its first view started. The
        same key for another moment is an `IdempotencyConflict`.
        """
        customer_id = require_id("customer_id", customer_id)
        moment = require_id("moment", moment)
        key = opt_name("key", key)
        core, rules = self._core, self.rules
        now = core.now()
        with core.transaction() as uow:
            repo = MOMENTS.repository(uow, store=core.store)
            scored = repo.latest_score(customer_id)
            context = MomentContext(
                moment=moment,
                now=now,
                invited_at=repo.invited_since(customer_id, now - rules.lookback),
                last_order_refunded=repo.last_order_refunded(customer_id),
                last_score=None if scored is None else (scored.moment, scored.score or 0),
            )
            verdict = decide(context, rules)
            invite, reason = verdict.invite, verdict.reason
            evidence: tuple[MomentEvidence, ...] = ()
            exploration: float | None = None
            if verdict.invite and self.learning is not None:
                learning = self.learning
                read = self._evidence
                if read is None or not timedelta(0) <= now - read[0] < learning.refresh:
                    since = None if learning.window is None else now - learning.window
                    stats = repo.stats(since, None)
                    read = (now, {s.moment: (s.invited, s.followed) for s in stats})
                    self._evidence = read
                learned = learning.choose(moment, read[1])
                invite, reason, evidence = learned.invite, learned.reason, learned.evidence
                exploration = self.learning.explore
            decision = InviteDecision(
                id=core.new_id(),
                customer_id=customer_id,
                moment=moment,
                invite=invite,
                reason=reason,
                decided_at=now,
                next_allowed_at=verdict.next_allowed_at,
                exploration=exploration,
                evidence=evidence,
            )
            stored, new = repo.add_decision(
                DecisionRecord(
                    decision.id,
                    customer_id,
                    moment,
                    invite,
                    reason,
                    now,
                    now + rules.follow_window,
                    key=key,
                    next_allowed_at=verdict.next_allowed_at,
                    exploration=exploration,
                )
            )
        if new:
            return decision
        if stored.moment != moment:
            raise IdempotencyConflict(
                f"the decision {key!r} was asked at the moment {stored.moment!r}, not {moment!r}",
                value=moment,
                field="moment",
            )
        return InviteDecision(
            id=stored.id,
            customer_id=customer_id,
            moment=moment,
            invite=stored.invite,
            reason=stored.reason,
            decided_at=stored.decided_at,
            next_allowed_at=stored.next_allowed_at,
            exploration=stored.exploration,
        )

    def shared(self, decision_id: str, *, channel: str | None = None) -> bool:
        """Record that the invitation of this decision was shared; once. Whether it was new.

        Raises `NotFound` for an unknown decision, `InvalidInput` for one that said no.
        """
        decision_id = require_id("decision_id", decision_id)
        channel = opt_name("channel", channel)
        core = self._core
        now = core.now()
        with core.transaction() as uow:
            repo = MOMENTS.repository(uow, store=core.store)
            found = repo.decision(decision_id)
            if found is None:
                raise NotFound(f"no decision {decision_id!r}", value=decision_id)
            if not found.invite:
                raise InvalidInput(
                    "this decision said not to invite: nothing was shown to share",
                    value=decision_id,
                    field="decision_id",
                )
            return repo.add_share(decision_id, channel, now)

    def stats(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[MomentStats]:
        """Per moment type, decisions made in ``[since, until)`` and what followed them.

        A friend who joins (not rejected) counts for the referrer's latest invitation
        before it, within the rules' ``follow_window``; ordered friends are those with
        an order. Computed from stored facts (in SQL on SQL stores).
        """
        since, until = opt_aware("since", since), opt_aware("until", until)
        core = self._core
        with core.transaction() as uow:
            return MOMENTS.repository(uow, store=core.store).stats(since, until)


def window_stats(
    core: ProgramCore, since: datetime | None, until: datetime | None
) -> list[MomentStats]:
    """`Moments.stats` for the metrics report: empty when the store keeps no moments."""
    with core.transaction() as uow:
        if MOMENTS.missing(uow):
            return []
        return MOMENTS.repository(uow, store=core.store).stats(since, until)
