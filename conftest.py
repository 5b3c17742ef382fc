"""Runs every Python block in docs/ and the README as a test (Sybil), one namespace a page."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser


def _chdir_tmp(namespace: dict[str, object]) -> None:
    # Docs examples write files (referrals.db); keep them out of the checkout.
    tmp = tempfile.mkdtemp(prefix="referralkit-docs-")
    namespace["_old_cwd"] = Path.cwd()
    os.chdir(tmp)


def _restore(namespace: dict[str, object]) -> None:
    old = namespace.get("_old_cwd")
    if isinstance(old, Path):
        os.chdir(old)


def _sybil(path: str, patterns: list[str]) -> Sybil:
    return Sybil(
        parsers=[PythonCodeBlockParser(), SkipParser()],
        patterns=patterns,
        path=path,
        setup=_chdir_tmp,
        teardown=_restore,
    )


pytest_collect_file = (_sybil("docs", ["*.md"]) + _sybil(".", ["README.md"])).pytest()
