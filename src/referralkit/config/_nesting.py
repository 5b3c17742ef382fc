"""How deeply a configuration may nest: checked on the text before parsing, and on the data.

Parsers and validators recurse once per level, so a file of a thousand ``[`` would end
in a `RecursionError`; no real program nests anywhere near `MAX_DEPTH` levels (a policy
inside a policy takes two). Too deep is a `ConfigError` that says where.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from referralkit.errors import ConfigError

__all__ = ["MAX_DEPTH", "check_data_depth", "check_text_depth"]

#: The most levels of objects and arrays a configuration may nest (the outermost is 1).
MAX_DEPTH = 64

# What opens or closes a level, and what to skip: strings and comments. A TOML dotted key
# (``a.b.c = 1``, ``[a.b.c]``) nests a level per dot, counted on its line.
_JSON_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|[\[\]{}]')
_TOML_TOKENS = re.compile(
    r'"""(?:\\[\s\S]|[^\\])*?"""'
    r"|'''[\s\S]*?'''"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'[^'\n]*'"
    r"|#[^\n]*"
    r"|[\[\]{}.\n]"
)
_OPEN = frozenset("[{")
_CLOSE = frozenset("]}")


def _too_deep(where: str) -> ConfigError:
    return ConfigError(
        f"the configuration nests deeper than {MAX_DEPTH} levels {where}", value=MAX_DEPTH
    )


def check_text_depth(text: str, syntax: Literal["json", "toml"]) -> None:
    """Refuse ``text`` nesting more than `MAX_DEPTH` levels, before a parser recurses into it.

    Counts brackets and braces outside strings (and comments), and in TOML the dots of a
    dotted key; a count that errs does so on the high side.
    """
    depth = dots = 0
    tokens = _JSON_TOKENS if syntax == "json" else _TOML_TOKENS
    for match in tokens.finditer(text):
        lexeme = match.group()
        if lexeme in _OPEN:
            depth += 1
        elif lexeme in _CLOSE:
            depth = max(depth - 1, 0)
        elif lexeme == ".":
            dots += 1
        elif lexeme == "\n":
            dots = 0
        else:
            continue
        if depth + dots > MAX_DEPTH:
            start = match.start()
            line = text.count("\n", 0, start) + 1
            column = start - (text.rfind("\n", 0, start) + 1) + 1
            raise _too_deep(f"(at line {line} column {column})")


def check_data_depth(data: object, path: str | None = None) -> None:
    """Refuse ``data`` (dicts and lists, as parsed) nesting more than `MAX_DEPTH` levels.

    Walks without recursion, so a structure that contains itself is refused too. The
    error's ``.path`` is the first field found too deep, under ``path``.
    """
    stack: list[tuple[object, int, tuple[object, ...]]] = [(data, 1, ())]
    while stack:
        value, depth, keys = stack.pop()
        if isinstance(value, Mapping):
            children = list(value.items())
        elif isinstance(value, list | tuple):
            children = list(enumerate(value))
        else:
            continue
        if depth > MAX_DEPTH:
            where = ".".join(str(k) for k in (path, *keys) if k not in (None, ""))
            error = _too_deep(f"at {where}" if where else "")
            error.path = where or None
            raise error
        stack.extend((child, depth + 1, (*keys, key)) for key, child in children)
