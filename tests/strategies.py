"""Hypothesis strategies shared by the test suite (append new ones by topic)."""

from __future__ import annotations

import math
import random
import string
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from referralkit.codes import CROCKFORD, CodeFormat

if TYPE_CHECKING:
    from collections.abc import Callable

# -- codes ---------------------------------------------------------------------------------

#: Every character an alphabet may use.
ALPHABET_CHARS = string.digits + string.ascii_uppercase
#: Alphabet sizes without a check scheme (2 mod 4, except 2 and 10).
UNSUPPORTED_CHECK_SIZES = frozenset({6, 14, 18, 22, 26, 30, 34})
CHECK_SIZES = tuple(n for n in range(2, 37) if n not in UNSUPPORTED_CHECK_SIZES)
POWER_OF_TWO_SIZES = (2, 4, 8, 16, 32)
PRIME_SIZES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31)


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    """A deterministic ``rng(nbytes) -> bytes`` for code generation."""
    return random.Random(seed).randbytes


@st.composite
def alphabets(draw: st.DrawFn, sizes: tuple[int, ...] = CHECK_SIZES) -> str:
    """Valid alphabets: distinct upper-case letters and digits, in random order."""
    size = draw(st.sampled_from(sizes))
    if size == len(CROCKFORD) and draw(st.booleans()):
        return CROCKFORD
    chars = draw(st.permutations(ALPHABET_CHARS))
    return "".join(chars[:size])


def min_length(size: int, *, check: bool) -> int:
    """The shortest length a format with this alphabet size accepts (25 bits)."""
    return math.ceil(25 / math.log2(size) - 1e-9) + (1 if check else 0)


@st.composite
def code_formats(
    draw: st.DrawFn,
    sizes: tuple[int, ...] = CHECK_SIZES,
    check: bool | None = None,
    max_prefix: int = 3,
) -> CodeFormat:
    """Valid formats: any supported alphabet, length, prefix and grouping."""
    alphabet = draw(alphabets(sizes))
    has_check = draw(st.booleans()) if check is None else check
    shortest = min_length(len(alphabet), check=has_check)
    length = draw(st.integers(shortest, min(shortest + 6, 64)))
    prefix = draw(st.text(alphabet=alphabet, max_size=max_prefix))
    group = draw(st.integers(0, 6))
    return CodeFormat(length=length, prefix=prefix, check=has_check, group=group, alphabet=alphabet)


_LOOKALIKES = {"0": "Oo", "1": "IiLl"}


@st.composite
def typed_forms(draw: st.DrawFn, code: str, fmt: CodeFormat) -> str:
    """How a person might type ``code``: any case, separators anywhere, O for 0, I/L for 1."""
    out = [draw(st.sampled_from(["", " ", "\t", "  "]))]
    for ch in code:
        choices = [ch, ch.lower()]
        letters = _LOOKALIKES.get(ch, "")
        choices += [c for c in letters if c.upper() not in fmt.alphabet]
        out.append(draw(st.sampled_from(choices)))
        out.append(draw(st.sampled_from(["", "", "", "-", " ", "_", " - ", "\t"])))
    out.append(draw(st.sampled_from(["", " ", "\n"])))
    return "".join(out)


#: Any Unicode text, surrogates and control characters included.
any_text = st.text(st.characters(exclude_categories=()), max_size=80)

# -- policies ------------------------------------------------------------------------------

from datetime import datetime, timedelta, timezone  # noqa: E402 - appended section
from decimal import Decimal  # noqa: E402 - appended section

from referralkit.context import PastReward, RewardContext  # noqa: E402 - appended section
from referralkit.model import Conversion, Referral, ReferralStatus  # noqa: E402 - appended section
from referralkit.money import Money  # noqa: E402 - appended section

#: The time policy tests are evaluated at.
POLICY_NOW = datetime(2026, 5, 2, 12, 0, tzinfo=timezone.utc)


def reward_context(
    amount: Money | str = "80",
    *,
    qualified: int = 1,
    order_number: int = 1,
    first_order: bool | None = None,
    past: tuple[PastReward, ...] = (),
    spend: Money | None = None,
    points_spent: int = 0,
    campaign: str = "default",
    attributed_days_ago: float = 1,
    now: datetime = POLICY_NOW,
) -> RewardContext:
    """A context of plain values for one conversion of bob, referred by ann."""
    money = amount if isinstance(amount, Money) else Money(amount, "USD")
    referral = Referral(
        id="ref-1",
        code="K3J92QWX",
        referrer="ann",
        referee="bob",
        status=ReferralStatus.QUALIFIED,
        reasons=(),
        attributed_at=now - timedelta(days=attributed_days_ago),
        campaign=campaign,
        policy_version="v1",
    )
    conversion = Conversion(
        order_id=f"o-{order_number}",
        referee="bob",
        amount=money,
        occurred_at=now,
        first_order=order_number == 1 if first_order is None else first_order,
        referral_id=referral.id,
    )
    return RewardContext(
        referral=referral,
        conversion=conversion,
        qualified=qualified,
        order_number=order_number,
        referrer_rewards=past,
        program_spend={} if spend is None else {spend.currency: spend},
        program_points=points_spent,
        campaign=campaign,
        now=now,
    )


