"""Junk fed to every public entry point: only `ReferralError` subclasses come out, on both stores.

The entry points are found, not listed by hand: every public method of a program (and
of its ``attribution``), the public functions of ``referralkit``, ``referralkit.codes``,
``referralkit.links`` and ``referralkit.config``, the loaders of `ProgramConfig`, the
value classes a host builds (`Money` and its methods and operators, `Identity`,
`CodeFormat`, the program and the stores) and every command of the CLI. Each is called
through its own signature, every argument drawn from junk or from a plausible value,
so a new entry point is fed as soon as it exists; `ENTRY_POINTS` pins what is found,
so adding one without looking at this test fails here.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import operator
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
import referralkit.codes
import referralkit.config
import referralkit.links
from referralkit.cli import _parser, main
from referralkit.config import ProgramConfig
from referralkit.policies import Fixed
from referralkit.storage import MemoryStore, SQLiteStore
from strategies import CLI_JUNK_FLAGS, cli_values, junk_values

_SECRET = b"s" * 32
_NOW = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
_BASE = "https://shop.example/r"


class _Shop:
    """A program on one store, with a code, a link and a converted order to aim at."""

    def __init__(self, store: rk.Store) -> None:
        self.store = store
        self.program = rk.ReferralProgram(
            store=store,
            secret=_SECRET,
            policy=Fixed(rk.Money("5", "USD")),
            link_base=_BASE,
            clock=lambda: _NOW,
        )
        self.code = self.program.enroll("ann").code
        self.link = self.program.link(self.code, channel="email")
        self.program.attribute(referee="bob", code=self.code)
        self.rewards = self.program.convert(
            referee="bob", order_id="o-1", amount=rk.Money("80", "USD")
        )


_SHOPS: dict[str, _Shop] = {}


def _shop(kind: str) -> _Shop:
    """One shop per store kind for the whole module: building one per example is slow."""
    if kind not in _SHOPS:
        _SHOPS[kind] = _Shop(MemoryStore() if kind == "memory" else SQLiteStore(":memory:"))
    return _SHOPS[kind]


def _plausible(shop: _Shop) -> dict[str, st.SearchStrategy[Any]]:
    """Values that make sense for an argument of that name, to get past the first check."""
    ids = st.sampled_from(["ann", "bob", "o-1", *(r.id for r in shop.rewards)])
    times = st.just(_NOW) | st.datetimes(timezones=st.just(timezone.utc))
    text = st.sampled_from([shop.code, shop.link, "ann", "bob", "o-1", "email", ""])
    return {
        "amount": st.sampled_from([rk.Money("5", "USD"), "5", "USD"]),
        "currency": st.sampled_from(["USD", "JPY", "usd"]),
        "base": st.just(_BASE),
        "link_base": st.just(_BASE),
        "url": st.sampled_from([shop.link, _BASE]),
        "link": st.just(shop.link),
        "code": st.just(shop.code),
        "text": text,
        "link_or_code": st.sampled_from([shop.code, shop.link]),
        "secret": st.just(_SECRET),
        "store": st.just(shop.store),
        "policy": st.just(Fixed(rk.Money("5", "USD"))),
        "identity": st.builds(rk.Identity, email=st.just("ann@example.com")),
        "limit": st.integers(0, 5),
        "n": st.integers(0, 5),
        "event_ids": st.lists(st.integers(0, 5), max_size=3),
        "reward_ids": st.lists(ids, max_size=2),
        "fmt": st.just(rk.CodeFormat()),
        "lease": st.just(timedelta(minutes=5)),
        "older_than": st.just(timedelta(days=1)),
        "config": st.just({"policy": {"policy": "fixed", "amount": "5 USD"}}),
        "spec": st.just({"policy": "fixed", "amount": "5 USD"}),
        **dict.fromkeys(
            ["customer_id", "referee", "referrer", "order_id", "payout_id", "reference"],
            ids,
        ),
        **dict.fromkeys(["refund_id", "reward_id", "referral_id", "visitor", "worker"], ids),
        **dict.fromkeys(["since", "until", "expires_at", "occurred_at", "retry_at"], times),
        **dict.fromkeys(["message", "channel", "campaign", "note", "reason", "after"], text),
    }


# -- the entry points ------------------------------------------------------------------------

#: Money's operators: a host compares and adds amounts.
_OPERATORS: dict[str, Callable[[Any, Any], object]] = {
    name: getattr(operator, name) for name in ("add", "sub", "mul", "lt", "le", "gt", "ge")
}
_VALUE_CLASSES: dict[str, Callable[..., object]] = {
    "Money": rk.Money,
    "Identity": rk.Identity,
    "CodeFormat": rk.CodeFormat,
    "ReferralProgram": rk.ReferralProgram,
    "MemoryStore": MemoryStore,
    "SQLiteStore": SQLiteStore,
}
_MODULES = {"rk": rk, "codes": referralkit.codes, "links": referralkit.links}


def _public(obj: object) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n)))


def _discover(shop: _Shop) -> dict[str, Callable[..., object]]:
    """Every public entry point by name, bound to ``shop`` where it needs a program."""
    found = _program_entry_points(shop.program) | _module_functions()
    found |= {f"ProgramConfig.{n}": getattr(ProgramConfig, n) for n in _LOADERS}
    found |= _VALUE_CLASSES
    money = rk.Money("12.50", "USD")
    found |= {f"Money.{name}": getattr(money, name) for name in _public(money)}
    found |= {f"Money.__{n}__": functools.partial(op, money) for n, op in _OPERATORS.items()}
    found["Identity.from_dict"] = rk.Identity.from_dict
    found |= {f"cli {c}": functools.partial(_run_cli, c) for c in _cli_commands()}
    return found


_LOADERS = ("from_dict", "from_json", "from_toml", "load")


def _program_entry_points(program: rk.ReferralProgram) -> dict[str, Callable[..., object]]:
    """The program's public methods and those of its parts (`_PARTS`)."""
    found = {f"program.{name}": getattr(program, name) for name in _public(program)}
    for part in _PARTS:
        capability = getattr(program, part)
        found |= {f"program.{part}.{n}": getattr(capability, n) for n in _public(capability)}
    return found


