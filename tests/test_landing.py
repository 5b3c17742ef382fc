"""The invitee's side: landing pages (no write), display names, and app-link claims."""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.test_host_pages import sqlalchemy_state

import referralkit as rk
from referralkit.invitee import ClaimToken, Offer
from referralkit.invitee._claims import read_token, sign_token
from referralkit.model import CheckReason
from referralkit.policies import DoubleSided, FirstOrderOnly, Fixed, MinimumOrder, PercentOfOrder
from referralkit.protocols import Store
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import ClaimsContract, DisplayNamesContract, FrozenClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = b"landing-test-secret-0123456789abcdefg"
BASE = "https://shop.example/r"
END = T0 + timedelta(days=30)


class TestBuiltinStoresKeepDisplayNames(DisplayNamesContract):
    """Memory, a SQLite file and SQLite in memory meet the display names contract."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store


class TestBuiltinStoresSpendClaimsOnce(ClaimsContract):
    """Memory, a SQLite file and SQLite in memory meet the claims contract."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store


def _program(store: Store, clock: FrozenClock, **kw: object) -> rk.ReferralProgram:
    options: dict[str, object] = {
        "secret": SECRET,
        "policy": DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")),
            referee=FirstOrderOnly(Fixed(rk.Money("5", "USD"))),
        ),
        "signup_reward": DoubleSided(referee=Fixed(rk.Money("3", "USD"), kind="coupon")),
        "guards": [],
        "link_base": BASE,
        "clock": clock,
        "campaigns": [rk.Campaign(name="spring", end=END)],
        "campaign": "spring",
        **kw,
    }
    return rk.ReferralProgram(store=store, **options)  # type: ignore[arg-type]


def state(store: Store) -> str:
    """Everything the store holds, as text: equal before and after a call that writes nothing."""
    if isinstance(store, SQLiteStore):
        return "\n".join(store._conn().iterdump())
    if type(store).__name__ == "SQLAlchemyStore":
        return sqlalchemy_state(store)
    assert isinstance(store, MemoryStore)
    return repr(sorted((k, repr(v)) for k, v in vars(store).items() if k != "_lock"))


def test_a_landing_shows_the_offer_the_referrer_and_the_campaign_and_writes_nothing(
    store: Store,
) -> None:
    """Words and numbers, the chosen display name, the campaign's end; the store unchanged."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    code = program.enroll("ann").code
    assert program.set_display_name("ann", "  Ann   K. ") == "Ann K."
    link = program.link(code, channel="whatsapp")
    before = state(store)
    page = program.landing(link)
    assert state(store) == before
    assert (page.code, page.usable, page.reason) == (code, True, None)
    assert page.referrer_name == "Ann K."
    assert (page.campaign, page.campaign_ends_at, page.channel) == ("spring", END, "whatsapp")
    assert page.offers == (
        Offer(
            "3.00 USD off with a coupon when you sign up",
            "signup",
            rk.RewardKind.COUPON,
            amount=rk.Money("3", "USD"),
        ),
        Offer(
            "5.00 USD in store credit on your first order",
            "first_order",
            rk.RewardKind.CREDIT,
            amount=rk.Money("5", "USD"),
        ),
    )
    assert page.app_link == link
    assert page.claim_token is not None
    assert page.claim_expires_at == T0 + timedelta(hours=1)
    assert "ann@" not in json.dumps(page.to_dict())
    typed = program.landing(code.lower())
    assert typed.usable
    assert typed.channel is None
    assert typed.app_link is not None
    assert typed.app_link.startswith(BASE)
    assert state(store) == before


def test_a_landing_for_a_code_that_cannot_be_used_says_why(store: Store) -> None:
    """Unknown, typo, expired or forged link: not usable, a reason and a message, no token."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    code = program.enroll("ann").code
    unknown = program.landing(rk.generate_code())
    assert (unknown.usable, unknown.reason, unknown.claim_token) == (
        False,
        CheckReason.UNKNOWN,
        None,
    )
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert program.landing(typo).reason in {CheckReason.TYPO, CheckReason.UNKNOWN}
    short = program.link(code, expires_at=T0 + timedelta(hours=1))
    forged = program.link(code).replace("sig=", "sig=A")
    clock.advance(hours=2)
    assert program.landing(short).reason is CheckReason.EXPIRED
    assert program.landing(forged).reason is CheckReason.INVALID
    clock.now = END + timedelta(seconds=1)
    over = program.landing(code)
    assert (over.usable, over.reason) == (False, CheckReason.CAMPAIGN_NOT_RUNNING)
    assert over.campaign_ends_at == END
    assert over.claim_token is None
    with pytest.raises(rk.InvalidInput):
        program.landing(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["ann@gmail.com", "call 555 123 4567", "+44 20 7946 0958", "x" * 41, "a\x00b", "  "]
)
def test_a_display_name_is_never_an_email_or_a_phone(name: str) -> None:
    """Friends see it: emails, phone numbers, control characters and long names are refused."""
    program = _program(MemoryStore(), FrozenClock(T0))
    with pytest.raises(rk.InvalidInput) as caught:
        program.set_display_name("ann", name)
    assert caught.value.field == "display_name"


def test_a_referrer_can_remove_their_display_name() -> None:
    """None removes it: the landing shows no name."""
    program = _program(MemoryStore(), FrozenClock(T0))
    code = program.enroll("ann").code
    program.set_display_name("ann", "Ann")
    program.set_display_name("ann", None)
    assert program.landing(code).referrer_name is None