def past_reward(amount: Money | int, *, days_ago: float = 1, key: str = "o-0:fixed") -> PastReward:
    """A reward the referrer already holds: money, or points when ``amount`` is an int."""
    return PastReward(
        key=key,
        policy="fixed",
        amount=None if isinstance(amount, int) else amount,
        points=amount if isinstance(amount, int) else 0,
        granted_at=POLICY_NOW - timedelta(days=days_ago),
    )


#: Order amounts in USD, from nothing to a large basket.
usd_amounts = st.integers(0, 5_000_000).map(lambda cents: Money.from_minor(cents, "USD"))
#: Rates from 0 to 1 with up to four decimals.
rates = st.integers(0, 10_000).map(lambda n: Decimal(n) / 10_000)


@st.composite
def ladders(draw: st.DrawFn) -> list[int]:
    """Strictly ascending tier floors, starting at 1 or above."""
    floors = draw(st.lists(st.integers(1, 200), min_size=1, max_size=8, unique=True))
    return sorted(floors)


_MONEY_TEXT = st.integers(0, 100_000).map(lambda cents: f"{Decimal(cents) / 100} USD")
_LEAF_POLICIES = st.one_of(
    _MONEY_TEXT.map(lambda m: {"policy": "fixed", "amount": m}),
    st.builds(
        lambda m, kind: {"policy": "fixed", "amount": m, "kind": kind},
        _MONEY_TEXT,
        st.sampled_from(["cash", "coupon", "credit"]),
    ),
    st.integers(0, 10_000).map(lambda n: {"policy": "fixed", "points": n}),
    st.sampled_from(["tote-bag", "vip-upgrade-30d"]).map(lambda p: {"policy": "fixed", "perk": p}),
    st.builds(
        lambda r, cap: {"policy": "percent_of_order", "rate": r, **cap},
        st.sampled_from(["0.05", "5%", "0.125", "1", "0"]),
        st.sampled_from([{}, {"cap": "20 USD"}, {"cap": "20 USD", "minimum": "1 USD"}]),
    ),
)
_DURATIONS = st.sampled_from(["30d", "12h", "1d12h", "P14D", "2w"])


def _counts_referrer_rewards(spec: object) -> bool:
    """True for a spec using caps or milestones anywhere: the friend's side refuses them."""
    if isinstance(spec, dict):
        if spec.get("policy") in {"capped", "capped_per_period", "milestone"}:
            return True
        return any(_counts_referrer_rewards(v) for v in spec.values())
    if isinstance(spec, list):
        return any(_counts_referrer_rewards(v) for v in spec)
    return False


def _wrappers(inner: st.SearchStrategy[dict[str, object]]) -> st.SearchStrategy[dict[str, object]]:
    return st.one_of(
        st.builds(lambda r: {"policy": "first_order_only", "reward": r}, inner),
        st.builds(
            lambda r, a: {"policy": "minimum_order", "reward": r, "amount": a}, inner, _MONEY_TEXT
        ),
        st.builds(
            lambda r, n, w, m: {
                "policy": "recurring",
                "reward": r,
                "orders": n,
                "within": w,
                **m,
            },
            inner,
            st.none() | st.integers(1, 24),
            st.none() | _DURATIONS,
            st.just({})
            | st.fixed_dictionaries(
                {"months": st.integers(1, 36)},
                optional={"timezone": st.sampled_from(["UTC", "Europe/Berlin", "Asia/Tokyo"])},
            ),
        ),
        st.builds(
            lambda r, cap, w: {
                "policy": "capped",
                "reward": r,
                "max_per_referrer": cap,
                "window": w,
            },
            inner,
            _MONEY_TEXT | st.integers(0, 10_000),
            st.none() | _DURATIONS,
        ),
        st.builds(
            lambda r, cap, period, zone: {
                "policy": "capped_per_period",
                "reward": r,
                "limit": cap,
                "period": period,
                "timezone": zone,
            },
            inner,
            _MONEY_TEXT | st.integers(0, 10_000),
            st.sampled_from(["day", "week", "month"]),
            st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
        ),
        st.builds(
            lambda r, n: {"policy": "first_orders", "reward": r, "orders": n},
            inner,
            st.integers(1, 12),
        ),
        st.builds(lambda r: {"policy": "returning_customer", "reward": r}, inner),
        st.builds(
            lambda r, t: {"policy": "budget", "reward": r, "total": t},
            inner,
            _MONEY_TEXT | st.integers(0, 10_000),
        ),
        st.builds(
            lambda ps: {"policy": "all_of", "policies": ps}, st.lists(inner, min_size=1, max_size=3)
        ),
        st.builds(
            lambda ps: {"policy": "first_match", "policies": ps},
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(
            lambda a, b: {"policy": "double_sided", "referrer": a, "referee": b},
            inner,
            inner.filter(lambda spec: not _counts_referrer_rewards(spec)),
        ),
        st.builds(
            lambda floors, rewards: {
                "policy": "tiered",
                "tiers": [
                    {"min_referrals": f, "reward": r}
                    for f, r in zip(floors, rewards[: len(floors)], strict=True)
                ],
            },
            ladders(),
            st.lists(inner, min_size=8, max_size=8),
        ),
        st.builds(
            lambda counts, rewards: {
                "policy": "milestone",
                "milestones": {
                    str(c): r for c, r in zip(counts, rewards[: len(counts)], strict=True)
                },
            },
            st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True),
            st.lists(inner, min_size=3, max_size=3),
        ),
    )


