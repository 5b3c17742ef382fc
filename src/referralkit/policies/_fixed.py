"""The two simplest policies: a fixed reward, and rewarding both sides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import attrs

from referralkit.context import Grant, RewardContext, policy_needs
from referralkit.errors import ConfigError, CurrencyMismatch, ReferralError
from referralkit.model import Beneficiary, RewardKind, TierProgress
from referralkit.money import Amounts, Money
from referralkit.policies._base import (
    check_policy,
    combined_needs,
    covered_currencies,
    first_progress,
)
from referralkit.policies._settings import Form, Setting, one_of, setting
from referralkit.protocols import RewardPolicy

__all__ = ["DoubleSided", "Fixed"]

_KIND_BY_NAME = {k.value: k for k in RewardKind}


def _kind(value: object) -> RewardKind:
    if isinstance(value, RewardKind):
        return value
    if isinstance(value, str) and value in _KIND_BY_NAME:
        return _KIND_BY_NAME[value]
    raise ConfigError(
        f"reward kind must be one of {sorted(_KIND_BY_NAME)}, not {value!r}",
        value=value,
        path="kind",
    )


def _value(value: object) -> object:
    """Amounts per currency from a mapping; anything else as given (checked after)."""
    if isinstance(value, Mapping):
        try:
            return Amounts(value)
        except ReferralError as exc:
            raise ConfigError(exc.message, value=value, path="value") from None
    return value


def _describe(value: Money | Amounts | int | str) -> str:
    if isinstance(value, Money | Amounts):
        return str(value.round()) if isinstance(value, Money) else str(value)
    if isinstance(value, int):
        return f"{value} points"
    return value


@attrs.frozen(slots=True)
class Fixed:
    """A fixed reward per qualifying conversion.

    ``Fixed(Money("10", "USD"))`` is store credit; ``kind="cash"`` a cash rebate;
    ``kind="coupon"`` a generated coupon code worth the amount; ``Fixed(500)`` is
    500 points; ``Fixed("vip-upgrade-30d")`` is a perk such as a membership upgrade
    or a physical gift. ``Fixed({"USD": "10", "EUR": "9", "JPY": "1500"})`` pays the
    amount in the order's currency; a money reward covers only its currencies
    (`currencies`), and the program refuses an order in another one before writing
    anything. Like every policy that is not wrapped in a condition, it rewards every
    order of the referred customer: wrap it in `FirstOrderOnly` for a one-off reward.
    """

    config_summary: ClassVar[str] = (
        "A fixed reward per order: money (credit, cash or a coupon), points, or a perk.\n\n"
        "Set exactly one of ``amount``, ``points`` or ``perk``; ``amount`` may give one"
        " amount per currency: {'USD': '10', 'EUR': '9'}."
    )

    value: Money | Amounts | int | str = attrs.field(
        converter=_value,
        metadata=one_of(
            Setting(
                Form.AMOUNTS,
                key="amount",
                description="Money: '10 USD', or one per currency: {'USD': '10', 'EUR': '9'}.",
            ),
            Setting(Form.INTEGER, key="points", ge=0, description="Points: 500."),
            Setting(Form.TEXT, key="perk", min_length=1, description="A perk: 'tote-bag'."),
            message="set exactly one of amount (money), points or perk",
        ),
    )
    kind: RewardKind = attrs.field(
        default=None,
        converter=attrs.converters.optional(_kind),
        metadata=setting(
            Form.CHOICE,
            choices=tuple(_KIND_BY_NAME),
            description="credit (default for money), cash, coupon, points or perk.",
        ),
    )
    # The grants never depend on the context: built once, handed out as they are.
    _grants: tuple[Grant, ...] = attrs.field(init=False, eq=False, repr=False, default=())

    _by_currency: dict[str, tuple[Grant, ...]] = attrs.field(
        init=False, eq=False, repr=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, Money | Amounts | int | str):
            raise ConfigError(
                "Fixed takes Money, amounts per currency, an int of points, or a perk name",
                value=value,
                path="value",
            )
        inferred = (
            RewardKind.CREDIT
            if isinstance(value, Money | Amounts)
            else RewardKind.POINTS
            if isinstance(value, int)
            else RewardKind.PERK
        )
        kind = self.kind or inferred
        money_kinds = {RewardKind.CREDIT, RewardKind.CASH, RewardKind.COUPON}
        if isinstance(value, Money | Amounts):
            if kind not in money_kinds:
                raise ConfigError(f"a money reward cannot be of kind {kind.value!r}", path="kind")
            amounts = value.items if isinstance(value, Amounts) else (value,)
            if any(m.amount < 0 for m in amounts):
                raise ConfigError("a reward cannot be negative", value=value, path="value")
        elif isinstance(value, int):
            if kind is not RewardKind.POINTS:
                raise ConfigError("an int reward is points: use kind='points'", path="kind")
            if value < 0:
                raise ConfigError("a reward cannot be negative", value=value, path="value")
        elif kind is not RewardKind.PERK or not value.strip():
            raise ConfigError(
                "a perk reward needs a non-empty perk name", value=value, path="value"
            )
        object.__setattr__(self, "kind", kind)
        if isinstance(value, Amounts):
            by_currency = {m.currency: tuple(self._build(m)) for m in value.items}
            object.__setattr__(self, "_by_currency", by_currency)
        else:
            object.__setattr__(self, "_grants", tuple(self._build(value)))

    @property
    def needs(self) -> frozenset[str]:
        """A fixed reward reads no history."""
        return frozenset()

    @property
    def currencies(self) -> frozenset[str] | None:
        """The order currencies a money reward covers (None: points and perks cover all)."""
        value = self.value
        if isinstance(value, Money):
            return frozenset({value.currency})
        if isinstance(value, Amounts):
            return value.currencies
        return None

    @property
    def name(self) -> str:
        """``fixed`` plus the value, as recorded on rewards."""
        return f"fixed({_describe(self.value)})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """One grant of the fixed value (in the order's currency) for the referrer."""
        if not self._by_currency:
            return self._grants
        currency = context.conversion.amount.currency
        grants = self._by_currency.get(currency)
        if grants is None:
            raise CurrencyMismatch(
                f"{self.name} pays in {sorted(self._by_currency)}, not {currency}",
                value=currency,
            )
        return grants

    def _build(self, value: Money | int | str) -> list[Grant]:
        why = {
            RewardKind.CREDIT: f"a fixed credit of {_describe(value)}",
            RewardKind.CASH: f"a fixed cash reward of {_describe(value)}",
            RewardKind.COUPON: f"a coupon worth {_describe(value)}",
            RewardKind.POINTS: _describe(value),
            RewardKind.PERK: f"the perk {value!r}",
        }[self.kind] + " for this referral"
        if isinstance(value, Money):
            money = value.round()
            return [
                Grant(
                    beneficiary=Beneficiary.REFERRER,
                    kind=self.kind,
                    policy=self.name,
                    explanation=why,
                    key=self.name,
                    amount=None if self.kind is RewardKind.COUPON else money,
                    coupon_value=money if self.kind is RewardKind.COUPON else None,
                )
            ]
        if isinstance(value, int):
            return [
                Grant(
                    beneficiary=Beneficiary.REFERRER,
                    kind=RewardKind.POINTS,
                    policy=self.name,
                    explanation=why,
                    key=self.name,
                    points=value,
                )
            ]
        return [
            Grant(
                beneficiary=Beneficiary.REFERRER,
                kind=RewardKind.PERK,
                policy=self.name,
                explanation=why,
                key=self.name,
                perk=value,
            )
        ]


def _retarget(grant: Grant, beneficiary: Beneficiary) -> Grant:
    # A per-referrer key (a milestone's) is the same wherever the policy sits, so that
    # wrapping it differently in new terms can never pay it a second time.
    key = grant.key if grant.per_referrer else f"{beneficiary.value}:{grant.key}"
    return attrs.evolve(grant, beneficiary=beneficiary, key=key)


@attrs.frozen(slots=True)
class DoubleSided:
    """Reward both sides: ``referrer`` policy for the referrer, ``referee`` for the friend.

    Each side's grants go to that side, whatever the inner policy says; either side may
    be left out. Grant keys get the side in front (``referrer:fixed(10.00 USD)``), except
    per-referrer keys (milestones): those stay as they are, so wrapping a policy
    differently in new terms never pays a milestone again. Tier progress (`progress`)
    is the referrer side's. The referee side may not use a policy that counts the
    referrer's rewards (`Capped`, `Milestone`): a `ConfigError` says so.
    """

    config_summary: ClassVar[str] = (
        "Both sides rewarded: a ``referrer`` policy and a ``referee`` policy."
    )

    referrer: RewardPolicy | None = attrs.field(default=None, metadata=setting(Form.POLICY))
    referee: RewardPolicy | None = attrs.field(default=None, metadata=setting(Form.POLICY))
    # The last grants each side returned, retargeted: a side that hands back the very
    # same tuple again (as `Fixed` does) is not retargeted again.
    _sent: dict[Beneficiary, tuple[tuple[Grant, ...], list[Grant]]] = attrs.field(
        init=False, eq=False, repr=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        if self.referrer is None and self.referee is None:
            raise ConfigError("DoubleSided needs a referrer or a referee policy", path="referrer")
        if self.referrer is not None:
            check_policy(self.referrer, "referrer")
        if self.referee is not None:
            check_policy(self.referee, "referee")
            if "referrer_rewards" in policy_needs(self.referee):
                # Caps and milestones count what the referrer holds: on the friend's side
                # they would cut or pay the friend's reward by the referrer's balance.
                raise ConfigError(
                    f"the referee side cannot use {self.referee.name}: it counts the"
                    " referrer's rewards (caps, milestones); cap the referrer side, or"
                    " limit the friend's reward with FirstOrderOnly or Budget",
                    value=self.referee,
                    path="referee",
                )

    @property
    def needs(self) -> frozenset[str]:
        """What either side reads."""
        return combined_needs(p for p in (self.referrer, self.referee) if p is not None)

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies both sides can pay in."""
        return covered_currencies(p for p in (self.referrer, self.referee) if p is not None)

    @property
    def name(self) -> str:
        """``double_sided`` with both sides' names."""
        left = "-" if self.referrer is None else self.referrer.name
        right = "-" if self.referee is None else self.referee.name
        return f"double_sided(referrer={left}, referee={right})"

    def evaluate(self, context: RewardContext) -> Sequence[Grant]:
        """The referrer side's grants, then the referee side's, each sent to its side."""
        grants: list[Grant] = []
        if self.referrer is not None:
            grants += self._side(self.referrer.evaluate(context), Beneficiary.REFERRER)
        if self.referee is not None:
            grants += self._side(self.referee.evaluate(context), Beneficiary.REFEREE)
        return grants

    def _side(self, grants: Sequence[Grant], beneficiary: Beneficiary) -> list[Grant]:
        if type(grants) is not tuple:  # a list may be refilled: only tuples are remembered
            return [_retarget(g, beneficiary) for g in grants]
        sent = self._sent.get(beneficiary)
        if sent is not None and sent[0] is grants:
            return sent[1]
        retargeted = [_retarget(g, beneficiary) for g in grants]
        self._sent[beneficiary] = (grants, retargeted)
        return retargeted

    def progress(self, qualified: int) -> TierProgress | None:
        """The referrer side's tier progress, if it is tiered."""
        return first_progress([self.referrer], qualified)
