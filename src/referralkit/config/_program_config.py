"""A whole program as data: `ProgramConfig`, its guards, campaigns and code format."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from referralkit.campaigns import Campaign
from referralkit.codes import CROCKFORD, CodeFormat
from referralkit.config._errors import _config_error, _construct, _join
from referralkit.config._nesting import check_data_depth, check_text_depth
from referralkit.config._policy_specs import PolicySpec, _create, _known, _Spec
from referralkit.config._values import DurationField, HoldField, LinkBase, Name
from referralkit.errors import ConfigError
from referralkit.metrics import Attribution
from referralkit.metrics._attribution import DEFAULT_WINDOW
from referralkit.policies import policy_version
from referralkit.protocols import Guard
from referralkit.registry import GUARD_REGISTRY

# -- guards, code formats, campaigns ----------------------------------------------------------


_GUARD_EXAMPLES: dict[str, Any] = {"examples": GUARD_REGISTRY.builtin_names()}


class GuardSpec(_Spec):
    """A guard by name, with its parameters beside the name: ``{"guard": "velocity", ...}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    guard: str = Field(
        description="The registered name of a guard.",
        json_schema_extra=_GUARD_EXAMPLES,
    )

    @field_validator("guard")
    @classmethod
    def _registered(cls, name: str) -> str:
        return _known(GUARD_REGISTRY, name)

    def build(self, path: str = "guards.0") -> Guard:
        """The guard, its parameters converted by its signature."""
        result: Guard = _create(GUARD_REGISTRY, self.guard, dict(self.model_extra or {}), path)
        return result


class AttributionSpec(_Spec):
    """Which click earns a referee: the first or the last within the window."""

    model: Literal["first_touch", "last_touch"] = "last_touch"
    window: DurationField = Field(
        default=DEFAULT_WINDOW, description="How long a click can still earn the referee."
    )

    def build(self, path: str = "attribution") -> Attribution:
        """The `referralkit.metrics.Attribution` settings."""
        result: Attribution = _construct(Attribution, path, model=self.model, window=self.window)
        return result


class CodeFormatSpec(_Spec):
    """The shape of generated codes (see `referralkit.CodeFormat`)."""

    length: StrictInt = 8
    prefix: str = ""
    check: StrictBool = True
    group: StrictInt = 4
    alphabet: str = CROCKFORD

    def build(self, path: str = "code_format") -> CodeFormat:
        """`CodeFormat`."""
        result: CodeFormat = _construct(CodeFormat, path, **self.model_dump())
        return result


_RewardKindName = Literal["credit", "cash", "coupon", "points", "perk"]


class CampaignSpec(_Spec):
    """A campaign: name, dates, its own policy (else the program's), code format, links."""

    name: Name
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    policy: PolicySpec | None = None
    code_format: CodeFormatSpec | None = None
    link_base: LinkBase | None = None
    channels: list[Name] = Field(default_factory=list)
    policy_version: Name | None = Field(
        default=None, description="The name of this campaign's terms (derived when left out)."
    )

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime | None, info: Any) -> datetime | None:
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            msg = f"end must be after start ({start.isoformat()})"
            raise ValueError(msg)
        return end

    @field_validator("channels")
    @classmethod
    def _distinct(cls, channels: list[str]) -> list[str]:
        if len(set(channels)) != len(channels):
            msg = "channels must not repeat"
            raise ValueError(msg)
        return channels

    def build(self, path: str = "campaigns.0") -> Campaign:
        """The `Campaign`."""
        return Campaign(
            name=self.name,
            policy=None if self.policy is None else self.policy.build(_join(path, "policy")),
            start=self.start,
            end=self.end,
            code_format=None
            if self.code_format is None
            else self.code_format.build(_join(path, "code_format")),
            link_base=self.link_base,
            channels=tuple(self.channels),
            policy_version=self.policy_version,
        )


# -- the program ---------------------------------------------------------------------------------