#: Valid policy specifications as plain data, nested a few levels deep.
policy_specs = st.recursive(_LEAF_POLICIES, _wrappers, max_leaves=6)


# -- identity signals ----------------------------------------------------------------------

#: Mailbox names as providers hand them out: letters and digits, no tags, no dots.
mailbox_names = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=20)
#: Domains of ordinary providers (no aliases, dots significant).
plain_domains = st.builds(
    "{}.{}".format,
    st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12),
    st.sampled_from(["com", "org", "net", "de", "co.uk", "io"]),
)


@st.composite
def scatter_case(draw: st.DrawFn, text: str) -> str:
    """``text`` with each letter's case chosen at random."""
    return "".join(ch.upper() if draw(st.booleans()) else ch for ch in text)


@st.composite
def gmail_aliases(draw: st.DrawFn, name: str) -> str:
    """An address that reaches the Gmail mailbox ``name``: dots, a tag, case, the other domain."""
    dotted = "".join(
        ch + (draw(st.sampled_from(["", "", "."])) if i else "") for i, ch in enumerate(name)
    )
    tag = draw(st.sampled_from(["", "+", "+shop", "+a.b", "+x+y"]))
    domain = draw(st.sampled_from(["gmail.com", "googlemail.com", "GMail.com", "gmail.com."]))
    space = draw(st.sampled_from(["", " ", "\t"]))
    local = draw(scatter_case(dotted + tag if tag != "+" else dotted + "+tag"))
    return f"{space}{local}@{domain}{space}"


@st.composite
def tagged_aliases(draw: st.DrawFn, name: str, domain: str) -> str:
    """An address that reaches ``name@domain`` on any provider: a ``+tag``, case, spaces."""
    tag = draw(st.sampled_from(["", "+", "+news", "+a-b.c"]))
    local = draw(scatter_case(name + (tag if tag != "+" else "+t")))
    return f"{draw(st.sampled_from(['', ' ']))}{local}@{draw(scatter_case(domain))} "


@st.composite
def phone_layouts(draw: st.DrawFn, digits: str) -> str:
    """``digits`` with the separators people type between them."""
    out = []
    for ch in digits:
        out.append(ch)
        out.append(draw(st.sampled_from(["", "", "", " ", "-", ".", "\u00a0"])))
    return "".join(out).strip()


@st.composite
def phone_extensions(draw: st.DrawFn) -> str:
    """An extension as people write it after a number: `` ext. 12``, ``x7``, ``;ext=99``."""
    mark = draw(
        st.sampled_from([" ext. ", " ext ", " extension ", " x", " X ", "x", " #", ";ext="])
    )
    return mark + draw(st.text(alphabet=string.digits, min_size=1, max_size=5))


#: Words of letters that start like an extension mark (``XRAY``, ``Extra``) but are not one.
extension_like_words = st.builds(
    "{}{}".format,
    st.sampled_from(["x", "X", "ext", "Ext"]),
    st.text(alphabet=string.ascii_letters, min_size=1, max_size=6),
)

ipv4_addresses = st.ip_addresses(v=4).map(str)
ipv6_addresses = st.ip_addresses(v=6).map(str)


# -- domain models (JSON forms) ------------------------------------------------------------

import enum  # noqa: E402 - appended section
import typing  # noqa: E402 - appended section
from collections.abc import Mapping  # noqa: E402 - appended section
from types import NoneType, UnionType  # noqa: E402 - appended section
from typing import Any, Union  # noqa: E402 - appended section

import attrs  # noqa: E402 - appended section

#: Money in currencies of 0, 2 and 3 decimals, whole minor units.
any_money = st.builds(
    Money.from_minor, st.integers(-(10**9), 10**9), st.sampled_from(["USD", "JPY", "KWD", "EUR"])
)
#: Aware datetimes in several UTC offsets (the JSON form keeps the offset).
aware_times = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    timezones=st.sampled_from(
        [timezone.utc, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]
    ),
)
ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def models_of(cls: type) -> st.SearchStrategy[object]:
    """Instances of a model class, every field drawn by its annotation."""
    hints = typing.get_type_hints(cls)
    return st.builds(
        cls, **{a.name: _values_for(hints[a.name]) for a in attrs.fields(cls) if a.init}
    )


