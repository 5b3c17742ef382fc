"""Type-checked, never run: a group-buy from a host's seat."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import referralkit as rk
from referralkit.policies import Fixed, PercentOfOrder


def group_buy(program: rk.ReferralProgram) -> int:
    when = datetime.now(timezone.utc) + timedelta(days=2)
    group: rk.Group = program.groups.start(
        "cust-1", size=3, deadline=when, reward=Fixed(rk.Money("10", "USD"), kind="credit")
    )
    code: str = group.code
    state: rk.GroupState = group.state
    members: tuple[str, ...] = group.members
    place: rk.Membership = program.groups.join(
        code, "cust-7", identity=rk.Identity(email="g@example.com"), order_id="o-7"
    )
    program.groups.attach_order(code, "cust-7", "o-7")
    link: str = program.groups.link(code, channel="whatsapp")
    shares: dict[str, str] = program.groups.share(code, "Join me", channels=["sms"])
    expired: list[rk.Group] = program.groups.expire_due()
    program.groups.cancel(
        program.groups.start("cust-2", size=2, deadline=when, reward=PercentOfOrder("0.1")).code,
        by="cust-2",
    )
    taken_back: list[rk.Reward] = program.groups.refund("o-7")
    open_groups: tuple[rk.Group, ...] = program.status("cust-1").groups
    try:
        program.groups.join(link, "cust-8")
    except rk.GroupClosed as closed:
        reason: str = closed.reason
        del reason
    del state, members, place, shares
    return len(expired) + len(taken_back) + len(open_groups)
