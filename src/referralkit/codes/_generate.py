"""Generating codes, one or a million at a time.

Bulk generation never loops over characters in Python. All randomness is drawn at
once, mapped to alphabet indices with ``bytes.translate`` (rejection sampling with
``translate(..., delete)`` when the alphabet size is not a power of two), and the
check character is computed column by column:

* over GF(2^k) the Damm fold is linear: ``check = XOR_i a^(e_i)·d_i``. Each body
  position's column ``raw[i::L]`` is translated through its multiply-by-``a^e``
  table and the columns are XORed together as big integers;
* for other alphabets each column is folded through the quasigroup with ``map``
  over the row tables (C-level iteration, no Python frame per character).

Columns are interleaved into one buffer with slice assignment, translated to ASCII
once, and split into codes.
"""

from __future__ import annotations

import math
import operator
import secrets
import sys
from collections.abc import Callable, Iterable
from itertools import filterfalse

from referralkit.codes._format import CodeFormat, resolve_format
from referralkit.codes._parse import canonical_or_none
from referralkit.codes._tables import SEPARATOR_INDEX, Tables
from referralkit.errors import ConfigError, InvalidInput

__all__ = ["generate_code", "generate_codes"]

#: ``rng(nbytes) -> bytes``: where randomness comes from (``secrets.token_bytes`` by default).
Rng = Callable[[int], bytes]

#: Codes drawn per batch, so a huge request never holds all its buffers at once.
_BATCH = 1 << 20
#: Top-up rounds in a row that may add nothing before the rng is declared broken.
_MAX_IDLE_ROUNDS = 64
#: The most codes one call generates; more is a request to make in batches.
MAX_CODES = 10_000_000
_BYTEORDER = sys.byteorder


def generate_code(fmt: CodeFormat | None = None, *, rng: Rng | None = None) -> str:
    """One fresh code in canonical form (prefix, random characters, check character).

    ``rng(nbytes) -> bytes`` replaces :func:`secrets.token_bytes` (for tests).
    """
    tables = resolve_format(fmt)._tables  # noqa: SLF001
    return _one(tables, _rng(rng))


def generate_codes(
    n: int,
    fmt: CodeFormat | None = None,
    exclude: Iterable[str] = (),
    *,
    rng: Rng | None = None,
    max_guess_probability: float = 1e-4,
) -> list[str]:
    """``n`` distinct fresh codes in canonical form, none of them in ``exclude``.

    ``exclude`` holds codes already issued, in any typed form (lower case, dashes).
    The request is refused when the codes would fill too much of the format's space:
    when ``(n + len(exclude)) / fmt.space`` exceeds ``max_guess_probability``, one
    random guess would hit an issued code with more than that probability.

    Raises:
        InvalidInput: ``n`` is not an int from 0 to `MAX_CODES`, ``exclude`` is not an
            iterable of codes, or ``max_guess_probability`` is not a number above 0 and
            at most 1.
        ConfigError: ``fmt`` is not a `CodeFormat`, the format is too small for that
            many codes (the message says which length is safe), or ``rng`` misbehaves.
    """
    n = _count(n)
    fmt = resolve_format(fmt)
    tables = fmt._tables  # noqa: SLF001
    excluded = {c for x in _iterable(exclude) if (c := canonical_or_none(x, tables))}
    _check_density(n + len(excluded), fmt, _probability(max_guess_probability))
    draw = _rng(rng)
    if n == 0:
        return []
    # A dict dedupes and keeps the order of drawing, so an injected rng gives a
    # reproducible list (a set would order by the per-process string hash).
    codes: dict[str, None] = {}
    idle = 0
    while len(codes) < n:
        missing = n - len(codes)
        before = len(codes)
        # A few extra codes cover duplicates and exclusions without another round.
        batch: Iterable[str] = _batch(min(missing + missing // 1024 + 8, _BATCH), tables, draw)
        if excluded:
            batch = filterfalse(excluded.__contains__, batch)
        if codes:
            codes.update(dict.fromkeys(batch))
        else:
            codes = dict.fromkeys(batch)
        idle = idle + 1 if len(codes) == before else 0
        if idle >= _MAX_IDLE_ROUNDS:
            raise ConfigError(
                "the rng keeps producing codes that are already taken; is it random?",
                value=draw,
                path="rng",
            )
    out = list(codes)
    del out[n:]
    return out


def _count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidInput(f"n must be a non-negative int, not {n!r}", value=n, field="n")
    if n > MAX_CODES:
        raise InvalidInput(
            f"n is at most {MAX_CODES:,} codes a call, not {n:,}: generate in batches, "
            "passing the codes issued so far as exclude",
            value=n,
            field="n",
        )
    return n


def _iterable(exclude: object) -> Iterable[object]:
    if isinstance(exclude, str | bytes) or not isinstance(exclude, Iterable):
        raise InvalidInput(
            f"exclude must be an iterable of codes (a list, a set), not {type(exclude).__name__}",
            value=exclude,
            field="exclude",
        )
    return exclude


def _probability(limit: object) -> float:
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int | float)
        or not math.isfinite(limit)
        or not 0 < limit <= 1
    ):
        raise InvalidInput(
            f"max_guess_probability must be a number above 0 and at most 1, not {limit!r}",
            value=limit,
            field="max_guess_probability",
        )
    return float(limit)


