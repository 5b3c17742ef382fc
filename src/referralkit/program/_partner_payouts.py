"""Partner payouts: who is due (thresholds), tax and identity holds, batches through a provider.

`pay` runs in three steps so that nothing is sent inside a transaction and nothing is
sent twice: (1) one unit of work records the batch, nets what each due partner owes
against their available rewards and pays the rest through the payout path, one pending
line per partner and currency (or a skipped line, for a partner not verified); (2) the
provider is sent the pending lines; (3) one unit of work records each line's outcome,
and a failed line's rewards return to available (a ``payout_failed`` ledger move). A
retried batch id runs only the steps left: the pending lines are sent again under the
same line ids, lines with an outcome never are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol, cast

import attrs

from referralkit._validate import opt_name, positive_int, require_id, require_money
from referralkit.errors import ConfigError, IdempotencyConflict, InvalidInput, UnknownPartner
from referralkit.model import Bucket, Partner, PartnerState, Reward, RewardState
from referralkit.money import Money
from referralkit.payouts import (
    LineStatus,
    PartnerDue,
    PartnerPayout,
    PayoutBatch,
    PayoutLine,
    PayoutOutcome,
    PayoutProvider,
    PayoutRun,
    Verification,
)
from referralkit.program._clawbacks import net_against_debts, outstanding, owed_in
from referralkit.program._core import ProgramCore
from referralkit.program._ledger import Move, entries, plus, reward_payload, transition
from referralkit.program._partner_store import (
    PARTNER_PAYOUTS,
    PARTNERS,
    PartnerPayoutRepository,
    PartnerRepository,
)
from referralkit.program._payouts import pay_rewards
from referralkit.protocols import UnitOfWork

__all__ = [
    "VerificationCheck",
    "due",
    "pay",
    "payout_repo",
    "read_hold",
    "read_threshold",
    "threshold_of",
    "verify",
]

#: A host's tax and identity check: consulted before a partner is paid.
VerificationCheck = Callable[[Partner], Verification]

_MAX_LINES = 1_000


def read_threshold(value: object) -> Money | None:
    """A payout threshold given by a host: None, or Money of at least nothing."""
    if value is None:
        return None
    money = require_money("payout_threshold", value)
    if money.amount < 0:
        raise InvalidInput(
            "a payout threshold cannot be negative", value=money, field="payout_threshold"
        )
    return money.round()


def read_hold(value: object) -> int | None:
    """A hold given by a host, in whole seconds: None, or a timedelta of at least nothing."""
    if value is None:
        return None
    if not isinstance(value, timedelta) or value < timedelta(0) or value.microseconds:
        raise InvalidInput(
            "hold must be a non-negative timedelta of whole seconds, e.g. timedelta(days=30)",
            value=value,
            field="hold",
        )
    return int(value.total_seconds())


def threshold_of(repo: PartnerRepository, partner: Partner) -> Money | None:
    """The partner's payout threshold: their own, else their group's (None: none)."""
    if partner.payout_threshold is not None or partner.group is None:
        return partner.payout_threshold
    group = repo.get_group(partner.group)
    return None if group is None else group.payout_threshold


class _Partners(PartnerRepository, PartnerPayoutRepository, Protocol):
    """``uow.partners`` of a store with both capabilities."""


def payout_repo(core: ProgramCore, uow: UnitOfWork) -> _Partners:
    """The store's partners, refused (`ConfigError`) unless they can be paid too."""
    PARTNERS.repository(uow, store=core.store)
    return cast("_Partners", PARTNER_PAYOUTS.repository(uow, store=core.store))


def _partner(repo: PartnerRepository, partner_id: str) -> Partner:
    partner = repo.get(partner_id)
    if partner is None:
        raise UnknownPartner(f"no partner {partner_id!r}", value=partner_id)
    return partner


def _cursor(after: object) -> tuple[str, str] | None:
    if after is None:
        return None
    if (
        not isinstance(after, tuple)
        or len(after) != 2  # noqa: PLR2004 - (partner id, currency)
        or not all(isinstance(part, str) for part in after)
    ):
        raise InvalidInput(
            "after must be a (partner_id, currency) pair: the last PartnerDue.key",
            value=after,
            field="after",
        )
    return (require_id("after", after[0]), require_id("after", after[1]))