#: The program's parts reached as attributes: each of their public methods is fed too.
_PARTS = ("attribution", "groups", "invitations", "moments", "waitlist")


def _module_functions() -> dict[str, Callable[..., object]]:
    """The public functions of the package, its codes, links and config modules."""
    modules = {**_MODULES, "config": referralkit.config}
    return {
        f"{label}.{name}": getattr(module, name)
        for label, module in modules.items()
        for name in module.__all__
        if inspect.isfunction(getattr(module, name))
    }


def _cli_commands() -> list[str]:
    sub = next(a for a in _parser()._actions if isinstance(a.choices, dict))
    return sorted(sub.choices)


#: A quick valid start per command: the junk goes on top of it.
_CLI_BASES = {
    "codes": ["3"],
    "db": ["upgrade", "--url"],
    "demo": ["--customers", "5", "--days", "1", "--db", "demo.db"],
    "metrics": ["--db", "missing.db"],
    "partners": ["statement", "--db", "missing.db", "--partner", "anna", "--period", "2026-11"],
    "simulate": ["--customers", "20", "--weeks", "1", "--runs", "2"],
}


def _run_cli(command: str, junk: object) -> object:
    """Run one command in a fresh folder: an exit status, never a traceback."""
    argv = [command, *_CLI_BASES[command], *(junk if isinstance(junk, list) else [])]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as done:  # argparse: usage errors and --help
            code = done.code
    assert code in {0, 1, 2}, (argv, err.getvalue())  # 1: a database the db command cannot use
    assert "Traceback" not in err.getvalue()
    return code


@contextlib.contextmanager
def _in_fresh_folder() -> Iterator[None]:
    before = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(before)


