"""Every built-in adapter has every member of every protocol it claims, with the same signature.

A protocol is checked by mypy where a store is passed as a `Store`; this also catches a
parameter renamed, reordered, or given another default on one adapter only, which
keyword callers would trip over.
"""

from __future__ import annotations

import inspect

import pytest

from referralkit.invitee import CLAIMS, DISPLAY_NAMES
from referralkit.model import ReferralCode
from referralkit.moments import DELIVERIES, MOMENTS
from referralkit.program import GROUPS, INVITATIONS, WAITLIST
from referralkit.protocols import (
    CLICKS,
    META,
    CodeRepository,
    MeasurableStore,
    Store,
    UnitOfWork,
    _protocol_members,
)
from referralkit.testing._store_base import CORE

STORE_PROTOCOLS = (Store, MeasurableStore)


def _shape(function: object) -> list[tuple[str, object, object, object]]:
    """Parameters after ``self``: name, kind, default and annotation (as written)."""
    parameters = list(inspect.signature(function).parameters.values())[1:]  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default, p.annotation) for p in parameters]


def _claims(store: Store) -> list[tuple[str, object, type]]:
    """(where, implementation, protocol) for the store, its unit of work and each repository."""
    with store.transaction() as uow:
        claims: list[tuple[str, object, type]] = [
            (type(store).__name__, store, protocol) for protocol in STORE_PROTOCOLS
        ]
        claims.append(("unit of work", uow, UnitOfWork))
        claims += [
            (f"uow.{c.attribute}", getattr(uow, c.attribute), c.protocol)
            for c in (
                *CORE,
                CLICKS,
                META,
                MOMENTS,
                DELIVERIES,
                DISPLAY_NAMES,
                CLAIMS,
                GROUPS,
                INVITATIONS,
                WAITLIST,
            )
        ]
    return claims


def _differences(where: str, implementation: object, protocol: type) -> list[str]:
    found = []
    for name in _protocol_members(protocol):
        declared = inspect.getattr_static(protocol, name)
        if not hasattr(implementation, name):
            found.append(f"{where} has no {name} ({protocol.__name__})")
        elif inspect.isfunction(declared):
            actual = inspect.getattr_static(type(implementation), name, None)
            if not inspect.isfunction(actual):
                found.append(f"{where}.{name} is not a method ({protocol.__name__})")
            elif _shape(actual) != _shape(declared):
                found.append(
                    f"{where}.{name}{inspect.signature(actual)} differs from"
                    f" {protocol.__name__}.{name}{inspect.signature(declared)}"
                )
    return found


def test_every_built_in_adapter_has_every_protocol_member_with_its_signature(
    store: Store,
) -> None:
    differences = [d for claim in _claims(store) for d in _differences(*claim)]
    assert differences == []


def test_the_claims_cover_every_repository_of_the_unit_of_work() -> None:
    assert [c.attribute for c in CORE] == _protocol_members(UnitOfWork)


class _Renamed:
    """A code repository with one parameter renamed and one added."""

    def add(self, kode: ReferralCode) -> ReferralCode:
        return kode

    def get(self, code: str) -> ReferralCode | None:
        return None

    def find(self, key: str) -> ReferralCode | None:
        return None

    def for_owner(self, owner: str, limit: int = 10) -> list[ReferralCode]:
        return []


def test_a_renamed_or_extra_parameter_is_a_difference() -> None:
    differences = _differences("uow.codes", _Renamed(), CodeRepository)
    assert [d.split("(")[0] for d in differences] == ["uow.codes.add", "uow.codes.for_owner"]
    assert "differs from CodeRepository.add(self, code: 'ReferralCode')" in differences[0]


@pytest.mark.parametrize("missing", ["add", "get", "for_owner"])
def test_a_missing_method_is_a_difference(missing: str) -> None:
    members = {n: getattr(_Renamed, n) for n in ("add", "get", "for_owner") if n != missing}
    partial = type("Partial", (), members)()
    assert f"uow.codes has no {missing} (CodeRepository)" in _differences(
        "uow.codes", partial, CodeRepository
    )
