"""Partner statements: the figures a store adds up (`PartnerFigures`) and `PartnerStatement`.

A store adds up one `PartnerFigures` per currency (in SQL on SQL stores); the statement
turns minor units into amounts and works out what is payable now (what is available
less the clawbacks still owed, never below nothing).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from referralkit.metrics._partner_figures import PartnerFigures
from referralkit.money import CURRENCY_EXPONENTS

__all__ = ["PartnerFigures", "PartnerStatement", "StatementLine"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _amount(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-CURRENCY_EXPONENTS.get(currency, 2))


class StatementLine(BaseModel):
    """A partner's statement in one currency."""

    model_config = _FROZEN

    currency: str
    orders: int = Field(description="Orders placed with the partner's codes in the period.")
    revenue: Decimal = Field(description="Those orders' amounts less refunds.")
    commission: Decimal = Field(description="Commission granted in the period, as granted.")
    fees: Decimal = Field(description="Post and campaign fees granted in the period.")
    reversed: Decimal = Field(description="What refunds took back before it was paid.")
    held: Decimal = Field(description="Still in the refund window.")
    available: Decimal = Field(description="Past the hold, not paid yet.")
    paid: Decimal = Field(description="Paid out (its value now).")
    clawed_back: Decimal = Field(description="Taken back by refunds after it was paid.")
    owed: Decimal = Field(description="Of the clawbacks, what is still to be recovered.")
    payable: Decimal = Field(description="available - owed, at least 0: what to pay now.")


class PartnerStatement(BaseModel):
    """`referralkit.ReferralProgram.partners` ``.statement(...)``: one line per currency."""

    model_config = _FROZEN

    partner_id: str
    since: datetime | None
    until: datetime | None
    lines: tuple[StatementLine, ...]

    @classmethod
    def of(
        cls,
        partner_id: str,
        since: datetime | None,
        until: datetime | None,
        figures: Sequence[PartnerFigures],
    ) -> PartnerStatement:
        """The statement the store's figures make."""
        lines = []
        for f in figures:
            c = f.currency
            lines.append(
                StatementLine(
                    currency=c,
                    orders=f.orders,
                    revenue=_amount(f.revenue, c),
                    commission=_amount(f.commission, c),
                    fees=_amount(f.fees, c),
                    reversed=_amount(f.reversed, c),
                    held=_amount(f.held, c),
                    available=_amount(f.available, c),
                    paid=_amount(f.paid, c),
                    clawed_back=_amount(f.clawed_back, c),
                    owed=_amount(f.owed, c),
                    payable=_amount(max(f.available - f.owed, 0), c),
                )
            )
        return cls(partner_id=partner_id, since=since, until=until, lines=tuple(lines))

    def line(self, currency: str) -> StatementLine | None:
        """The line in ``currency``, if the partner had anything in it."""
        return next((x for x in self.lines if x.currency == currency), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (amounts as strings, times as ISO text)."""
        out: dict[str, Any] = self.model_dump(mode="json")
        return out

    def to_csv(self) -> str:
        """One row per currency, with a header row; amounts as plain decimal text."""
        buffer = io.StringIO()
        names = list(StatementLine.model_fields)
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["partner_id", "since", "until", *names])
        for line in self.lines:
            writer.writerow(
                [
                    self.partner_id,
                    "" if self.since is None else self.since.isoformat(),
                    "" if self.until is None else self.until.isoformat(),
                    *(str(getattr(line, n)) for n in names),
                ]
            )
        return buffer.getvalue()