def test_offers_describe_percentages_minimums_and_points() -> None:
    """A percentage with a cap, a minimum order, points: each in words and in numbers."""
    policy = DoubleSided(
        referrer=Fixed(rk.Money("10", "USD")),
        referee=MinimumOrder(
            PercentOfOrder(Decimal("0.125"), cap=rk.Money("20", "USD")), rk.Money("50", "USD")
        ),
    )
    program = _program(MemoryStore(), FrozenClock(T0), policy=policy, signup_reward=None)
    code = program.enroll("ann").code
    (offer,) = program.landing(code).offers
    assert (
        offer.text == "12.5% of your order (up to 20.00 USD) in store credit"
        " on every order of at least 50.00 USD"
    )
    assert (offer.percent, offer.minimum_order) == (Decimal("12.5"), rk.Money("50", "USD"))
    points = _program(
        MemoryStore(),
        FrozenClock(T0),
        policy=DoubleSided(referee=Fixed(500)),
        signup_reward=None,
    )
    (offer,) = points.landing(points.enroll("ann").code).offers
    assert (offer.text, offer.points) == ("500 points on every order", 500)
    alone = _program(
        MemoryStore(), FrozenClock(T0), policy=Fixed(rk.Money("10", "USD")), signup_reward=None
    )
    assert alone.landing(alone.enroll("ann").code).offers == ()


# -- deferred app links ------------------------------------------------------------------


def test_a_claim_token_attributes_like_the_link_once(store: Store) -> None:
    """The app reports the token: same referrer, channel and campaign as the link; one use."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    code = program.enroll("ann").code
    token = program.landing(program.link(code, channel="sms")).claim_token
    assert token is not None
    clock.advance(minutes=20)
    referral = program.claim(token, "bob", identity=rk.Identity(email="bob@example.com"))
    assert (referral.referrer, referral.referee, referral.channel, referral.campaign) == (
        "ann",
        "bob",
        "sms",
        "spring",
    )
    assert referral.status is rk.ReferralStatus.PENDING
    assert program.claim(token, "bob") == referral  # the app retried: same answer
    with pytest.raises(rk.InvalidState):
        program.claim(token, "cy")
    assert program.referral_of("cy") is None


def test_a_claim_token_expires_and_cannot_be_forged(store: Store) -> None:
    """Past its expiry: LinkExpired; changed: LinkTampered; not a token: InvalidLink."""
    clock = FrozenClock(T0)
    program = _program(store, clock)
    code = program.enroll("ann").code
    token = program.landing(code, claim_ttl=timedelta(minutes=10)).claim_token
    assert token is not None
    prefix, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(body) == {"i", "c", "x", "h", "p"}  # ids and times: nothing about the device
    body["c"] = "ZZZZZZZZ"
    other = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(rk.LinkTampered):
        program.claim(f"{prefix}.{other}.{signature}", "bob")
    with pytest.raises(rk.InvalidLink):
        program.claim("not-a-token", "bob")
    clock.advance(minutes=10)
    with pytest.raises(rk.LinkExpired):
        program.claim(token, "bob")
    assert program.referral_of("bob") is None
    foreign = _program(
        MemoryStore(), FrozenClock(T0), secret=b"another-secret-0123456789abcdefghij"
    )
    foreign_token = foreign.landing(foreign.enroll("zed").code).claim_token
    assert foreign_token is not None
    with pytest.raises(rk.LinkTampered):
        program.claim(foreign_token, "bob")


def test_a_claim_token_ends_with_its_campaign() -> None:
    """A token handed out just before the campaign ends expires with it."""
    clock = FrozenClock(END - timedelta(minutes=5))
    program = _program(MemoryStore(), clock)
    page = program.landing(program.enroll("ann").code)
    assert page.claim_expires_at == END


def test_racing_apps_with_one_token_attribute_one_friend(tmp_path: Path) -> None:
    """Six threads claim one token for six customers on a SQLite file: one referral."""
    store = SQLiteStore(tmp_path / "claims.db")
    clock = FrozenClock(T0)
    program = _program(store, clock)
    token = program.landing(program.enroll("ann").code).claim_token
    assert token is not None
    start = threading.Barrier(6)
    won: list[rk.Referral] = []
    refused: list[Exception] = []

    def claim(customer: str) -> None:
        start.wait()
        try:
            won.append(program.claim(token, customer))
        except rk.InvalidState as exc:
            refused.append(exc)

    threads = [threading.Thread(target=claim, args=(f"c-{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert (len(won), len(refused)) == (1, 5)


@given(
    code=st.text(min_size=1, max_size=30),
    channel=st.none() | st.text(min_size=1, max_size=20),
    seconds=st.integers(min_value=1, max_value=10**8),
    where=st.integers(min_value=0),
    other=st.sampled_from("AZaz09-_."),
)
def test_a_claim_token_reads_back_and_no_changed_character_passes(
    code: str, channel: str | None, seconds: int, where: int, other: str
) -> None:
    """Signed then read: the same token; any one character changed: refused, never misread."""
    key = b"k" * 32
    expires = T0 + timedelta(seconds=seconds)
    token = ClaimToken("t-1", code, expires, channel, "spring")
    text = sign_token(token, key)
    assert read_token(text, key, T0) == token
    i = where % len(text)
    changed = text[:i] + other + text[i + 1 :]
    if changed != text:
        with pytest.raises(rk.InvalidLink):
            read_token(changed, key, T0)
    with pytest.raises(rk.LinkExpired):
        read_token(text, key, expires)
