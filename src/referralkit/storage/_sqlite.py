"""The embedded default store, on the standard library's ``sqlite3``.

WAL journal, foreign keys on, a versioned schema migrated on open, unique
constraints for every natural key, and ``BEGIN IMMEDIATE`` units of work with a busy
timeout and retries, so threads and processes sharing one file queue up instead of
failing with "database is locked".
"""

from __future__ import annotations

import enum
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from referralkit.codes import code_key
from referralkit.context import Signal
from referralkit.errors import ConfigError, StorageError, UnknownOrder, UnknownReferral
from referralkit.metrics._source import Click
from referralkit.model import (
    Beneficiary,
    CodeKind,
    Conversion,
    Event,
    Referral,
    ReferralCode,
    ReferralStatus,
    Reward,
    RewardKind,
    RewardState,
)
from referralkit.money import Money
from referralkit.protocols import LedgerEntry, RefundRecord
from referralkit.storage._errors import CodeTaken
from referralkit.storage._schema import migrate
from referralkit.storage._sqlite_codec import (
    decode_optional_time,
    decode_payload,
    decode_time,
    encode_optional_time,
    encode_payload,
    encode_time,
    money_from_minor,
    money_from_minor_or_none,
    to_minor_units,
)
from referralkit.storage._sqlite_groups import SQLiteGroups
from referralkit.storage._sqlite_invitations import SQLiteInvitations
from referralkit.storage._sqlite_invitee import SQLiteClaims, SQLiteDisplayNames
from referralkit.storage._sqlite_moments import SQLiteDeliveries, SQLiteMoments
from referralkit.storage._sqlite_partners import SQLitePartners
from referralkit.storage._sqlite_waitlist import SQLiteWaitlist

if TYPE_CHECKING:
    from referralkit.storage._sqlite_metrics import SQLiteMetricsSource

__all__ = ["SQLiteStore"]

_LOCKED_RETRIES = 50


_E = TypeVar("_E", bound=enum.Enum)


def _enum_reader(cls: type[_E]) -> Callable[[str], _E]:
    """``cls(value)`` through a dict: the stored values are few and always valid."""
    members: dict[object, _E] = {m.value: m for m in cls}

    def read(value: str) -> _E:
        found = members.get(value)
        return cls(value) if found is None else found

    return read


_code_kind = _enum_reader(CodeKind)
_referral_status = _enum_reader(ReferralStatus)
_beneficiary = _enum_reader(Beneficiary)
_reward_kind = _enum_reader(RewardKind)
_reward_state = _enum_reader(RewardState)


def _reasons_text(reasons: tuple[str, ...]) -> str:
    return "[]" if not reasons else json.dumps(list(reasons))


