"""Event payloads in the SQLite file: common shapes stored without their keys, read back whole."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import json_values

from referralkit.storage import SQLiteStore
from referralkit.storage._sqlite_codec import PAYLOAD_SHAPES, decode_payload, encode_payload

pytestmark = pytest.mark.sqlite

_money_forms = st.fixed_dictionaries(
    {"amount": st.text(max_size=8), "currency": st.sampled_from(["USD", "EUR", "JPY"])}
)
# A value at ``amount``: a money's JSON form, nothing, or anything at all.
_amounts = st.one_of(_money_forms, st.none(), json_values)


@st.composite
def shaped_payloads(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.sampled_from(PAYLOAD_SHAPES))
    return {k: draw(_amounts if k == "amount" else json_values) for k in keys}


payloads = st.one_of(
    shaped_payloads(), st.dictionaries(st.text(max_size=12), json_values, max_size=6)
)


def _plain(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(payload))
    return result


@given(payloads)
def test_a_payload_reads_back_as_its_plain_json_would(payload: dict[str, Any]) -> None:
    decoded = decode_payload(encode_payload(payload))
    assert decoded == _plain(payload)
    assert list(decoded) == list(_plain(payload))  # the keys in their order too
    amount = decoded.get("amount")
    if isinstance(amount, dict):
        assert list(amount) == list(_plain(payload)["amount"])


@given(shaped_payloads())
def test_a_known_shape_is_stored_without_its_keys(payload: dict[str, Any]) -> None:
    amount = payload.get("amount")
    if amount is not None and not (
        isinstance(amount, dict) and list(amount) == ["amount", "currency"]
    ):
        assert encode_payload(payload).startswith("{")  # kept as an object
        return
    stored = json.loads(encode_payload(payload))
    assert stored[0] == PAYLOAD_SHAPES.index(tuple(payload))
    assert len(stored) == len(payload) + 1


def test_an_event_stored_as_an_object_reads_back(tmp_path: Path) -> None:
    """Files written before the shapes hold every payload as a JSON object."""
    path = tmp_path / "old.db"
    SQLiteStore(path).close()
    old = {"customer_id": "ann", "code": "AAAA0000", "campaign": "default"}
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO events (type, payload, occurred_at) VALUES ('code.enrolled', ?,"
        " '2026-01-01T00:00:00.000000+00:00')",
        (json.dumps(old),),
    )
    db.commit()
    db.close()
    store = SQLiteStore(path)
    with store.transaction() as uow:
        new = uow.events.add("code.enrolled", old, datetime(2026, 1, 2, tzinfo=timezone.utc))
        events = uow.events.pending(10)
    store.close()
    assert [e.payload for e in events] == [old, old]
    assert events[1].id == new.id


_COMMON = (
    "code.enrolled",
    "referral.pending",
    "conversion.recorded",
    "referral.qualified",
    "reward.granted",
    "reward.available",
)


def test_the_program_s_common_events_are_stored_in_a_known_shape(tmp_path: Path) -> None:
    """A payload shape change in the program must come with its shape here, or the file grows."""
    from datetime import timedelta

    import referralkit as rk
    from referralkit.policies import DoubleSided, Fixed
    from referralkit.testing import FrozenClock

    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    path = tmp_path / "shapes.db"
    store = SQLiteStore(path)
    program = rk.ReferralProgram(
        store=store,
        secret=b"s" * 32,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        hold=timedelta(days=1),
        clock=clock,
    )
    code = program.enroll("ann").code
    program.attribute(code=code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
    clock.advance(days=2)
    program.release_due()
    store.close()
    db = sqlite3.connect(path)
    rows = db.execute("SELECT type, payload FROM events").fetchall()
    db.close()
    seen = {type_ for type_, _ in rows}
    assert set(_COMMON) <= seen
    loose = sorted({type_ for type_, text in rows if type_ in _COMMON and text.startswith("{")})
    assert loose == []
