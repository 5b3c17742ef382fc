"""`simulate`: a seeded Monte Carlo forecast of a referral programme, week by week.

The model is the classic viral loop, one loop per week:

1. In week 1 the launch customer base shares; from then on, the customers who joined
   in a week share in the next one.
2. Each of them takes part with probability ``participation_rate`` and then invites a
   number of friends with mean ``invites_per_participant`` (Poisson, or fixed).
3. Each invite becomes a paying customer with probability ``conversion_rate``: the new
   customer places a first order that week (value drawn from ``order_value``), and in
   every later week orders again with probability ``repeat_rate``.
4. Every order is evaluated by the programme's real reward policy, with the same
   `RewardContext` the programme would build (qualified referrals, order number, the
   referrer's past rewards, programme spend), so caps, tiers, budgets and conditions
   behave as they will in production. Grants are idempotent per customer and key,
   as in the ledger. Rewards are not held or refunded in the simulation.

The expected number of new customers in week ``t`` is ``customers * K**t`` with
``K = participation_rate * invites_per_participant * conversion_rate``, the K-factor;
the simulation's mean converges to it. Runs draw their randomness from
``random.Random(seed)`` and never from the policy, so two policies simulated with the
same seed see exactly the same customers and orders: the difference between the two
forecasts is the policies' difference alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from referralkit.context import PastReward, RewardContext, policy_needs
from referralkit.errors import ConfigError, CurrencyMismatch, InvalidInput
from referralkit.model import Beneficiary, Conversion, Referral, ReferralStatus, RewardKind
from referralkit.money import CURRENCY_EXPONENTS, Money
from referralkit.protocols import RewardPolicy

__all__ = [
    "MAX_SIMULATED_CUSTOMERS",
    "MAX_SIMULATION_STEPS",
    "Forecast",
    "Interval",
    "WeekForecast",
    "simulate",
    "simulation_steps",
]

OrderValue = Money | Sequence[Money] | Callable[[random.Random], Money]
_START = datetime(2026, 1, 5, tzinfo=timezone.utc)
_COUNT_PLACES = Decimal("0.001")
_LOW, _HIGH = 0.05, 0.95
_MAX_INVITES = Decimal(100)
#: The most new customers one run may be expected to simulate (about a minute of work):
#: a K-factor above 1 over many weeks would otherwise run until memory runs out.
MAX_SIMULATED_CUSTOMERS = 10_000_000
#: The most work a forecast may take, in simulation steps (about a minute on a laptop):
#: a forecast that would run for hours is refused up front, saying what to reduce.
#: A step is one customer who may share in a week; a referred customer's weekly
#: repeat-order draw is 1/8 of a step; each order (it goes through the reward policy)
#: is 64 steps, as measured with the built-in policies (about 2-3 million steps a second).
MAX_SIMULATION_STEPS = 200_000_000
_STEPS_PER_ORDER = 64
_REFERRED_PER_STEP = 8
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Interval(BaseModel):
    """A simulated quantity over all runs: the mean and the 5th-95th percentile band."""

    model_config = _FROZEN

    mean: Decimal
    low: Decimal = Field(description="5th percentile over runs (nearest rank).")
    high: Decimal = Field(description="95th percentile over runs (nearest rank).")


class WeekForecast(BaseModel):
    """One week of the forecast."""

    model_config = _FROZEN

    week: int = Field(description="1 for the first week after launch.")
    new_customers: Interval
    expected_new_customers: Decimal = Field(
        description="Closed form: customers * K**week, K = participation x invites x conversion."
    )
    orders: Interval
    reward_spend: Interval = Field(description="Money rewards granted this week.")
    cac: Interval | None = Field(
        description="Reward spend per new customer this week, over runs with new customers."
    )
    spend_to_date: Interval = Field(description="Money rewards granted up to this week.")
    budget_used: Interval | None = Field(
        description="spend_to_date / budget, when a budget is given."
    )
    reward_points: Interval


class Forecast(BaseModel):
    """What a policy would cost and bring, week by week, with uncertainty bands."""

    model_config = _FROZEN

    policy: str
    currency: str
    runs: int
    seed: int
    customers: int
    k_factor: Decimal = Field(description="participation_rate x invites x conversion_rate.")
    budget: Decimal | None
    weeks: list[WeekForecast]
    total_new_customers: Interval
    total_reward_spend: Interval
    cac: Interval | None = Field(description="Total reward spend per new customer.")


def _rate(name: str, value: object, *, upper: Decimal = Decimal(1)) -> Decimal:
    """A rate as an exact Decimal (a float is read as its shortest decimal form)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidInput(f"{name} must be a number", value=value, field=name)
    try:
        number = Decimal(repr(value) if isinstance(value, float) else value)
    except ArithmeticError:
        raise InvalidInput(f"{name} must be a number", value=value, field=name) from None
    if not number.is_finite() or number < 0 or number > upper:
        raise InvalidInput(f"{name} must be between 0 and {upper}", value=value, field=name)
    return number


