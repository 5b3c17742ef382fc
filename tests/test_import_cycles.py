"""No two modules of the package import each other, even inside a function or for types.

A package's ``__init__`` only hands names on, so it is no node: the graph is between
the modules that define things. The check reads the source (``ast``), so an import
deferred into a function to dodge a cycle at import time still counts as one.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "referralkit"


def _modules(root: Path) -> dict[str, Path]:
    return {
        ".".join(("referralkit", *p.relative_to(root).with_suffix("").parts)): p
        for p in sorted(root.rglob("*.py"))
        if p.name != "__init__.py"
    }


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found.update(c for c in candidates if c in modules)
    return found


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def cycles(root: Path) -> list[list[str]]:
    """Every group of modules under ``root`` that import each other, directly or not."""
    modules = _modules(root)
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    reach = {m: _reachable(graph, m) for m in graph}
    groups = {
        frozenset({m} | {n for n in reach[m] if m in reach[n]}) for m in graph if m in reach[m]
    }
    return sorted(sorted(g) for g in groups)


def test_no_modules_of_the_package_import_each_other() -> None:
    assert len(_modules(SRC)) > 100  # the whole package was read
    assert cycles(SRC) == []


def test_a_deferred_back_import_is_found(tmp_path: Path) -> None:
    """The check can fail: an import inside a function that closes a loop is a cycle."""
    copy = tmp_path / "referralkit"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "metrics" / "_format.py"
    target.write_text(
        target.read_text(encoding="utf-8")
        + "\n\ndef _back() -> None:\n    from referralkit.metrics._render import label\n",
        encoding="utf-8",
    )
    (group,) = cycles(copy)
    assert {"referralkit.metrics._format", "referralkit.metrics._render"} <= set(group)
