"""The waitlist on every store: join, the position rule, referrals judged, admit once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.guards import SelfReferral
from referralkit.model import WaitlistState
from referralkit.policies import Fixed
from referralkit.storage import MemoryStore, SQLAlchemyStore, SQLiteStore
from referralkit.testing import FrozenClock

SECRET = b"waitlist secret, 32 bytes or more!!"


def make(store: rk.Store, **kwargs: Any) -> rk.ReferralProgram:
    options: dict[str, Any] = {
        "secret": SECRET,
        "policy": Fixed(rk.Money("5", "USD")),
        "guards": [SelfReferral()],
        "clock": FrozenClock(),
    }
    options.update(kwargs)
    return rk.ReferralProgram(store=store, **options)


@pytest.fixture
def program(store: rk.Store) -> rk.ReferralProgram:
    return make(store)


def email(n: int) -> rk.Identity:
    return rk.Identity(email=f"lead{n}@example.com")


def fill(program: rk.ReferralProgram, n: int) -> None:
    for i in range(1, n + 1):
        program.waitlist.join(f"lead-{i}", identity=email(i))


def order(program: rk.ReferralProgram, members: list[str]) -> list[str]:
    return sorted(members, key=program.waitlist.position)


def test_without_referrals_the_positions_are_the_join_order(program: rk.ReferralProgram) -> None:
    assert [program.waitlist.join(f"lead-{i}", identity=email(i)) for i in range(1, 5)] == [
        1,
        2,
        3,
        4,
    ]
    assert program.waitlist.position("lead-3") == 3
    assert rk.is_valid_code(program.waitlist.code("lead-3"))


def test_joining_again_changes_nothing(program: rk.ReferralProgram) -> None:
    fill(program, 3)
    code = program.waitlist.code("lead-1")
    assert program.waitlist.join("lead-3", code=code) == 3  # a retry credits nobody
    assert program.waitlist.entry("lead-1").referred == 0


def test_a_friend_who_joins_moves_the_referrer_up_five_places(
    program: rk.ReferralProgram,
) -> None:
    fill(program, 9)
    code = program.waitlist.code("lead-9")
    assert program.waitlist.join("friend", code=code.lower(), identity=email(99)) == 10
    # lead-9's score is 9 - 5 = 4, tied with lead-4, who joined earlier
    assert program.waitlist.position("lead-9") == 5
    assert program.waitlist.position("lead-4") == 4
    assert program.waitlist.position("lead-5") == 6
    assert program.waitlist.entry("friend").referred_by == "lead-9"


def test_places_per_referral_is_configurable(program: rk.ReferralProgram) -> None:
    program.waitlist.configure(places_per_referral=2)
    fill(program, 5)
    program.waitlist.join("friend", code=program.waitlist.code("lead-5"), identity=email(99))
    assert program.waitlist.position("lead-5") == 4  # 5 - 2 = 3, after lead-3


def test_a_ring_of_one_persons_accounts_gains_no_places(program: rk.ReferralProgram) -> None:
    fill(program, 6)
    code = program.waitlist.code("lead-6")
    for n in range(3):  # the same person, three aliases of one mailbox
        fake = rk.Identity(email=f"lead6+{n}@example.com")
        program.waitlist.join(f"sock-{n}", code=code, identity=fake)
    assert program.waitlist.entry("lead-6").referred == 0
    assert program.waitlist.position("lead-6") == 6
    refused = [e for e in program.pending_events(1000) if e.type == "waitlist.referral_refused"]
    assert [e.payload["reasons"] for e in refused] == [["self_referral.email"]] * 3


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: p.waitlist.join(""), "member"),
        (lambda p: p.waitlist.join("lead-9", code=12345), "code"),
        (lambda p: p.waitlist.admit(0), "n"),
        (lambda p: p.waitlist.admit(n=True), "n"),
        (lambda p: p.waitlist.configure(places_per_referral=-1), "places_per_referral"),
        (lambda p: p.waitlist.position(None), "member"),
    ],
)
def test_bad_input_is_an_invalid_input_naming_the_field(
    program: rk.ReferralProgram, call: Any, field: str
) -> None:
    with pytest.raises(rk.InvalidInput) as err:
        call(program)
    assert err.value.field == field


def test_unknown_codes_and_members_are_refused(program: rk.ReferralProgram) -> None:
    with pytest.raises(rk.UnknownCode) as err:
        program.waitlist.join("lead-1", code=rk.generate_code())
    assert err.value.field == "code"
    with pytest.raises(rk.InvalidCode):
        program.waitlist.join("lead-1", code="??")
    with pytest.raises(rk.NotFound):
        program.waitlist.position("nobody")
    with pytest.raises(rk.NotFound):
        program.waitlist.code("nobody")


def test_admit_lets_the_top_in_once_each_with_an_invitation(
    program: rk.ReferralProgram,
) -> None:
    program.invitations.configure(uses=3)
    fill(program, 6)
    program.waitlist.join("friend", code=program.waitlist.code("lead-6"), identity=email(99))
    admitted = program.waitlist.admit(2)
    assert [e.member for e in admitted] == ["lead-1", "lead-6"]  # lead-6 scores 6 - 5 = 1
    assert all(e.state is WaitlistState.ADMITTED for e in admitted)
    assert program.waitlist.position("lead-6") == 0
    assert program.waitlist.position("lead-2") == 1
    (inv,) = program.invitations.held_by("lead-6")
    assert inv.uses == 3
    assert program.invitations.redeem(inv.code, "new-1").referrer == "lead-6"
    assert [e.member for e in program.waitlist.admit(100)] == [
        "lead-2",
        "lead-3",
        "lead-4",
        "lead-5",
        "friend",
    ]
    assert program.waitlist.admit(100) == []
    facts = program.waitlist.facts()
    assert facts is not None
    assert (facts.joined, facts.waiting, facts.admitted) == (7, 0, 7)
    assert (facts.referred_joins, facts.places_gained) == (1, 5)


def _admit_at_once(open_store: Callable[[], rk.Store]) -> None:
    """Four programs on one database admit at once: each person in once, one invitation."""
    seed = make(open_store(), guards=[])
    fill(seed, 40)
    seed.store.close()
    programs = [make(open_store(), guards=[]) for _ in range(4)]
    results: list[list[str]] = [[] for _ in programs]

    def run(k: int) -> None:
        for _ in range(5):
            results[k] += [e.member for e in programs[k].waitlist.admit(3)]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    admitted = [m for r in results for m in r]
    assert sorted(admitted) == sorted(f"lead-{i}" for i in range(1, 41))
    facts = programs[0].invitations.facts()
    assert facts is not None
    assert (facts.issued, facts.holders) == (40, 40)
    for p in programs:
        p.store.close()


@pytest.mark.sqlite
def test_concurrent_admits_let_each_person_in_once(tmp_path: Path) -> None:
    """Four programs on one SQLite file admit at once: each person in once, one invitation."""
    path = tmp_path / "admit.db"
    _admit_at_once(lambda: SQLiteStore(path))


@pytest.mark.postgres
def test_concurrent_admits_let_each_person_in_once_on_postgres(postgres_engine: object) -> None:
    """The same on `SQLAlchemyStore` over PostgreSQL: each admit is one conditional UPDATE."""
    from sqlalchemy import Engine

    from conftest import empty_postgres

    assert isinstance(postgres_engine, Engine)
    empty_postgres(postgres_engine)
    _admit_at_once(lambda: SQLAlchemyStore(postgres_engine))


# The position rule, as a reference: rank the waiting by (seq - N * referred, seq).
joins = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=30)), max_size=25)


def fresh_store(kind: str) -> rk.Store:
    """A fresh store of ``kind`` in memory (SQLAlchemy's over an in-memory SQLite)."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(":memory:")
    return SQLAlchemyStore("sqlite://", migrate=True)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "sqlalchemy-sqlite"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(referrers=joins, per_referral=st.integers(min_value=0, max_value=7))
def test_positions_follow_the_documented_rule(
    kind: str, referrers: list[int | None], per_referral: int
) -> None:
    """Position = rank by (seq - N * accepted friends, seq) among the waiting, on every store."""
    store = fresh_store(kind)
    program = make(store, guards=[])
    program.waitlist.configure(places_per_referral=per_referral)
    referred = [0] * len(referrers)
    for seq, pick in enumerate(referrers):
        code = None
        if pick is not None and seq > 0:
            ref = pick % seq
            code = program.waitlist.code(f"m{ref}")
            referred[ref] += 1
        program.waitlist.join(f"m{seq}", code=code)
    score = {seq: (seq - per_referral * referred[seq], seq) for seq in range(len(referrers))}
    expected = sorted(score, key=score.__getitem__)
    positions = {seq: program.waitlist.position(f"m{seq}") for seq in score}
    assert [positions[s] for s in expected] == list(range(1, len(expected) + 1))
    for a in score:  # nobody below a later joiner who brought no more friends
        for b in score:
            if b > a and referred[b] <= referred[a]:
                assert positions[a] < positions[b]
    if not any(referred):
        assert [positions[s] for s in sorted(score)] == list(range(1, len(score) + 1))
    store.close()


def test_a_ring_on_one_device_buys_one_friend_at_most(store: rk.Store) -> None:
    """With `DuplicateReferee`, fake friends sharing a device after the first gain nothing."""
    from referralkit.guards import DuplicateReferee

    program = make(store, guards=[SelfReferral(), DuplicateReferee()])
    program.waitlist.join("boss", identity=rk.Identity(email="boss@example.com"))
    code = program.waitlist.code("boss")
    for n in range(4):
        fake = rk.Identity(email=f"sock{n}@example.com", device_id="dev-1")
        program.waitlist.join(f"sock-{n}", code=code, identity=fake)
    assert program.waitlist.entry("boss").referred == 1
    refused = [e for e in program.pending_events(1000) if e.type == "waitlist.referral_refused"]
    assert [e.payload["reasons"] for e in refused] == [["duplicate_referee.device"]] * 3
