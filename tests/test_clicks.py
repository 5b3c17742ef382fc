"""Clicks are facts in a table of their own, under the visitor's keyed hash, read where they count.

An older SQLite file's click events move into the clicks table on upgrade, keeping its
metrics and its visitors' attributions; the outbox keeps only events meant for delivery.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import referralkit as rk
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.storage._schema import MIGRATIONS
from referralkit.testing import FrozenClock

SECRET = b"clicks-test-secret-0123456789abcdef"
OLD_SECRET = b"older-clicks-secret-0123456789abcdef"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _program(store: rk.Store, clock: FrozenClock, **options: Any) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=options.pop("secret", SECRET),
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        link_base="https://shop.example/r",
        clock=clock,
        **options,
    )


def test_attribution_by_visitor_finds_the_click_by_its_hash(store) -> None:
    clock = FrozenClock(T0)
    program = _program(store, clock)
    ann = program.enroll("ann").code
    program.track_click(program.link(ann, channel="sms"), visitor="203.0.113.9")
    clock.advance(hours=1)
    greeting = program.attribution_for("203.0.113.9")
    assert greeting is not None
    assert (greeting.code, greeting.visitor, greeting.channel) == (ann, "203.0.113.9", "sms")
    referral = program.attribute(referee="bob", visitor="203.0.113.9")
    assert (referral.referrer, referral.channel) == ("ann", "sms")
    assert program.attribute(referee="cat", visitor="198.51.100.1") is None


def test_no_raw_visitor_id_reaches_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "clicks.db"
    store = SQLiteStore(path)
    program = _program(store, FrozenClock(T0))
    ann = program.enroll("ann").code
    program.track_click(ann, visitor="visitor-ann@example.com")
    program.attribute(referee="bob", visitor="visitor-ann@example.com")
    store.close()
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"visitor-ann@example.com" not in written
    digest = program._core.hasher.digest("visitor", "visitor-ann@example.com").encode()
    assert digest in written


def test_clicks_stored_under_a_previous_secret_still_attribute_during_a_rotation(store) -> None:
    clock = FrozenClock(T0)
    before = _program(store, clock, secret=OLD_SECRET)
    ann = before.enroll("ann").code
    before.track_click(ann, visitor="cookie-1")
    rotated = _program(store, clock, previous_secrets=[OLD_SECRET])
    assert rotated.attribution_for("cookie-1") is not None
    forgotten = _program(store, clock)  # the old secret no longer accepted
    assert forgotten.attribute(referee="zed", visitor="cookie-1") is None
    assert rotated.attribute(referee="bob", visitor="cookie-1").referrer == "ann"


class _Recording(MemoryStore):
    """A memory store that notes which unit of work each read and write ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []
        self._units = 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as uow:
            self._units += 1
            unit = self._units
            self.calls.append(("begin", unit))
            for name, repository in (("clicks", uow.clicks), ("referrals", uow.referrals)):
                method = "for_visitor" if name == "clicks" else "add"
                setattr(uow, name, _Spy(repository, method, f"{name}.{method}", unit, self.calls))
            yield uow
            self.calls.append(("commit", unit))


class _Spy:
    def __init__(self, inner: Any, method: str, label: str, unit: int, calls: list) -> None:
        self._inner, self._method, self._label, self._unit, self._calls = (
            inner,
            method,
            label,
            unit,
            calls,
        )

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name != self._method:
            return found

        def spied(*args: Any, **kwargs: Any) -> Any:
            self._calls.append((self._label, self._unit))
            return found(*args, **kwargs)

        return spied


def test_the_winning_click_is_read_in_the_unit_of_work_that_attributes() -> None:
    store = _Recording()
    clock = FrozenClock(T0)
    program = _program(store, clock)
    ann = program.enroll("ann").code
    program.track_click(ann, visitor="cookie-7")
    store.calls.clear()
    program.attribute(referee="bob", visitor="cookie-7")
    unit = store.calls[0][1]
    assert store.calls == [  # one unit of work: the click is read where the referral is written
        ("begin", unit),
        ("clicks.for_visitor", unit),
        ("referrals.add", unit),
        ("commit", unit),
    ]


