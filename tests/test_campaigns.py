"""Campaigns in the program: their codes, links, dates and the terms a referral keeps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import referralkit as rk
from referralkit.config import ProgramConfig
from referralkit.model import Beneficiary, ReferralStatus
from referralkit.policies import Capped, DoubleSided, Fixed, policy_version
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock

SECRET = b"0123456789abcdef0123456789abcdef"
MARCH = datetime(2026, 3, 1, tzinfo=timezone.utc)
JUNE = datetime(2026, 6, 1, tzinfo=timezone.utc)


def usd(amount: str) -> rk.Money:
    return rk.Money(amount, "USD")


SPRING = rk.Campaign(
    name="spring",
    policy=Fixed(usd("20")),
    start=MARCH,
    end=JUNE,
    code_format=rk.CodeFormat(length=8, prefix="SP"),
    link_base="https://spring.shop.example/r",
    channels=("email", "whatsapp"),
)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 4, 1, tzinfo=timezone.utc))


def make(store: rk.Store, clock: FrozenClock, **overrides: object) -> rk.ReferralProgram:
    kwargs: dict[str, object] = {
        "store": store,
        "secret": SECRET,
        "policy": Fixed(usd("10")),
        "guards": [],
        "hold": timedelta(0),
        "link_base": "https://shop.example/r",
        "campaigns": (SPRING,),
        "clock": clock,
    }
    kwargs.update(overrides)
    return rk.ReferralProgram(**kwargs)  # type: ignore[arg-type]


def test_a_campaign_code_uses_its_format_and_earns_its_policy(
    store: rk.Store, clock: FrozenClock
) -> None:
    program = make(store, clock)
    code = program.enroll("ann", campaign="spring")
    assert code.campaign == "spring"
    assert code.code.startswith("SP")
    assert program.code_for("ann", "spring") == code
    # typed in lower case with spaces: the campaign's format still recognises it
    referral = program.attribute(code=code.code.lower().replace("-", " "), referee="bob")
    assert referral.campaign == "spring"
    assert referral.policy_version == policy_version(SPRING.policy)  # type: ignore[arg-type]
    (reward,) = program.convert(referee="bob", order_id="o-1", amount=usd("50"))
    assert reward.amount == usd("20")
    default = program.enroll("cy")
    assert default.campaign == "default"
    # A default code has the program's format (it may start with SP by chance: 1 in 1024).
    assert rk.is_valid_code(default.code, program.code_format)
    assert len(default.code) != len(code.code)
    program.attribute(code=default.code, referee="dee")
    (reward,) = program.convert(referee="dee", order_id="o-2", amount=usd("50"))
    assert reward.amount == usd("10")


def test_naming_an_undeclared_campaign_is_refused_and_writes_nothing(
    store: rk.Store, clock: FrozenClock
) -> None:
    program = make(store, clock)
    with pytest.raises(rk.InvalidInput) as caught:
        program.enroll("ann", campaign="sprnig")
    assert caught.value.field == "campaign"
    assert program.code_for("ann") is None
    assert program.pending_events() == []


def test_without_declared_campaigns_a_campaign_is_a_label(
    store: rk.Store, clock: FrozenClock
) -> None:
    program = make(store, clock, campaigns=())
    code = program.enroll("ann", campaign="newsletter")
    referral = program.attribute(code=code.code, referee="bob")
    assert referral.campaign == "newsletter"
    assert referral.policy_version == program.policy_version


def test_a_code_is_usable_only_while_its_campaign_runs(store: rk.Store, clock: FrozenClock) -> None:
    clock.now = datetime(2026, 2, 1, tzinfo=timezone.utc)
    program = make(store, clock)
    code = program.enroll("ann", campaign="spring").code  # codes may be handed out early
    with pytest.raises(rk.CodeExpired):
        program.attribute(code=code, referee="bob")
    clock.now = MARCH
    assert program.attribute(code=code, referee="bob").status is ReferralStatus.PENDING
    clock.now = JUNE
    with pytest.raises(rk.CodeExpired):
        program.attribute(code=code, referee="cy")
    assert program.status("ann").invites == 1
    with pytest.raises(rk.InvalidState):
        program.enroll("dee", campaign="spring")
    assert program.code_for("dee", "spring") is None


def test_links_use_the_campaign_base_and_only_its_channels(
    store: rk.Store, clock: FrozenClock
) -> None:
    program = make(store, clock)
    code = program.enroll("ann", campaign="spring").code
    url = program.link(code, channel="whatsapp")
    assert url.startswith("https://spring.shop.example/r")
    payload = rk.parse_link(url)
    assert (payload.campaign, payload.channel) == ("spring", "whatsapp")
    with pytest.raises(rk.InvalidInput) as caught:
        program.link(code, channel="sms")
    assert caught.value.field == "channel"
    with pytest.raises(rk.InvalidInput) as caught:
        program.link(code, channel="email", campaign="default")
    assert caught.value.field == "campaign"
    referral = program.attribute(link=url, referee="bob")
    assert (referral.campaign, referral.channel) == ("spring", "whatsapp")
    plain = program.link(program.enroll("cy").code, channel="sms")
    assert plain.startswith("https://shop.example/r")


def test_a_referral_keeps_the_terms_it_was_attributed_under(
    store: rk.Store, clock: FrozenClock
) -> None:
    before = make(store, clock, campaigns=())
    code = before.enroll("ann").code
    before.attribute(code=code, referee="bob")
    promised = before.policy_version
    # Tomorrow the shop halves the reward, and says which earlier terms it still honours.
    after = make(
        store, clock, campaigns=(), policy=Fixed(usd("5")), terms={promised: before.policy}
    )
    after.attribute(code=code, referee="cy")
    (bob,) = after.convert(referee="bob", order_id="o-1", amount=usd("50"))
    (cy,) = after.convert(referee="cy", order_id="o-2", amount=usd("50"))
    assert (bob.amount, cy.amount) == (usd("10"), usd("5"))
    assert after.referral(bob.referral_id).policy_version == promised


def test_promised_terms_survive_a_restart_with_new_terms(
    store: rk.Store, clock: FrozenClock
) -> None:
    """The program stores each version's definition and builds it again from the store."""
    before = make(store, clock)
    code = before.enroll("ann", campaign="spring").code
    before.attribute(code=code, referee="bob")
    before.ack(e.id for e in before.pending_events())
    cheaper = attrs_evolve(SPRING, policy=Fixed(usd("15")))
    after = make(store, clock, campaigns=(cheaper,))  # no terms= given
    (reward,) = after.convert(referee="bob", order_id="o-1", amount=usd("50"))
    assert reward.amount == usd("20")  # what bob's referral was promised
    assert [e for e in after.pending_events() if e.type == "referral.terms_unknown"] == []


