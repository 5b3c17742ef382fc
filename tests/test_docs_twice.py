"""Every docs page (and the README) runs as printed twice, and after any other page.

A reader copies a page's blocks and runs them, then runs them again, or runs another
page in the same folder: nothing a page leaves behind (a database, a report) may make
a page fail. The Sybil collection in ``conftest.py`` runs each page once in a fresh
folder; here every page runs in one shared folder, all in order and then all in reverse,
so each page meets its own leftovers and runs both before and after every other page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
_SYBIL = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()], path=str(ROOT))


def _run(page: Path) -> None:
    for example in _SYBIL.parse(page):  # a fresh namespace each time, as a new reader's
        example.evaluate()


@pytest.mark.slow
def test_every_page_runs_twice_and_in_either_order_in_one_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert len(PAGES) > 10
    ran: list[str] = []
    for page in [*PAGES, *reversed(PAGES)]:
        name = str(page.relative_to(ROOT))
        try:
            _run(page)
        except Exception as exc:  # any failure is reported with its page
            pytest.fail(f"{name} failed after {ran[-3:]} in the same folder: {exc!r}")
        ran.append(name)