class _Built:
    """What `ProgramConfig.check` built, kept for one `program_kwargs` call.

    Every holder equals every other and pickles empty: what was built is never part of
    what a configuration is.
    """

    __slots__ = ("_kept",)

    def __init__(self) -> None:
        self._kept: list[dict[str, Any]] = []

    def keep(self, kwargs: dict[str, Any]) -> None:
        """Keep ``kwargs`` for the next `take`, instead of anything kept before."""
        self._kept[:] = [kwargs]

    def take(self) -> dict[str, Any] | None:
        """What was kept, once; None when nothing is (any more)."""
        try:
            return self._kept.pop()
        except IndexError:
            return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Built)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[_Built], tuple[()]]:
        return (_Built, ())

    def __repr__(self) -> str:
        return "_Built()"


class ProgramConfig(BaseModel):
    """A whole referral program: policy, guards, hold, codes, links, campaigns, terms.

    Load it with `from_dict`, `from_json`, `from_toml` or `load` (a ``.json`` or
    ``.toml`` file): each validates the structure, then builds every policy and guard
    once, so an invalid program is refused at load time with a `ConfigError` pointing
    at the field. ``guards`` left out means the program's default guards; ``[]`` means
    none. ``terms`` lists earlier policies whose promises still stand for referrals
    attributed under them.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, title="referralkit program"
    )

    schema_ref: str | None = Field(
        default=None, alias="$schema", description="The JSON Schema this file follows."
    )
    policy: PolicySpec = Field(description="The program's reward policy.")
    guards: list[GuardSpec] | None = Field(
        default=None, description="Guards run on every attribution (default: the program's)."
    )
    hold: HoldField = Field(
        default=timedelta(days=14),
        description=(
            "How long rewards are held before release: one duration, or durations by"
            " 'default', beneficiary ('referrer', 'referee'), reward kind ('coupon', ...)"
            " or both ('referee.coupon')."
        ),
    )
    policy_version: Name | None = Field(
        default=None, description="The name of the program policy's terms (derived when left out)."
    )
    order_grace: DurationField = Field(
        default=timedelta(0),
        description="An order placed up to this long before its referral still counts.",
    )
    coupon_expiry: DurationField | None = Field(
        default=None, description="How long a coupon reward stays usable once available."
    )
    net_clawbacks: list[_RewardKindName] = Field(
        default_factory=lambda: list[_RewardKindName](("cash", "credit")),
        description="Reward kinds netted against a customer's clawbacks as they become available.",
    )
    signup_reward: PolicySpec | None = Field(
        default=None,
        description=(
            "Granted when a referral is accepted, before any order"
            " (fixed, or double_sided of fixed)."
        ),
    )
    code_format: CodeFormatSpec = Field(default_factory=CodeFormatSpec)
    link_base: LinkBase | None = None
    sign_links: StrictBool = True
    campaign: Name = Field(default="default", description="The campaign codes get by default.")
    campaigns: list[CampaignSpec] = Field(default_factory=list)
    attribution: AttributionSpec = Field(
        default_factory=AttributionSpec, description="How clicks earn referees."
    )
    terms: list[PolicySpec] = Field(
        default_factory=list,
        description="Earlier policies still honoured for referrals attributed under them.",
    )

    _FILE_TYPES: ClassVar[tuple[str, ...]] = (".json", ".toml")
    _built: _Built = PrivateAttr(default_factory=_Built)

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProgramConfig:
        """Validate a program given as plain data (as parsed from JSON or TOML).

        Raises:
            ConfigError: ``.path`` names the field at fault; data nested deeper than
                `MAX_DEPTH` levels is refused before it is validated.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"a program configuration is an object (a dict), not {type(data).__name__}",
                value=data,
            )
        check_data_depth(data)
        try:
            config = cls.model_validate(dict(data))
        except ValidationError as exc:
            raise _config_error(exc) from None
        config.check()
        return config

    @classmethod
    def from_json(cls, text: str | bytes) -> ProgramConfig:
        """Validate a program written as JSON text (``str``, or ``bytes`` in UTF-8/16/32)."""
        if isinstance(text, bytes | bytearray):
            raw = bytes(text)
            try:
                text = raw.decode(json.detect_encoding(raw))
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"JSON bytes cannot be decoded as UTF-8, UTF-16 or UTF-32: {exc.reason}",
                    value=raw[:40],
                ) from None
        if not isinstance(text, str):
            raise ConfigError(f"JSON text is a str or bytes, not {type(text).__name__}", value=text)
        check_text_depth(text, "json")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", value=exc.pos
            ) from None
        except (ValueError, RecursionError) as exc:  # a number too long to read, say
            raise ConfigError(f"invalid JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_toml(cls, text: str) -> ProgramConfig:
        """Validate a program written as TOML text (Python 3.10 needs ``tomli``)."""
        if not isinstance(text, str):
            raise ConfigError(
                f"TOML text is a str (decode bytes as UTF-8 first), not {type(text).__name__}",
                value=text,
            )
        check_text_depth(text, "toml")
        try:
            data = _toml_loads(text)
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"invalid TOML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ProgramConfig:
        """Read a ``.json`` or ``.toml`` program file."""
        if not isinstance(path, str | os.PathLike):
            raise ConfigError(
                f"a program file is a path (str or pathlib.Path), not {type(path).__name__}",
                value=path,
            )
        try:
            file = Path(path)
        except TypeError:  # a PathLike that names bytes
            raise ConfigError("a program file is a str path", value=path) from None
        suffix = file.suffix.lower()
        if suffix not in cls._FILE_TYPES:
            raise ConfigError(
                f"a program file ends in .json or .toml, not {file.name!r}", value=str(file)
            )
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {file}: {exc.strerror}", value=str(file)) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file} is not UTF-8 text: {exc.reason}", value=str(file)) from exc
        except ValueError as exc:  # a NUL or a lone surrogate in the path
            raise ConfigError(f"cannot read {file!r}: {exc}", value=str(file)) from exc
        return cls.from_json(text) if suffix == ".json" else cls.from_toml(text)

    def check(self) -> None:
        """Build everything once, so semantic errors surface with their paths now.

        What it builds is kept for the next `program_kwargs` of this configuration.

        Raises:
            ConfigError: a policy or guard refuses its parameters, or two campaigns
                share a name.
        """
        seen: dict[str, int] = {}
        for i, campaign in enumerate(self.campaigns):
            if campaign.name in seen:
                raise ConfigError(
                    f"invalid configuration at campaigns.{i}.name: campaign {campaign.name!r}"
                    f" is already defined at campaigns.{seen[campaign.name]}",
                    value=campaign.name,
                    path=f"campaigns.{i}.name",
                )
            seen[campaign.name] = i
        self._built.keep(_build(self))

    # -- writing ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data that `from_dict` reads back into an equal configuration."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text that `from_json` reads back into an equal configuration."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of program files, for editors (``"$schema"`` may point at it)."""
        schema = cls.model_json_schema(by_alias=True)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_json_schema(target: str | os.PathLike[str] | IO[str] | None = None) -> str:
    """The JSON Schema of `ProgramConfig` as text; also written to ``target`` if given.

    ``target`` is a file path or an open text stream (``sys.stdout``), handy for a CLI:
    ``python -m referralkit.config > referralkit.schema.json``.
    """
    text = json.dumps(ProgramConfig.json_schema(), indent=2) + "\n"
    if target is None:
        return text
    if isinstance(target, str | os.PathLike):
        try:
            Path(target).write_text(text, encoding="utf-8")
        except (OSError, TypeError, ValueError) as exc:  # a directory, a NUL, bytes in a PathLike
            raise ConfigError(
                f"cannot write the schema to {target!r}: {exc}", value=target
            ) from exc
    elif callable(getattr(target, "write", None)):
        target.write(text)
    else:
        raise ConfigError(
            f"target is a file path or a text stream, not {type(target).__name__}", value=target
        )
    return text


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - the standard library's, from 3.11

        return tomllib.loads(text)
    try:  # pragma: no cover - Python 3.10 only
        tomli = importlib.import_module("tomli")
    except ImportError:  # pragma: no cover
        raise ConfigError(
            "reading TOML on Python 3.10 needs the tomli package: pip install tomli"
        ) from None
    loaded: dict[str, Any] = tomli.loads(text)  # pragma: no cover
    return loaded  # pragma: no cover


