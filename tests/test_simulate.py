"""Forecasts: seeded, true to the K-factor law, and run through the real reward policy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.cli import main
from referralkit.metrics import Forecast, format_forecast, simulate
from referralkit.policies import Capped, DoubleSided, FirstOrderOnly, Fixed, PercentOfOrder

USD = "USD"


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, USD)


FLAT = FirstOrderOnly(DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))))
COMMISSION = DoubleSided(referrer=PercentOfOrder(Decimal("0.2")), referee=Fixed(usd("5")))


def forecast(policy: rk.RewardPolicy = FLAT, **overrides: object) -> Forecast:
    kwargs: dict[str, object] = {
        "customers": 200,
        "weeks": 4,
        "participation_rate": "0.3",
        "invites_per_participant": "2.5",
        "conversion_rate": "0.4",
        "order_value": usd("60"),
        "runs": 300,
        "seed": 11,
    }
    kwargs.update(overrides)
    return simulate(policy, **kwargs)  # type: ignore[arg-type]


def test_new_customers_follow_the_closed_form_k_factor_growth() -> None:
    """Mean new customers in week t converge to customers * K**t (K = 0.3 x 2.5 x 0.4)."""
    f = forecast()
    assert f.k_factor == Decimal("0.300")
    for week in f.weeks:
        expected = 200 * Decimal("0.3") ** week.week
        assert week.expected_new_customers == expected.quantize(Decimal("0.001"))
        assert abs(week.new_customers.mean - expected) <= max(Decimal("0.05") * expected, 1)
        assert week.new_customers.low <= week.new_customers.mean <= week.new_customers.high


def test_fixed_invitations_follow_the_law_too() -> None:
    f = forecast(distribution="fixed")
    assert abs(f.weeks[0].new_customers.mean - 60) <= 3


def test_a_seed_gives_the_same_forecast_and_another_seed_another() -> None:
    assert forecast(runs=40) == forecast(runs=40)
    assert forecast(runs=40, seed=12) != forecast(runs=40)


def test_the_real_policy_sets_the_spend() -> None:
    """A flat first-order reward costs exactly $15 per new customer, whatever the run."""
    f = forecast(repeat_rate="0.5")
    for week in f.weeks:
        # Both means are rounded for display: new customers to 0.001, money to the cent.
        assert abs(week.reward_spend.mean - week.new_customers.mean * 15) <= Decimal("0.02")
        if week.cac is not None:
            assert week.cac.low == week.cac.high == Decimal("15.00")
    assert f.weeks[1].orders.mean > f.weeks[1].new_customers.mean  # repeat orders happen


def test_two_policies_see_the_same_customers_and_differ_only_in_cost() -> None:
    flat = forecast(FLAT, repeat_rate="0.3", runs=40)
    commission = forecast(COMMISSION, repeat_rate="0.3", runs=40)
    for a, b in zip(flat.weeks, commission.weeks, strict=True):
        assert a.new_customers == b.new_customers
        assert a.orders == b.orders
    # 20 % of every $60 order for the referrer plus $5 per order for the referee.
    assert commission.total_reward_spend.mean > flat.total_reward_spend.mean
    capped = forecast(Capped(COMMISSION, max_per_referrer=usd("12")), repeat_rate="0.3", runs=40)
    assert capped.total_reward_spend.mean < commission.total_reward_spend.mean


def test_budget_burn_is_spend_to_date_over_the_budget() -> None:
    f = forecast(budget=usd("1000"), runs=40)
    last = f.weeks[-1]
    assert last.budget_used is not None
    assert last.budget_used.mean == (last.spend_to_date.mean / 1000).quantize(Decimal("0.000001"))
    assert forecast(runs=5).weeks[0].budget_used is None


def test_order_values_can_be_drawn_from_a_list() -> None:
    f = forecast(order_value=[usd("20"), usd("200")], weeks=1)
    assert f.weeks[0].new_customers.mean > 0


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"participation_rate": "1.5"}, rk.InvalidInput),
        ({"conversion_rate": -0.1}, rk.InvalidInput),
        ({"invites_per_participant": "many"}, rk.InvalidInput),
        ({"customers": 0}, rk.InvalidInput),
        ({"weeks": True}, rk.InvalidInput),
        ({"order_value": 60}, rk.InvalidInput),
        ({"order_value": [usd("1"), rk.Money("1", "EUR")]}, rk.CurrencyMismatch),
        ({"budget": rk.Money("10", "EUR")}, rk.CurrencyMismatch),
        ({"distribution": "uniform"}, rk.InvalidInput),
        ({"order_value": usd("-5")}, rk.InvalidInput),
        ({"order_value": usd("5.125")}, rk.InvalidInput),
        ({"order_value": [usd("20"), usd("-1")]}, rk.InvalidInput),
        ({"order_value": lambda rng: usd(str(rng.randint(-50, 100)))}, rk.InvalidInput),
        ({"start": datetime(2026, 1, 5)}, rk.InvalidInput),  # noqa: DTZ001 - the point of the test
        ({"start": "2026-01-05"}, rk.InvalidInput),
        ({"campaign": ""}, rk.InvalidInput),
    ],
)
def test_bad_assumptions_raise_clear_errors(overrides, error) -> None:
    with pytest.raises(error):
        forecast(**overrides)


@settings(max_examples=30, deadline=None)
@given(
    cents=st.integers(min_value=-10_000, max_value=10_000),
    extra=st.sampled_from(["", "5", "25"]),
)
def test_order_values_are_orders_the_program_would_accept(cents: int, extra: str) -> None:
    """A forecast runs on order values the program takes: not negative, in whole cents."""
    sign = "-" if cents < 0 else ""
    text = f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}{extra}"
    value = usd(text)
    assumptions: dict[str, object] = {
        "customers": 20,
        "weeks": 1,
        "participation_rate": 1,
        "invites_per_participant": 1,
        "conversion_rate": 1,
        "order_value": value,
        "runs": 1,
    }
    if value.amount >= 0 and not extra.strip("0"):
        f = simulate(FLAT, **assumptions)  # type: ignore[arg-type]
        assert f.weeks[0].orders.mean == f.weeks[0].new_customers.mean
    else:
        with pytest.raises(rk.InvalidInput) as caught:
            simulate(FLAT, **assumptions)  # type: ignore[arg-type]
        assert caught.value.field == "order_value"


def test_a_forecast_that_would_never_finish_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """K above 1 for months means billions of simulated customers: say so instead of hanging."""
    with pytest.raises(rk.InvalidInput, match="customers") as caught:
        forecast(participation_rate=1, invites_per_participant=10, conversion_rate=1, weeks=30)
    assert caught.value.field == "weeks"
    assert main(["simulate", "--participation", "1", "--invites", "100", "--conversion", "1"]) == 2
    assert "too many to simulate" in capsys.readouterr().err
    # A K-factor above 1 over a short horizon still runs.
    f = forecast(
        participation_rate=1, invites_per_participant=2, conversion_rate=1, weeks=3, runs=5
    )
    assert f.weeks[-1].expected_new_customers == 1600


def test_a_non_policy_is_a_config_error() -> None:
    with pytest.raises(rk.ConfigError):
        forecast("ten dollars")  # type: ignore[arg-type]


def test_the_forecast_prints_as_a_table() -> None:
    text = format_forecast(forecast(budget=usd("1000"), runs=5))
    assert "closed form" in text
    assert "budget used" in text
    assert "Totals" in text
    assert len([line for line in text.splitlines() if line.startswith("  1 ")]) == 1


def test_the_command_compares_policies_from_config_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = tmp_path / "flat.toml"
    flat.write_text('[policy]\npolicy = "fixed"\namount = "10 USD"\n')
    percent = tmp_path / "percent.toml"
    percent.write_text('[policy]\npolicy = "percent_of_order"\nrate = "25%"\n')
    argv = ["simulate", "--config", str(flat), "--config", str(percent), "--weeks", "3"]
    assert main([*argv, "--runs", "20", "--json"]) == 0
    out = capsys.readouterr().out
    forecasts = [Forecast.model_validate(f) for f in __import__("json").loads(out)]
    assert [f.policy for f in forecasts] == ["fixed(10.00 USD)", "percent_of_order(25%)"]
    assert forecasts[0].weeks[0].new_customers == forecasts[1].weeks[0].new_customers


def test_the_command_prints_a_forecast_table(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--referrer-reward", "20 usd", "--weeks", "2", "--runs", "10"]
    assert main([*argv, "--budget", "500 USD"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Forecast for first_order_only(double_sided(referrer=fixed(20.00 USD)")
    assert "budget used" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--conversion", "2"],
        ["simulate", "--order-value", "80"],
        ["simulate", "--config", "no-such-file.toml"],
        ["simulate", "--budget", "100 XXX"],
        ["simulate", "--order-value", "-5 USD"],
        ["simulate", "--config", "{binary}"],
    ],
)
def test_bad_simulate_arguments_exit_non_zero(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "program.toml"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    assert main([a.format(binary=binary) for a in argv]) in {1, 2}
    assert "referralkit:" in capsys.readouterr().err