def _count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{name} must be an int >= {minimum}", value=value, field=name)
    return value


def _order(value: Money) -> Money:
    """An order value the programme would accept (`ReferralProgram.convert` refuses others)."""
    if value.amount < 0 or value.round() != value:
        raise InvalidInput(
            f"order_value {value} cannot be an order: amounts are not negative and have at"
            f" most {CURRENCY_EXPONENTS[value.currency]} decimals in {value.currency}",
            value=value,
            field="order_value",
        )
    return value


def _order_sampler(value: object) -> tuple[Callable[[random.Random], Money], str]:
    if isinstance(value, Money):
        constant = _order(value)
        return (lambda _rng: constant), constant.currency
    if isinstance(value, list | tuple):
        values: list[Money] = [_order(v) for v in value if isinstance(v, Money)]
        if not values or len(values) != len(value):
            raise InvalidInput(
                "order_value must be Money, a non-empty list of Money, or a function",
                value=value,
                field="order_value",
            )
        if len({v.currency for v in values}) != 1:
            raise CurrencyMismatch("order values must share one currency", value=value)
        return (lambda rng: rng.choice(values)), values[0].currency
    if callable(value):
        function: Callable[[random.Random], object] = value

        def draw(rng: random.Random) -> Money:
            drawn = function(rng)
            if not isinstance(drawn, Money):
                raise InvalidInput(
                    "an order_value function must return Money", value=drawn, field="order_value"
                )
            return _order(drawn)

        return draw, draw(random.Random(0)).currency
    raise InvalidInput(
        "order_value must be Money, a list of Money, or a function of a random.Random",
        value=value,
        field="order_value",
    )


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: exact, and quick for the small means of invitations.
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _percentile(values: Sequence[Decimal], q: float) -> Decimal:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _interval(values: Sequence[Decimal], places: Decimal) -> Interval:
    mean = sum(values, Decimal(0)) / len(values)
    return Interval(
        mean=mean.quantize(places),
        low=_percentile(values, _LOW).quantize(places),
        high=_percentile(values, _HIGH).quantize(places),
    )