def due(core: ProgramCore, *, currency: object, after: object, limit: object) -> list[PartnerDue]:
    """`referralkit.program.Partners.payable`."""
    currency = opt_name("currency", currency)
    cursor = _cursor(after)
    limit = positive_int("limit", limit)
    if limit > _MAX_LINES:
        raise InvalidInput(f"limit is at most {_MAX_LINES}", value=limit, field="limit")
    with core.transaction() as uow:
        return payout_repo(core, uow).due(currency=currency, after=cursor, limit=limit)


def _record_verification(
    uow: UnitOfWork,
    repo: _Partners,
    partner: Partner,
    decision: Verification,
    now: datetime,
) -> Partner:
    if repo.set_verification(partner.id, decision.ok, decision.reference):
        uow.events.add(
            "partner.verification",
            {"partner_id": partner.id, "ok": decision.ok, "reference": decision.reference},
            now,
        )
    return repo.get(partner.id) or partner


def verify(core: ProgramCore, partner_id: str, *, ok: object, reference: object) -> Partner:
    """`referralkit.program.Partners.verify`."""
    partner_id = require_id("partner_id", partner_id)
    if not isinstance(ok, bool):
        raise InvalidInput("ok must be True or False", value=ok, field="ok")
    ref = opt_name("reference", reference)
    now = core.now()
    with core.transaction() as uow:
        repo = payout_repo(core, uow)
        partner = _partner(repo, partner_id)
        return _record_verification(uow, repo, partner, Verification(ok, ref), now)


def _decision(check: VerificationCheck, partner: Partner) -> Verification:
    decision: object = check(partner)
    if not isinstance(decision, Verification):
        raise ConfigError(
            f"the verification check returned {decision!r}, not a Verification(ok, reference)",
            value=decision,
            path="check",
        )
    if decision.reference is not None:
        opt_name("reference", decision.reference)
    return decision


def _skip_reason(
    partner: Partner, decision: Verification | None, *, require_verification: bool
) -> str | None:
    if partner.state is PartnerState.BANNED:
        return "banned"
    if decision is not None:
        return None if decision.ok else "unverified"
    if require_verification and partner.verified is not True:
        return "unverified"
    return None


def _line(
    core: ProgramCore,
    uow: UnitOfWork,
    partner: Partner,
    currency: str,
    *,
    batch_id: str,
    skip: str | None,
    threshold: Money | None,
    now: datetime,
) -> PartnerPayout | None:
    """Net, then pay (or skip) what the partner is due in ``currency``; None if not due now."""
    repo = payout_repo(core, uow)
    line_id = f"{batch_id}/{partner.id}/{currency}"
    rewards: list[Reward] = []
    for reward_id in repo.available_rewards(partner.id, currency):
        reward = uow.rewards.get(reward_id)
        if reward is None:  # pragma: no cover - listed in this very unit of work
            continue
        if skip is None:
            reward = net_against_debts(core, uow, reward, now)
        if reward.state is RewardState.AVAILABLE and reward.amount is not None:
            rewards.append(reward)
    zero = Money.zero(currency)
    total = sum((r.amount - (r.netted or zero) for r in rewards if r.amount is not None), zero)
    if skip is not None:
        payable = max(total - owed_in(uow, partner.id, currency), zero)
        if payable.amount <= 0 or (threshold is not None and payable < threshold):
            return None
        line = PartnerPayout(
            batch_id,
            line_id,
            partner.id,
            partner.payout_ref,
            payable,
            tuple(r.id for r in rewards),
            LineStatus.SKIPPED,
            reason=skip,
        )
        repo.add_payout_line(line)
        uow.events.add("partner.payout_skipped", _line_payload(line), now)
        return line
    if total.amount <= 0 or (threshold is not None and total < threshold):
        return None
    ids = [r.id for r in rewards]
    pay_rewards(uow, ids, line_id, now)
    line = PartnerPayout(
        batch_id, line_id, partner.id, partner.payout_ref, total, tuple(ids), LineStatus.PENDING
    )
    repo.add_payout_line(line)
    return line


