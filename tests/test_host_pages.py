"""What a host's sign-up and invite pages need from a program, on every store.

Typed codes (typos of generated codes, vanity codes in any spelling), `check_code` and
`owner_of`, a referrer's friends and their stages, the review queue's pages, the
ladder `status` shows, the secret the store is keyed with, the links a program takes,
and the warning about a proxy's address.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.codes import CodeFormat, is_valid_code
from referralkit.context import Decision, GuardContext, Verdict
from referralkit.errors import SharedNetworkWarning
from referralkit.guards import REASON_CODES, SELF_REFERRAL_BY_ID
from referralkit.model import CheckReason, FriendStage
from referralkit.policies import Fixed, PercentOfOrder, Tier, Tiered
from referralkit.protocols import META
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock
from strategies import code_typos, vanity_codes, vanity_spellings

SECRET = b"host pages secret, 32 bytes or more"
OTHER = b"another secret, also 32 bytes long!"
BASE = "https://shop.example/r"
USD = "USD"
ON_A_STORE = settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, USD)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make(store: rk.Store, clock: FrozenClock, **kwargs: Any) -> rk.ReferralProgram:
    options: dict[str, Any] = {
        "secret": SECRET,
        "policy": Fixed(usd("10")),
        "guards": [],
        "link_base": BASE,
        "hold": timedelta(days=1),
        "clock": clock,
        **kwargs,
    }
    return rk.ReferralProgram(store=store, **options)


def state(store: rk.Store) -> str:
    """Everything the store holds, as text: equal before and after a call that writes nothing."""
    if isinstance(store, SQLiteStore):
        return "\n".join(store._conn().iterdump())
    if type(store).__name__ == "SQLAlchemyStore":
        return sqlalchemy_state(store)
    assert isinstance(store, MemoryStore)
    tables = sorted((k, repr(v)) for k, v in vars(store._tables).items())
    return repr((tables, store._event_seq, store._click_seq))


def sqlalchemy_state(store: Any) -> str:
    """Every row of every table of an `SQLAlchemyStore`, in primary-key order."""
    from sqlalchemy import select

    with store.engine.connect() as conn:
        return repr(
            [
                conn.execute(select(t).order_by(*t.primary_key.columns)).all()
                for t in store.tables.all()
            ]
        )


class _Judge:
    """A guard that reviews referees named ``rev...`` and blocks those named ``blk...``."""

    name = "judge"

    def check(self, context: GuardContext) -> Verdict:
        if context.referee.startswith("rev"):
            return Verdict(Decision.REVIEW, ("judge.review",))
        if context.referee.startswith("blk"):
            return Verdict(Decision.BLOCK, ("judge.block",))
        return Verdict()


# -- typed codes -------------------------------------------------------------------------


FORMATS = [CodeFormat(), CodeFormat(length=10, prefix="RK", group=5)]


@ON_A_STORE
@given(data=st.data())
def test_a_generated_code_with_one_typo_is_always_a_typo(store, clock, data) -> None:
    """Every single substitution or adjacent swap, typed any way, says ``bad_check``."""
    fmt = data.draw(st.sampled_from(FORMATS), label="format")
    program = make(store, clock, code_format=fmt)
    code = program.enroll(f"ann-{fmt.length}").code
    typo = data.draw(code_typos(code, fmt), label="typo")
    before = state(store)
    check = program.check_code(typo)
    assert (check.code, check.usable, check.reason) == (None, False, CheckReason.TYPO)
    assert check.message == "This code has a typo: please check it and try again."
    with pytest.raises(rk.InvalidCode) as err:
        program.attribute(code=typo, referee="bob")
    assert err.value.reason == "bad_check"
    with pytest.raises(rk.InvalidCode):
        program.owner_of(typo)
    assert state(store) == before


def _typo_shaped(stem: str) -> str:
    """Eight characters of the default alphabet whose check character fails."""
    return next(c for c in (f"{stem}{n:04d}" for n in range(100)) if not is_valid_code(c))


def test_a_typo_spelled_exactly_by_a_vanity_code_finds_the_vanity_code(store, clock) -> None:
    program = make(store, clock)
    vanity = _typo_shaped("ANNA")
    issued = program.enroll("anna", vanity=vanity)
    check = program.check_code(f"{vanity[:4].lower()}-{vanity[4:]}")
    assert (check.code, check.usable) == (issued.code, True)
    assert program.attribute(code=vanity.lower(), referee="bob").referrer == "anna"
    other = _typo_shaped("BENN")
    assert program.check_code(other).reason is CheckReason.TYPO


def test_a_typo_in_a_campaign_format_is_a_typo(store, clock) -> None:
    vip = rk.Campaign("vip", code_format=CodeFormat(length=10, prefix="VP", group=5))
    program = make(store, clock, campaigns=[vip])
    code = program.enroll("ann", campaign="vip").code
    assert program.check_code(code.lower()).usable
    broken = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert program.check_code(broken).reason is CheckReason.TYPO


@ON_A_STORE
@given(code=vanity_codes, data=st.data())
def test_vanity_codes_are_found_whatever_the_case_spaces_and_dashes(store, clock, code, data):
    """``anna 10``, ``ANNA-10`` and ``Anna10`` are one code, shown as it was issued."""
    program = make(store, clock)
    owner = f"p-{code}"
    try:
        issued = program.enroll(owner, vanity=code)
    except rk.InvalidCode as exc:
        assume(exc.reason not in {"blocked", "taken"})
        raise
    typed = data.draw(vanity_spellings(code), label="typed")
    before = state(store)
    check = program.check_code(typed)
    assert (check.code, check.usable, check.reason) == (code, True, None)
    assert issued.code == code
    assert program.owner_of(typed) == owner
    assert state(store) == before
    referral = program.attribute(code=typed, referee=f"friend-of-{owner}")
    assert (referral.code, referral.referrer) == (code, owner)


def test_another_spelling_of_an_issued_vanity_code_is_taken(store, clock) -> None:
    program = make(store, clock)
    program.enroll("anna", vanity="ANNA-10")
    for spelling in ("anna10", "Anna 10", "AN-NA-10"):
        with pytest.raises(rk.InvalidCode) as err:
            program.enroll("bob", vanity=spelling.replace(" ", ""))
        assert err.value.reason == "taken"


@pytest.mark.parametrize("typed", ["anna 10", "ANNA-10", "an", "spring sale!", "x-y"])
def test_vanity_answers_never_speak_of_eight_character_codes(store, clock, typed) -> None:
    program = make(store, clock)
    check = program.check_code(typed)
    assert not check.usable
    assert "8 characters" not in check.message
    with pytest.raises(rk.ReferralError) as err:
        program.attribute(code=typed, referee="bob")
    assert "8 characters" not in str(err.value)


def test_check_code_gives_each_reason_and_never_writes(store, clock) -> None:
    spring = rk.Campaign("spring", start=clock.now + timedelta(days=7))
    program = make(store, clock, campaigns=[spring])
    fine = program.enroll("ann").code
    short = program.enroll("eve", expires_at=clock.now + timedelta(hours=1)).code
    once = program.enroll("uma", max_uses=1).code
    later = program.enroll("sam", campaign="spring").code
    program.attribute(code=once, referee="first")
    clock.advance(hours=2)
    nobody = rk.generate_code()
    typo = fine[:-1] + ("2" if fine[-1] != "2" else "3")
    before = state(store)
    checks = {
        text: program.check_code(text)
        for text in (fine.lower(), short, once, later, nobody, typo, "!!!", "")
    }
    assert state(store) == before
    got = {text: (c.code, c.usable, c.reason) for text, c in checks.items()}
    assert got == {
        fine.lower(): (fine, True, None),
        short: (short, False, CheckReason.EXPIRED),
        once: (once, False, CheckReason.USED_UP),
        later: (later, False, CheckReason.CAMPAIGN_NOT_RUNNING),
        nobody: (nobody, False, CheckReason.UNKNOWN),
        typo: (None, False, CheckReason.TYPO),
        "!!!": (None, False, CheckReason.INVALID),
        "": (None, False, CheckReason.INVALID),
    }
    assert checks[""].message == "Please enter a code."
    assert all(c.message for c in checks.values())
    assert checks[fine.lower()].to_dict() == {
        "code": fine,
        "usable": True,
        "reason": None,
        "message": "This code works: welcome!",
    }
    # What attribute would do with each, agreeing with the check.
    for text, error in [
        (short, rk.CodeExpired),
        (once, rk.CodeExpired),
        (later, rk.CodeExpired),
        (nobody, rk.UnknownCode),
        (typo, rk.InvalidCode),
        ("!!!", rk.InvalidCode),
    ]:
        with pytest.raises(error):
            program.attribute(code=text, referee="someone")


def test_owner_of_names_the_owner_or_none(store, clock) -> None:
    program = make(store, clock)
    code = program.enroll("ann").code
    program.enroll("anna", vanity="ANNA10")
    assert program.owner_of(code.lower()) == "ann"
    assert program.owner_of("anna-10") == "anna"
    assert program.owner_of("NOBODY1") is None
    assert program.owner_of(rk.generate_code()) is None
    with pytest.raises(rk.InvalidCode):
        program.owner_of("!!")


# -- refusing junk ------------------------------------------------------------------------


JUNK: list[tuple[str, Callable[[rk.ReferralProgram], object], str]] = [
    ("check_code int", lambda p: p.check_code(123), "code"),  # type: ignore[arg-type]
    ("check_code None", lambda p: p.check_code(None), "code"),  # type: ignore[arg-type]
    ("owner_of bytes", lambda p: p.owner_of(b"ANNA10"), "code"),  # type: ignore[arg-type]
    ("referees id", lambda p: p.referees(12), "customer_id"),  # type: ignore[arg-type]
    ("referees empty id", lambda p: p.referees(" "), "customer_id"),
    ("referees limit 0", lambda p: p.referees("ann", limit=0), "limit"),
    ("referees limit big", lambda p: p.referees("ann", limit=501), "limit"),
    ("referees limit text", lambda p: p.referees("ann", limit="5"), "limit"),  # type: ignore[arg-type]
    ("referees after int", lambda p: p.referees("ann", after=5), "after"),  # type: ignore[arg-type]
    ("referees after unknown", lambda p: p.referees("ann", after="nope"), "after"),
    ("review limit", lambda p: p.review_queue(0), "limit"),
    ("review after", lambda p: p.review_queue(after="nope"), "after"),
    ("review reason", lambda p: p.review_queue(reason=5), "reason"),  # type: ignore[arg-type]
    ("review referrer", lambda p: p.review_queue(referrer=""), "referrer"),
    ("referral_of", lambda p: p.referral_of(None), "referee"),  # type: ignore[arg-type]
    ("explain", lambda p: p.explain("r-1"), "referral"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "field"), [(c, f) for _, c, f in JUNK], ids=[n for n, *_ in JUNK])
def test_new_entry_points_refuse_junk_naming_the_field_and_write_nothing(
    store, clock, call, field
) -> None:
    program = make(store, clock)
    program.attribute(code=program.enroll("ann").code, referee="bob")
    before = state(store)
    with pytest.raises(rk.InvalidInput) as err:
        call(program)
    assert err.value.field == field
    assert state(store) == before


# -- a referrer's friends ------------------------------------------------------------------


def _friends_of_ann(store: rk.Store, clock: FrozenClock) -> rk.ReferralProgram:
    program = make(
        store,
        clock,
        policy=rk.policies.DoubleSided(referrer=Fixed(usd("10")), referee=Fixed(usd("5"))),
        guards=[_Judge()],
    )
    code = program.enroll("ann", identity=rk.Identity(email="ann@example.com")).code
    for friend in ("jo", "rw", "rf", "rev", "blk"):
        program.attribute(
            code=code, referee=friend, identity=rk.Identity(email=f"{friend}@example.com")
        )
        clock.advance(minutes=1)
    program.convert(referee="rw", order_id="o-rw", amount=usd("80"))
    program.convert(referee="rf", order_id="o-rf", amount=usd("80"))
    program.refund(order_id="o-rf")
    program.convert(referee="rev", order_id="o-rev", amount=usd("80"))
    clock.advance(days=2)
    program.release_due()
    program.attribute(code=code, referee="or")
    program.convert(referee="or", order_id="o-or", amount=usd("80"))
    return program


def test_friends_show_each_stage_their_rewards_and_no_personal_data(store, clock) -> None:
    program = _friends_of_ann(store, clock)
    before = state(store)
    friends = program.referees("ann")
    assert state(store) == before
    assert [(f.referee, f.stage) for f in friends] == [
        ("jo", FriendStage.JOINED),
        ("rw", FriendStage.REWARDED),
        ("rf", FriendStage.REFUNDED),
        ("rev", FriendStage.IN_REVIEW),
        ("blk", FriendStage.REJECTED),
        ("or", FriendStage.ORDERED),
    ]
    by = {f.referee: f for f in friends}
    assert [(w.beneficiary.value, w.amount, w.state.value) for w in by["rw"].rewards] == [
        ("referrer", usd("10"), "available"),
        ("referee", usd("5"), "available"),
    ]
    assert {w.state.value for w in by["rf"].rewards} == {"reversed"}
    assert [w.state.value for w in by["or"].rewards] == ["held", "held"]
    assert by["rev"].rewards == ()  # nothing granted while in review
    assert (by["blk"].reasons, by["rev"].reasons) == (("judge.block",), ("judge.review",))
    assert (by["rw"].orders, by["jo"].orders) == (1, 0)
    text = repr([f.to_dict() for f in friends])
    assert "@" not in text  # no email, hashed or not
    assert "coupon_code" not in text
    status = program.status("ann")
    assert (status.invites, status.friends_joined, status.friends_ordered, status.qualified) == (
        5,
        4,
        3,
        2,
    )


def test_friends_page_with_a_cursor_and_keep_one_entry_per_referee(store, clock) -> None:
    program = _friends_of_ann(store, clock)
    code = program.code_for("ann").code  # type: ignore[union-attr]
    program.attribute(code=code, referee="jo")  # the same attribution again: nothing new
    program.attribute(code=program.enroll("cy").code, referee="blk")  # blk's standing: cy's
    every = program.referees("ann")
    pages, after = [], None
    while True:
        page = program.referees("ann", after=after, limit=2)
        if not page:
            break
        pages.append(page)
        after = page[-1].referral_id
    assert [f for page in pages for f in page] == every
    assert [len(p) for p in pages] == [2, 2, 2]
    assert len({f.referee for f in every}) == len(every)
    assert [f.referee for f in program.referees("cy")] == ["blk"]
    assert program.referees("nobody") == []


@pytest.mark.sqlite
def test_a_page_of_friends_is_the_same_few_queries_whatever_its_size(tmp_path: Path, clock):
    store = SQLiteStore(tmp_path / "friends.db")
    program = make(store, clock)
    few, many = program.enroll("few").code, program.enroll("many").code
    for i in range(3):
        program.attribute(code=few, referee=f"f{i}")
        program.convert(referee=f"f{i}", order_id=f"of{i}", amount=usd("20"))
    for i in range(40):
        program.attribute(code=many, referee=f"m{i}")
        program.convert(referee=f"m{i}", order_id=f"om{i}", amount=usd("20"))
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)
    assert len(program.referees("few")) == 3
    small = len(statements)
    statements.clear()
    assert len(program.referees("many")) == 40
    store._conn().set_trace_callback(None)
    assert len(statements) == small
    store.close()


# -- the review queue, a referee's referral, reasons in words --------------------------------


def test_the_review_queue_pages_and_filters_by_reason_and_referrer(store, clock) -> None:
    program = make(store, clock, guards=[_Judge()])
    ann, bob = program.enroll("ann").code, program.enroll("bob").code
    held = []
    for i in range(5):
        held.append(program.attribute(code=ann if i % 2 else bob, referee=f"rev{i}"))
        clock.advance(minutes=1)
    program.attribute(code=ann, referee="blk1")
    queue = program.review_queue()
    assert [r.id for r in queue] == [r.id for r in held]
    assert [r.id for r in program.review_queue(2, after=queue[1].id)] == [held[2].id, held[3].id]
    program.approve(held[2].id)  # the cursor keeps its place once approved
    assert [r.id for r in program.review_queue(after=held[2].id)] == [held[3].id, held[4].id]
    assert [r.referee for r in program.review_queue(referrer="ann")] == ["rev1", "rev3"]
    assert [r.referee for r in program.review_queue(reason="judge.review")] == [
        "rev0",
        "rev1",
        "rev3",
        "rev4",
    ]
    assert program.review_queue(reason="judge.block") == []


def test_a_referees_referral_is_the_standing_one_else_the_last_rejected(store, clock) -> None:
    program = make(store, clock, guards=[_Judge()])
    code = program.enroll("ann").code
    assert program.referral_of("blk") is None
    first = program.attribute(code=code, referee="blk")
    clock.advance(minutes=1)
    second = program.attribute(code=program.enroll("cy").code, referee="blk")
    assert program.referral_of("blk") == second != first
    standing = program.attribute(code=code, referee="bob")
    assert program.referral_of("bob") == standing
    assert program.explain(second) == ["judge.block"]  # a plugin's code, as it is
    self_ref = program.attribute(code=code, referee="ann")
    assert program.explain(self_ref) == [REASON_CODES[SELF_REFERRAL_BY_ID]]


# -- the ladder status shows ------------------------------------------------------------------


def _ladder(*steps: tuple[int, str]) -> Tiered:
    return Tiered([Tier(min_referrals=n, reward=Fixed(usd(amount))) for n, amount in steps])


def test_status_shows_the_ladder_of_the_referrers_codes_terms(store, clock) -> None:
    program = make(
        store,
        clock,
        policy=_ladder((1, "10"), (5, "15")),
        campaigns=[
            rk.Campaign("default"),
            rk.Campaign("partners", policy=PercentOfOrder(Decimal("0.1"))),
            rk.Campaign("vip", policy=_ladder((2, "20"), (3, "30"))),
        ],
    )
    program.enroll("ann")
    program.enroll("pia", campaign="partners")
    program.enroll("vic", campaign="vip")
    program.enroll("mo", campaign="partners")
    program.enroll("mo")
    program.enroll("mv", campaign="vip")
    program.enroll("mv")
    ladders = {c: program.status(c).tier for c in ("ann", "pia", "vic", "mo", "mv", "zed")}
    default = rk.TierProgress(qualified=0, current_tier=None, next_tier_at=1)
    vip = rk.TierProgress(qualified=0, current_tier=None, next_tier_at=2)
    assert ladders == {
        "ann": default,
        "pia": None,  # a partner on a commission has no ladder
        "vic": vip,
        "mo": default,  # the oldest code with tiered terms
        "mv": vip,
        "zed": default,  # no code yet: the program's terms
    }


# -- the secret the store is keyed with -------------------------------------------------------


def test_a_store_refuses_a_program_with_another_secret(store, clock) -> None:
    make(store, clock).enroll("ann")
    before = state(store)
    with pytest.raises(rk.ConfigError, match="keyed with another secret") as err:
        make(store, clock, secret=OTHER)
    assert err.value.path == "secret"
    assert "previous_secrets" in str(err.value)
    assert state(store) == before  # a refused start writes nothing, terms included
    rotated = make(store, clock, secret=OTHER, previous_secrets=[SECRET])
    assert rotated.owner_of(rotated.code_for("ann").code) == "ann"  # type: ignore[union-attr]
    with pytest.raises(rk.ConfigError):
        make(store, clock)  # the store is keyed with the new secret now
    make(store, clock, previous_secrets=[OTHER])  # a rollback names the new one


def test_the_check_value_reveals_nothing_of_the_secret(store, clock) -> None:
    make(store, clock)
    with store.transaction() as uow:
        value = META.repository(uow, store=store).get("secret_check")
    assert value is not None
    assert re.fullmatch(r"v1:[0-9a-f]{64}", value)
    assert SECRET.hex() not in value
    assert SECRET.decode() not in value


@pytest.mark.sqlite
def test_a_sqlite_file_remembers_its_secret_across_restarts(tmp_path: Path, clock) -> None:
    path = tmp_path / "keyed.db"
    first = SQLiteStore(path)
    make(first, clock)
    first.close()
    again = SQLiteStore(path)
    with pytest.raises(rk.ConfigError, match="keyed with another secret"):
        make(again, clock, secret=OTHER)
    make(again, clock)
    again.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM meta").fetchone() == (1,)
    db.close()


class _WithoutMeta:
    def __init__(self, uow: object) -> None:
        self._uow = uow

    def __getattr__(self, name: str) -> object:
        if name == "meta":
            raise AttributeError(name)
        return getattr(self._uow, name)


class _NoMetaStore(MemoryStore):
    @contextmanager
    def transaction(self) -> Iterator[Any]:  # type: ignore[override]
        with super().transaction() as uow:
            yield _WithoutMeta(uow)


def test_a_store_without_metadata_starts_without_the_check(clock) -> None:
    store = _NoMetaStore()
    make(store, clock)
    make(store, clock, secret=OTHER)


# -- links belong to the program ----------------------------------------------------------------


def test_a_program_refuses_links_to_another_programs_base(store, clock) -> None:
    ours = make(store, clock)
    theirs = make(MemoryStore(), clock, link_base="https://other.example/r")
    url = theirs.link(theirs.enroll("ann").code)
    ours.enroll("ann")  # the same code text would not matter: the base is not ours
    with pytest.raises(rk.LinkTampered, match="not at one of this program's link bases"):
        ours.attribute(link=url, referee="bob")
    with pytest.raises(rk.LinkTampered):
        ours.track_click(url, visitor="v1")
    assert theirs.attribute(link=url, referee="bob").referrer == "ann"


def test_links_are_compared_in_canonical_form_and_campaign_bases_count(store, clock) -> None:
    spring = rk.Campaign("spring", link_base="https://spring.example/join")
    program = make(store, clock, link_base="https://Shop.Example:443/r", campaigns=[spring])
    url = program.link(program.enroll("ann").code)
    shouted = url.replace("https://Shop.Example:443", "HTTPS://SHOP.EXAMPLE")
    assert program.attribute(link=shouted, referee="bob").referrer == "ann"
    spring_url = program.link(program.enroll("cy", campaign="spring").code)
    assert spring_url.startswith("https://spring.example/join?")
    assert program.attribute(link=spring_url, referee="dee").referrer == "cy"


def test_unsigned_links_and_programs_without_a_base(store, clock) -> None:
    unsigned = make(store, clock, sign_links=False)
    code = unsigned.enroll("ann").code
    with pytest.raises(rk.InvalidLink) as err:
        unsigned.attribute(link=rk.build_link("https://evil.example/r", code), referee="bob")
    assert not isinstance(err.value, rk.LinkTampered)
    assert unsigned.attribute(link=rk.build_link(BASE, code), referee="bob").referrer == "ann"
    baseless = make(MemoryStore(), clock, sign_links=False, link_base=None)
    baseless.enroll("ann")
    with pytest.raises(rk.InvalidLink, match="none: set link_base"):
        baseless.attribute(link=rk.build_link(BASE, code), referee="cy")


# -- behind a proxy -----------------------------------------------------------------------------


def _sign_ups(program: rk.ReferralProgram, ips: list[str | None], start: int = 0) -> None:
    code = program.enroll("ann").code
    for i, ip in enumerate(ips, start):
        identity = None if ip is None else rk.Identity(ip=ip)
        program.attribute(code=code, referee=f"f{i}", identity=identity)


def test_most_attributions_from_one_network_warn_once(store, clock) -> None:
    program = make(store, clock)
    with pytest.warns(SharedNetworkWarning, match=r"20 of the last 20 attributions") as caught:
        _sign_ups(program, ["10.0.0.1"] * 20)
    assert len(caught) == 1
    assert "Identity(ip=...)" in str(caught[0].message)
    assert caught[0].filename == __file__  # it points at the host's call
    _sign_ups(program, ["10.0.0.1"] * 30, start=20)  # once: the suite's error filter holds


@pytest.mark.parametrize(
    "ips",
    [
        ["10.0.0.1"] * 19,  # too few to tell
        [ip for i in range(1, 31) for ip in (f"10.0.{i}.1", "10.0.0.1")],  # never more than half
        [f"192.0.{i}.7" for i in range(60)],  # every friend on a network of their own
        [None] * 60,  # no address at all
    ],
    ids=["nineteen", "half", "spread", "none"],
)
def test_attributions_spread_over_networks_do_not_warn(store, clock, ips) -> None:
    program = make(store, clock)
    _sign_ups(program, ips)  # the suite's error filter fails the test on a warning
