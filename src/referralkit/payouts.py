"""Paying partners through a provider: the `PayoutProvider` protocol and what crosses it.

`referralkit.ReferralProgram.partners` ``.pay(provider, payout_id=...)`` picks the
partners who are due (past their payout threshold, verified when the program asks for
it), marks their rewards paid in one unit of work, and hands the provider one
`PayoutBatch`: a `PayoutLine` per partner and currency. The provider answers each line
with a `PayoutOutcome`: its own reference, or a failure and why (the line's rewards then
return to available). `CsvPayoutProvider` is built in; a host puts Stripe Connect,
PayPal or Wise behind the same one-method protocol.

A batch is sent once per id: a retry sends only the lines no outcome was recorded for
(a crash between sending and recording), under the same line ids, so a provider that
keys its transfers by `PayoutLine.line_id` (an idempotency key) never pays twice.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO, runtime_checkable

import attrs

from referralkit._json import JSONForm
from referralkit.money import Money

__all__ = [
    "CsvPayoutProvider",
    "LineStatus",
    "PartnerDue",
    "PartnerPayout",
    "PayoutBatch",
    "PayoutLine",
    "PayoutOutcome",
    "PayoutProvider",
    "PayoutRun",
    "Verification",
]


@attrs.frozen(slots=True)
class PayoutLine(JSONForm):
    """One transfer the provider is asked to make: a partner's payable in one currency.

    ``line_id`` (``<batch id>/<partner id>/<currency>``) is unique across batches and
    the same on a retry: use it as the provider's idempotency key. ``payout_ref`` is the
    host's opaque id for the partner (a Stripe account id, a PayPal payer id);
    ``reward_ids`` what the transfer pays.
    """

    line_id: str
    partner_id: str
    payout_ref: str | None
    amount: Money
    reward_ids: tuple[str, ...]


@attrs.frozen(slots=True)
class PayoutBatch(JSONForm):
    """What `PayoutProvider.send` receives: the batch id and its lines."""

    batch_id: str
    created_at: datetime
    lines: tuple[PayoutLine, ...]


@attrs.frozen(slots=True)
class PayoutOutcome(JSONForm):
    """The provider's answer for one line: its ``reference``, or a ``failure`` reason."""

    line_id: str
    reference: str | None = None
    failure: str | None = None

    @classmethod
    def sent(cls, line_id: str, reference: str) -> PayoutOutcome:
        """The line was paid; ``reference`` is the provider's id for the transfer."""
        return cls(line_id, reference=reference)

    @classmethod
    def failed(cls, line_id: str, reason: str) -> PayoutOutcome:
        """The line was not paid, because of ``reason`` (its rewards return to available)."""
        return cls(line_id, failure=reason)


@runtime_checkable
class PayoutProvider(Protocol):
    """Sends a batch of payouts; one method, no base class.

    The contract: `send` answers each line it knows the fate of with a `PayoutOutcome`
    (a line left out stays pending and is sent again when the batch id is retried),
    and treats a `PayoutLine.line_id` it has paid before as paid (no second transfer).
    It may raise: the batch's lines then stay pending until it is retried.
    """

    def send(self, batch: PayoutBatch) -> Iterable[PayoutOutcome]:
        """Pay ``batch``'s lines; an outcome per line whose fate is known."""
        ...


class LineStatus(str, enum.Enum):
    """Where one line of a payout batch stands.

    ``pending``: its rewards are paid in the ledger, the provider has not answered yet;
    ``sent``: the provider paid it (``reference``); ``failed``: it did not (``reason``),
    and the rewards are available again; ``skipped``: the partner was not paid
    (``reason``, e.g. ``unverified``) and nothing of theirs moved.
    """

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


@attrs.frozen(slots=True)
class PartnerPayout(JSONForm):
    """One line of a payout batch as recorded: what it paid and what became of it."""

    batch_id: str
    line_id: str
    partner_id: str
    payout_ref: str | None
    amount: Money
    reward_ids: tuple[str, ...]
    status: LineStatus
    reference: str | None = None
    reason: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(partner_id, currency)``: pass the last line's as ``after=`` to pay the next page."""
        return (self.partner_id, self.amount.currency)


@attrs.frozen(slots=True)
class PayoutRun(JSONForm):
    """What ``program.partners.pay`` returns: the batch's lines and their outcomes.

    The same for every retry of the batch id once the provider has answered.
    """

    batch_id: str
    created_at: datetime
    lines: tuple[PartnerPayout, ...]

    def by_status(self, status: LineStatus | str) -> list[PartnerPayout]:
        """The lines in ``status``."""
        wanted = LineStatus(status)
        return [line for line in self.lines if line.status is wanted]


@attrs.frozen(slots=True)
class PartnerDue(JSONForm):
    """A partner due a payout in one currency: what is payable, and the threshold it met.

    ``amount`` is what is available less the clawbacks still owed (the statement's
    ``payable``); ``threshold`` the partner's (else their group's) in that currency.
    """

    partner_id: str
    amount: Money
    threshold: Money | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(partner_id, currency)``: the cursor for the next page (``after=``)."""
        return (self.partner_id, self.amount.currency)


@attrs.frozen(slots=True)
class Verification(JSONForm):
    """A host's tax and identity decision on a partner: yes or no, and its own reference.

    The library stores only these two: never the documents the decision was made on.
    """

    ok: bool
    reference: str | None = None


_CSV_HEADER = ("batch_id", "line_id", "partner_id", "payout_ref", "currency", "amount", "rewards")


class CsvPayoutProvider:
    """Writes each batch as CSV (to a path or a text stream) and reports every line sent.

    For a shop that pays by a bank's bulk-transfer upload, or reviews a file before
    paying: each line's reference is ``csv:<line_id>``. A path is appended to, with the
    header written once, so the batches of a month can share one file.
    """

    def __init__(self, target: str | Path | TextIO) -> None:
        self._target = target

    def send(self, batch: PayoutBatch) -> list[PayoutOutcome]:
        """Write the batch's lines, one row each; every line is reported sent."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        target = self._target
        if _wants_header(target):
            writer.writerow(_CSV_HEADER)
        writer.writerows(_rows(batch.lines, batch.batch_id))
        if isinstance(target, str | Path):
            with Path(target).open("a", encoding="utf-8", newline="") as out:
                out.write(buffer.getvalue())
        else:
            target.write(buffer.getvalue())
        return [PayoutOutcome.sent(line.line_id, f"csv:{line.line_id}") for line in batch.lines]


def _wants_header(target: str | Path | TextIO) -> bool:
    """Whether the target is empty so far (a stream that cannot tell gets one each time)."""
    if isinstance(target, str | Path):
        path = Path(target)
        return not path.exists() or path.stat().st_size == 0
    return not target.seekable() or target.tell() == 0


def _rows(lines: Sequence[PayoutLine], batch_id: str) -> list[list[str]]:
    return [
        [
            batch_id,
            line.line_id,
            line.partner_id,
            line.payout_ref or "",
            line.amount.currency,
            f"{line.amount.amount:f}",
            " ".join(line.reward_ids),
        ]
        for line in lines
    ]