def _values_for(tp: object) -> st.SearchStrategy[object]:  # noqa: C901, PLR0911 - one per type
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, UnionType):
        return st.one_of(*(st.none() if a is NoneType else _values_for(a) for a in args))
    if tp is Money:
        return any_money
    if tp is datetime:
        return aware_times
    if tp is str:
        return ids
    if tp is int:
        return st.integers(-(2**40), 2**40)
    if tp is bool:
        return st.booleans()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if origin is tuple:
        return st.lists(_values_for(args[0]), max_size=3).map(tuple)
    if origin in (Mapping, dict) and args[1] is Any:
        return st.dictionaries(st.text(max_size=8), json_values, max_size=4)
    if origin in (Mapping, dict):
        return st.dictionaries(st.sampled_from(["USD", "JPY", "EUR"]), _values_for(args[1]))
    return models_of(tp)  # type: ignore[arg-type]


# -- policy objects, in pairs of equal policies spelled differently -------------------------


from referralkit.context import policy_needs  # noqa: E402 - appended section
from referralkit.model import RewardKind  # noqa: E402 - appended section
from referralkit.policies import (  # noqa: E402 - appended section
    AllOf,
    Budget,
    Capped,
    DoubleSided,
    FirstMatch,
    FirstOrderOnly,
    Fixed,
    Milestone,
    MinimumOrder,
    PercentOfOrder,
    Recurring,
    RewardPolicy,
    Tier,
    Tiered,
)

#: Two equal values, or two equal policies: the same thing written two ways.
Pair = tuple[Any, Any]


@st.composite
def equal_decimals(draw: st.DrawFn, value: Decimal) -> tuple[Decimal, Decimal]:
    """``value`` twice, each with trailing zeros (or an exponent) of its own: equal, not alike."""

    def spelled() -> Decimal:
        how = draw(st.sampled_from(["as is", "normal", "zeros"]))
        if how == "normal":
            return value.normalize()
        if how == "zeros":
            return value.quantize(Decimal(1).scaleb(min(value.as_tuple().exponent, 0) - 3))
        return value

    return spelled(), spelled()


_CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "KWD"])


@st.composite
def equal_money(draw: st.DrawFn, *, exact: bool = True) -> tuple[Money, Money]:
    """Equal money in one of a few currencies; with ``exact=False`` finer than its minor unit."""
    currency = draw(_CURRENCIES)
    minor = Money.from_minor(1, currency).amount
    amount = Decimal(draw(st.integers(0, 10_000_000))) * minor
    if not exact and draw(st.booleans()):
        amount += minor / 10 * draw(st.integers(1, 9))
    a, b = draw(equal_decimals(amount))
    return Money(a, currency), Money(b, currency)


@st.composite
def equal_rates(draw: st.DrawFn) -> tuple[Decimal, Decimal]:
    """Equal rates from 0 to 1, each spelled its own way."""
    value = Decimal(draw(st.integers(0, 10_000))) / 10_000
    return draw(equal_decimals(value))


#: Positive durations: whole units, or with microseconds.
positive_durations = st.one_of(
    st.builds(
        lambda d, h, m, s: timedelta(days=d, hours=h, minutes=m, seconds=s),
        st.integers(0, 800),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
    st.integers(1, 10**12).map(lambda us: timedelta(microseconds=us)),
).filter(lambda d: d > timedelta(0))

_PERKS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
    str.strip
)


def _same(value: object) -> tuple[object, object]:
    return value, value


@st.composite
def _fixed_pairs(draw: st.DrawFn) -> Pair:
    choice = draw(st.sampled_from(["money", "points", "perk"]))
    if choice == "money":
        a, b = draw(equal_money(exact=False))
        kind = draw(st.sampled_from([None, RewardKind.CREDIT, RewardKind.CASH, RewardKind.COUPON]))
        # The default kind of money is credit: given or left out, the policies are equal.
        other = "credit" if kind in (None, RewardKind.CREDIT) else kind.value
        return Fixed(a, kind=kind), Fixed(b, kind=other)
    if choice == "points":
        n = draw(st.integers(0, 10**9))
        return Fixed(n), Fixed(n, kind="points")
    perk = draw(_PERKS)
    return Fixed(perk), Fixed(perk, kind=RewardKind.PERK)


@st.composite
def _percent_pairs(draw: st.DrawFn) -> Pair:
    rate_a, rate_b = draw(equal_rates())
    currency = draw(_CURRENCIES)
    minor = Money.from_minor(1, currency).amount
    floor, ceiling = sorted(draw(st.lists(st.integers(0, 10**6), min_size=2, max_size=2)))
    cap = draw(st.booleans())
    minimum = draw(st.booleans())
    caps = draw(equal_decimals(ceiling * minor)) if cap else (None, None)
    minimums = draw(equal_decimals(floor * minor)) if minimum else (None, None)
    kind = draw(st.sampled_from([RewardKind.CREDIT, RewardKind.CASH, RewardKind.COUPON]))
    built = [
        PercentOfOrder(
            rate,
            cap=None if c is None else Money(c, currency),
            minimum=None if m is None else Money(m, currency),
            kind=kind if i else kind.value,
        )
        for i, (rate, c, m) in enumerate(zip((rate_a, rate_b), caps, minimums, strict=True))
    ]
    return built[0], built[1]


