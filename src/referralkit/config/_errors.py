"""A `ConfigError` for every refusal, with the exact path of the field at fault."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from referralkit.errors import ConfigError

#: Tags the policy union puts in error locations; never part of a field path.
_TAG = "<{}>"


def _join(*parts: object) -> str:
    return ".".join(str(p) for p in parts if p not in (None, ""))


def _loc_path(loc: Iterable[int | str]) -> str:
    kept = [p for p in loc if not (isinstance(p, str) and (p.startswith("<") or p == "[key]"))]
    return _join(*kept)


def _config_error(error: ValidationError, prefix: str | None = None) -> ConfigError:
    """One `ConfigError` for a pydantic error: the first field's path, every problem listed."""
    problems = []
    first_path: str | None = None
    first_value: object = None
    for i, item in enumerate(error.errors(include_url=False)):
        path = _join(prefix, _loc_path(item["loc"]))
        got = item.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r:.80})"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{path or '<root>'}: {message}{shown}")
        if i == 0:
            first_path, first_value = path or None, got
    head = problems[0]
    more = "" if len(problems) == 1 else "; and " + "; ".join(problems[1:])
    return ConfigError(f"invalid configuration at {head}{more}", value=first_value, path=first_path)


def _rebased(
    error: ConfigError, prefix: str, rename: Mapping[str, str] | None = None
) -> ConfigError:
    """``error`` with its path put under ``prefix`` (a policy's path in the config).

    ``rename`` maps an argument's name to the configuration key it came from.
    """
    inner = error.path or ""
    if rename and inner in rename:
        inner = rename[inner]
    else:
        head, _, rest = inner.partition(".")
        if rename and head in rename:
            inner = _join(rename[head], rest)
    path = _join(prefix, inner) or None
    rebased = ConfigError(
        f"invalid configuration at {path}: {error.message}", value=error.value, path=path
    )
    rebased.__cause__ = error
    return rebased


def _construct(
    factory: Callable[..., Any],
    path: str,
    /,
    *args: Any,
    rename: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    try:
        return factory(*args, **kwargs)
    except ConfigError as exc:
        raise _rebased(exc, path, rename) from exc