def _reasons(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


# Rows are read by position, in the order of these column lists.
_CODE_COLUMNS = "code, owner, campaign, kind, created_at, expires_at, max_uses"
_REFERRAL_COLUMNS = (
    "id, code, referrer, referee, status, reasons, attributed_at, campaign, policy_version,"
    " channel, qualified_at"
)
_CONVERSION_COLUMNS = (
    "order_id, referee, currency, amount_minor, refunded_minor, occurred_at, first_order,"
    " referral_id, order_number, recorded_at"
)
_REWARD_COLUMNS = (
    "id, key, referral_id, beneficiary, customer_id, kind, currency, amount_minor,"
    " granted_minor, points, granted_points, state, order_id, policy, explanation,"
    " created_at, hold_until, perk, coupon_code, proportional, clawback_minor, clawback_points,"
    " netted_minor, recovered_minor, redeemed_order, payout_id, expires_at"
)
_REWARD_COLUMN_COUNT = _REWARD_COLUMNS.count(",") + 1
_INSERT_REWARD = (
    f"INSERT INTO rewards ({_REWARD_COLUMNS}) VALUES ({', '.join('?' * _REWARD_COLUMN_COUNT)})"  # noqa: S608 - constant columns
    " ON CONFLICT (customer_id, key) DO NOTHING"
)
_PREFIXED_REWARD_COLUMNS = ", ".join(f"w.{c.strip()}" for c in _REWARD_COLUMNS.split(","))


_SELECT_CODES = f"SELECT {_CODE_COLUMNS} FROM codes"  # noqa: S608 - constant columns
_SELECT_REFERRALS = f"SELECT {_REFERRAL_COLUMNS} FROM referrals"  # noqa: S608 - constant columns
_SELECT_CONVERSIONS = f"SELECT {_CONVERSION_COLUMNS} FROM conversions"  # noqa: S608 - constant columns
_SELECT_REWARDS = f"SELECT {_REWARD_COLUMNS} FROM rewards"  # noqa: S608 - constant columns
_CODE_BY_CODE = f"{_SELECT_CODES} WHERE code = ?"
_CODE_BY_KEY = f"{_SELECT_CODES} WHERE lookup_key = ?"
_CODE_BY_OWNER_CAMPAIGN = f"{_SELECT_CODES} WHERE owner = ? AND campaign = ?"
_CODES_BY_OWNER = f"{_SELECT_CODES} WHERE owner = ? ORDER BY created_at, rowid"
_REFERRAL_BY_ID = f"{_SELECT_REFERRALS} WHERE id = ?"
_ACTIVE_REFERRAL = f"{_SELECT_REFERRALS} WHERE referee = ? AND status <> 'rejected'"
_REFERRALS_IN_REVIEW = (
    f"{_SELECT_REFERRALS} WHERE status = 'review' ORDER BY attributed_at, id LIMIT ?"
)
# A page continues after its cursor referral's place in (attribution time, id) order; an
# unknown cursor has no place, so the comparison is NULL and the page is empty.
_AFTER_CURSOR = (
    "(:after IS NULL OR (r.attributed_at, r.id) >"
    " (SELECT c.attributed_at, c.id FROM referrals c WHERE c.id = :after))"
)
_PREFIXED_REFERRAL_COLUMNS = ", ".join(f"r.{c.strip()}" for c in _REFERRAL_COLUMNS.split(","))
_REVIEW_PAGE = (
    f"SELECT {_PREFIXED_REFERRAL_COLUMNS} FROM referrals r WHERE r.status = 'review'"  # noqa: S608 - constant columns
    " AND (:referrer IS NULL OR r.referrer = :referrer)"
    " AND (:reason IS NULL OR EXISTS (SELECT 1 FROM json_each(r.reasons) j"
    " WHERE j.value = :reason))"
    f" AND {_AFTER_CURSOR} ORDER BY r.attributed_at, r.id LIMIT :limit"
)
# A referee's entry among a referrer's friends: the standing referral, else the most
# recent rejected one (a later row wins a tie).
_FRIENDS = (
    f"SELECT {_PREFIXED_REFERRAL_COLUMNS} FROM referrals r WHERE r.referrer = :referrer"  # noqa: S608 - constant columns
    " AND NOT EXISTS (SELECT 1 FROM referrals o WHERE o.referrer = r.referrer"
    " AND o.referee = r.referee AND o.rowid <> r.rowid AND r.status = 'rejected'"
    " AND (o.status <> 'rejected' OR o.attributed_at > r.attributed_at"
    " OR (o.attributed_at = r.attributed_at AND o.rowid > r.rowid)))"
    f" AND {_AFTER_CURSOR} ORDER BY r.attributed_at, r.id LIMIT :limit"
)
_REJECTED_FOR_REFEREE = (
    f"{_SELECT_REFERRALS} WHERE referee = ? AND status = 'rejected'"
    " ORDER BY attributed_at DESC, rowid DESC LIMIT 1"
)
_SET_REFERRAL_STATUS = (
    f"UPDATE referrals SET status = ?, reasons = ? WHERE id = ? RETURNING {_REFERRAL_COLUMNS}"  # noqa: S608 - constant columns
)
_SET_QUALIFIED = (
    "UPDATE referrals SET status = ?, qualified_at = ? WHERE id = ?"  # noqa: S608 - constant columns
    f" RETURNING {_REFERRAL_COLUMNS}"
)
_REASSIGN_REFERRAL = (
    "UPDATE referrals SET code = ?, referrer = ?, campaign = ?, reasons = ?,"  # noqa: S608 - constant columns
    f" policy_version = coalesce(?, policy_version) WHERE id = ? RETURNING {_REFERRAL_COLUMNS}"
)
_CONVERSION_BY_ORDER = f"{_SELECT_CONVERSIONS} WHERE order_id = ?"
_CONVERSIONS_BY_REFERRAL = (
    f"{_SELECT_CONVERSIONS} WHERE referral_id = ? ORDER BY occurred_at, rowid"
)
_SET_REFUNDED = (
    f"UPDATE conversions SET refunded_minor = ? WHERE order_id = ? RETURNING {_CONVERSION_COLUMNS}"  # noqa: S608 - constant columns
)
_REWARD_BY_ID = f"{_SELECT_REWARDS} WHERE id = ?"
_REWARD_BY_KEY = f"{_SELECT_REWARDS} WHERE customer_id = ? AND key = ?"
_DUE_REWARDS = (
    f"{_SELECT_REWARDS} WHERE state = 'held' AND hold_until <= ? ORDER BY hold_until, id LIMIT ?"
)


def _code_row(row: Sequence[Any]) -> ReferralCode:
    code, owner, campaign, kind, created_at, expires_at, max_uses = row
    return ReferralCode(
        code=code,
        owner=owner,
        campaign=campaign,
        kind=_code_kind(kind),
        created_at=decode_time(created_at),
        expires_at=decode_optional_time(expires_at),
        max_uses=max_uses,
    )


def _referral_row(row: Sequence[Any]) -> Referral:
    (
        referral_id,
        code,
        referrer,
        referee,
        status,
        reasons,
        attributed_at,
        campaign,
        policy_version,
        channel,
        qualified_at,
    ) = row
    return Referral(
        id=referral_id,
        code=code,
        referrer=referrer,
        referee=referee,
        status=_referral_status(status),
        reasons=_reasons(reasons),
        attributed_at=decode_time(attributed_at),
        campaign=campaign,
        policy_version=policy_version,
        channel=channel,
        qualified_at=decode_optional_time(qualified_at),
    )


def _conversion_row(row: Sequence[Any]) -> Conversion:
    (
        order_id,
        referee,
        currency,
        amount,
        refunded,
        occurred_at,
        first_order,
        referral_id,
        order_number,
        recorded_at,
    ) = row
    return Conversion(
        order_id=order_id,
        referee=referee,
        amount=money_from_minor(amount, currency),
        occurred_at=decode_time(occurred_at),
        first_order=bool(first_order),
        referral_id=referral_id,
        refunded=money_from_minor(refunded, currency) if refunded else None,
        order_number=order_number,
        recorded_at=decode_optional_time(recorded_at),
    )


def _reward_row(row: Sequence[Any]) -> Reward:
    (
        reward_id,
        key,
        referral_id,
        beneficiary,
        customer_id,
        kind,
        currency,
        amount,
        granted,
        points,
        granted_points,
        state,
        order_id,
        policy,
        explanation,
        created_at,
        hold_until,
        perk,
        coupon_code,
        proportional,
        clawback,
        clawback_points,
        netted,
        recovered,
        redeemed_order,
        payout_id,
        expires_at,
    ) = row
    return Reward(
        id=reward_id,
        key=key,
        referral_id=referral_id,
        beneficiary=_beneficiary(beneficiary),
        customer_id=customer_id,
        kind=_reward_kind(kind),
        amount=money_from_minor_or_none(amount, currency),
        granted=money_from_minor_or_none(granted, currency),
        points=points,
        granted_points=granted_points,
        state=_reward_state(state),
        order_id=order_id,
        policy=policy,
        explanation=explanation,
        created_at=decode_time(created_at),
        hold_until=decode_optional_time(hold_until),
        perk=perk,
        coupon_code=coupon_code,
        proportional=bool(proportional),
        clawback=money_from_minor_or_none(clawback, currency),
        clawback_points=clawback_points,
        netted=money_from_minor_or_none(netted, currency),
        recovered=money_from_minor_or_none(recovered, currency),
        redeemed_order=redeemed_order,
        payout_id=payout_id,
        expires_at=decode_optional_time(expires_at),
    )


class _Repo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn


class _Codes(_Repo):
    def add(self, code: ReferralCode) -> ReferralCode:
        cur = self._c.execute(
            "INSERT INTO codes (code, owner, campaign, kind, created_at, expires_at, max_uses,"
            " lookup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                code.code,
                code.owner,
                code.campaign,
                code.kind.value,
                encode_time(code.created_at),
                encode_optional_time(code.expires_at),
                code.max_uses,
                code_key(code.code),
            ),
        )
        if cur.rowcount == 1:
            return code
        row = self._c.execute(_CODE_BY_OWNER_CAMPAIGN, (code.owner, code.campaign)).fetchone()
        if row is None:
            raise CodeTaken(f"code {code.code!r} is already issued", value=code.code)
        return _code_row(row)

    def get(self, code: str) -> ReferralCode | None:
        row = self._c.execute(_CODE_BY_CODE, (code,)).fetchone()
        return None if row is None else _code_row(row)

    def find(self, key: str) -> ReferralCode | None:
        row = self._c.execute(_CODE_BY_KEY, (key,)).fetchone()
        return None if row is None else _code_row(row)

    def for_owner(self, owner: str) -> list[ReferralCode]:
        rows = self._c.execute(_CODES_BY_OWNER, (owner,))
        return [_code_row(r) for r in rows]


