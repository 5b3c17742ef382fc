"""The program's outbox: claims under leases, retries, dead letters, pruning, and drains."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.outbox import Backoff, DrainResult, drain, drain_all
from referralkit.policies import DoubleSided, Fixed
from referralkit.program import _outbox
from referralkit.testing import FrozenClock
from strategies import junk_event_ids, junk_leases, junk_limits

SECRET = b"outbox-test-secret-0123456789abcdef"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=5)
FIXTURES = [HealthCheck.function_scoped_fixture]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def program(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=store,
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        clock=clock,
    )


def _enrol(program: rk.ReferralProgram, n: int) -> list[int]:
    """``n`` new customers enrolled: one ``code.enrolled`` event each; their ids."""
    return [_enrolled(program, uuid.uuid4().hex) for _ in range(n)]


def _enrolled(program: rk.ReferralProgram, customer: str) -> int:
    program.enroll(customer)
    (event,) = [e for e in program.pending_events(1000) if e.payload["customer_id"] == customer]
    return event.id


# -- claims and leases ---------------------------------------------------------------------------


def test_a_claim_is_not_handed_out_again_while_its_lease_holds(program, clock) -> None:
    ids = _enrol(program, 5)
    first = program.claim_events(limit=3, lease=LEASE, worker="a")
    assert [(e.id, e.attempts) for e in first] == [(i, 1) for i in ids[:3]]
    assert [e.id for e in program.pending_events()] == ids[3:]  # leased ones left out
    second = program.claim_events(limit=10, lease=LEASE, worker="b")
    assert [e.id for e in second] == ids[3:]
    clock.advance(minutes=4, seconds=59)
    assert program.claim_events() == []
    assert program.pending_events() == []


def test_a_crashed_workers_events_come_back_after_the_lease_with_one_more_attempt(
    program, clock
) -> None:
    ids = _enrol(program, 3)
    program.claim_events(limit=3, lease=LEASE, worker="crashed")
    program.ack([ids[1]])  # it delivered one before it died
    clock.advance(LEASE)
    again = program.claim_events(worker="survivor")
    assert [(e.id, e.attempts) for e in again] == [(ids[0], 2), (ids[2], 2)]
    assert program.ack(e.id for e in again) == 2
    clock.advance(days=1)
    assert program.claim_events() == []
    assert program.pending_events() == []


def test_a_released_event_waits_for_its_retry_time(program, clock) -> None:
    ids = _enrol(program, 2)
    program.claim_events(lease=LEASE)
    retry = T0 + timedelta(minutes=2)
    assert program.release_events([ids[0]], retry_at=retry) == 1
    assert program.release_events([ids[1]]) == 1  # now: claimable at once
    assert [e.id for e in program.claim_events()] == [ids[1]]
    clock.advance(minutes=2)
    (back,) = program.claim_events()
    assert (back.id, back.attempts) == (ids[0], 2)


def test_a_dead_letter_is_kept_out_until_released_or_acknowledged(program, clock) -> None:
    ids = _enrol(program, 3)
    program.claim_events()
    assert program.dead_letter([ids[0], ids[1]]) == 2
    assert program.dead_letter([ids[0]]) == 0
    clock.advance(days=2)
    assert [e.id for e in program.claim_events()] == [ids[2]]
    assert [(e.id, e.attempts) for e in program.dead_letters()] == [(ids[0], 1), (ids[1], 1)]
    assert program.release_events([ids[0]]) == 1  # fixed the receiver: try again
    assert program.ack([ids[1]]) == 1  # delivered by hand
    assert program.dead_letters() == []
    (revived,) = program.claim_events()
    assert (revived.id, revived.attempts) == (ids[0], 2)


def test_claims_and_dead_letters_of_unknown_or_acknowledged_events_change_nothing(
    program,
) -> None:
    ids = _enrol(program, 1)
    program.ack(ids)
    assert program.release_events([*ids, 0, -1, 10**9]) == 0
    assert program.dead_letter([*ids, 10**9]) == 0
    assert program.claim_events() == []


# -- pruning -------------------------------------------------------------------------------------


def test_prune_deletes_only_acknowledged_events_older_than_asked(program, clock) -> None:
    old = _enrol(program, 4)
    program.ack(old[:3])
    program.claim_events(limit=1)  # old[3]: leased, and it stays
    clock.advance(days=50)
    program.enroll("newer")
    newer = [e.id for e in program.pending_events()][-1]
    program.ack([newer])
    clock.advance(days=41)
    assert program.prune_events() == 3  # 91 days: the three old acknowledged ones
    assert program.prune_events(older_than=timedelta(days=90)) == 0
    assert program.prune_events(older_than=timedelta(days=41)) == 0  # not strictly older
    assert program.prune_events(older_than=timedelta(days=40)) == 1
    assert [e.id for e in program.pending_events()] == [old[3]]
    assert program.prune_events(older_than=timedelta(0)) == 0  # never an unacknowledged one
    assert program.prune_events(older_than=timedelta.max) == 0


def test_prune_works_in_batches_until_nothing_is_left(program, clock, monkeypatch) -> None:
    monkeypatch.setattr(_outbox, "_PRUNE_BATCH", 3)
    ids = _enrol(program, 8)
    program.ack(ids)
    clock.advance(seconds=1)
    assert program.prune_events(older_than=timedelta(0)) == 8
    program.enroll("after")
    assert next(e.id for e in program.pending_events()) > max(ids)  # ids never reused


# -- refusing junk, on every store ----------------------------------------------------------------


def _state(program: rk.ReferralProgram) -> object:
    return program.pending_events(1000), program.dead_letters(1000)


@settings(max_examples=30, suppress_health_check=FIXTURES)
@given(limit=junk_limits)
def test_a_junk_limit_is_refused_and_changes_nothing(program, limit) -> None:
    _enrol(program, 1)
    before = _state(program)
    for call in (program.claim_events, program.dead_letters, program.pending_events):
        with pytest.raises(rk.InvalidInput) as caught:
            call(limit)
        assert caught.value.field == "limit"
    assert _state(program) == before


def test_a_claim_above_ten_thousand_is_refused(program) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        program.claim_events(limit=10_001)
    assert caught.value.field == "limit"
    assert program.claim_events(limit=10_000) == []


@settings(max_examples=30, suppress_health_check=FIXTURES)
@given(lease=junk_leases)
def test_a_junk_lease_is_refused_and_claims_nothing(program, lease) -> None:
    _enrol(program, 1)
    before = _state(program)
    with pytest.raises(rk.InvalidInput) as caught:
        program.claim_events(lease=lease)
    assert caught.value.field == "lease"
    assert _state(program) == before
    assert program.pending_events()[0].attempts == 0


@settings(max_examples=30, suppress_health_check=FIXTURES)
@given(worker=st.one_of(st.just(""), st.just("  "), st.text(min_size=201), st.integers()))
def test_a_junk_worker_name_is_refused(program, worker) -> None:
    _enrol(program, 1)
    with pytest.raises(rk.InvalidInput) as caught:
        program.claim_events(worker=worker)
    assert caught.value.field == "worker"
    assert program.pending_events()[0].attempts == 0


@settings(max_examples=40, suppress_health_check=FIXTURES)
@given(ids=junk_event_ids)
def test_junk_event_ids_are_refused_everywhere_and_change_nothing(program, ids) -> None:
    real = _enrol(program, 1)
    program.claim_events()
    before = _state(program)
    calls = (program.ack, program.release_events, program.dead_letter)
    for call in calls:
        junk = [*real, *ids] if isinstance(ids, list) else ids
        with pytest.raises(rk.InvalidInput) as caught:
            call(junk)
        assert caught.value.field == "event_ids"
    assert _state(program) == before
    assert program.dead_letters() == []


@settings(max_examples=30, suppress_health_check=FIXTURES)
@given(
    retry_at=st.one_of(
        st.datetimes(),  # naive
        st.text(max_size=5),
        st.integers(),
        st.dates(),
    )
)
def test_a_junk_retry_time_is_refused(program, retry_at) -> None:
    ids = _enrol(program, 1)
    program.claim_events()
    with pytest.raises(rk.InvalidInput) as caught:
        program.release_events(ids, retry_at=retry_at)
    assert caught.value.field == "retry_at"
    assert program.pending_events() == []  # still leased


@settings(max_examples=30, suppress_health_check=FIXTURES)
@given(
    older_than=st.one_of(
        st.timedeltas(max_value=-timedelta(microseconds=1)),
        st.integers(),
        st.floats(),
        st.none(),
        st.text(max_size=3),
    )
)
def test_a_junk_age_is_refused_and_prunes_nothing(program, clock, older_than) -> None:
    ids = _enrol(program, 1)
    program.ack(ids)
    clock.advance(days=365)
    with pytest.raises(rk.InvalidInput) as caught:
        program.prune_events(older_than=older_than)
    assert caught.value.field == "older_than"
    with program.store.transaction() as uow:  # still there: the store prunes it now
        assert uow.events.prune(clock() + timedelta(seconds=1), 1000) == 1


# -- the drainer -----------------------------------------------------------------------------


class _Receiver:
    """A handler that records deliveries and fails for the event ids it is told to."""

    def __init__(self, failing: set[int] | None = None) -> None:
        self.got: list[tuple[int, int]] = []
        self.failing = failing or set()

    def __call__(self, event: rk.Event) -> None:
        if event.id in self.failing:
            raise ConnectionError(f"receiver down for {event.id}")
        self.got.append((event.id, event.attempts))


def test_drain_acknowledges_what_was_delivered_and_retries_failures_with_backoff(
    program, clock
) -> None:
    ids = _enrol(program, 4)
    receiver = _Receiver(failing={ids[1]})
    errors: list[tuple[int, str]] = []
    backoff = Backoff(base=timedelta(seconds=30), factor=2, cap=timedelta(minutes=10))
    result = drain(
        program,
        receiver,
        backoff=backoff,
        on_error=lambda event, error: errors.append((event.id, str(error))),
    )
    assert result == DrainResult(delivered=3, failed=1)
    assert errors == [(ids[1], f"receiver down for {ids[1]}")]
    assert [e.id for e in program.pending_events()] == []  # waiting for its retry
    clock.advance(seconds=29)
    assert drain(program, receiver, backoff=backoff) == DrainResult()
    clock.advance(seconds=1)  # 30 s after the first attempt
    assert drain(program, receiver, backoff=backoff) == DrainResult(failed=1)
    clock.advance(seconds=59)
    assert drain(program, receiver, backoff=backoff).claimed == 0
    clock.advance(seconds=1)  # 60 s after the second
    receiver.failing.clear()
    assert drain(program, receiver, backoff=backoff) == DrainResult(delivered=1)
    assert receiver.got == [(ids[0], 1), (ids[2], 1), (ids[3], 1), (ids[1], 3)]
    assert program.pending_events() == []


def test_drain_gives_an_event_up_after_max_attempts(program, clock) -> None:
    (event_id,) = _enrol(program, 1)
    receiver = _Receiver(failing={event_id})
    results = []
    for _ in range(3):
        results.append(drain(program, receiver, max_attempts=3, backoff=Backoff()))
        clock.advance(hours=2)
    assert results == [DrainResult(failed=1), DrainResult(failed=1), DrainResult(dead_lettered=1)]
    assert [(e.id, e.attempts) for e in program.dead_letters()] == [(event_id, 3)]
    clock.advance(days=30)
    assert drain(program, receiver) == DrainResult()


def test_drain_stops_handing_out_events_once_the_lease_is_over(program, clock) -> None:
    _enrol(program, 5)
    slow = _Receiver()

    def handler(event: rk.Event) -> None:
        slow(event)
        clock.advance(minutes=2)  # each delivery takes two minutes

    result = drain(program, handler, lease=LEASE)
    assert result == DrainResult(delivered=3, expired=2)
    assert len(program.pending_events()) == 2  # their lease is over: claimable again


def test_an_interrupted_drain_still_acknowledges_what_it_delivered(program) -> None:
    ids = _enrol(program, 3)

    def handler(event: rk.Event) -> None:
        if event.id == ids[1]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drain(program, handler)
    assert program.ack([ids[0]]) == 0  # acknowledged by the drain
    assert program.ack(ids[1:]) == 2


def test_drain_all_runs_until_nothing_is_claimable(program, clock) -> None:
    ids = _enrol(program, 25)
    receiver = _Receiver(failing={ids[7]})
    result = drain_all(program, receiver, batch=10)
    assert result == DrainResult(delivered=24, failed=1)
    assert sorted(i for i, _ in receiver.got) == sorted(set(ids) - {ids[7]})


def test_drain_all_stops_when_told(program) -> None:
    _enrol(program, 25)
    receiver = _Receiver()
    batches: list[int] = []

    def stop() -> bool:
        batches.append(len(receiver.got))
        return len(batches) > 2

    assert drain_all(program, receiver, batch=10, stop=stop) == DrainResult(delivered=20)
    assert len(program.pending_events()) == 5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"handler": "not callable"}, "handler"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"backoff": timedelta(seconds=1)}, "backoff"),
        ({"on_error": 3}, "on_error"),
        ({"batch": 0}, "limit"),
        ({"lease": timedelta(0)}, "lease"),
        ({"worker": ""}, "worker"),
    ],
)
def test_drain_refuses_junk_and_claims_nothing(program, kwargs, field) -> None:
    _enrol(program, 1)
    options = {"handler": _Receiver(), **kwargs}
    with pytest.raises(rk.InvalidInput) as caught:
        drain(program, **options)
    assert caught.value.field == field
    assert program.pending_events()[0].attempts == 0


def test_drain_refuses_what_is_not_a_program_and_a_backoff_that_answers_junk(program) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        drain(object(), _Receiver())  # type: ignore[arg-type]
    assert caught.value.field == "program"
    with pytest.raises(rk.InvalidInput) as caught:
        drain_all(program, _Receiver(), stop=True)  # type: ignore[arg-type]
    assert caught.value.field == "stop"
    (event_id,) = _enrol(program, 1)
    with pytest.raises(rk.InvalidInput) as caught:
        drain(program, _Receiver({event_id}), backoff=lambda n: -timedelta(seconds=n))
    assert caught.value.field == "backoff"


# -- backoff ---------------------------------------------------------------------------------


@given(
    base=st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(hours=1)),
    factor=st.floats(min_value=1, max_value=10),
    extra=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    attempts=st.integers(min_value=1, max_value=10_000),
)
def test_backoff_grows_from_its_base_and_never_passes_its_cap(
    base, factor, extra, attempts
) -> None:
    backoff = Backoff(base=base, factor=factor, cap=base + extra)
    assert backoff(1) == base
    assert base <= backoff(attempts) <= base + extra
    assert backoff(attempts) <= backoff(attempts + 1)


def test_the_default_backoff_doubles_from_thirty_seconds_up_to_an_hour() -> None:
    waits = [Backoff()(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base": timedelta(0)}, "backoff.base"),
        ({"base": 30}, "backoff.base"),
        ({"cap": timedelta(seconds=-1)}, "backoff.cap"),
        ({"base": timedelta(hours=2), "cap": timedelta(hours=1)}, "backoff.cap"),
        ({"factor": 0.5}, "backoff.factor"),
        ({"factor": float("nan")}, "backoff.factor"),
        ({"factor": "2"}, "backoff.factor"),
    ],
)
def test_a_junk_backoff_is_refused(kwargs, field) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        Backoff(**kwargs)
    assert caught.value.field == field


def test_a_drain_result_has_a_json_form_and_adds_up() -> None:
    one = DrainResult(delivered=2, failed=1)
    two = DrainResult(dead_lettered=1, expired=3)
    assert (one + two).claimed == 7
    assert DrainResult.from_dict((one + two).to_dict()) == one + two
    assert one.to_dict() == {"delivered": 2, "failed": 1, "dead_lettered": 0, "expired": 0}


@pytest.mark.sqlite
def test_pruning_gives_back_the_pages_acknowledged_events_took(tmp_path) -> None:
    """Events are much of a busy file; pruned, their pages go back to the free list."""
    import sqlite3

    from referralkit.storage import SQLiteStore

    clock = FrozenClock(T0)
    path = tmp_path / "lifecycles.db"
    program = rk.ReferralProgram(
        store=SQLiteStore(path),
        secret=SECRET,
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        guards=[],
        hold=timedelta(0),
        clock=clock,
    )
    for i in range(300):
        code = program.enroll(f"referrer-{i}").code
        program.attribute(code=code, referee=f"referee-{i}")
        program.convert(referee=f"referee-{i}", order_id=f"o-{i}", amount=rk.Money("80", "USD"))
    program.release_due()

    def pages_in_use() -> tuple[int, int]:
        """Pages not on the free list, and those of the events table and its indexes."""
        db = sqlite3.connect(path)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (events,) = db.execute(
                "SELECT count(*) FROM dbstat WHERE name = 'events'"
                " OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'events')"
            ).fetchone()
            return (
                db.execute("PRAGMA page_count").fetchone()[0]
                - db.execute("PRAGMA freelist_count").fetchone()[0]
            ), events
        finally:
            db.close()

    before, event_pages = pages_in_use()
    assert event_pages > 0.2 * before
    events = program.pending_events(10_000)
    program.ack(e.id for e in events)
    clock.advance(seconds=1)
    assert program.prune_events(older_than=timedelta(0)) == len(events) == 300 * 6
    after, left = pages_in_use()
    assert after <= before - event_pages + left + 2  # every page the events took, back
    assert left < 0.1 * event_pages
    program.store.close()