#: What `_discover` finds: a new public entry point must be added here, after checking
#: that this test feeds it well (its arguments' names in `_plausible`, a CLI base).
ENTRY_POINTS = frozenset(
    [
        "CodeFormat",
        "Identity",
        "Identity.from_dict",
        "MemoryStore",
        "Money",
        "Money.__add__",
        "Money.__ge__",
        "Money.__gt__",
        "Money.__le__",
        "Money.__lt__",
        "Money.__mul__",
        "Money.__sub__",
        "Money.from_minor",
        "Money.is_whole_minor",
        "Money.is_zero",
        "Money.round",
        "Money.to_json",
        "Money.zero",
        "ProgramConfig.from_dict",
        "ProgramConfig.from_json",
        "ProgramConfig.from_toml",
        "ProgramConfig.load",
        "ReferralProgram",
        "SQLiteStore",
        "cli codes",
        "cli db",
        "cli demo",
        "cli metrics",
        "cli partners",
        "cli simulate",
        "codes.code_key",
        "codes.generate_code",
        "codes.generate_codes",
        "codes.guess_probability",
        "codes.is_valid_code",
        "codes.normalize_code",
        "codes.validate_vanity",
        "codes.vanity_key",
        "config.build_guards",
        "config.build_policy",
        "config.program_kwargs",
        "config.write_json_schema",
        "links.build_link",
        "links.canonical_base",
        "links.parse_link",
        "links.share_links",
        "program.ack",
        "program.approve",
        "program.attribute",
        "program.attribution.of",
        "program.attribution.resolve",
        "program.attribution.winner",
        "program.attribution_for",
        "program.check_code",
        "program.claim",
        "program.claim_events",
        "program.clock",
        "program.code_for",
        "program.conversion",
        "program.convert",
        "program.coupon",
        "program.dead_letter",
        "program.dead_letters",
        "program.delivered",
        "program.enroll",
        "program.explain",
        "program.from_config",
        "program.groups.attach_order",
        "program.groups.cancel",
        "program.groups.expire_due",
        "program.groups.facts",
        "program.groups.get",
        "program.groups.join",
        "program.groups.link",
        "program.groups.members",
        "program.groups.refund",
        "program.groups.share",
        "program.groups.start",
        "program.invitations.configure",
        "program.invitations.facts",
        "program.invitations.get",
        "program.invitations.held_by",
        "program.invitations.issue",
        "program.invitations.issue_in",
        "program.invitations.redeem",
        "program.invitations.refuse_open_sign_up",
        "program.landing",
        "program.link",
        "program.mark_paid",
        "program.metrics",
        "program.moments.report",
        "program.moments.shared",
        "program.moments.should_invite",
        "program.moments.stats",
        "program.owner_of",
        "program.payable",
        "program.payout",
        "program.pending_events",
        "program.prune_events",
        "program.reassign",
        "program.redeem_coupon",
        "program.referees",
        "program.referral",
        "program.referral_of",
        "program.refund",
        "program.reject",
        "program.release_due",
        "program.release_events",
        "program.review_queue",
        "program.rewards",
        "program.rewards_for_order",
        "program.set_display_name",
        "program.settle_clawback",
        "program.share",
        "program.signals",
        "program.status",
        "program.track_click",
        "program.waitlist.admit",
        "program.waitlist.code",
        "program.waitlist.configure",
        "program.waitlist.entry",
        "program.waitlist.facts",
        "program.waitlist.join",
        "program.waitlist.position",
        "rk.build_link",
        "rk.generate_code",
        "rk.generate_codes",
        "rk.guess_probability",
        "rk.is_valid_code",
        "rk.normalize_code",
        "rk.parse_link",
        "rk.share_links",
        "rk.validate_vanity",
    ]
)


# -- the tests --------------------------------------------------------------------------------


def _arguments(
    fn: Callable[..., object], data: st.DataObject, shop: _Shop
) -> tuple[list[Any], dict[str, Any]]:
    """Draw arguments for ``fn`` as its signature takes them: junk or plausible each."""
    plausible = _plausible(shop)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in {param.VAR_POSITIONAL, param.VAR_KEYWORD}:
            continue
        optional = param.default is not param.empty
        if optional and param.kind is not param.POSITIONAL_ONLY and data.draw(st.booleans()):
            continue
        strategy = junk_values
        if param.name in plausible:
            strategy = plausible[param.name] | junk_values
        value = data.draw(strategy, label=param.name)
        if param.kind is param.KEYWORD_ONLY or (
            optional and param.kind is not param.POSITIONAL_ONLY
        ):
            kwargs[param.name] = value
        else:
            args.append(value)
    return args, kwargs


def _events(shop: _Shop) -> int:
    with shop.store.transaction() as uow:
        return len(uow.events.pending(10**6))


def _cases() -> list[tuple[str, str]]:
    """Each entry point once; those that touch a program on both stores."""
    cases = []
    for name in sorted(_discover(_shop("memory"))):
        stored = name.startswith("program.") or name in {"ReferralProgram", "SQLiteStore"}
        cases += [(name, "memory"), (name, "sqlite")] if stored else [(name, "memory")]
    return cases


def test_every_public_entry_point_is_pinned_here() -> None:
    found = set(_discover(_shop("memory")))
    assert found - ENTRY_POINTS == set(), "new entry points: add them to ENTRY_POINTS"
    assert ENTRY_POINTS - found == set(), "entry points gone: a public name was removed"


@pytest.mark.parametrize(("name", "kind"), _cases())
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_junk_gets_an_answer_or_a_referral_error_and_writes_nothing(
    name: str, kind: str, data: st.DataObject
) -> None:
    shop = _shop(kind)
    fn = _discover(shop)[name]
    if name.startswith("cli "):
        argv = data.draw(st.lists(cli_values | st.sampled_from(CLI_JUNK_FLAGS), max_size=3))
        with _in_fresh_folder():
            fn(argv)
        return
    args, kwargs = _arguments(fn, data, shop)
    before = _events(shop)
    try:
        with _in_fresh_folder():  # a junk path names a file in there, if any
            fn(*args, **kwargs)
    except rk.ReferralError:
        assert _events(shop) == before, "a refused call wrote events"