class _Referrals(_Repo):
    def add(self, referral: Referral) -> Referral:
        cur = self._c.execute(
            "INSERT INTO referrals (id, code, referrer, referee, status, reasons, attributed_at,"
            " campaign, policy_version, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (
                referral.id,
                referral.code,
                referral.referrer,
                referral.referee,
                referral.status.value,
                _reasons_text(referral.reasons),
                encode_time(referral.attributed_at),
                referral.campaign,
                referral.policy_version,
                referral.channel,
            ),
        )
        if cur.rowcount == 1:
            return referral
        existing = self.active_for_referee(referral.referee)
        if existing is None:  # pragma: no cover - only an id collision gets here
            raise StorageError(f"referral id {referral.id!r} already exists", value=referral.id)
        return existing

    def get(self, referral_id: str) -> Referral | None:
        row = self._c.execute(_REFERRAL_BY_ID, (referral_id,)).fetchone()
        return None if row is None else _referral_row(row)

    def active_for_referee(self, referee: str) -> Referral | None:
        row = self._c.execute(_ACTIVE_REFERRAL, (referee,)).fetchone()
        return None if row is None else _referral_row(row)

    def set_status(
        self, referral_id: str, status: ReferralStatus, reasons: tuple[str, ...]
    ) -> Referral:
        row = self._c.execute(
            _SET_REFERRAL_STATUS,
            (status.value, _reasons_text(reasons), referral_id),
        ).fetchone()
        if row is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        return _referral_row(row)

    def set_qualified(self, referral_id: str, qualified_at: datetime | None) -> Referral:
        status = ReferralStatus.PENDING if qualified_at is None else ReferralStatus.QUALIFIED
        row = self._c.execute(
            _SET_QUALIFIED, (status.value, encode_optional_time(qualified_at), referral_id)
        ).fetchone()
        if row is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        return _referral_row(row)

    def qualified_count_at(self, referrer: str, at: datetime) -> int:
        row = self._c.execute(
            "SELECT count(*) FROM referrals WHERE referrer = ? AND status = 'qualified'"
            " AND qualified_at <= ?",
            (referrer, encode_time(at)),
        ).fetchone()
        return int(row[0])

    def count_for_code(self, code: str) -> int:
        row = self._c.execute(
            "SELECT count(*) FROM referrals WHERE code = ? AND status <> 'rejected'", (code,)
        ).fetchone()
        return int(row[0])

    def counts_for_referrer(self, referrer: str) -> Mapping[ReferralStatus, int]:
        counts = dict.fromkeys(ReferralStatus, 0)
        for status, n in self._c.execute(
            "SELECT status, count(*) FROM referrals WHERE referrer = ? GROUP BY status",
            (referrer,),
        ):
            counts[ReferralStatus(status)] = n
        return counts

    def referrer_times(self, referrer: str, since: datetime) -> list[datetime]:
        rows = self._c.execute(
            "SELECT attributed_at FROM referrals WHERE referrer = ? AND attributed_at >= ?"
            " AND status <> 'rejected' ORDER BY attributed_at",
            (referrer, encode_time(since)),
        )
        return [decode_time(r[0]) for r in rows]

    def in_review(self, limit: int) -> list[Referral]:
        rows = self._c.execute(
            _REFERRALS_IN_REVIEW,
            (limit,),
        )
        return [_referral_row(r) for r in rows]

    def review_page(
        self, limit: int, *, after: str | None, reason: str | None, referrer: str | None
    ) -> list[Referral]:
        rows = self._c.execute(
            _REVIEW_PAGE, {"limit": limit, "after": after, "reason": reason, "referrer": referrer}
        )
        return [_referral_row(r) for r in rows]

    def friends(self, referrer: str, *, after: str | None, limit: int) -> list[Referral]:
        rows = self._c.execute(_FRIENDS, {"referrer": referrer, "after": after, "limit": limit})
        return [_referral_row(r) for r in rows]

    def rejected_for_referee(self, referee: str) -> Referral | None:
        row = self._c.execute(_REJECTED_FOR_REFEREE, (referee,)).fetchone()
        return None if row is None else _referral_row(row)

    def ordered_count(self, referrer: str) -> int:
        row = self._c.execute(
            "SELECT count(*) FROM referrals r WHERE r.referrer = ?"
            " AND r.status IN ('pending', 'qualified')"
            " AND EXISTS (SELECT 1 FROM conversions c WHERE c.referral_id = r.id)",
            (referrer,),
        ).fetchone()
        return int(row[0])

    def referrer_of(self, referee: str) -> str | None:
        row = self._c.execute(
            "SELECT referrer FROM referrals WHERE referee = ? AND status <> 'rejected'",
            (referee,),
        ).fetchone()
        return None if row is None else str(row[0])

    def referees_of(self, referrer: str, last: int | None = None) -> list[str]:
        if last is None:
            rows = self._c.execute(
                "SELECT referee FROM referrals WHERE referrer = ? AND status <> 'rejected'"
                " ORDER BY attributed_at, rowid",
                (referrer,),
            )
            return [str(r[0]) for r in rows]
        rows = self._c.execute(
            "SELECT referee FROM referrals WHERE referrer = ? AND status <> 'rejected'"
            " ORDER BY attributed_at DESC, rowid DESC LIMIT ?",
            (referrer, last),
        )
        return [str(r[0]) for r in rows][::-1]

    def reassign(
        self,
        referral_id: str,
        code: ReferralCode,
        reasons: tuple[str, ...],
        policy_version: str | None = None,
    ) -> Referral:
        row = self._c.execute(
            _REASSIGN_REFERRAL,
            (
                code.code,
                code.owner,
                code.campaign,
                _reasons_text(reasons),
                policy_version,
                referral_id,
            ),
        ).fetchone()
        if row is None:
            raise UnknownReferral(f"no referral {referral_id!r}", value=referral_id)
        return _referral_row(row)