_LEAF_PAIRS = st.one_of(_fixed_pairs(), _percent_pairs())


def _counts_referrer(policy: RewardPolicy) -> bool:
    return "referrer_rewards" in policy_needs(policy)


def _limits() -> st.SearchStrategy[tuple[Money | int, Money | int]]:
    return st.one_of(equal_money(), st.integers(0, 10**6).map(_same))


def _wrapper_pairs(inner: st.SearchStrategy[Pair]) -> st.SearchStrategy[Pair]:
    def both(make: Any, *pairs: Pair) -> Pair:
        return make(*(p[0] for p in pairs)), make(*(p[1] for p in pairs))

    sides = inner.filter(lambda pair: not _counts_referrer(pair[0]))
    return st.one_of(
        inner.map(lambda r: both(FirstOrderOnly, r)),
        st.builds(lambda r, a: both(MinimumOrder, r, a), inner, equal_money()),
        st.builds(
            lambda r, n, w: both(lambda x: Recurring(x, orders=n, within=w), r),
            inner,
            st.none() | st.integers(1, 24),
            st.none() | positive_durations,
        ),
        st.builds(
            lambda r, cap, w: both(lambda x, c: Capped(x, c, window=w), r, cap),
            inner,
            _limits(),
            st.none() | positive_durations,
        ),
        st.builds(lambda r, total: both(Budget, r, total), inner, _limits()),
        st.lists(inner, min_size=1, max_size=3).map(lambda ps: both(AllOf, *ps)),
        st.lists(inner, min_size=1, max_size=3).map(lambda ps: both(FirstMatch, *ps)),
        st.builds(
            lambda a, b: (
                DoubleSided(referrer=a[0], referee=b[0] if b else None),
                DoubleSided(referrer=a[1], referee=b[1] if b else None),
            ),
            inner,
            st.none() | sides,
        ),
        sides.map(lambda b: (DoubleSided(referee=b[0]), DoubleSided(None, b[1]))),
        st.builds(
            lambda floors, rewards: (
                Tiered([Tier(f, r[0]) for f, r in zip(floors, rewards, strict=False)]),
                Tiered(tuple(Tier(f, r[1]) for f, r in zip(floors, rewards, strict=False))),
            ),
            ladders(),
            st.lists(inner, min_size=8, max_size=8),
        ),
        st.builds(
            lambda counts, rewards: (
                Milestone(dict(zip(counts, (r[0] for r in rewards), strict=False))),
                Milestone(dict(reversed(list(zip(counts, (r[1] for r in rewards), strict=False))))),
            ),
            st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True),
            st.lists(inner, min_size=3, max_size=3),
        ),
    )


#: Pairs of equal built-in policies, nested a few levels deep, each spelled its own way:
#: ``Money("10", "USD")`` and ``Money("10.000", "USD")``, a kind given and left out,
#: milestones in another order, tiers as a list and as a tuple.
equal_policy_pairs = st.recursive(_LEAF_PAIRS, _wrapper_pairs, max_leaves=6)
#: Built-in policies, nested a few levels deep.
policies = equal_policy_pairs.map(lambda pair: pair[0])


# -- command line ----------------------------------------------------------------------------

#: Option values a careless or hostile user types: small numbers (valid where a command
#: takes them, and quick to run), huge and negative ones, number-like junk, money-like
#: text, dates, and text with undecodable bytes (as Python decodes them from argv).
cli_values = st.one_of(
    st.integers(0, 40).map(str),
    st.integers(-(10**40), -1).map(str),
    st.integers(10**8, 10**40).map(str),
    st.sampled_from(["", " ", "nan", "inf", "-0", "1e9", "0x10", "1_0", "0.5", "\uff11\uff12"]),
    st.sampled_from(["10 USD", "1e999999 USD", "-5 USD", "nan USD", "10 XXX", "10.001 USD"]),
    st.sampled_from(["2026-02-30", "9999-12-31", "0001-01-01T00:00+14:00", "yesterday"]),
    st.sampled_from(["referrer", "week", "referrer,,channel", "https://x.example/p.js"]),
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1, max_size=3),
)
#: Flags no command has; none is an abbreviation of a real one.
CLI_JUNK_FLAGS = ("--nope", "-x", "--", "--customers=", "-")


@st.composite
def cli_argvs(
    draw: st.DrawFn,
    bases: dict[str, list[str]],
    flags: dict[str, list[str]],
    path_flags: frozenset[str],
    paths: list[str],
) -> list[str]:
    """An argv for the ``referralkit`` command: mostly a valid one with junk options after.

    ``bases`` holds a valid, quick argv per command; ``flags`` each command's options
    (a repeated option overrides the valid one); options in ``path_flags`` mostly get
    one of ``paths`` (directories, missing files, files that are not databases, ...).
    """
    command = draw(st.sampled_from([*flags] * 4 + ["nope", ""]))
    argv = [command]
    if command in bases and draw(st.integers(0, 4)):
        argv += bases[command]
    for _ in range(draw(st.integers(0, 3))):
        flag = draw(st.sampled_from([*flags.get(command, []) * 4, *CLI_JUNK_FLAGS]))
        argv.append(flag)
        if not draw(st.integers(0, 9)):
            continue  # now and then a flag without its value
        if flag in path_flags:
            argv.append(draw(st.sampled_from(paths) | cli_values))
        else:
            argv.append(draw(cli_values | st.sampled_from(paths)))
    return argv


