"""Every domain model has a stable JSON form that reads back into an equal object."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import referralkit as rk
from referralkit.metrics import Click
from referralkit.model import CodeCheck, Friend, FriendReward
from strategies import models_of

MODELS = [
    rk.Identity,
    rk.ReferralCode,
    rk.Referral,
    rk.Conversion,
    rk.Reward,
    rk.Event,
    rk.TierProgress,
    rk.ReferrerStatus,
    Click,
    CodeCheck,
    Friend,
    FriendReward,
]


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_the_json_form_round_trips_through_json_text(cls, data) -> None:
    obj = data.draw(models_of(cls))
    text = json.dumps(obj.to_dict())
    assert cls.from_dict(json.loads(text)) == obj


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@given(data=st.data())
def test_the_json_form_follows_its_schema_and_pydantic_model(cls, data) -> None:
    form = data.draw(models_of(cls)).to_dict()
    jsonschema.validate(form, cls.json_schema())
    assert cls.pydantic_model().model_validate(form).model_dump(mode="json") == form


def test_money_is_a_string_amount_with_the_minor_digits_and_a_currency() -> None:
    status = rk.ReferrerStatus(
        customer_id="ann",
        codes=("K7Q2M9XD",),
        invites=2,
        pending=1,
        qualified=1,
        in_review=0,
        rejected=0,
        held={"USD": rk.Money("10", "USD")},
        available={"JPY": rk.Money("1500", "JPY")},
        paid={},
        clawbacks={},
        points_held=0,
        points_available=0,
        points_paid=0,
        tier=rk.TierProgress(qualified=1, current_tier=1, next_tier_at=5),
    )
    form = status.to_dict()
    assert form["held"] == {"USD": {"amount": "10.00", "currency": "USD"}}
    assert form["available"] == {"JPY": {"amount": "1500", "currency": "JPY"}}
    assert form["tier"] == {"qualified": 1, "current_tier": 1, "next_tier_at": 5}
    assert form["codes"] == ["K7Q2M9XD"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 10}, "amount"),
        ({"amount": {"amount": "1", "currency": "XXX"}}, "currency"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-01-01T00:00:00"}, "occurred_at"),
        ({"first_order": "yes"}, "first_order"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_json_form_is_refused_naming_the_field(change, field) -> None:
    good = rk.Conversion(
        order_id="o-1",
        referee="bob",
        amount=rk.Money("80", "USD"),
        occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        first_order=True,
    ).to_dict()
    with pytest.raises(rk.InvalidInput) as caught:
        rk.Conversion.from_dict({**good, **change})
    assert caught.value.field == field


def test_a_missing_field_is_refused_naming_it() -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        rk.TierProgress.from_dict({"qualified": 1, "current_tier": None})
    assert caught.value.field == "next_tier_at"