class _Conversions(_Repo):
    def add(self, conversion: Conversion) -> tuple[Conversion, bool]:
        cur = self._c.execute(
            "INSERT INTO conversions (order_id, referee, currency, amount_minor, refunded_minor,"
            " occurred_at, first_order, referral_id, order_number, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                conversion.order_id,
                conversion.referee,
                conversion.amount.currency,
                to_minor_units(conversion.amount),
                0 if conversion.refunded is None else to_minor_units(conversion.refunded),
                encode_time(conversion.occurred_at),
                int(conversion.first_order),
                conversion.referral_id,
                conversion.order_number,
                encode_optional_time(conversion.recorded_at),
            ),
        )
        if cur.rowcount == 1:
            return conversion, True
        existing = self.get(conversion.order_id)
        assert existing is not None  # noqa: S101 - the conflict above proves it exists
        return existing, False

    def get(self, order_id: str) -> Conversion | None:
        row = self._c.execute(_CONVERSION_BY_ORDER, (order_id,)).fetchone()
        return None if row is None else _conversion_row(row)

    def count_for_referee(self, referee: str) -> int:
        row = self._c.execute(
            "SELECT count(*) FROM conversions WHERE referee = ?", (referee,)
        ).fetchone()
        return int(row[0])

    def set_refunded(self, order_id: str, refunded: Money) -> Conversion:
        row = self._c.execute(
            _SET_REFUNDED,
            (to_minor_units(refunded), order_id),
        ).fetchone()
        if row is None:
            raise UnknownOrder(f"no order {order_id!r}", value=order_id)
        return _conversion_row(row)

    def add_refund(self, refund: RefundRecord) -> tuple[RefundRecord, bool]:
        return _Refunds.add(self._c, refund)

    def for_referral(self, referral_id: str) -> list[Conversion]:
        rows = self._c.execute(
            _CONVERSIONS_BY_REFERRAL,
            (referral_id,),
        )
        return [_conversion_row(r) for r in rows]

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Conversion]:
        rows = _rows_for_ids(
            self._c,
            f"SELECT occurred_at, rowid, {_CONVERSION_COLUMNS} FROM conversions"  # noqa: S608 - constant columns
            " WHERE referral_id IN ({})",
            referral_ids,
        )
        return [_conversion_row(r[2:]) for r in rows]


_IDS_PER_QUERY = 500


def _rows_for_ids(conn: sqlite3.Connection, sql: str, ids: Sequence[str]) -> list[Sequence[Any]]:
    """Rows of ``sql`` (its ``{}`` an IN list) for ``ids``, by its first two columns.

    Batches of `_IDS_PER_QUERY` ids: one query for any page a program asks for.
    """
    wanted = list(dict.fromkeys(ids))
    rows: list[Sequence[Any]] = []
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[start : start + _IDS_PER_QUERY]
        rows += conn.execute(sql.format(", ".join("?" * len(chunk))), chunk).fetchall()
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


def _reward_values(r: Reward) -> tuple[Any, ...]:
    money = r.amount or r.granted
    return (
        r.id,
        r.key,
        r.referral_id,
        r.beneficiary.value,
        r.customer_id,
        r.kind.value,
        None if money is None else money.currency,
        None if r.amount is None else to_minor_units(r.amount),
        None if r.granted is None else to_minor_units(r.granted),
        r.points,
        r.granted_points,
        r.state.value,
        r.order_id,
        r.policy,
        r.explanation,
        encode_time(r.created_at),
        encode_optional_time(r.hold_until),
        r.perk,
        r.coupon_code,
        int(r.proportional),
        None if r.clawback is None else to_minor_units(r.clawback),
        r.clawback_points,
        None if r.netted is None else to_minor_units(r.netted),
        None if r.recovered is None else to_minor_units(r.recovered),
        r.redeemed_order,
        r.payout_id,
        encode_optional_time(r.expires_at),
    )


class _Refunds:
    """``conversions.add_refund``: a refund recorded once under its id."""

    @staticmethod
    def add(conn: sqlite3.Connection, refund: RefundRecord) -> tuple[RefundRecord, bool]:
        cur = conn.execute(
            "INSERT INTO refunds (refund_id, order_id, currency, amount_minor, occurred_at,"
            " reward_ids) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                refund.refund_id,
                refund.order_id,
                refund.amount.currency,
                to_minor_units(refund.amount),
                encode_time(refund.occurred_at),
                json.dumps(list(refund.reward_ids)),
            ),
        )
        if cur.rowcount == 1:
            return refund, True
        order_id, currency, amount, occurred_at, reward_ids = conn.execute(
            "SELECT order_id, currency, amount_minor, occurred_at, reward_ids FROM refunds"
            " WHERE refund_id = ?",
            (refund.refund_id,),
        ).fetchone()
        stored = RefundRecord(
            refund_id=refund.refund_id,
            order_id=order_id,
            amount=money_from_minor(amount, currency),
            occurred_at=decode_time(occurred_at),
            reward_ids=tuple(json.loads(reward_ids)),
        )
        return stored, False


