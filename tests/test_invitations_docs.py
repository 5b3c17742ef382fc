"""The invitation and waitlist recipe runs as printed, twice over, to the same outcome."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RECIPE = Path(__file__).parent.parent / "docs" / "how-to" / "invitations.md"


def _blocks() -> str:
    return "\n".join(re.findall(r"```python\n(.*?)```", RECIPE.read_text(), re.DOTALL))


def test_the_invitation_recipe_runs_twice_to_the_same_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = compile(_blocks(), str(RECIPE), "exec")
    outcomes = []
    for _ in range(2):
        namespace: dict[str, object] = {}
        exec(code, namespace)
        outcomes.append((namespace["facts"], namespace["waiting"]))
    assert outcomes[0] == outcomes[1]
