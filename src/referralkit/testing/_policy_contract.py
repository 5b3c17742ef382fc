"""The behavioural contract every reward policy must meet, as a pytest base class.

A plugin author subclasses `PolicyContract` and overrides the ``policy`` fixture::

    class TestWeekendBonus(PolicyContract):
        @pytest.fixture
        def policy(self):
            return WeekendBonus(Fixed(Money("5", "USD")))

Every test evaluates the policy on contexts hypothesis draws: plain values only, with
no store anywhere in reach and file, socket, process and database access forbidden
while the policy runs.
"""

from __future__ import annotations

import builtins
import copy
import io
import os
import socket
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, NoReturn

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referralkit.context import COSTLY_CONTEXT, Grant, PastReward, RewardContext, policy_needs
from referralkit.model import Beneficiary, Conversion, Referral, ReferralStatus, RewardKind
from referralkit.money import Money, minor_unit
from referralkit.protocols import RewardPolicy

__all__ = ["PolicyContract"]

NOW = datetime(2026, 5, 2, 14, 30, tzinfo=timezone.utc)

_MAX_DEPTH = 8  # deep enough for any composition of policies

# The policy fixture is immutable, and every subclass (every plugin's test class) runs
# the same test functions on its own instance: both health checks are about state that
# a contract test does not have.
_SETTINGS = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors]
)


class _Forbidden(AssertionError):
    """A policy reached for I/O while it was being evaluated."""


def _forbid(what: str) -> Any:
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        del args, kwargs
        msg = f"a policy must be pure, but it called {what} while evaluating"
        raise _Forbidden(msg)

    return refuse


@contextmanager
def _no_io() -> Iterator[None]:
    """Forbid files, sockets, processes and SQLite while the block runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "open", _forbid("open()"))
        patch.setattr(io, "open", _forbid("io.open()"))
        patch.setattr(os, "open", _forbid("os.open()"))
        patch.setattr(socket.socket, "connect", _forbid("socket.connect()"))
        patch.setattr(socket, "create_connection", _forbid("socket.create_connection()"))
        patch.setattr(subprocess, "Popen", _forbid("subprocess.Popen()"))
        patch.setattr(sqlite3, "connect", _forbid("sqlite3.connect()"))
        yield


def _amounts_between(currency: str, low: int, high: int) -> st.SearchStrategy[Money]:
    """Money in ``currency`` of ``low`` to ``high`` minor units (cents)."""
    return st.integers(low, high).map(lambda units: Money.from_minor(units, currency))


@st.composite
def _past_rewards(draw: st.DrawFn, currency: str) -> PastReward:
    points = draw(st.booleans())
    return PastReward(
        key=draw(st.sampled_from(["o-0:fixed", "milestone:default:5", "o-9:percent"])),
        policy=draw(st.sampled_from(["fixed(10.00 USD)", "percent_of_order(5%)"])),
        amount=None if points else draw(_amounts_between(currency, 0, 50_000)),
        points=draw(st.integers(0, 5_000)) if points else 0,
        granted_at=NOW - timedelta(days=draw(st.integers(0, 400))),
    )


_CHANNELS = st.sampled_from([None, "email", "whatsapp"])


def _bobs_referral(attributed_at: datetime, campaign: str, channel: str | None) -> Referral:
    """The qualified referral of bob by ann that every generated context is about."""
    return Referral(
        id="ref-1",
        code="K3J92QWX",
        referrer="ann",
        referee="bob",
        status=ReferralStatus.QUALIFIED,
        reasons=(),
        attributed_at=attributed_at,
        campaign=campaign,
        policy_version="contract",
        channel=channel,
    )


@st.composite
def reward_contexts(draw: st.DrawFn, currency: str = "USD") -> RewardContext:
    """Contexts made of plain values: any count, order number, history and spend."""
    order_number = draw(st.integers(1, 30))
    realistic = draw(st.booleans())  # else the host overrides first_order
    campaign = draw(st.sampled_from(["default", "spring"]))
    attributed = NOW - timedelta(days=draw(st.integers(0, 800)))
    referral = _bobs_referral(attributed, campaign, draw(_CHANNELS))
    conversion = Conversion(
        order_id=f"o-{order_number}",
        referee="bob",
        amount=draw(_amounts_between(currency, 0, 2_000_000)),
        occurred_at=NOW - timedelta(minutes=draw(st.integers(0, 60 * 24 * 7))),
        first_order=order_number == 1 if realistic else draw(st.booleans()),
        referral_id=referral.id,
    )
    return RewardContext(
        referral=referral,
        conversion=conversion,
        qualified=draw(st.integers(1, 60)),
        order_number=order_number,
        referrer_rewards=tuple(draw(st.lists(_past_rewards(currency), max_size=6))),
        program_spend={currency: draw(_amounts_between(currency, 0, 10_000_000))},
        program_points=draw(st.integers(0, 1_000_000)),
        campaign=campaign,
        now=NOW,
    )


@st.composite
def first_order_contexts(draw: st.DrawFn, currency: str = "USD") -> RewardContext:
    """The plain case a reward policy exists for: a referred friend's first order.

    2,000 to 50,000 minor units of ``currency`` (20.00 to 500.00 USD), placed within a
    day of the referral, the referrer's first qualified one; no history, nothing spent.
    """
    attributed = NOW - timedelta(minutes=draw(st.integers(0, 24 * 60)))
    referral = _bobs_referral(attributed, "default", draw(_CHANNELS))
    conversion = Conversion(
        order_id="o-1",
        referee="bob",
        amount=draw(_amounts_between(currency, 2_000, 50_000)),
        occurred_at=NOW,
        first_order=True,
        referral_id=referral.id,
    )
    return RewardContext(
        referral=referral,
        conversion=conversion,
        qualified=1,
        order_number=1,
        referrer_rewards=(),
        program_spend={},
        program_points=0,
        campaign="default",
        now=NOW,
    )


def _value(grant: Grant) -> Money | None:
    return grant.coupon_value if grant.kind is RewardKind.COUPON else grant.amount


def _holds_a_store(obj: object, depth: int = 0, seen: set[int] | None = None) -> str | None:
    """A path to anything with a ``transaction()`` inside ``obj`` (a store), if any."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > _MAX_DEPTH or isinstance(obj, str | bytes | int | float | Money):
        return None
    seen.add(id(obj))
    cls = type(obj)
    if callable(getattr(cls, "transaction", None)):
        return cls.__name__
    children: list[tuple[str, object]] = []
    if attrs.has(cls):
        children = [(a.name, getattr(obj, a.name, None)) for a in attrs.fields(cls)]
    elif isinstance(obj, dict):
        children = [(repr(k), v) for k, v in obj.items()]
    elif isinstance(obj, list | tuple | set | frozenset):
        children = [(str(i), v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).items())
    for name, child in children:
        found = _holds_a_store(child, depth + 1, seen)
        if found is not None:
            return f"{name}.{found}"
    return None