class _Rewards(_Repo):
    def add(self, reward: Reward) -> tuple[Reward, bool]:
        cur = self._c.execute(
            _INSERT_REWARD,
            _reward_values(reward),
        )
        if cur.rowcount == 1:
            return reward, True
        row = self._c.execute(
            _REWARD_BY_KEY,
            (reward.customer_id, reward.key),
        ).fetchone()
        return _reward_row(row), False

    def get(self, reward_id: str) -> Reward | None:
        row = self._c.execute(_REWARD_BY_ID, (reward_id,)).fetchone()
        return None if row is None else _reward_row(row)

    def update(self, reward: Reward) -> None:
        self._c.execute(
            "UPDATE rewards SET amount_minor = ?, state = ?, hold_until = ?, clawback_minor = ?,"
            " points = ?, clawback_points = ?, netted_minor = ?, recovered_minor = ?,"
            " redeemed_order = ?, payout_id = ?, expires_at = ? WHERE id = ?",
            (
                None if reward.amount is None else to_minor_units(reward.amount),
                reward.state.value,
                encode_optional_time(reward.hold_until),
                None if reward.clawback is None else to_minor_units(reward.clawback),
                reward.points,
                reward.clawback_points,
                None if reward.netted is None else to_minor_units(reward.netted),
                None if reward.recovered is None else to_minor_units(reward.recovered),
                reward.redeemed_order,
                reward.payout_id,
                encode_optional_time(reward.expires_at),
                reward.id,
            ),
        )

    def _select(self, where: str, arg: object) -> list[Reward]:
        rows = self._c.execute(f"{_SELECT_REWARDS} WHERE {where} ORDER BY seq", (arg,))
        return [_reward_row(r) for r in rows]

    def for_order(self, order_id: str) -> list[Reward]:
        return self._select("order_id = ?", order_id)

    def for_customer(self, customer_id: str) -> list[Reward]:
        return self._select("customer_id = ?", customer_id)

    def for_referral(self, referral_id: str) -> list[Reward]:
        return self._select("referral_id = ?", referral_id)

    def for_referrals(self, referral_ids: Sequence[str]) -> list[Reward]:
        rows = _rows_for_ids(
            self._c,
            f"SELECT seq, 0, {_REWARD_COLUMNS} FROM rewards WHERE referral_id IN ({{}})",  # noqa: S608 - constant columns
            referral_ids,
        )
        return [_reward_row(r[2:]) for r in rows]

    def due(self, now: datetime, limit: int) -> list[Reward]:
        rows = self._c.execute(
            _DUE_REWARDS,
            (encode_time(now), limit),
        )
        return [_reward_row(r) for r in rows]

    def append(self, entries: Iterable[LedgerEntry]) -> None:
        self._c.executemany(
            "INSERT INTO ledger (reward_id, customer_id, bucket, currency, amount_minor, points,"
            " occurred_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.reward_id,
                    e.customer_id,
                    e.bucket,
                    e.currency,
                    None if e.amount is None else to_minor_units(e.amount),
                    e.points,
                    encode_time(e.occurred_at),
                    e.reason,
                )
                for e in entries
            ],
        )

    def balances(self, customer_id: str) -> list[tuple[str, str | None, Money | None, int]]:
        rows = self._c.execute(
            "SELECT bucket, currency, sum(amount_minor), sum(points) FROM ledger"
            " WHERE customer_id = ? GROUP BY bucket, currency ORDER BY bucket, currency",
            (customer_id,),
        )
        return [(b, c, money_from_minor_or_none(m, c), int(p)) for b, c, m, p in rows]

    def spend(self) -> tuple[Mapping[str, Money], int]:
        # The running totals the rewards triggers keep (see the money-paths schema step).
        money: dict[str, Money] = {}
        points = 0
        for currency, minor, pts in self._c.execute(
            "SELECT currency, amount_minor, points FROM spend_totals"
        ):
            points += int(pts)
            if currency:
                money[currency] = money_from_minor(int(minor), currency)
        return money, points

    def for_referrer_since(self, referrer: str, since: datetime) -> list[Reward]:
        rows = self._c.execute(
            f"SELECT {_PREFIXED_REWARD_COLUMNS} FROM rewards w"  # noqa: S608 - constant columns
            " JOIN referrals r ON r.id = w.referral_id"
            " WHERE r.referrer = ? AND w.state <> 'reversed' AND w.created_at >= ?"
            " ORDER BY w.seq",
            (referrer, encode_time(since)),
        )
        return [_reward_row(row) for row in rows]

    def by_coupon(self, coupon_code: str) -> Reward | None:
        row = self._c.execute(f"{_SELECT_REWARDS} WHERE coupon_code = ?", (coupon_code,)).fetchone()
        return None if row is None else _reward_row(row)

    def add_redemption(
        self, coupon_code: str, order_id: str, customer_id: str, at: datetime
    ) -> tuple[str, bool]:
        cur = self._c.execute(
            "INSERT INTO coupon_redemptions (coupon_code, order_id, customer_id, redeemed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (coupon_code, order_id, customer_id, encode_time(at)),
        )
        if cur.rowcount == 1:
            return order_id, True
        row = self._c.execute(
            "SELECT order_id FROM coupon_redemptions WHERE coupon_code = ?", (coupon_code,)
        ).fetchone()
        return str(row[0]), False

    def available(
        self, *, kind: str | None, currency: str | None, after: str | None, limit: int
    ) -> list[Reward]:
        rows = self._c.execute(
            f"{_SELECT_REWARDS} WHERE state = 'available'"
            " AND (? IS NULL OR kind = ?) AND (? IS NULL OR currency = ?)"
            " AND (? IS NULL OR id > ?) ORDER BY id LIMIT ?",
            (kind, kind, currency, currency, after, after, limit),
        )
        return [_reward_row(row) for row in rows]

    def outstanding(self, customer_id: str, currency: str) -> list[Reward]:
        rows = self._c.execute(
            f"{_SELECT_REWARDS} WHERE customer_id = ? AND currency = ?"
            " AND clawback_minor > coalesce(recovered_minor, 0) ORDER BY seq",
            (customer_id, currency),
        )
        return [_reward_row(row) for row in rows]

    def add_payout(
        self, payout_id: str, reward_ids: Sequence[str], at: datetime
    ) -> tuple[tuple[str, ...], bool]:
        cur = self._c.execute(
            "INSERT INTO payouts (payout_id, reward_ids, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (payout_id, json.dumps(list(reward_ids)), encode_time(at)),
        )
        if cur.rowcount == 1:
            return tuple(reward_ids), True
        row = self._c.execute(
            "SELECT reward_ids FROM payouts WHERE payout_id = ?", (payout_id,)
        ).fetchone()
        return tuple(json.loads(row[0])), False

    def add_settlement(
        self, reference: str, customer_id: str, amount: Money, at: datetime
    ) -> tuple[Money, bool]:
        cur = self._c.execute(
            "INSERT INTO clawback_settlements (reference, customer_id, currency, amount_minor,"
            " settled_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (reference, customer_id, amount.currency, to_minor_units(amount), encode_time(at)),
        )
        if cur.rowcount == 1:
            return amount, True
        currency, minor = self._c.execute(
            "SELECT currency, amount_minor FROM clawback_settlements WHERE reference = ?",
            (reference,),
        ).fetchone()
        return money_from_minor(minor, currency), False


