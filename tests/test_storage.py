"""The built-in adapters run the very same contract suite a host's adapter would."""

from __future__ import annotations

from pathlib import Path

import pytest

from referralkit.protocols import Store
from referralkit.testing import StoreContract


class TestBuiltinStores(StoreContract):
    """Memory, a SQLite file and SQLite in memory: the conftest ``store`` fixture's params."""

    @pytest.fixture
    def store(self, store: Store) -> Store:
        return store


def _storage_imports() -> dict[str, set[str]]:
    """Storage modules each storage module imports: at the top, in functions, for types."""
    import ast

    import referralkit.storage

    folder = Path(referralkit.storage.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        name = f"referralkit.storage.{path.stem}"
        found = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    return {m: {i for i in imports if i in graph and i != m} for m, imports in graph.items()}


def test_no_two_storage_modules_import_each_other() -> None:
    """Memory tables and SQLite codecs have their own modules: storage imports form no cycle."""
    graph = _storage_imports()
    assert "referralkit.storage._memory" in graph["referralkit.storage.__init__"]

    def cycle_from(start: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == start:
                return (*path, nxt)
            if nxt not in path:
                found = cycle_from(start, (*path, nxt))
                if found:
                    return found
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m, (m,)))]
    assert cycles == []
