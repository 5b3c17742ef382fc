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
        if spec.get("policy") in {"capped", "milestone"}:
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
            lambda r, n, w: {"policy": "recurring", "reward": r, "orders": n, "within": w},
            inner,
            st.none() | st.integers(1, 24),
            st.none() | _DURATIONS,
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
junk_urls = st.one_of(
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
