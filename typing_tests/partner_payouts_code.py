"""Type-checked, never run: paying partners through a provider, from a host's seat."""

from __future__ import annotations

import io
from datetime import timedelta

import referralkit as rk
from referralkit.payouts import LineStatus, PartnerDue, PayoutBatch, PayoutRun
from referralkit.policies import PercentOfOrder


class MyProvider:
    """A host's provider: no base class, only ``send``."""

    def send(self, batch: PayoutBatch) -> list[rk.PayoutOutcome]:
        return [rk.PayoutOutcome.sent(line.line_id, f"tr-{line.line_id}") for line in batch.lines]


def kyc(partner: rk.Partner) -> rk.Verification:
    return rk.Verification(ok=partner.payout_ref is not None, reference="case-1")


def pay_partners(program: rk.ReferralProgram) -> int:
    program.partners.group(
        "micro",
        terms=PercentOfOrder("10%"),
        hold=timedelta(days=30),
        payout_threshold=rk.Money("50", "USD"),
    )
    partner: rk.Partner = program.partners.add(
        "anna", name="Anna", payout_threshold=rk.Money("20", "USD"), hold=timedelta(days=7)
    )
    program.partners.set_payout_terms("anna", payout_threshold=None, hold=None)
    program.partners.verify("anna", ok=True, reference="kyc-1")
    due: list[PartnerDue] = program.partners.payable(currency="USD", limit=50)
    after: tuple[str, str] | None = due[-1].key if due else None
    provider: rk.PayoutProvider = MyProvider()
    run: PayoutRun = program.partners.pay(provider, payout_id="po-1", after=after, check=kyc)
    csv_run = program.partners.pay(
        rk.CsvPayoutProvider(io.StringIO()), payout_id="po-2", require_verification=True
    )
    sent = run.by_status(LineStatus.SENT) + csv_run.by_status("failed")
    hold: timedelta | None = partner.hold
    del hold
    return len(sent)