def _line_payload(line: PartnerPayout) -> dict[str, object]:
    return {
        "batch_id": line.batch_id,
        "line_id": line.line_id,
        "partner_id": line.partner_id,
        "amount": line.amount.to_json(),
        "reward_ids": list(line.reward_ids),
        "status": line.status.value,
        "reference": line.reference,
        "reason": line.reason,
    }


def _threshold_in(threshold: Money | None, currency: str) -> Money | None:
    return threshold if threshold is not None and threshold.currency == currency else None


def _outcomes(sent: object, pending: dict[str, PartnerPayout]) -> dict[str, PayoutOutcome]:
    """The provider's answers, checked before any is recorded."""
    if not isinstance(sent, Iterable):
        raise ConfigError(
            f"the payout provider returned {sent!r}, not a list of PayoutOutcome",
            value=sent,
            path="provider",
        )
    found: dict[str, PayoutOutcome] = {}
    for outcome in sent:
        if (
            not isinstance(outcome, PayoutOutcome)
            or outcome.line_id not in pending
            or (outcome.reference is None) == (outcome.failure is None)
        ):
            raise ConfigError(
                "each outcome a payout provider returns is a PayoutOutcome for a line of the"
                f" batch, with a reference or a failure: not {outcome!r}",
                value=outcome,
                path="provider",
            )
        found[outcome.line_id] = outcome
    return found


def _unsent_clawback(uow: UnitOfWork, reward: Reward, now: datetime) -> Reward:
    """Recover a clawback a refund made while the line was pending from the reward itself.

    The money was never sent, so what is owed on it comes out of its own value: the
    part leaves ``available`` and recovers the debt (as netting would), in the ledger.
    """
    owed = outstanding(reward)
    if owed is None or reward.amount is None:
        return reward
    netted = plus(reward.netted, owed)
    updated = attrs.evolve(
        reward,
        netted=netted,
        recovered=plus(reward.recovered, owed),
        state=RewardState.PAID if netted == reward.amount else reward.state,
    )
    uow.rewards.update(updated)
    uow.rewards.append(
        entries(updated, Move(Bucket.CLAWBACK, None, owed, 0, "payout_failed"), now)
        + entries(updated, Move(Bucket.AVAILABLE, None, owed, 0, "payout_failed"), now)
    )
    uow.events.add(
        "reward.recovered",
        {**reward_payload(updated), "recovered": owed.to_json(), "how": "payout_failed"},
        now,
    )
    return updated


def _record(
    core: ProgramCore, batch_id: str, outcomes: dict[str, PayoutOutcome], now: datetime
) -> list[PartnerPayout]:
    """Step 3: what became of each line; a failed line's rewards are available again."""
    with core.transaction() as uow:
        repo = payout_repo(core, uow)
        for line in repo.batch_lines(batch_id):
            outcome = outcomes.get(line.line_id)
            if outcome is None:
                continue
            if outcome.failure is None:
                if repo.set_line_outcome(line.line_id, LineStatus.SENT, outcome.reference, None):
                    sent = attrs.evolve(line, status=LineStatus.SENT, reference=outcome.reference)
                    uow.events.add("partner.payout_sent", _line_payload(sent), now)
                continue
            reason = require_id("failure", outcome.failure)
            if not repo.set_line_outcome(line.line_id, LineStatus.FAILED, None, reason):
                continue
            for reward_id in line.reward_ids:
                reward = uow.rewards.get(reward_id)
                if (
                    reward is not None
                    and reward.state is RewardState.PAID
                    and reward.payout_id == line.line_id
                ):
                    back = transition(
                        uow,
                        reward,
                        RewardState.AVAILABLE,
                        reason="payout_failed",
                        event="reward.payout_failed",
                        now=now,
                        payout_id=None,
                    )
                    net_against_debts(core, uow, _unsent_clawback(uow, back, now), now)
            failed = attrs.evolve(line, status=LineStatus.FAILED, reason=reason)
            uow.events.add("partner.payout_failed", _line_payload(failed), now)
        return repo.batch_lines(batch_id)