class PolicyContract:
    """Subclass and override the ``policy`` fixture to check a reward policy.

    The orders in the generated contexts are in ``currency`` (``"USD"`` unless the
    subclass says otherwise); override `contexts` to draw other contexts.
    """

    #: The currency of the generated orders, history and program spend.
    currency: ClassVar[str] = "USD"

    @pytest.fixture
    def policy(self) -> RewardPolicy:
        """The policy under test: override this fixture."""
        pytest.fail("override the `policy` fixture to return the policy under test")

    def contexts(self) -> st.SearchStrategy[RewardContext]:
        """The contexts the policy is evaluated on."""
        return reward_contexts(self.currency)

    def granting_contexts(self, policy: RewardPolicy) -> st.SearchStrategy[RewardContext]:
        """Contexts in which ``policy`` must grant something: by default, first orders.

        A referred friend's first order, with no history (`first_order_contexts`).
        Override for a policy that rightly grants nothing there, such as a milestone
        at the fifth referral: return contexts where it must grant.
        """
        del policy
        return first_order_contexts(self.currency)

    def evaluate(self, policy: RewardPolicy, context: RewardContext) -> Sequence[Grant]:
        """Evaluate with I/O forbidden: files, sockets, processes, SQLite."""
        with _no_io():
            return policy.evaluate(context)

    def _grants(self, policy: RewardPolicy, data: st.DataObject) -> list[Grant]:
        """Grants on a drawn context and on a context where the policy must grant.

        Fails unless the second grants something, so a check made on every grant can
        never pass by there being no grant at all.
        """
        must = data.draw(self.granting_contexts(policy), label="a context that must grant")
        granted = list(self.evaluate(policy, must))
        assert granted, (
            f"{policy.name} granted nothing on {must.conversion.amount} as a first order;"
            " if that is right, override granting_contexts() to say where it grants"
        )
        return [*self.evaluate(policy, data.draw(self.contexts())), *granted]

    # -- the contract --------------------------------------------------------------------------

    def test_satisfies_the_reward_policy_protocol(self, policy: RewardPolicy) -> None:
        """A name and an evaluate(context) method: no base class needed."""
        assert isinstance(policy, RewardPolicy)

    def test_name_is_a_stable_non_empty_string(self, policy: RewardPolicy) -> None:
        """The name recorded on rewards is the same every time, and for a copy."""
        assert isinstance(policy.name, str)
        assert policy.name.strip()
        assert policy.name == policy.name
        assert copy.deepcopy(policy).name == policy.name

    def test_declares_only_known_context_needs(self, policy: RewardPolicy) -> None:
        """``needs`` (if present) lists only the costly fields the program knows."""
        assert policy_needs(policy) <= COSTLY_CONTEXT

    def test_holds_no_store(self, policy: RewardPolicy) -> None:
        """Nothing reachable from the policy can open a transaction."""
        assert _holds_a_store(policy) is None

    @_SETTINGS
    @given(data=st.data())
    def test_returns_explained_grants(self, policy: RewardPolicy, data: st.DataObject) -> None:
        """Every grant is a Grant naming its policy, with a key and an explanation."""
        for grant in self._grants(policy, data):
            assert isinstance(grant, Grant)
            assert isinstance(grant.beneficiary, Beneficiary)
            assert isinstance(grant.kind, RewardKind)
            assert grant.policy.strip(), "a grant must name the policy that granted it"
            assert grant.explanation.strip(), "a grant must explain why it was granted"
            assert grant.key.strip(), "a grant needs a key (what makes it idempotent)"

    @_SETTINGS
    @given(data=st.data())
    def test_grants_where_it_must(self, policy: RewardPolicy, data: st.DataObject) -> None:
        """On a context from `granting_contexts` the policy grants: never granting fails."""
        assert self._grants(policy, data)

    @_SETTINGS
    @given(data=st.data())
    def test_is_deterministic(self, policy: RewardPolicy, data: st.DataObject) -> None:
        """The same context gives the same grants, from the policy and from a copy."""
        context = data.draw(self.contexts())
        first = list(self.evaluate(policy, context))
        assert list(self.evaluate(policy, context)) == first
        assert list(self.evaluate(copy.deepcopy(policy), context)) == first

    @_SETTINGS
    @given(data=st.data())
    def test_never_grants_a_negative_value(self, policy: RewardPolicy, data: st.DataObject) -> None:
        """No negative money, coupon value or points, ever."""
        for grant in self._grants(policy, data):
            value = _value(grant)
            assert value is None or value.amount >= 0, grant
            assert grant.points >= 0, grant

    @_SETTINGS
    @given(data=st.data())
    def test_money_is_in_one_currency(self, policy: RewardPolicy, data: st.DataObject) -> None:
        """With orders in ``currency``, every money grant is in ``currency`` and exact to it."""
        for grant in self._grants(policy, data):
            value = _value(grant)
            if value is not None:
                assert value.currency == self.currency, grant
                assert value.amount % minor_unit(value.currency) == 0, grant
            if grant.kind in {RewardKind.CREDIT, RewardKind.CASH}:
                assert grant.amount is not None, grant
            if grant.kind is RewardKind.COUPON:
                assert grant.coupon_value is not None, grant

    @_SETTINGS
    @given(data=st.data())
    def test_keys_are_distinct_within_one_evaluation(
        self, policy: RewardPolicy, data: st.DataObject
    ) -> None:
        """Two grants of one evaluation never share a key: the ledger would drop one."""
        grants = self.evaluate(policy, data.draw(self.contexts()))
        keys = [(g.beneficiary, g.key) for g in grants]
        assert len(keys) == len(set(keys)), keys

    @_SETTINGS
    @given(data=st.data())
    def test_fields_it_does_not_need_do_not_change_the_grants(
        self, policy: RewardPolicy, data: st.DataObject
    ) -> None:
        """The program leaves costly fields a policy does not declare empty: that is safe."""
        context = data.draw(self.contexts())
        needs = policy_needs(policy)
        bare = attrs.evolve(
            context,
            qualified=context.qualified if "qualified" in needs else 0,
            referrer_rewards=context.referrer_rewards if "referrer_rewards" in needs else (),
            program_spend=context.program_spend if "program_spend" in needs else {},
            program_points=context.program_points if "program_spend" in needs else 0,
        )
        assert list(self.evaluate(policy, bare)) == list(self.evaluate(policy, context))
