"""The layering rule holds, and its check fails on a back-import (the check can fail)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "referralkit"
LINT_IMPORTS = shutil.which("lint-imports")

pytestmark = pytest.mark.skipif(LINT_IMPORTS is None, reason="pip install import-linter")


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(  # noqa: PLW1510 - the exit code is asserted
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command as c; c()",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
            "--no-logo",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=src,
    )


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "src"
    shutil.copytree(SRC, copy / "referralkit", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_package_keeps_its_layers() -> None:
    result = _lint(SRC.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "back_import"),
    [
        ("money.py", "import referralkit.program"),
        ("policies/_fixed.py", "from referralkit.storage import MemoryStore"),
        ("program/_core.py", "from referralkit.program import _conversions"),
    ],
)
def test_a_back_import_breaks_the_contract(tmp_path: Path, module: str, back_import: str) -> None:
    copy = _copy(tmp_path)
    target = copy / "referralkit" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{back_import}\n", encoding="utf-8")
    result = _lint(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def _opens_a_store_transaction(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "transaction"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "store"
    )


def test_only_the_core_opens_a_unit_of_work() -> None:
    """Capabilities call ``core.transaction()``; nothing else in the program opens one."""
    offenders = [
        f"{path.name}:{node.lineno}"
        for path in (SRC / "program").glob("*.py")
        if path.name != "_core.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _opens_a_store_transaction(node)
    ]
    assert offenders == []