# -- hostile input -------------------------------------------------------------------------

#: Lone surrogates and other text that cannot be encoded as UTF-8.
unencodable_text = st.builds(
    "{}{}{}".format,
    st.text(max_size=5),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.text(max_size=5),
)

#: Values of every shape a careless or hostile caller passes where something else belongs.
junk_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.decimals(),
    st.complex_numbers(),
    any_text,
    unencodable_text,
    st.binary(max_size=20),
    st.lists(st.integers() | st.text(max_size=5), max_size=4),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.dictionaries(st.text(max_size=5), st.integers() | st.none(), max_size=3),
    st.datetimes(),
    st.sampled_from([object(), type, len, Ellipsis, NotImplemented, float("nan"), float("inf")]),
)


# -- links ---------------------------------------------------------------------------------

from datetime import tzinfo  # noqa: E402 - appended section
from urllib.parse import quote  # noqa: E402 - appended section

#: UTC offsets of every size a tzinfo may have, odd seconds and microseconds included.
utc_offsets = st.builds(
    timezone,
    st.timedeltas(
        min_value=-timedelta(hours=23, minutes=59, seconds=59),
        max_value=timedelta(hours=23, minutes=59, seconds=59),
    ),
)
#: Timezone-aware datetimes anywhere in the range a datetime holds, in any offset.
aware_datetimes = st.datetimes(timezones=st.just(timezone.utc) | utc_offsets)
#: Aware datetimes whose UTC instant is a datetime too (a clock's "now").
aware_clocks = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=utc_offsets,
)


class NoOffset(tzinfo):
    """A tzinfo that knows no offset: a datetime with it is naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


class BrokenOffset(tzinfo):
    """A tzinfo whose offset is out of range: ``utcoffset()`` raises."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return timedelta(days=2)


#: Things passed as a time that are not an aware datetime.
not_aware_datetimes = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=st.sampled_from([NoOffset(), BrokenOffset()])),
    st.dates(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)

_URL_SCHEMES = st.sampled_from(
    ["https", "http", "HTTPS", "ftp", "javascript", "mailto", "data", "", "h ttp", "https:"]
)
_URL_HOSTS = st.one_of(
    st.sampled_from(
        [
            "shop.example",
            "SHOP.example:443",
            "shop.example:8443",
            "shop.example:99999",
            "shop.example:abc",
            "user:pw@shop.example",
            "shop.example@evil.example",
            "[::1]",
            "[::1",
            "bücher.example",
            "xn--.example",
            "a..b",
            "",
            "shop.example\ud800",
            "\uff53\uff48\uff4f\uff50\uff0eexample",
        ]
    ),
    any_text.map(lambda t: t[:20]),
)
_URL_KEYS = st.one_of(
    st.sampled_from(["ref", "ch", "cmp", "exp", "sig", "utm_source", "utm_", "fbclid", "REF"]),
    any_text.map(lambda t: t[:8]),
)
_URL_VALUES = st.one_of(
    st.sampled_from(
        [
            "K3J92QWX",
            "ANNA10",
            "",
            "999999999999",
            "-999999999999",
            "-62135596801",
            "253402300800",
            "9" * 40,
            "-0",
            "\uff10\uff11\uff12",
            "v2.AAAAAAAAAAAAAAAAAAAAAA",
            "%ED%A0%80",
            "\ud800",
            "1e9",
        ]
    ),
    st.integers().map(str),
    any_text.map(lambda t: t[:30]),
)


@st.composite
def junk_urls(draw: st.DrawFn) -> str:
    """URL-ish strings of every shape: odd schemes and hosts, missing parts, repeated params."""
    scheme = draw(_URL_SCHEMES)
    host = draw(_URL_HOSTS)
    path = draw(st.sampled_from(["", "/", "/r", "/r/../x", "/%7Er", "/r%ZZ"]) | any_text)
    pairs = draw(st.lists(st.tuples(_URL_KEYS, _URL_VALUES), max_size=8))
    sep = draw(st.sampled_from(["=", "", "=="]))
    query = "&".join(
        f"{k}{sep}{v}"
        if draw(st.booleans())
        else f"{quote(k, errors='surrogatepass')}={quote(v, errors='surrogatepass')}"
        for k, v in pairs
    )
    fragment = draw(st.sampled_from(["", "#top", "#", "#ref=ANNA10"]))
    slashes = draw(st.sampled_from(["://", ":", ":///", "//"]))
    return f"{scheme}{slashes}{host}{path}?{query}{fragment}"


# -- the outbox ------------------------------------------------------------------------------