class _OwnPolicy:
    """A host's own Python policy: it cannot be described as configuration."""

    name = "own"

    def __init__(self, amount: str) -> None:
        self.amount = amount

    def evaluate(self, context: object) -> list[rk.Grant]:
        return list(Fixed(usd(self.amount)).evaluate(context))  # type: ignore[arg-type]


def test_terms_that_cannot_be_rebuilt_fall_back_to_the_campaign_and_say_so(
    store: rk.Store, clock: FrozenClock
) -> None:
    spring = attrs_evolve(SPRING, policy=_OwnPolicy("20"), policy_version="own-v1")
    before = make(store, clock, campaigns=(spring,))
    code = before.enroll("ann", campaign="spring").code
    before.attribute(code=code, referee="bob")
    before.ack(e.id for e in before.pending_events())
    cheaper = attrs_evolve(SPRING, policy=Fixed(usd("15")))
    after = make(store, clock, campaigns=(cheaper,))
    (reward,) = after.convert(referee="bob", order_id="o-1", amount=usd("50"))
    assert reward.amount == usd("15")
    (unknown,) = [e for e in after.pending_events() if e.type == "referral.terms_unknown"]
    assert unknown.payload["policy_version"] == "own-v1"
    assert unknown.payload["applied"] == policy_version(cheaper.policy)  # type: ignore[arg-type]


def attrs_evolve(campaign: rk.Campaign, **changes: object) -> rk.Campaign:
    import attrs

    return attrs.evolve(campaign, **changes)  # type: ignore[arg-type]


def test_two_campaigns_with_one_name_are_a_config_error(clock: FrozenClock) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        make(MemoryStore(), clock, campaigns=(SPRING, rk.Campaign(name="spring")))
    assert caught.value.path == "campaigns.1.name"


def test_caps_count_only_what_a_customer_earned_as_a_referrer(clock: FrozenClock) -> None:
    program = make(
        MemoryStore(),
        clock,
        campaigns=(),
        policy=DoubleSided(
            referrer=Capped(Fixed(usd("10")), max_per_referrer=usd("15")),
            referee=Fixed(usd("10")),
        ),
    )
    program.attribute(code=program.enroll("ann").code, referee="bob")
    program.convert(referee="bob", order_id="o-1", amount=usd("50"))  # bob earns 10 as referee
    bob_code = program.enroll("bob").code
    program.attribute(code=bob_code, referee="cy")
    program.attribute(code=bob_code, referee="dee")
    earned = [
        r.amount
        for order in (("cy", "o-2"), ("dee", "o-3"))
        for r in program.convert(referee=order[0], order_id=order[1], amount=usd("50"))
        if r.beneficiary is Beneficiary.REFERRER
    ]
    assert earned == [usd("10"), usd("5")]  # his own referee reward did not eat his cap