def _rng(rng: object) -> Rng:
    if rng is None:
        return secrets.token_bytes
    if not callable(rng):
        raise ConfigError(
            f"rng must be a function rng(nbytes) -> bytes, not {type(rng).__name__}",
            value=rng,
            path="rng",
        )
    return rng


def _check_density(total: int, fmt: CodeFormat, limit: float) -> None:
    space = fmt.space
    if total <= limit * space:
        return
    n = len(fmt.alphabet)
    random_chars = fmt.random_chars
    while n**random_chars * limit < total:
        random_chars += 1
    safe = random_chars + (1 if fmt.check else 0)
    raise ConfigError(
        f"{total} codes would fill {total / space:.2g} of the {space} possible codes of "
        f"length {fmt.length}: a random guess would hit one with probability above "
        f"{limit:g}; use length={safe} or more",
        value=total,
        path="length",
    )


def _random_bytes(draw: Rng, count: int) -> bytes:
    try:
        raw: object = draw(count)
    except Exception as exc:
        raise ConfigError(
            f"rng({count}) failed: {type(exc).__name__}: {exc}", value=draw, path="rng"
        ) from exc
    if isinstance(raw, bytes | bytearray) and len(raw) == count:
        return bytes(raw)
    raise ConfigError(
        f"rng({count}) must return {count} bytes, not {type(raw).__name__} "
        f"of length {len(raw) if isinstance(raw, bytes | bytearray) else '?'}",
        value=draw,
        path="rng",
    )


def _indices(count: int, tables: Tables, draw: Rng) -> bytes:
    """``count`` uniform alphabet indices."""
    if not tables.reject:  # the alphabet size divides 256: b % n is uniform
        return _random_bytes(draw, count).translate(tables.mod_table)
    out = bytearray()
    accept = 256 - len(tables.reject)
    while len(out) < count:
        missing = count - len(out)
        ask = missing * 256 // accept + missing // 64 + 16
        out += _random_bytes(draw, ask).translate(tables.mod_table, tables.reject)
    del out[count:]
    return bytes(out)


def _check_column(columns: list[bytes], count: int, tables: Tables) -> bytes:
    """The check character index of each code, from the body's columns."""
    if tables.weights:
        acc = 0
        for column, weight in zip(columns, tables.weights, strict=True):
            acc ^= int.from_bytes(column.translate(weight), _BYTEORDER)
        return acc.to_bytes(count, _BYTEORDER)
    rows = tables.rows
    getitem = operator.getitem
    state = columns[0].translate(rows[tables.prefix_state])
    for column in columns[1:]:
        state = bytes(map(getitem, map(rows.__getitem__, state), column))
    return state.translate(tables.to_zero)


def _one(tables: Tables, draw: Rng) -> str:
    """``_batch(1, tables, draw)[0]``, folding the check character a byte at a time."""
    idx = _indices(tables.random_chars, tables, draw)
    if tables.quasigroup is None:
        return (tables.prefix_indices + idx).translate(tables.to_ascii).decode("ascii")
    if tables.weights:
        check = 0
        for x, weight in zip(idx, tables.weights, strict=True):
            check ^= weight[x]
    else:
        rows = tables.rows
        state = tables.prefix_state
        for x in idx:
            state = rows[state][x]
        check = tables.to_zero[state]
    code = tables.prefix_indices + idx + bytes((check,))
    return code.translate(tables.to_ascii).decode("ascii")


def _batch(count: int, tables: Tables, draw: Rng) -> list[str]:
    """``count`` codes, possibly with duplicates."""
    r = tables.random_chars
    prefix = tables.prefix_indices
    p = len(prefix)
    width = tables.total
    stride = width + 1
    idx = _indices(count * r, tables, draw)
    columns = [idx[i::r] for i in range(r)]
    buf = bytearray(count * stride)
    for j, value in enumerate(prefix):
        buf[j::stride] = bytes((value,)) * count
    for i, column in enumerate(columns):
        buf[p + i :: stride] = column
    if tables.quasigroup is not None:
        buf[p + r :: stride] = _check_column(columns, count, tables)
    buf[width::stride] = bytes((SEPARATOR_INDEX,)) * count
    return buf.translate(tables.to_ascii).decode("ascii").split()
