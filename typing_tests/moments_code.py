"""Type-checked, never run: moments, delivery holds, landings and claims from a host's seat."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import referralkit as rk
from referralkit.invitee import Landing, Offer
from referralkit.moments import (
    DELIVERED,
    REVIEW,
    InviteDecision,
    Learning,
    MomentEvidence,
    MomentRules,
    MomentStats,
    UntilDelivered,
)
from referralkit.policies import Fixed
from referralkit.storage import SQLiteStore


def host(path: str, delivered_at: datetime) -> None:
    program = rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=b"0123456789abcdef0123456789abcdef",
        policy=Fixed(rk.Money("10", "USD")),
        hold={"referee": timedelta(0), "referrer": UntilDelivered(timedelta(days=14))},
        moment_rules=MomentRules(cooldown=timedelta(days=30), per_period=2),
        learning=Learning(moments=(DELIVERED, REVIEW), explore=0.1, rng=random.Random(1)),
    )
    program.moments.report("ann", REVIEW, score=5, key="hook-1")
    decision: InviteDecision = program.moments.should_invite("ann", DELIVERED)
    invite: bool = decision.invite
    reason: str = decision.reason
    evidence: tuple[MomentEvidence, ...] = decision.evidence
    new: bool = program.moments.shared(decision.id, channel="whatsapp")
    stats: list[MomentStats] = program.moments.stats(since=delivered_at)
    rewards: list[rk.Reward] = program.delivered("o-1", at=delivered_at)
    name: str | None = program.set_display_name("ann", "Ann K.")
    page: Landing = program.landing("https://shop.example/r?ref=X", claim_ttl=timedelta(minutes=30))
    offers: tuple[Offer, ...] = page.offers
    if page.claim_token is not None:
        referral: rk.Referral = program.claim(page.claim_token, "bob")
        del referral
    del invite, reason, evidence, new, stats, rewards, name, offers
