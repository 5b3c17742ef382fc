"""The memory store's programme comparison: `ProgrammeFacts` in a few passes over its tables.

The same sums as the SQLite store's ``GROUP BY`` queries (`_sqlite_programmes`), by the
rule in `referralkit.metrics._programme_facts`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from referralkit.metrics._programme_facts import (
    REVENUE_DAYS,
    PartnerProfile,
    PostProfile,
    ProgrammeFacts,
    SourceCounts,
    SourceMoney,
)
from referralkit.metrics._source import Window
from referralkit.model import (
    Conversion,
    PartnerEngagement,
    Referral,
    ReferralStatus,
    Reward,
    RewardState,
)
from referralkit.money import CURRENCY_EXPONENTS, Money
from referralkit.storage._memory_partners import MemoryPartnerTables
from referralkit.storage._memory_tables import MemoryTables

__all__ = ["programme_facts"]

_ACCOUNT_REASONS = ("partner.account",)
Source = tuple[str | None, str | None]
_COUNTS = ("clicks", "signups", "orders", "customers", "repeat_customers")
_MONEY = ("revenue", "revenue_90d", "commission", "fees")


def _minor(money: Money | None) -> int:
    return 0 if money is None else int(money.amount.scaleb(CURRENCY_EXPONENTS[money.currency]))


def _cost(w: Reward) -> int:
    """What a reward cost: its value (a reversed one's clawback), less what was recovered."""
    value = w.clawback if w.state is RewardState.REVERSED else w.amount
    return _minor(value) - _minor(w.recovered)


class _Facts:
    def __init__(self, t: MemoryTables, p: MemoryPartnerTables | None, window: Window) -> None:
        self.t, self.p, self.window = t, p, window
        self.counts: dict[Source, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COUNTS, 0))
        self.money: dict[tuple[str | None, str | None, str], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(_MONEY, 0)
        )
        self.accounts = {} if p is None else {x.account_referral: x.id for x in p.partners.values()}

    def code_source(self, code: str) -> Source:
        mapped = None if self.p is None else self.p.codes.get(code)
        return (None, None) if mapped is None else (mapped.partner_id, mapped.post_id)

    def referral(self, referral_id: str | None) -> Referral | None:
        """The referral, when it is an attribution that was not rejected."""
        r = None if referral_id is None else self.t.referrals.get(referral_id)
        if r is None or r.status is ReferralStatus.REJECTED or r.reasons == _ACCOUNT_REASONS:
            return None
        return r

    def order_source(self, c: Conversion) -> Source | None:
        placed = None if self.p is None else self.p.orders.get(c.order_id)
        if placed is not None:
            return placed.partner_id, placed.post_id
        r = self.referral(c.referral_id)
        return None if r is None else self.code_source(r.code)

    def add_orders(self) -> None:
        window = self.window
        by_customer: dict[str, list[Conversion]] = defaultdict(list)
        acquired: list[tuple[Source, Conversion]] = []
        for c in self.t.conversions.values():
            if not window.before_end(c.occurred_at):
                continue
            by_customer[c.referee].append(c)
            if not window.holds(c.occurred_at):
                continue
            source = self.order_source(c)
            if source is None:
                continue
            self.counts[source]["orders"] += 1
            self.money[source[0], source[1], c.amount.currency]["revenue"] += _minor(c.net)
            if c.first_order:
                acquired.append((source, c))
        for source, first in acquired:
            self.counts[source]["customers"] += 1
            mine = by_customer[first.referee]
            if sum(1 for c in mine if c.net.amount > 0) >= 2:  # noqa: PLR2004 - a repeat
                self.counts[source]["repeat_customers"] += 1
            end = first.occurred_at + REVENUE_DAYS
            for c in mine:
                if first.occurred_at <= c.occurred_at < end:
                    self.money[source[0], source[1], c.amount.currency]["revenue_90d"] += _minor(
                        c.net
                    )

    def add_funnel(self) -> None:
        window = self.window
        for k in self.t.clicks:
            if window.holds(k.occurred_at):
                self.counts[self.code_source(k.code)]["clicks"] += 1
        for r in self.t.referrals.values():
            if window.holds(r.attributed_at) and self.referral(r.id) is not None:
                self.counts[self.code_source(r.code)]["signups"] += 1

    def add_costs(self) -> None:
        fee_posts = (
            {}
            if self.p is None
            else {x.reward_id: x.id for x in self.p.posts.values() if x.reward_id is not None}
        )
        for w in self.t.rewards.values():
            money = w.amount or w.granted
            if money is None or not self.window.holds(w.created_at):
                continue
            partner = self.accounts.get(w.referral_id)
            key: Source
            if partner is not None:
                if w.order_id is None:
                    key, figure = (partner, fee_posts.get(w.id)), "fees"
                else:
                    placed = None if self.p is None else self.p.orders.get(w.order_id)
                    key = (partner, None if placed is None else placed.post_id)
                    figure = "commission"
            else:
                r = self.referral(w.referral_id)
                if r is None:
                    continue
                key, figure = self.code_source(r.code), "commission"
            self.money[key[0], key[1], money.currency][figure] += _cost(w)

    def engagement(self) -> dict[str, tuple[int, int]]:
        if self.p is None:
            return {}
        latest: dict[str, PartnerEngagement] = {}
        made = {x.id for x in self.p.posts.values() if self.window.holds(x.created_at)}
        for (post, as_of), e in self.p.engagement.items():
            if post not in made or not self.window.before_end(as_of):
                continue
            seen = latest.get(post)
            if seen is None or as_of > seen.as_of:
                latest[post] = e
        return {post: (e.impressions, e.engagements) for post, e in latest.items()}

    def result(self) -> ProgrammeFacts:
        posts: Iterable[PostProfile] = ()
        partners: Iterable[PartnerProfile] = ()
        if self.p is not None:
            partners = (
                PartnerProfile(x.id, x.name, x.kind, x.audience, x.region, x.niches)
                for x in self.p.partners.values()
            )
            posts = (PostProfile(x.id, x.partner_id, x.channel) for x in self.p.posts.values())
            for post, (impressions, engagements) in self.engagement().items():
                row = self.counts[(self.p.posts[post].partner_id, post)]
                row["impressions"], row["engagements"] = impressions, engagements
        return ProgrammeFacts(
            partners=tuple(sorted(partners, key=lambda x: x.id)),
            posts=tuple(sorted(posts, key=lambda x: x.id)),
            counts=tuple(
                SourceCounts(partner, post, **row)
                for (partner, post), row in sorted(self.counts.items(), key=_source_order)
            ),
            money=tuple(
                SourceMoney(partner, post, currency, **row)
                for (partner, post, currency), row in sorted(
                    self.money.items(), key=lambda kv: (*_key(kv[0][:2]), kv[0][2])
                )
            ),
        )


def _key(source: tuple[str | None, ...]) -> tuple[bool, str, bool, str]:
    partner, post = source
    return (partner is not None, partner or "", post is not None, post or "")


def _source_order(item: tuple[Source, object]) -> tuple[bool, str, bool, str]:
    return _key(item[0])


def programme_facts(
    tables: MemoryTables, partners: MemoryPartnerTables | None, window: Window
) -> ProgrammeFacts:
    """The comparison's sums per source over ``window``."""
    facts = _Facts(tables, partners, window)
    facts.add_orders()
    facts.add_funnel()
    facts.add_costs()
    return facts.result()