_EVENT_COLUMNS = "id, type, payload, occurred_at, attempts"
# Unacknowledged and not given up: the partial index events_undelivered covers it.
_UNDELIVERED = "acked = 0 AND dead_at IS NULL"
_CLAIMABLE = f"{_UNDELIVERED} AND (claimable_at IS NULL OR claimable_at <= :now)"
_PENDING = f"SELECT {_EVENT_COLUMNS} FROM events WHERE {_UNDELIVERED} ORDER BY id LIMIT :limit"  # noqa: S608 - constant columns
_PENDING_AT = f"SELECT {_EVENT_COLUMNS} FROM events WHERE {_CLAIMABLE} ORDER BY id LIMIT :limit"  # noqa: S608 - constant columns
# One statement decides the claim: no other unit of work can take the same rows.
_CLAIM = (
    "UPDATE events SET claimable_at = :until, worker = :worker, attempts = attempts + 1"  # noqa: S608 - constant columns
    f" WHERE id IN (SELECT id FROM events WHERE {_CLAIMABLE} ORDER BY id LIMIT :limit)"
    f" RETURNING {_EVENT_COLUMNS}"
)
_RELEASE = (
    "UPDATE events SET claimable_at = ?, worker = NULL, dead_at = NULL WHERE id = ? AND acked = 0"
)
_DEAD_LETTER = (
    "UPDATE events SET dead_at = ?, claimable_at = NULL, worker = NULL"  # noqa: S608 - constant clauses
    f" WHERE id = ? AND {_UNDELIVERED}"
)
_DEAD_LETTERS = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE acked = 0 AND dead_at IS NOT NULL"  # noqa: S608 - constant columns
    " ORDER BY id LIMIT ?"
)
_PRUNE = (
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE acked = 1"
    " AND occurred_at < ? ORDER BY id LIMIT ?)"
)


def _event_row(row: Sequence[Any]) -> Event:
    event_id, type_, payload, occurred_at, attempts = row
    return Event(
        id=event_id,
        type=type_,
        payload=decode_payload(payload),
        occurred_at=decode_time(occurred_at),
        attempts=attempts,
    )


def _ids(event_ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in event_ids))


class _Events(_Repo):
    def add(self, type: str, payload: Mapping[str, Any], occurred_at: datetime) -> Event:  # noqa: A002 - mirrors the protocol
        text = encode_payload(payload)
        cur = self._c.execute(
            "INSERT INTO events (type, payload, occurred_at) VALUES (?, ?, ?)",
            (type, text, encode_time(occurred_at)),
        )
        event_id = cur.lastrowid
        assert event_id is not None  # noqa: S101 - an INSERT always sets it
        return Event(id=event_id, type=type, payload=dict(payload), occurred_at=occurred_at)

    def pending(self, limit: int, now: datetime | None = None) -> list[Event]:
        if now is None:
            rows = self._c.execute(_PENDING, {"limit": limit})
        else:
            rows = self._c.execute(_PENDING_AT, {"limit": limit, "now": encode_time(now)})
        return [_event_row(r) for r in rows]

    def ack(self, event_ids: Iterable[int]) -> int:
        ids = [(int(i),) for i in event_ids]
        before = self._c.total_changes
        self._c.executemany("UPDATE events SET acked = 1 WHERE id = ? AND acked = 0", ids)
        return self._c.total_changes - before

    def claim(
        self, limit: int, now: datetime, until: datetime, worker: str | None = None
    ) -> list[Event]:
        rows = self._c.execute(
            _CLAIM,
            {
                "now": encode_time(now),
                "until": encode_time(until),
                "worker": worker,
                "limit": limit,
            },
        ).fetchall()
        return sorted((_event_row(r) for r in rows), key=lambda e: e.id)

    def _update(self, sql: str, at: datetime, event_ids: Iterable[int]) -> int:
        stamp = encode_time(at)
        before = self._c.total_changes
        self._c.executemany(sql, [(stamp, i) for i in _ids(event_ids)])
        return self._c.total_changes - before

    def release(self, event_ids: Iterable[int], at: datetime) -> int:
        return self._update(_RELEASE, at, event_ids)

    def dead_letter(self, event_ids: Iterable[int], at: datetime) -> int:
        return self._update(_DEAD_LETTER, at, event_ids)

    def dead_letters(self, limit: int) -> list[Event]:
        return [_event_row(r) for r in self._c.execute(_DEAD_LETTERS, (limit,))]

    def prune(self, before: datetime, limit: int) -> int:
        return self._c.execute(_PRUNE, (encode_time(before), limit)).rowcount


_CLICK_COLUMNS = "id, code, visitor, occurred_at, channel, campaign"


class _Clicks(_Repo):
    def add(self, click: Click) -> Click:
        cur = self._c.execute(
            "INSERT INTO clicks (code, visitor, occurred_at, channel, campaign)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                click.code,
                click.visitor,
                encode_time(click.occurred_at),
                click.channel,
                click.campaign,
            ),
        )
        click_id = cur.lastrowid
        assert click_id is not None  # noqa: S101 - an INSERT always sets it
        return attrs.evolve(click, id=click_id)

    def for_visitor(
        self, visitors: Collection[str], since: datetime, until: datetime
    ) -> list[Click]:
        keys = list(dict.fromkeys(visitors))
        if not keys:
            return []
        marks = ", ".join("?" * len(keys))
        rows = self._c.execute(
            f"SELECT {_CLICK_COLUMNS} FROM clicks WHERE visitor IN ({marks})"  # noqa: S608 - placeholders only
            " AND occurred_at >= ? AND occurred_at <= ? ORDER BY occurred_at, id",
            (*keys, encode_time(since), encode_time(until)),
        )
        return [
            Click(
                id=i,
                code=code,
                visitor=visitor,
                occurred_at=decode_time(at),
                channel=channel,
                campaign=campaign,
            )
            for i, code, visitor, at, channel, campaign in rows
        ]