class _Run:
    """One simulated history of the programme."""

    def __init__(self, sim: _Simulation, rng: random.Random) -> None:
        self.sim = sim
        self.rng = rng
        self.next_id = 0
        self.qualified: dict[str, int] = {}
        self.rewards: dict[str, list[PastReward]] = {}
        self.keys: set[tuple[str, str]] = set()
        self.orders_of: dict[str, int] = {}
        self.referral_of: dict[str, Referral] = {}
        self.spend = Money.zero(sim.currency)
        self.points = 0

    def new_id(self) -> str:
        self.next_id += 1
        return f"c{self.next_id}"

    def invites(self) -> int:
        sim = self.sim
        if sim.distribution == "poisson":
            return _poisson(self.rng, sim.invites)
        whole = int(sim.invites)
        return whole + (self.rng.random() < sim.invites - whole)

    def week(self, sharers: list[str], referred: list[str], now: datetime) -> tuple[list[str], int]:
        """Run one week; returns the customers who joined and how many orders were placed."""
        sim, rng = self.sim, self.rng
        joined: list[tuple[str, str]] = []
        for sharer in sharers:
            if rng.random() >= sim.participation:
                continue
            joined.extend(
                (sharer, self.new_id())
                for _ in range(self.invites())
                if rng.random() < sim.conversion
            )
        repeats = [c for c in referred if rng.random() < sim.repeat]
        orders = [(referee, sim.order_value(rng)) for _, referee in joined]
        orders += [(referee, sim.order_value(rng)) for referee in repeats]
        for referrer, referee in joined:
            self.referral_of[referee] = Referral(
                id=f"r-{referee}",
                code="SIMULATED",
                referrer=referrer,
                referee=referee,
                status=ReferralStatus.QUALIFIED,
                reasons=(),
                attributed_at=now,
                campaign=sim.campaign,
                policy_version="simulated",
            )
        for referee, amount in orders:
            self.order(referee, amount, now)
        return [referee for _, referee in joined], len(orders)

    def order(self, referee: str, amount: Money, now: datetime) -> None:
        sim = self.sim
        referral = self.referral_of[referee]
        number = self.orders_of.get(referee, 0) + 1
        self.orders_of[referee] = number
        if number == 1:  # the referral qualifies with its first order, as in the programme
            self.qualified[referral.referrer] = self.qualified.get(referral.referrer, 0) + 1
        conversion = Conversion(
            order_id=f"{referee}-{number}",
            referee=referee,
            amount=amount,
            occurred_at=now,
            first_order=number == 1,
            referral_id=referral.id,
        )
        context = RewardContext(
            referral=referral,
            conversion=conversion,
            qualified=self.qualified[referral.referrer],
            order_number=number,
            referrer_rewards=tuple(self.rewards.get(referral.referrer, ()))
            if sim.needs_rewards
            else (),
            program_spend={sim.currency: self.spend} if sim.needs_spend else {},
            program_points=self.points,
            campaign=sim.campaign,
            now=now,
        )
        for grant in sim.policy.evaluate(context):
            who = referral.referrer if grant.beneficiary is Beneficiary.REFERRER else referee
            key = grant.key if grant.per_referrer else f"{conversion.order_id}:{grant.key}"
            if (who, key) in self.keys:
                continue
            self.keys.add((who, key))
            value = grant.coupon_value if grant.kind is RewardKind.COUPON else grant.amount
            value = None if value is None else value.round()
            if value is not None:
                if value.currency != sim.currency:
                    raise CurrencyMismatch(
                        f"policy {sim.policy.name} grants {value.currency} on {sim.currency}"
                        " orders; simulate one currency at a time",
                        value=value,
                    )
                self.spend += value
            self.points += grant.points
            if sim.needs_rewards:
                self.rewards.setdefault(who, []).append(
                    PastReward(key, grant.policy, value, grant.points, now)
                )


class _Simulation:
    def __init__(
        self,
        policy: RewardPolicy,
        *,
        participation: Decimal,
        invites: Decimal,
        conversion: Decimal,
        repeat: Decimal,
        distribution: Literal["poisson", "fixed"],
        order_value: OrderValue,
        campaign: str,
    ) -> None:
        self.policy = policy
        self.k_factor = participation * invites * conversion
        # Sampling compares with random() floats; the exact rates are kept for K.
        self.participation = float(participation)
        self.invites = float(invites)
        self.conversion = float(conversion)
        self.repeat = float(repeat)
        self.distribution = distribution
        self.order_value, self.currency = _order_sampler(order_value)
        self.campaign = campaign
        needs = policy_needs(policy)
        self.needs_rewards = "referrer_rewards" in needs
        self.needs_spend = "program_spend" in needs