class _NoClicks(MemoryStore):
    """A store with the core repositories only: written before clicks had their own."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as uow:
            yield _CoreOnly(uow)


class _CoreOnly:
    def __init__(self, uow: Any) -> None:
        for name in (
            "codes",
            "referrals",
            "conversions",
            "rewards",
            "events",
            "terms",
            "identities",
        ):
            setattr(self, name, getattr(uow, name))


def test_a_store_without_click_tracking_says_so_and_keeps_everything_else() -> None:
    program = _program(_NoClicks(), FrozenClock(T0))
    ann = program.enroll("ann").code
    for call in (
        lambda: program.track_click(ann, visitor="v"),
        lambda: program.attribute(referee="bob", visitor="v"),
        lambda: program.attribution_for("v"),
    ):
        with pytest.raises(rk.ConfigError) as caught:
            call()
        assert "_NoClicks does not support click tracking" in str(caught.value)
        assert "`clicks`" in str(caught.value)
    assert program.attribute(referee="bob", code=ann).referrer == "ann"


# -- an older file's click events ------------------------------------------------------------


def _legacy_file(path: Path) -> None:
    """A schema-3 file, as referralkit wrote it when clicks were ``click`` events."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for step in MIGRATIONS[:3]:
        for statement in step:
            db.execute(statement)
    db.execute("INSERT INTO schema_version VALUES (3)")
    for owner, code in (("ann", "ANNA10"), ("bob", "BOB20")):
        db.execute(
            "INSERT INTO codes (code, owner, campaign, kind, created_at) VALUES (?, ?, ?, ?, ?)",
            (code, owner, "default", "vanity", T0.isoformat(timespec="microseconds")),
        )
        _legacy_event(db, "code.enrolled", {"customer_id": owner, "code": code}, T0)
    for hours, code, visitor, channel in _LEGACY_CLICKS:
        payload = {"visitor": visitor, "code": code, "channel": channel, "campaign": "default"}
        _legacy_event(db, "click", payload, T0 + timedelta(hours=hours))
    db.commit()
    db.close()


_LEGACY_CLICKS = [
    (1, "ANNA10", "cookie-1", "sms"),
    (2, "BOB20", "cookie-1", "email"),
    (2, "ANNA10", "cookie-2", None),
    (3, "BOB20", "cookie-3", "email"),
]


def _legacy_event(db: sqlite3.Connection, kind: str, payload: dict, at: datetime) -> None:
    db.execute(
        "INSERT INTO events (type, payload, occurred_at) VALUES (?, ?, ?)",
        (kind, json.dumps(payload), at.isoformat(timespec="microseconds")),
    )


def test_an_older_files_click_events_become_clicks_with_their_metrics(tmp_path: Path) -> None:
    path = tmp_path / "legacy.db"
    _legacy_file(path)
    clock = FrozenClock(T0 + timedelta(hours=5))
    upgraded = _program(SQLiteStore(path), clock)
    reference_clock = FrozenClock(T0)
    reference = _program(MemoryStore(), reference_clock)
    reference.enroll("ann", vanity="ANNA10")
    reference.enroll("bob", vanity="BOB20")
    for hours, code, visitor, channel in _LEGACY_CLICKS:
        reference_clock.advance(T0 + timedelta(hours=hours) - reference_clock())
        reference.track_click(code, visitor=visitor, channel=channel)
    reference_clock.advance(T0 + timedelta(hours=5) - reference_clock())
    for by in (None, "channel", "referrer", "campaign"):
        assert upgraded.metrics(by=by) == reference.metrics(by=by), by  # type: ignore[arg-type]
    assert upgraded.metrics().clicks == 4
    assert [e.type for e in upgraded.pending_events()] == ["code.enrolled", "code.enrolled"]
    assert [e.attempts for e in upgraded.pending_events()] == [0, 0]
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM events WHERE type = 'click'").fetchone() == (0,)
        ids = [row[0] for row in db.execute("SELECT id FROM clicks ORDER BY id")]
    finally:
        db.close()
    assert ids == [3, 4, 5, 6]  # the events' ids: same-instant clicks keep their order
    upgraded.store.close()


@pytest.mark.parametrize(
    ("attribution", "referrer"), [("first_touch", "ann"), ("last_touch", "bob")]
)
def test_an_older_files_visitors_are_still_attributed_by_their_id(
    tmp_path: Path, attribution: str, referrer: str
) -> None:
    path = tmp_path / "legacy.db"
    _legacy_file(path)
    program = _program(
        SQLiteStore(path), FrozenClock(T0 + timedelta(days=1)), attribution=attribution
    )
    referral = program.attribute(referee="new-customer", visitor="cookie-1")
    assert referral.referrer == referrer
    program.track_click("ANNA10", visitor="cookie-1")  # a new click is stored hashed
    assert program.attribute(referee="other", visitor="cookie-3").referrer == "bob"
    program.store.close()


def test_every_built_in_stores_clicks_have_the_protocols_signatures(store) -> None:
    from referralkit.protocols import CLICKS, ClickRepository
    from test_interface_uniformity import _differences

    with store.transaction() as uow:
        clicks = CLICKS.repository(uow, store=store)
        assert isinstance(clicks, ClickRepository)
        assert _differences("uow.clicks", clicks, ClickRepository) == []
