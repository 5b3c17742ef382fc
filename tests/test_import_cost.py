"""``import referralkit`` stays cheap: the heavy parts of metrics load on first use.

The report and the forecast are pydantic models and the HTML page draws with plotly;
a shop that only attributes and converts never pays for them. Each check runs in a
fresh interpreter, since this test session has long loaded everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

# Loaded only when a metrics call needs them.
HEAVY_PACKAGES = ("pydantic", "pydantic_core", "plotly")
HEAVY_METRICS = (
    "referralkit.metrics._html",
    "referralkit.metrics._render",
    "referralkit.metrics._report",
    "referralkit.metrics._simulate",
)


def _fresh(code: str) -> Any:
    """Run ``code`` in a new interpreter; it prints one JSON value, returned here."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def _heavy(modules: list[str]) -> list[str]:
    return sorted(
        m for m in modules if m.split(".")[0] in HEAVY_PACKAGES or m.startswith(HEAVY_METRICS)
    )


@pytest.mark.parametrize("statement", ["import referralkit", "import referralkit.metrics"])
def test_importing_loads_no_pydantic_no_plotly_no_report_or_simulator(statement: str) -> None:
    loaded = _fresh(f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))")
    assert _heavy(loaded) == []


def test_a_lazy_name_loads_its_module_on_first_use() -> None:
    """The probe above can see a load: asking for the report brings pydantic in."""
    loaded = _fresh(
        "import json, sys, referralkit.metrics as m; m.MetricsReport; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    assert {"pydantic", "referralkit.metrics._report"} <= set(_heavy(loaded))
    assert "referralkit.metrics._simulate" not in loaded


def test_every_metrics_name_resolves_to_the_object_its_module_defines() -> None:
    """In a fresh interpreter, every name of ``__all__`` is the defining module's own."""
    wrong = _fresh(
        "import json, referralkit.metrics as m\n"
        "wrong = []\n"
        "for name in m.__all__:\n"
        "    obj = getattr(m, name)\n"
        "    home = getattr(obj, '__module__', None) or ''\n"
        "    if home.startswith('referralkit.metrics._'):\n"
        "        import importlib\n"
        "        if getattr(importlib.import_module(home), name, obj) is not obj:\n"
        "            wrong.append(name)\n"
        "print(json.dumps(wrong))"
    )
    assert wrong == []


def test_lazy_names_import_by_name_and_are_listed() -> None:
    from referralkit import metrics
    from referralkit.metrics import (
        BREAKDOWNS,
        MetricsReport,
        format_forecast,
        format_report,
        render_html,
        simulate,
        write_html,
    )
    from referralkit.metrics._html import render_html as defined_render_html
    from referralkit.metrics._report import MetricsReport as DefinedMetricsReport
    from referralkit.metrics._simulate import simulate as defined_simulate

    assert MetricsReport is DefinedMetricsReport
    assert simulate is defined_simulate
    assert render_html is defined_render_html
    assert callable(format_report)
    assert callable(format_forecast)
    assert callable(write_html)
    assert "campaign" in BREAKDOWNS
    assert set(metrics.__all__) <= set(dir(metrics))


def test_an_unknown_metrics_name_is_an_attribute_error() -> None:
    from referralkit import metrics

    with pytest.raises(AttributeError, match="no attribute 'MetricReport'"):
        _ = metrics.MetricReport


def test_the_version_is_read_from_the_metadata_on_first_use() -> None:
    before, version, after = _fresh(
        "import json, sys, referralkit as rk\n"
        "before = 'importlib.metadata' in sys.modules\n"
        "print(json.dumps([before, rk.__version__, 'importlib.metadata' in sys.modules]))"
    )
    from importlib.metadata import version as installed

    assert (before, version, after) == (False, installed("referralkit"), True)
    import referralkit

    assert "__version__" in dir(referralkit)
