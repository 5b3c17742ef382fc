"""Runs every Python block in docs/ as a test (Sybil), each page in its own namespace."""

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


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["*.md"],
    path="docs",
    setup=_chdir_tmp,
    teardown=_restore,
).pytest()
