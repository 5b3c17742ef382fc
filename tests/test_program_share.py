"""One call gives every share button its own link, so each channel is credited."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

import referralkit as rk
from referralkit.links import SHARE_CHANNELS
from referralkit.policies import Fixed
from referralkit.storage import MemoryStore

SECRET = b"0123456789abcdef0123456789abcdef"


def program(**kwargs: object) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=MemoryStore(),
        secret=SECRET,
        policy=Fixed(rk.Money("10", "USD")),
        link_base="https://shop.example/r",
        guards=[],
        **kwargs,  # type: ignore[arg-type]
    )


def _shared_link(share_url: str) -> str:
    """The referral link a share target carries (whatever the target's own URL shape)."""
    text = unquote(share_url)
    start = text.index("https://shop.example/r")
    return text[start:].split(" ")[0].split("&text=")[0]


def test_each_channel_shares_a_link_for_that_channel() -> None:
    p = program()
    code = p.enroll("ann").code
    targets = p.share(code, "Get $5 off", channels=["whatsapp", "email", "copy"])
    assert list(targets) == ["whatsapp", "email", "copy"]
    for channel, url in targets.items():
        link = url if channel == "copy" else _shared_link(url)
        assert rk.parse_link(link, secret=p._core.link_key).channel == channel
        assert "Get $5 off" in unquote(url) or channel == "copy"


def test_a_friend_following_a_shared_link_is_credited_to_its_channel() -> None:
    p = program()
    code = p.enroll("ann").code
    link = p.share(code, "hi", channels=["telegram"])["telegram"]
    query = parse_qs(urlsplit(link).query)
    referral = p.attribute(link=query["url"][0], referee="bob")
    assert (referral.referrer, referral.channel) == ("ann", "telegram")


def test_without_channels_every_target_or_the_campaigns_own() -> None:
    assert list(program().share(program().enroll("ann").code, "hi")) == list(SHARE_CHANNELS)
    spring = rk.Campaign(name="spring", channels=("sms", "line"))
    p = program(campaigns=[spring], campaign="spring")
    assert list(p.share(p.enroll("ann").code, "hi")) == ["sms", "line"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channels": ["pigeon"]}, "channels"),
        ({"channels": "whatsapp"}, "channels"),
        ({"message": 5}, "message"),
    ],
)
def test_bad_share_requests_name_the_field(kwargs: dict[str, object], field: str) -> None:
    p = program()
    code = p.enroll("ann").code
    args = {"message": "hi", **kwargs}
    with pytest.raises(rk.InvalidInput) as caught:
        p.share(code, **args)  # type: ignore[arg-type]
    assert caught.value.field == field