def test_from_config_builds_the_whole_program(store: rk.Store, clock: FrozenClock) -> None:
    config = {
        "policy": {"policy": "fixed", "amount": "10 USD"},
        "guards": [],
        "hold": "0s",
        "link_base": "https://shop.example/r",
        "campaigns": [
            {
                "name": "spring",
                "start": "2026-03-01T00:00:00Z",
                "policy": {"policy": "fixed", "amount": "20 USD"},
                "code_format": {"prefix": "SP", "length": 8},
                "channels": ["email"],
            }
        ],
    }
    program = rk.ReferralProgram.from_config(config, store=store, secret=SECRET, clock=clock)
    again = program.from_config(ProgramConfig.from_dict(config), store=store, secret=SECRET)
    assert again.campaigns == program.campaigns
    code = program.enroll("ann", campaign="spring").code
    assert code.startswith("SP")
    program.attribute(code=code, referee="bob")
    (reward,) = program.convert(referee="bob", order_id="o-1", amount=usd("50"))
    assert reward.amount == usd("20")


def test_from_config_points_at_the_broken_field(store: rk.Store) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        rk.ReferralProgram.from_config(
            {"policy": {"policy": "fixed", "amount": "10 USD"}, "campaigns": [{"name": "x y"}]},
            store=store,
            secret=SECRET,
        )
    assert caught.value.path is not None
    assert caught.value.path.startswith("campaigns.0.name")
    with pytest.raises(rk.ConfigError):
        rk.ReferralProgram.from_config(["not", "a", "dict"], store=store, secret=SECRET)  # type: ignore[arg-type]


def test_reassigning_to_another_campaign_moves_the_referral_to_its_terms(
    store: rk.Store, clock: FrozenClock
) -> None:
    program = make(store, clock)
    program.attribute(code=program.enroll("ann").code, referee="bob")
    spring_code = program.enroll("cy", campaign="spring").code
    moved = program.reassign(referee="bob", code=spring_code, note="support ticket 12")
    assert (moved.referrer, moved.campaign) == ("cy", "spring")
    assert moved.policy_version == policy_version(SPRING.policy)  # type: ignore[arg-type]
    (reward,) = program.convert(referee="bob", order_id="o-1", amount=usd("50"))
    assert (reward.customer_id, reward.amount) == ("cy", usd("20"))


def test_reassigning_within_a_campaign_or_between_labels_keeps_the_promised_terms(
    store: rk.Store, clock: FrozenClock
) -> None:
    for declared in ((SPRING,), ()):
        before = make(store, clock, campaigns=declared)
        tag = f"{len(declared)}"
        url = before.link(
            before.enroll(f"ann{tag}").code, campaign="newsletter" if not declared else None
        )
        before.attribute(link=url, referee=f"bob{tag}")
        promised = before.policy_version
        # The shop halves the reward; the old terms stay honoured.
        after = make(
            store,
            clock,
            campaigns=declared,
            policy=Fixed(usd("5")),
            terms={promised: before.policy},
        )
        kept = after.reassign(referee=f"bob{tag}", code=after.enroll(f"cy{tag}").code)
        assert kept.policy_version == promised
        (reward,) = after.convert(referee=f"bob{tag}", order_id=f"o-{tag}", amount=usd("50"))
        assert (reward.customer_id, reward.amount) == (f"cy{tag}", usd("10"))


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"start": datetime(2026, 3, 1)}, "start"),  # noqa: DTZ001 - the point of the test
        ({"start": JUNE, "end": MARCH}, "end"),
        ({"channels": "whatsapp"}, "channels"),
        ({"channels": ["email", ""]}, "channels"),
        ({"policy": "fixed 10 USD"}, "policy"),
        ({"code_format": "SP"}, "code_format"),
        ({"link_base": "spring.shop.example"}, "link_base"),
    ],
)
def test_a_campaign_refuses_bad_parts(changes: dict[str, object], path: str) -> None:
    fields = {"name": "spring", **changes}
    with pytest.raises(rk.ConfigError) as caught:
        rk.Campaign(**fields)  # type: ignore[arg-type]
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"previous_secrets": ["short"]}, "previous_secrets"),
        ({"campaigns": SPRING}, "campaigns"),
        ({"identity_rules": "GB"}, "identity_rules"),
        ({"guards": ["self_referral"]}, "guards.0"),
        ({"guards": "self_referral"}, "guards"),
    ],
)
def test_the_program_refuses_parts_of_the_wrong_kind(
    clock: FrozenClock, changes: dict[str, object], path: str
) -> None:
    with pytest.raises(rk.ConfigError) as caught:
        make(MemoryStore(), clock, **changes)
    assert caught.value.path is not None
    assert caught.value.path.startswith(path)