def simulate(
    policy: RewardPolicy,
    *,
    customers: int,
    weeks: int,
    participation_rate: float | Decimal | str,
    invites_per_participant: float | Decimal | str,
    conversion_rate: float | Decimal | str,
    order_value: OrderValue,
    repeat_rate: float | Decimal | str = 0,
    distribution: Literal["poisson", "fixed"] = "poisson",
    budget: Money | None = None,
    runs: int = 200,
    seed: int = 0,
    campaign: str = "default",
    start: datetime = _START,
) -> Forecast:
    """Forecast ``weeks`` of a programme under ``policy`` over ``runs`` seeded runs.

    ``customers`` is the customer base at launch. Rates are probabilities (floats are
    fine: they are not money). ``order_value`` is one `Money`, a list to draw from (your
    recent orders), or a function of a `random.Random` returning `Money`. ``distribution``
    picks the number of invitations per participant: ``"poisson"`` around the mean, or
    ``"fixed"`` (the mean, rounded randomly to a neighbouring whole number). ``budget``
    only reports how fast it would be spent; to enforce one, wrap the policy in
    `referralkit.policies.Budget`. See the module docs for the model.

    Raises `InvalidInput` for an order value the programme would refuse (negative, or
    finer than the currency's minor unit), for a forecast whose runs would each
    simulate more than `MAX_SIMULATED_CUSTOMERS` new customers (a K-factor above 1
    over many weeks), and for one that would take more than `MAX_SIMULATION_STEPS`
    (runs x weeks x customers and their referees: it would run for hours).
    """
    from referralkit.protocols import RewardPolicy as PolicyProtocol  # noqa: PLC0415 - runtime check

    if not isinstance(policy, PolicyProtocol):
        raise ConfigError("policy must have a name and an evaluate(context) method", value=policy)
    if distribution not in {"poisson", "fixed"}:
        raise InvalidInput(
            "distribution must be 'poisson' or 'fixed'", value=distribution, field="distribution"
        )
    if budget is not None and (not isinstance(budget, Money) or budget.amount <= 0):
        raise InvalidInput("budget must be positive Money", value=budget, field="budget")
    sim = _Simulation(
        policy,
        participation=_rate("participation_rate", participation_rate),
        invites=_rate("invites_per_participant", invites_per_participant, upper=_MAX_INVITES),
        conversion=_rate("conversion_rate", conversion_rate),
        repeat=_rate("repeat_rate", repeat_rate),
        distribution=distribution,
        order_value=order_value,
        campaign=campaign,
    )
    if budget is not None and budget.currency != sim.currency:
        raise CurrencyMismatch("the budget and the orders must share a currency", value=budget)
    customers = _count("customers", customers, 1)
    weeks = _count("weeks", weeks, 1)
    runs = _count("runs", runs, 1)
    if not isinstance(start, datetime) or start.tzinfo is None:
        raise InvalidInput("start must be a timezone-aware datetime", value=start, field="start")
    if not isinstance(campaign, str) or not campaign.strip():
        raise InvalidInput("campaign must be a non-empty string", value=campaign, field="campaign")
    _check_size(customers, sim.k_factor, weeks)
    _check_work(customers, sim, weeks, runs)
    seed_rng = random.Random(_count("seed", seed, 0))
    tally = _Tally(weeks)
    for _ in range(runs):
        run = _Run(sim, random.Random(seed_rng.getrandbits(64)))
        sharers = [run.new_id() for _ in range(customers)]
        referred: list[str] = []
        for w in range(weeks):
            before, points_before = run.spend, run.points
            joined, placed = run.week(sharers, referred, start + timedelta(weeks=w))
            referred += joined
            sharers = joined
            tally.new[w].append(Decimal(len(joined)))
            tally.orders[w].append(Decimal(placed))
            tally.spent[w].append((run.spend - before).amount)
            tally.to_date[w].append(run.spend.amount)
            tally.points[w].append(Decimal(run.points - points_before))
    return _forecast(sim, tally, customers=customers, budget=budget, runs=runs, seed=seed)


def _check_size(customers: int, k: Decimal, weeks: int) -> None:
    """Refuse a forecast whose runs would each simulate more than `MAX_SIMULATED_CUSTOMERS`."""
    expected, week = Decimal(0), Decimal(customers)
    for _ in range(weeks):
        week *= k
        expected += week
        if expected > MAX_SIMULATED_CUSTOMERS:
            raise InvalidInput(
                f"with a K-factor of {k}, {customers} customers would bring more than"
                f" {MAX_SIMULATED_CUSTOMERS:,} new customers in {weeks} weeks: too many to"
                " simulate; forecast fewer weeks, or lower the rates",
                value=weeks,
                field="weeks",
            )