#: What no limit is: not an int, a bool, zero or less, or beyond what a store can hold.
junk_limits = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=2**63),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.none(),
)
#: What no lease is: not a timedelta, zero, negative, or longer than a day.
junk_leases = st.one_of(
    st.timedeltas(max_value=timedelta(0)),
    st.timedeltas(min_value=timedelta(days=1, microseconds=1)),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.none(),
)
#: What no list of event ids is: a string, a non-iterable, or one holding a non-int.
junk_event_ids = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.none(),
    st.lists(st.one_of(st.text(max_size=3), st.floats(), st.booleans(), st.none()), min_size=1),
    st.lists(st.integers(min_value=2**63, max_value=2**70), min_size=1),
)
#: What no webhook URL is: another scheme, no host, spaces or control characters, not text.
junk_webhook_urls = st.one_of(
    st.sampled_from(
        [
            "",
            "example.com/hook",
            "ftp://example.com/hook",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://",
            "https:///path",
            "http://exa mple.com/",
            "http://example.com/\nX: y",
            "https://bücher.example/hook",
            "http://example.com:99999/",
            "https://" + "a" * 3000 + ".com/",
        ]
    ),
    st.integers(),
    st.none(),
    st.binary(max_size=10),
)
#: What no webhook secret is: shorter than 32 bytes, or not bytes.
junk_secrets = st.one_of(
    st.binary(max_size=31),
    st.text(min_size=32, max_size=40),
    st.integers(),
    st.none(),
)


# -- codes as hosts meet them ----------------------------------------------------------------


@st.composite
def code_typos(draw: st.DrawFn, code: str, fmt: CodeFormat) -> str:
    """``code`` with one typo a check character catches, typed any way a person types.

    One character after the prefix replaced by another of the alphabet, or two adjacent
    different ones swapped; then any case, separators and look-alikes (`typed_forms`).
    """
    body_start = len(fmt.prefix)
    chars = list(code)
    swaps = [i for i in range(body_start, len(code) - 1) if code[i] != code[i + 1]]
    if swaps and draw(st.booleans()):
        i = draw(st.sampled_from(swaps))
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        i = draw(st.integers(body_start, len(code) - 1))
        chars[i] = draw(st.sampled_from([c for c in fmt.alphabet if c != code[i]]))
    return draw(typed_forms("".join(chars), fmt))


@st.composite
def vanity_spellings(draw: st.DrawFn, code: str) -> str:
    """``code`` (a vanity code) typed any way: any case, spaces, dashes, underscores anywhere."""
    key = code.replace("-", "")
    out = [draw(st.sampled_from(["", " ", "\t"]))]
    for ch in key:
        out.append(ch.lower() if draw(st.booleans()) else ch)
        out.append(draw(st.sampled_from(["", "", "-", " ", "_", " - "])))
    out.append(draw(st.sampled_from(["", " "])))
    return "".join(out)


#: Vanity codes a program issues: letters and digits, single dashes between.
vanity_codes = st.from_regex(r"[A-Z][A-Z0-9]{3,7}(-[A-Z0-9]{2,6})?", fullmatch=True)


@st.composite
def moment_histories(draw: st.DrawFn) -> tuple[list[timedelta], timedelta, int, timedelta]:
    """Invitations (how long ago each was) and the limits: cool-down, N, period."""
    hours = st.integers(min_value=0, max_value=24 * 400)
    ago = [timedelta(hours=h) for h in draw(st.lists(hours, max_size=8))]
    cooldown = timedelta(hours=draw(st.integers(min_value=0, max_value=24 * 60)))
    per_period = draw(st.integers(min_value=1, max_value=5))
    period = timedelta(hours=draw(st.integers(min_value=1, max_value=24 * 400)))
    return ago, cooldown, per_period, period


# -- partner payouts -------------------------------------------------------------------------

#: How many partners a payout history runs over.
PAYOUT_PARTNERS = 3

#: One step of a partner payout history: a sale with a partner's code (cents), a post's
#: fee (cents), a refund of an earlier sale (which one, percent), days passing then a
#: release, a payout batch whose provider fails some partners (``pay``) or answers
#: nothing (``stall``), or the last batch retried with a provider failing some.
payout_steps = st.one_of(
    st.tuples(
        st.just("sell"),
        st.integers(0, PAYOUT_PARTNERS - 1),
        st.integers(min_value=100, max_value=50_000),
    ),
    st.tuples(
        st.just("fee"),
        st.integers(0, PAYOUT_PARTNERS - 1),
        st.integers(min_value=1, max_value=5_000),
    ),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),
    st.tuples(st.just("release"), st.integers(0, 4), st.just(0)),
    st.tuples(
        st.sampled_from(["pay", "stall", "retry"]),
        st.frozensets(st.integers(0, PAYOUT_PARTNERS - 1)).map(sorted).map(tuple),
        st.just(0),
    ),
)

#: Each partner's payout threshold in cents (None: no threshold).
payout_thresholds = st.lists(
    st.none() | st.integers(min_value=0, max_value=3_000),
    min_size=PAYOUT_PARTNERS,
    max_size=PAYOUT_PARTNERS,
)
# -- partner fraud signals -----------------------------------------------------------------