class _Identities(_Repo):
    def add(self, customer_id: str, signals: Iterable[Signal]) -> None:
        self._c.executemany(
            "INSERT INTO identity_signals (customer_id, kind, digest) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(customer_id, kind, digest) for kind, digest in signals],
        )

    def signals(self, customer_id: str) -> frozenset[Signal]:
        rows = self._c.execute(
            "SELECT kind, digest FROM identity_signals WHERE customer_id = ?", (customer_id,)
        )
        return frozenset((str(k), str(d)) for k, d in rows)

    def customers_with(self, signal: Signal, limit: int) -> list[str]:
        rows = self._c.execute(
            "SELECT customer_id FROM identity_signals WHERE kind = ? AND digest = ? LIMIT ?",
            (signal[0], signal[1], limit),
        )
        return [str(r[0]) for r in rows]

    def referees_since(
        self, signal: Signal, since: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        rows = self._c.execute(
            "SELECT r.referee, r.attributed_at FROM identity_signals s"
            " JOIN referrals r ON r.referee = s.customer_id AND r.status <> 'rejected'"
            " WHERE s.kind = ? AND s.digest = ? AND r.attributed_at >= ?"
            " ORDER BY r.attributed_at DESC, r.referee DESC LIMIT ?",
            (signal[0], signal[1], encode_time(since), limit),
        )
        return [(str(r[0]), decode_time(r[1])) for r in rows]

    def signal_counts(
        self, customer_ids: Sequence[str], only: Collection[Signal] | None = None
    ) -> Mapping[Signal, int]:
        ids = sorted(set(customer_ids))
        counts: dict[Signal, int] = {}
        wanted = None if only is None else set(only)
        if wanted is not None and not wanted:
            return counts
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for kind, digest, n in self._c.execute(
                "SELECT kind, digest, count(*) FROM identity_signals"  # noqa: S608 - placeholders only
                f" WHERE customer_id IN ({marks}) GROUP BY kind, digest",
                chunk,
            ):
                key = (str(kind), str(digest))
                if wanted is None or key in wanted:
                    counts[key] = counts.get(key, 0) + int(n)
        return counts


class _Terms(_Repo):
    def add(self, version: str, definition: str, at: datetime) -> str:
        self._c.execute(
            "INSERT INTO policy_versions (version, definition, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (version, definition, encode_time(at)),
        )
        stored = self.get(version)
        assert stored is not None  # noqa: S101 - inserted or already there
        return stored

    def get(self, version: str) -> str | None:
        row = self._c.execute(
            "SELECT definition FROM policy_versions WHERE version = ?", (version,)
        ).fetchone()
        return None if row is None else str(row[0])


class _Meta(_Repo):
    def add(self, name: str, value: str, at: datetime) -> str:
        self._c.execute(
            "INSERT INTO meta (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (name, value, encode_time(at)),
        )
        stored = self.get(name)
        assert stored is not None  # noqa: S101 - inserted or already there
        return stored

    def put(self, name: str, value: str, at: datetime) -> None:
        self._c.execute(
            "INSERT INTO meta (name, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (name, value, encode_time(at)),
        )

    def get(self, name: str) -> str | None:
        row = self._c.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])


@attrs.define
class _SQLiteUnitOfWork:
    codes: _Codes
    referrals: _Referrals
    conversions: _Conversions
    rewards: _Rewards
    events: _Events
    terms: _Terms
    identities: _Identities
    clicks: _Clicks
    meta: _Meta
    moments: SQLiteMoments
    deliveries: SQLiteDeliveries
    display_names: SQLiteDisplayNames
    claims: SQLiteClaims
    groups: SQLiteGroups
    invitations: SQLiteInvitations
    waitlist: SQLiteWaitlist
    partners: SQLitePartners

    @classmethod
    def on(cls, conn: sqlite3.Connection) -> _SQLiteUnitOfWork:
        return cls(
            _Codes(conn),
            _Referrals(conn),
            _Conversions(conn),
            _Rewards(conn),
            _Events(conn),
            _Terms(conn),
            _Identities(conn),
            _Clicks(conn),
            _Meta(conn),
            SQLiteMoments(conn),
            SQLiteDeliveries(conn),
            SQLiteDisplayNames(conn),
            SQLiteClaims(conn),
            SQLiteGroups(conn),
            SQLiteInvitations(conn),
            SQLiteWaitlist(conn),
            SQLitePartners(conn),
        )


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


#: The longest a store waits for another connection's lock, in seconds (a day).
_MAX_TIMEOUT = 86_400


def _store_path(path: object) -> str:
    """``path`` as the text SQLite opens, or `ConfigError` naming ``path``."""
    try:
        text = os.fspath(path) if isinstance(path, os.PathLike) else path
    except TypeError:
        text = None
    if not isinstance(text, str) or not text:
        raise ConfigError(
            "path must be a file path (str or pathlib.Path) or ':memory:'", value=path, path="path"
        )
    if text == ":memory:":
        return text
    if "\x00" in text:
        raise ConfigError("path contains a NUL character", value=path, path="path")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            "path holds characters that cannot be a file name (a lone surrogate)",
            value=path,
            path="path",
        ) from None
    if Path(text).is_dir():
        raise ConfigError(f"path {text!r} is a directory, not a file", value=path, path="path")
    return str(Path(text))