def simulation_steps(
    customers: int, k_factor: Decimal, repeat_rate: Decimal, weeks: int, runs: int
) -> int:
    """The expected work of a forecast, in the steps `MAX_SIMULATION_STEPS` counts."""
    k, repeat = float(k_factor), float(repeat_rate)
    sharers, referred, steps = float(customers), 0.0, 0.0
    for _ in range(weeks):
        new = sharers * k
        steps += sharers + referred / _REFERRED_PER_STEP
        steps += _STEPS_PER_ORDER * (new + repeat * referred)
        referred += new
        sharers = new
    return math.ceil(steps * runs)


def _check_work(customers: int, sim: _Simulation, weeks: int, runs: int) -> None:
    """Refuse a forecast that would take more than `MAX_SIMULATION_STEPS`."""
    steps = simulation_steps(customers, sim.k_factor, Decimal(str(sim.repeat)), weeks, runs)
    if steps > MAX_SIMULATION_STEPS:
        raise InvalidInput(
            f"this forecast would take about {steps:,} simulation steps ({runs} runs of"
            f" {weeks} weeks from {customers} customers), more than the"
            f" {MAX_SIMULATION_STEPS:,} (about a minute) a forecast may take: reduce runs"
            " (the bands need no more than a few hundred), weeks or customers",
            value=steps,
            field="runs",
        )


class _Tally:
    """Per week, one value per run of each simulated quantity."""

    def __init__(self, weeks: int) -> None:
        self.new: list[list[Decimal]] = [[] for _ in range(weeks)]
        self.orders: list[list[Decimal]] = [[] for _ in range(weeks)]
        self.spent: list[list[Decimal]] = [[] for _ in range(weeks)]
        self.to_date: list[list[Decimal]] = [[] for _ in range(weeks)]
        self.points: list[list[Decimal]] = [[] for _ in range(weeks)]


def _money_places(currency: str) -> Decimal:
    from referralkit.money import minor_unit  # noqa: PLC0415 - tiny helper

    return minor_unit(currency)


def _ratio(spent: Sequence[Decimal], counts: Sequence[Decimal], places: Decimal) -> Interval | None:
    values = [s / n for s, n in zip(spent, counts, strict=True) if n]
    return _interval(values, places) if values else None


def _forecast(
    sim: _Simulation,
    tally: _Tally,
    *,
    customers: int,
    budget: Money | None,
    runs: int,
    seed: int,
) -> Forecast:
    cents = _money_places(sim.currency)
    k = sim.k_factor
    new, spent, to_date = tally.new, tally.spent, tally.to_date
    weeks = []
    for w in range(len(new)):
        used = None
        if budget is not None:
            used = _interval([s / budget.amount for s in to_date[w]], Decimal("0.000001"))
        weeks.append(
            WeekForecast(
                week=w + 1,
                new_customers=_interval(new[w], _COUNT_PLACES),
                expected_new_customers=(customers * k ** (w + 1)).quantize(_COUNT_PLACES),
                orders=_interval(tally.orders[w], _COUNT_PLACES),
                reward_spend=_interval(spent[w], cents),
                cac=_ratio(spent[w], new[w], cents),
                spend_to_date=_interval(to_date[w], cents),
                budget_used=used,
                reward_points=_interval(tally.points[w], _COUNT_PLACES),
            )
        )
    totals_new = [sum(col, Decimal(0)) for col in zip(*new, strict=True)]
    totals_spent = [sum(col, Decimal(0)) for col in zip(*spent, strict=True)]
    return Forecast(
        policy=sim.policy.name,
        currency=sim.currency,
        runs=runs,
        seed=seed,
        customers=customers,
        k_factor=k,
        budget=None if budget is None else budget.amount,
        weeks=weeks,
        total_new_customers=_interval(totals_new, _COUNT_PLACES),
        total_reward_spend=_interval(totals_spent, cents),
        cac=_ratio(totals_spent, totals_new, cents),
    )