@st.composite
def checkout_histories(draw: st.DrawFn) -> tuple[list[tuple[int, bool]], int, int]:
    """Orders with a partner's code (minutes after the last one, clicked?), a limit, a window.

    Gaps of zero (orders in the same instant) and gaps that span the window both occur.
    """
    window = draw(st.integers(min_value=1, max_value=30))
    gaps = st.integers(min_value=0, max_value=window + 5)
    orders = draw(st.lists(st.tuples(gaps, st.booleans()), min_size=1, max_size=14))
    limit = draw(st.integers(min_value=0, max_value=4))
    return orders, limit, window


#: The personal identity fields a partner and a buyer may carry (all distinct per person).
IDENTITY_FIELDS = ("email", "phone", "device_id", "payment_fingerprint", "address")


@st.composite
def distinct_people(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    """A partner's identity fields and a buyer's, sharing no signal (any subset of fields)."""
    values = {
        "email": lambda n: f"person{n}@example.com",
        "phone": lambda n: f"+1 415 555 {1000 + n:04d}",
        "device_id": lambda n: f"device-{n}",
        "payment_fingerprint": lambda n: f"card{n}",
        "address": lambda n: f"{n + 1} Main Street, Springfield",
    }
    a, b = draw(st.lists(st.integers(0, 999), min_size=2, max_size=2, unique=True))
    first = draw(st.sets(st.sampled_from(IDENTITY_FIELDS)))
    second = draw(st.sets(st.sampled_from(IDENTITY_FIELDS)))
    return {f: values[f](a) for f in first}, {f: values[f](b) for f in second}


# -- commission schedules ------------------------------------------------------------------

#: Time zones calendar periods are counted in (one with a half-hour offset, two with DST).
period_zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
#: Calendar periods.
periods = st.sampled_from(["day", "week", "month"])
#: Aware UTC times over a few years, to the second.
utc_times = st.integers(1_700_000_000, 1_900_000_000).map(
    lambda s: datetime.fromtimestamp(s, tz=timezone.utc)
)
#: Gaps between successive orders: minutes to weeks.
order_gaps = st.integers(60, 21 * 86_400).map(lambda s: timedelta(seconds=s))
# -- programme comparison ------------------------------------------------------------------

#: One step of a shop's life with customer referrals, affiliates and influencers; see
#: ``tests/test_metrics_programmes.py`` for how each is played.
programme_steps = st.one_of(
    st.tuples(st.just("refer"), st.integers(0, 5), st.integers(0, 11)),
    st.tuples(st.just("partner_signup"), st.integers(0, 3), st.integers(0, 11)),
    st.tuples(st.just("click"), st.integers(0, 9)),
    st.tuples(
        st.just("order"),
        st.integers(0, 11),
        st.integers(0, 30_000),
        st.none() | st.integers(0, 5),
    ),
    st.tuples(st.just("refund"), st.integers(0, 40), st.integers(1, 100)),
    st.tuples(st.just("post"), st.integers(0, 3), st.integers(0, 20_000)),
    st.tuples(
        st.just("engagement"), st.integers(0, 5), st.integers(0, 90_000), st.integers(0, 9_000)
    ),
    st.tuples(st.just("advance"), st.integers(1, 24 * 40)),
)
programme_scripts = st.lists(programme_steps, max_size=40)

# -- customer referrals beside partners ----------------------------------------------------

#: One step of a shop's customer referrals: a referral (referrer 0-5, friend 0-11), a
#: click on a customer's code, a referred customer's order, a refund, time passing; see
#: ``tests/test_metrics_customers_only.py`` for how each is played.
customer_steps = st.one_of(
    st.tuples(st.just("refer"), st.integers(0, 5), st.integers(0, 11)),
    st.tuples(st.just("click"), st.integers(0, 5)),
    st.tuples(st.just("order"), st.integers(0, 11), st.integers(0, 30_000)),
    st.tuples(st.just("refund"), st.integers(0, 40), st.integers(1, 100)),
    st.tuples(st.just("advance"), st.integers(1, 24 * 20)),
)
#: What partners add beside them, with their own audience (fans, never a customer's
#: friend): clicks on a partner's link, a fan's sign-up with a partner's code, a fan's
#: order (a partner's code typed at checkout, or none), a refund of one, a post.
partner_steps = st.one_of(
    st.tuples(st.just("partner_click"), st.integers(0, 3)),
    st.tuples(st.just("partner_signup"), st.integers(0, 3), st.integers(0, 11)),
    st.tuples(
        st.just("fan_order"),
        st.integers(0, 11),
        st.integers(0, 30_000),
        st.none() | st.integers(0, 5),
    ),
    st.tuples(st.just("fan_refund"), st.integers(0, 40), st.integers(1, 100)),
    st.tuples(st.just("partner_post"), st.integers(0, 3), st.integers(0, 20_000)),
)
#: A customer-referral script, and partner steps with the place each goes in it.
shops_with_partners = st.tuples(
    st.lists(customer_steps, max_size=30),
    st.lists(st.tuples(st.integers(0, 30), partner_steps), max_size=20),
)
