"""Run worker processes and threads against one store at once (not collected)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import referralkit

#: The processes import the referralkit this test imported (a checkout's src, not an install).
ENV = {**os.environ, "PYTHONPATH": str(Path(referralkit.__file__).parents[1])}


def run_together(
    commands: Sequence[Sequence[str]], work: Callable[[int], object], threads: int
) -> None:
    """Start every command as a process and ``work(i)`` on ``threads`` threads; all must succeed."""
    procs = [
        subprocess.Popen(list(c), stderr=subprocess.PIPE, text=True, env=ENV) for c in commands
    ]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # reported below, with the processes' errors
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    assert errors == []