def pay(
    core: ProgramCore,
    provider: object,
    *,
    payout_id: object,
    currency: object,
    after: object,
    limit: object,
    require_verification: object,
    check: object,
) -> PayoutRun:
    """`referralkit.program.Partners.pay`."""
    if not isinstance(provider, PayoutProvider):
        raise InvalidInput(
            "provider must have send(batch) (a PayoutProvider)", value=provider, field="provider"
        )
    batch_id = require_id("payout_id", payout_id)
    if "/" in batch_id:
        # A line id is "<batch>/<partner>/<currency>": a batch id without "/" keeps it unique.
        raise InvalidInput("payout_id cannot contain '/'", value=batch_id, field="payout_id")
    currency = opt_name("currency", currency)
    cursor = _cursor(after)
    limit = positive_int("limit", limit)
    if limit > _MAX_LINES:
        raise InvalidInput(f"limit is at most {_MAX_LINES}", value=limit, field="limit")
    if not isinstance(require_verification, bool):
        raise InvalidInput(
            "require_verification must be True or False",
            value=require_verification,
            field="require_verification",
        )
    if check is not None and not callable(check):
        raise InvalidInput("check must be a callable(partner)", value=check, field="check")
    with core.transaction() as uow:
        repo = payout_repo(core, uow)
        stored = repo.batch(batch_id)
        todo: list[PartnerDue] = []
        partners: dict[str, Partner] = {}
        if stored is None:
            todo = repo.due(currency=currency, after=cursor, limit=limit)
            partners = {d.partner_id: _partner(repo, d.partner_id) for d in todo}
    if stored is not None:
        _same_batch(batch_id, stored[0], currency)
        return _send(core, provider, batch_id, stored[1])
    # A host's check is consulted outside any unit of work: it may call a service.
    decisions = {pid: _decision(check, p) for pid, p in partners.items()} if check else {}
    now = core.now()
    with core.transaction() as uow:
        repo = payout_repo(core, uow)
        (was, created_at), created = repo.add_batch(batch_id, currency, now)
        if created:
            _fill(
                core,
                uow,
                batch_id,
                todo,
                decisions=decisions,
                require_verification=require_verification,
                now=now,
            )
    if not created:
        _same_batch(batch_id, was, currency)
    return _send(core, provider, batch_id, created_at)


def _fill(
    core: ProgramCore,
    uow: UnitOfWork,
    batch_id: str,
    todo: list[PartnerDue],
    *,
    decisions: dict[str, Verification],
    require_verification: bool,
    now: datetime,
) -> None:
    """Step 1: a line per due partner and currency, their rewards paid (or skipped)."""
    repo = payout_repo(core, uow)
    count = 0
    for item in todo:
        partner = _partner(repo, item.partner_id)
        decision = decisions.get(partner.id)
        if decision is not None:
            partner = _record_verification(uow, repo, partner, decision, now)
        cur = item.amount.currency
        line = _line(
            core,
            uow,
            partner,
            cur,
            batch_id=batch_id,
            skip=_skip_reason(partner, decision, require_verification=require_verification),
            threshold=_threshold_in(threshold_of(repo, partner), cur),
            now=now,
        )
        count += line is not None
    uow.events.add("partner.payout_batch", {"batch_id": batch_id, "lines": count}, now)


def _same_batch(batch_id: str, was: str | None, currency: str | None) -> None:
    if was != currency:
        raise IdempotencyConflict(
            f"payout batch {batch_id!r} was made for currency {was!r}, not {currency!r}",
            value=currency,
            field="currency",
        )


def _send(core: ProgramCore, provider: PayoutProvider, batch_id: str, at: datetime) -> PayoutRun:
    """Steps 2 and 3: send the batch's pending lines, record what became of them."""
    with core.transaction() as uow:
        lines = payout_repo(core, uow).batch_lines(batch_id)
    pending = {line.line_id: line for line in lines if line.status is LineStatus.PENDING}
    if pending:
        batch = PayoutBatch(
            batch_id,
            at,
            tuple(
                PayoutLine(
                    line.line_id, line.partner_id, line.payout_ref, line.amount, line.reward_ids
                )
                for line in pending.values()
            ),
        )
        outcomes = _outcomes(provider.send(batch), pending)
        if outcomes:
            lines = _record(core, batch_id, outcomes, core.now())
    return PayoutRun(batch_id, at, tuple(lines))