# -- building ------------------------------------------------------------------------------------

_GUARD_SPEC: TypeAdapter[GuardSpec] = TypeAdapter(GuardSpec)


def build_guards(
    specs: Iterable[Mapping[str, Any] | GuardSpec | Guard], *, path: str = "guards"
) -> list[Guard]:
    """The guards a configuration lists: ``[{"guard": "velocity", "limit": 20}]``.

    Guard objects are kept as they are. Errors are `ConfigError` with paths under ``path``.
    """
    raw: object = specs
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        raise ConfigError("guards must be a list", value=specs, path=path)
    guards: list[Guard] = []
    for i, spec in enumerate(specs):
        where = _join(path, i)
        if isinstance(spec, GuardSpec):
            guards.append(spec.build(where))
        elif isinstance(spec, Guard):
            guards.append(spec)
        else:
            check_data_depth(spec, where)
            try:
                validated = _GUARD_SPEC.validate_python(spec)
            except ValidationError as exc:
                raise _config_error(exc, where) from None
            guards.append(validated.build(where))
    return guards


def program_kwargs(config: ProgramConfig) -> dict[str, Any]:
    """Keyword arguments for `ReferralProgram` (besides ``store``, ``secret`` and ``clock``).

    Keys: ``policy``, ``hold``, ``policy_version``, ``order_grace``, ``coupon_expiry``,
    ``net_clawbacks``, ``signup_reward``, ``code_format``, ``link_base``, ``sign_links``,
    ``campaign`` (the default campaign's name), ``campaigns`` (a tuple of `Campaign`),
    ``terms`` (earlier policies by `policy_version`), ``attribution`` (the click
    attribution model and window), and ``guards`` when the configuration lists them.

    The first call after `ProgramConfig.check` (which `from_dict` and the other loaders
    run) returns what the check built, so loading and starting a program builds every
    policy and guard once; later calls build afresh, so two programs never share
    guard or policy objects.
    """
    if not isinstance(config, ProgramConfig):
        raise ConfigError(
            "program_kwargs takes a ProgramConfig (load one with ProgramConfig.from_dict), "
            f"not {type(config).__name__}",
            value=config,
        )
    kept = config._built.take()  # noqa: SLF001 - kept by this module's own check()
    return _build(config) if kept is None else kept


def _build(config: ProgramConfig) -> dict[str, Any]:
    """Build every policy, guard, format and campaign ``config`` describes."""
    kwargs: dict[str, Any] = {
        "policy": config.policy.build("policy"),
        "hold": config.hold,
        "policy_version": config.policy_version,
        "order_grace": config.order_grace,
        "coupon_expiry": config.coupon_expiry,
        "net_clawbacks": tuple(config.net_clawbacks),
        "signup_reward": None
        if config.signup_reward is None
        else config.signup_reward.build("signup_reward"),
        "code_format": config.code_format.build("code_format"),
        "link_base": config.link_base,
        "sign_links": config.sign_links,
        "campaign": config.campaign,
        "campaigns": tuple(c.build(_join("campaigns", i)) for i, c in enumerate(config.campaigns)),
        "attribution": config.attribution.build("attribution"),
        "terms": {
            policy_version(p): p
            for p in (spec.build(_join("terms", i)) for i, spec in enumerate(config.terms))
        },
    }
    if config.guards is not None:
        kwargs["guards"] = [g.build(_join("guards", i)) for i, g in enumerate(config.guards)]
    return kwargs
