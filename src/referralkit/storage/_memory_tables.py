"""The memory store's tables: plain dicts and lists, read by the store and its metrics.

Their own module, so that the store and its metrics source both import them and
neither imports the other.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from referralkit.context import Signal
from referralkit.metrics._source import Click
from referralkit.model import Conversion, Event, Referral, ReferralCode, Reward
from referralkit.money import Money
from referralkit.protocols import LedgerEntry, RefundRecord

__all__ = ["MemoryTables"]


class MemoryTables:
    """The memory store's rows and the indexes its queries read, shared with its metrics."""

    def __init__(self) -> None:
        self.codes: dict[str, ReferralCode] = {}
        self.code_by_owner: dict[tuple[str, str], str] = {}
        self.code_keys: dict[str, str] = {}  # code_key(code) -> code
        self.owner_codes: dict[str, list[str]] = defaultdict(list)
        self.referrals: dict[str, Referral] = {}
        self.active_by_referee: dict[str, str] = {}
        self.referrals_by_referrer: dict[str, list[str]] = defaultdict(list)
        self.referrals_by_referee: dict[str, list[str]] = defaultdict(list)
        self.conversions: dict[str, Conversion] = {}
        self.conversions_by_referee: dict[str, int] = defaultdict(int)
        self.conversions_by_referral: dict[str, list[str]] = defaultdict(list)
        self.rewards: dict[str, Reward] = {}
        self.reward_keys: dict[tuple[str, str], str] = {}
        self.rewards_by_order: dict[str, list[str]] = defaultdict(list)
        self.rewards_by_customer: dict[str, list[str]] = defaultdict(list)
        self.rewards_by_referral: dict[str, list[str]] = defaultdict(list)
        self.entries: list[LedgerEntry] = []
        self.entries_by_customer: dict[str, list[LedgerEntry]] = defaultdict(list)
        self.events: dict[int, Event] = {}  # by id, in id order
        self.acked: set[int] = set()
        self.claimable_at: dict[int, datetime] = {}  # leased, or waiting for a retry
        self.workers: dict[int, str | None] = {}  # who holds each lease
        self.dead: dict[int, datetime] = {}  # given up, and when
        self.clicks: list[Click] = []  # in id order; visitor is the stored key
        self.clicks_by_visitor: dict[str, list[Click]] = defaultdict(list)
        self.signals: dict[str, set[Signal]] = defaultdict(set)
        self.signal_owners: dict[Signal, list[str]] = defaultdict(list)
        self.refunds: dict[str, RefundRecord] = {}
        self.coupons: dict[str, str] = {}  # coupon code -> reward id
        self.redemptions: dict[str, str] = {}  # coupon code -> order id
        self.payouts: dict[str, tuple[str, ...]] = {}
        self.settlements: dict[str, Money] = {}
        self.terms: dict[str, str] = {}
        self.meta: dict[str, str] = {}
        # The running totals a budget reads: value of rewards not reversed.
        self.spend_money: dict[str, Money] = {}
        self.spend_points = 0
