"""The codes package's modules import one another without a cycle.

`CodeFormat` validates and compiles a format; parsing and generation use the compiled
tables. No module of the package imports one that imports it back, not even from
inside a function; `CodeFormat.display` still parses by the normaliser's rules.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import referralkit.codes
from referralkit.codes import CodeFormat, generate_code, normalize_code
from referralkit.errors import InvalidCode
from strategies import any_text, code_formats, seeded_rng, typed_forms

PACKAGE = "referralkit.codes"


def _imports(path: Path) -> set[str]:
    """Every ``referralkit.codes`` module that the file imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith(f"{PACKAGE}.")}


def _graph() -> dict[str, set[str]]:
    folder = Path(referralkit.codes.__file__).parent
    modules = {f"{PACKAGE}.{p.stem}": p for p in folder.glob("_*.py") if p.stem != "__init__"}
    return {name: _imports(path) & set(modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle in ``graph`` (``[a, b, a]``), or ``[]``."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for target in sorted(graph[node]):
            if found := visit(target, [*path, node]):
                return found
        done.add(node)
        return []

    for start in sorted(graph):
        if found := visit(start, []):
            return found
    return []


def test_the_codes_modules_import_one_another_without_a_cycle() -> None:
    graph = _graph()
    assert f"{PACKAGE}._format" in graph
    assert _cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def _outcome(parse: Callable[[str], str], text: str) -> tuple[object, ...]:
    try:
        return ("accepted", parse(text).replace("-", ""))
    except InvalidCode as err:
        return ("refused", err.reason, str(err), err.value)


@given(code_formats(), any_text)
def test_display_refuses_exactly_what_normalize_code_refuses(fmt: CodeFormat, text: str) -> None:
    """`CodeFormat.display` parses by the normaliser's own rules, whatever it is given."""
    assert _outcome(fmt.display, text) == _outcome(lambda t: normalize_code(t, fmt), text)


@given(code_formats(), st.integers(0, 2**32), st.data())
def test_display_groups_the_canonical_code_of_any_typed_form(
    fmt: CodeFormat, seed: int, data: st.DataObject
) -> None:
    code = generate_code(fmt, rng=seeded_rng(seed))
    body = code[len(fmt.prefix) :]
    groups = [body[i : i + fmt.group] for i in range(0, len(body), fmt.group or len(body))]
    expected = "-".join(([fmt.prefix] if fmt.prefix else []) + groups) if fmt.group else code
    assert fmt.display(data.draw(typed_forms(code, fmt))) == expected