def _store_timeout(timeout: object) -> float:
    """``timeout`` in seconds if it is a number from 0 to a day, else `ConfigError`."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 <= timeout <= _MAX_TIMEOUT
    ):
        raise ConfigError(
            f"timeout must be a number of seconds from 0 to {_MAX_TIMEOUT}",
            value=timeout,
            path="timeout",
        )
    return float(timeout)


def _error(exc: sqlite3.Error, path: str, doing: str) -> StorageError:
    """A `StorageError` for ``exc``, saying plainly when the file is no SQLite database."""
    if "not a database" in str(exc):
        message = f"{path!r} is not a SQLite database ({exc})"
    elif isinstance(exc, sqlite3.OperationalError) and _is_locked(exc):
        message = f"{doing} {path!r}: another connection held the database too long ({exc})"
    else:
        message = f"{doing} {path!r}: {exc}"
    return StorageError(message, value=path)


class SQLiteStore:
    """A store in one SQLite file (or ``":memory:"``), safe across threads and processes.

    Each thread gets its own connection. The schema is created or upgraded on open;
    a file written by a newer referralkit raises `SchemaVersionError`, a damaged one
    `StorageError`. ``timeout`` (seconds) bounds how long one call waits for another
    connection's lock, across all its retries. A file holding another application's
    tables is refused with `ConfigError` unless ``allow_foreign_tables``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        allow_foreign_tables: bool = False,
    ) -> None:
        self.path = _store_path(path)
        self._timeout = _store_timeout(timeout)
        if not isinstance(allow_foreign_tables, bool):
            raise ConfigError(
                "allow_foreign_tables must be True or False",
                value=allow_foreign_tables,
                path="allow_foreign_tables",
            )
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._shared: tuple[sqlite3.Connection, _SQLiteUnitOfWork] | None = None
        self._memory_lock: threading.RLock | None = None
        deadline = time.monotonic() + self._timeout
        if self.path == ":memory:":
            # One shared connection: a private in-memory database per connection otherwise.
            conn = self._connect()
            self._shared = (conn, _SQLiteUnitOfWork.on(conn))
            self._memory_lock = threading.RLock()
        try:
            self._migrate(deadline, allow_foreign_tables=allow_foreign_tables)
        except BaseException:
            self.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,  # closed from whichever thread calls close()
            )
        except sqlite3.Error as exc:
            raise _error(exc, self.path, "cannot open SQLite database") from exc
        with self._guard:
            self._connections.append(conn)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise _error(exc, self.path, "cannot open SQLite database") from exc
        return conn

    def _session(self) -> tuple[sqlite3.Connection, _SQLiteUnitOfWork]:
        # A connection per thread, with its repositories built once.
        if self._shared is not None:
            return self._shared
        session: tuple[sqlite3.Connection, _SQLiteUnitOfWork] | None = getattr(
            self._local, "session", None
        )
        if session is None:
            conn = self._connect()
            session = (conn, _SQLiteUnitOfWork.on(conn))
            self._local.session = session
        return session

    def _conn(self) -> sqlite3.Connection:
        return self._session()[0]

    def _migrate(self, deadline: float, *, allow_foreign_tables: bool) -> None:
        # The schema first, then WAL: a file refused is left as it was found.
        conn, uow = self._session()
        with _Transaction(
            conn, uow, self._memory_lock, self.path, timeout=self._timeout, deadline=deadline
        ):
            migrate(conn, self.path, allow_foreign_tables=allow_foreign_tables)
        if self.path != ":memory:":
            try:
                _retry(
                    conn,
                    lambda: conn.execute("PRAGMA journal_mode = WAL"),
                    deadline,
                    self._timeout,
                )
            except sqlite3.Error as exc:
                raise _error(exc, self.path, "cannot switch to WAL") from exc

    def schema_version(self) -> int:
        """The schema version recorded in the file."""
        row = self._conn().execute("SELECT version FROM schema_version").fetchone()
        return int(row[0])

    def transaction(self) -> _Transaction:
        """Open a unit of work (``BEGIN IMMEDIATE``): all of it commits, or none of it."""
        conn, uow = self._session()
        return _Transaction(conn, uow, self._memory_lock, self.path, timeout=self._timeout)

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def metrics_source(self) -> SQLiteMetricsSource:
        """Read the store's facts as metrics aggregates (`referralkit.metrics.MetricsSource`)."""
        from referralkit.storage._sqlite_metrics import SQLiteMetricsSource  # noqa: PLC0415 - metrics load on first use

        return SQLiteMetricsSource(self._conn, self._memory_lock, self.path)


class _Transaction:
    """One unit of work: ``BEGIN IMMEDIATE``, then commit, or roll back on any error.

    A plain context manager rather than a generator: it runs on every program call.
    Waiting for the lock, however many retries it takes, ends at ``timeout`` seconds
    from the start (or at ``deadline``). SQLite errors leave as `StorageError`, as does
    an int too large for SQLite; other exceptions pass through unchanged.
    """

    __slots__ = ("_conn", "_deadline", "_lock", "_path", "_timeout", "_uow")

    def __init__(
        self,
        conn: sqlite3.Connection,
        uow: _SQLiteUnitOfWork,
        lock: threading.RLock | None,
        path: str,
        *,
        timeout: float,
        deadline: float | None = None,
    ) -> None:
        self._conn = conn
        self._uow = uow
        self._lock = lock
        self._path = path
        self._timeout = timeout
        self._deadline = deadline

    def __enter__(self) -> _SQLiteUnitOfWork:
        deadline = self._deadline
        if deadline is None:
            deadline = time.monotonic() + self._timeout
        lock = self._lock
        if lock is not None and not lock.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise StorageError(
                f"cannot start a transaction on {self._path!r}: another thread held the"
                f" in-memory database longer than the timeout ({self._timeout}s)",
                value=self._path,
            )
        try:
            _retry(
                self._conn, lambda: self._conn.execute("BEGIN IMMEDIATE"), deadline, self._timeout
            )
        except BaseException as exc:
            if lock is not None:
                lock.release()
            if isinstance(exc, sqlite3.Error):
                raise _error(exc, self._path, "cannot start a transaction on") from exc
            raise
        return self._uow

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn = self._conn
        try:
            if exc is not None:
                conn.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise _error(exc, self._path, "SQLite error on") from exc
                if isinstance(exc, OverflowError) and "SQLite" in str(exc):
                    raise StorageError(
                        f"a number too large for SQLite on {self._path!r} (at most 2**63 - 1)",
                        value=self._path,
                    ) from exc
                return
            try:
                _retry(conn, conn.commit, time.monotonic() + self._timeout, self._timeout)
            except sqlite3.Error as error:
                conn.rollback()
                raise _error(error, self._path, "commit failed on") from error
        finally:
            if self._lock is not None:
                self._lock.release()


def _retry(
    conn: sqlite3.Connection, step: Callable[[], Any], deadline: float, timeout: float
) -> Any:
    """Run ``step``, retrying with jittered backoff while the database is locked.

    SQLite's busy handler waits inside an attempt for up to the connection's busy
    timeout (``timeout``); whenever less than that is left until ``deadline``
    (``time.monotonic()``) an attempt waits only what is left, so the whole call gives
    up at the deadline rather than after one full busy timeout per retry.
    """
    delay = 0.001
    shortened = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left < timeout - 0.01:
                conn.execute(f"PRAGMA busy_timeout = {max(int(left * 1000), 0)}")
                shortened = True
            try:
                return step()
            except sqlite3.OperationalError as exc:
                left = deadline - time.monotonic()
                if not _is_locked(exc) or left <= 0:
                    raise
            time.sleep(min(delay * (1 + random.random()), left))
            delay = min(delay * 2, 0.25)
    finally:
        if shortened:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
