"""Type-checked, never run: the public API as a shop developer uses it, under mypy --strict."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import referralkit as rk
from referralkit.guards import (
    DEFAULT_EMAIL_RULES,
    DisposableEmail,
    DuplicateReferee,
    IdentityNormalizer,
    ReferralCycle,
    SelfReferral,
    SharedSignals,
    Velocity,
    default_guards,
    normalize_email,
)
from referralkit.metrics import Attribution, Click, Forecast, MetricsReport, format_report, simulate
from referralkit.policies import DoubleSided, Fixed
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing import FrozenClock, StoreContract


def build(path: str) -> rk.ReferralProgram:
    store: rk.Store = SQLiteStore(path)
    return rk.ReferralProgram(
        store=store,
        secret=b"32+ bytes of program secret ....",
        policy=DoubleSided(
            referrer=Fixed(rk.Money("10", "USD")), referee=Fixed(rk.Money("5", "USD"))
        ),
        link_base="https://shop.example/r",
        hold=timedelta(days=14),
        clock=FrozenClock(),
    )


def flow(program: rk.ReferralProgram) -> list[rk.Reward]:
    code: rk.ReferralCode = program.enroll("ann", identity=rk.Identity(email="ann@example.com"))
    url: str = program.link(code.code, channel="whatsapp")
    ref: rk.Referral = program.attribute(link=url, referee="bob")
    status: rk.ReferralStatus = ref.status
    reasons: tuple[str, ...] = ref.reasons
    del status, reasons
    rewards = program.convert(referee="bob", order_id="o-1", amount=rk.Money("80", "USD"))
    program.refund(order_id="o-1", amount=rk.Money("10", "USD"))
    released: list[rk.Reward] = program.release_due()
    summary: rk.ReferrerStatus = program.status("ann")
    held: rk.Money | None = summary.held.get("USD")
    del released, held
    return rewards


def helpers() -> None:
    fmt = rk.CodeFormat(length=10, prefix="RK")
    bits: float = fmt.entropy_bits
    codes: list[str] = rk.generate_codes(10, fmt)
    canonical: str = rk.normalize_code(codes[0].lower(), fmt)
    payload: rk.LinkPayload = rk.parse_link(rk.build_link("https://s.example/r", canonical))
    shares: dict[str, str] = rk.share_links("https://s.example/r", "hi")
    del bits, payload, shares


def errors() -> None:
    try:
        rk.normalize_code("??")
    except rk.InvalidCode as err:
        reason: str = err.reason
        del reason
    except rk.ReferralError as err:
        value: object = err.value
        del value


def memory_is_a_store() -> rk.Store:
    return MemoryStore()


class MyStoreContract(StoreContract):
    def make(self) -> rk.Store:
        return MemoryStore()


def guarded(store: rk.Store) -> rk.ReferralProgram:
    guards: list[rk.Guard] = [
        SelfReferral(block_on=["email", "phone"], review_on=["ip"]),
        DuplicateReferee(),
        Velocity(limit=20, window=timedelta(days=1), decision="review"),
        DisposableEmail(domains=["burner.example"]),
        ReferralCycle(max_length=3),
        SharedSignals(threshold=3),
        *default_guards(),
    ]
    names: list[str] = [g.name for g in guards]
    del names
    canonical: str = normalize_email("A.nn@googlemail.com", DEFAULT_EMAIL_RULES)
    del canonical
    return rk.ReferralProgram(
        store=store,
        secret=b"32+ bytes of program secret ....",
        policy=Fixed(rk.Money("10", "USD")),
        guards=guards,
        previous_secrets=[b"the secret before this one, 32+ bytes"],
        identity_rules=IdentityNormalizer(phone_region="GB"),
    )


def measure(program: rk.ReferralProgram) -> None:
    click: Click = program.track_click("ANNA10", visitor="cookie-1", channel="qr")
    ref: rk.Referral | None = program.attribute(referee="cat", visitor=click.visitor)
    if ref is not None:  # None: the visitor followed no referral link
        program.reassign(referee=ref.referee, code="ANNA10", note="support")
    report: MetricsReport = program.metrics(by=["referrer", "channel"], active_customers=900)
    k: Decimal | None = report.k_factor
    usd = report.section("USD")
    cac: Decimal | None = None if usd is None else usd.cac
    text: str = format_report(report)
    forecast: Forecast = simulate(
        program.policy,
        customers=1000,
        weeks=8,
        participation_rate=Decimal("0.2"),
        invites_per_participant=2,
        conversion_rate=0.3,
        order_value=rk.Money("60", "USD"),
    )
    settings = Attribution("first_touch", timedelta(days=7))
    del k, cac, text, forecast, settings
