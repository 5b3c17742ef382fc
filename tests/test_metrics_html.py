"""The HTML report, opened in a real headless browser (Debian's ``chromium``).

The page must render its three charts offline (plotly.js inlined), and its screenshot
must match the committed baseline within a tolerance. After an intended change of the
page, refresh the baseline: ``REFERRALKIT_UPDATE_BASELINES=1 pytest tests/test_metrics_html.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from referralkit.cli import main
from referralkit.metrics import CHART_COLOURS, MetricsReport, render_html, write_html
from referralkit.storage import MemoryStore, SQLiteStore
from referralkit.testing._metrics_program import generated_program

BASELINE = Path(__file__).parent / "baselines" / "metrics-report.png"
WINDOW = (1200, 1800)
# Mean absolute difference per channel (0-255) allowed against the baseline, after both
# images are reduced to a coarse grid: fonts may hint differently, the layout may not move.
TOLERANCE = 6.0


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:  # CI installs it (.ci/run); a missing browser is a failure, not a skip
        pytest.fail("the HTML report tests need Debian's chromium: apt-get install -y chromium")
    return found


def browse(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--virtual-time-budget=10000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        check=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def report() -> MetricsReport:
    return generated_program(MemoryStore(), 2).metrics(by="referrer")


@pytest.fixture
def page(tmp_path: Path, report: MetricsReport) -> Path:
    return write_html(report, tmp_path / "report.html")


def test_the_page_is_self_contained(page: Path) -> None:
    text = page.read_text()
    assert "<script src=" not in text  # plotly.js is inlined, not fetched
    assert text.count("Plotly.newPlot(") == 3
    assert "cust-021" in text  # the leaderboard's best referrer


def test_the_browser_draws_the_funnel_the_cohorts_and_the_leaderboard(
    tmp_path: Path, page: Path, report: MetricsReport
) -> None:
    dom = browse(tmp_path, page, "--dump-dom").stdout.decode()
    for chart in ("funnel-chart", "cohort-chart", "leaderboard-chart"):
        start = dom.index(f'id="{chart}"')
        assert 'class="main-svg"' in dom[start : start + 200_000], chart
    assert len(re.findall(r'class="trace bars"', dom)) >= 2
    assert "funnellayer" in dom
    # One bar per cohort week and series, drawn as SVG paths.
    cohort = dom[dom.index('id="cohort-chart"') : dom.index('id="leaderboard-chart"')]
    assert cohort.count('class="point"') >= 3 * len(report.cohorts)


def _share(image: Image.Image, colour: str) -> float:
    """The share of the image's pixels within 12 levels of ``colour`` on every channel."""
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    diff = ImageChops.difference(image.convert("RGB"), Image.new("RGB", image.size, rgb))
    red, green, blue = diff.split()
    worst = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    near = worst.point(lambda v: 255 if v <= 12 else 0).histogram()[255]
    return near / (image.width * image.height)


def test_the_screenshot_matches_the_baseline(tmp_path: Path, page: Path) -> None:
    shot = tmp_path / "shot.png"
    browse(tmp_path, page, f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == WINDOW
    # Not blank: the chart colours are there, in real amounts.
    for colour in CHART_COLOURS[:3]:
        assert _share(image, colour) > 0.002, colour
    if os.environ.get("REFERRALKIT_UPDATE_BASELINES"):
        BASELINE.parent.mkdir(exist_ok=True)
        image.save(BASELINE)
    baseline = Image.open(BASELINE).convert("RGB")
    assert baseline.size == image.size
    grid = (WINDOW[0] // 16, WINDOW[1] // 16)
    diff = ImageChops.difference(
        image.resize(grid, Image.Resampling.BOX), baseline.resize(grid, Image.Resampling.BOX)
    )
    mean = sum(ImageStat.Stat(diff).mean) / 3
    assert mean < TOLERANCE, f"the page looks different from the baseline (mean diff {mean:.2f})"


def test_the_baseline_comparison_can_fail(tmp_path: Path, report: MetricsReport) -> None:
    """A page without its charts is told apart from the baseline."""
    bare = tmp_path / "bare.html"
    text = render_html(report)
    bare.write_text(re.sub(r"<script.*?</script>", "", text, flags=re.DOTALL))
    shot = tmp_path / "bare.png"
    browse(tmp_path, bare, f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    assert _share(image, CHART_COLOURS[0]) < 0.0005
    grid = (WINDOW[0] // 16, WINDOW[1] // 16)
    diff = ImageChops.difference(
        image.resize(grid, Image.Resampling.BOX),
        Image.open(BASELINE).convert("RGB").resize(grid, Image.Resampling.BOX),
    )
    assert sum(ImageStat.Stat(diff).mean) / 3 >= TOLERANCE


def test_the_command_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "program.db"
    store = SQLiteStore(db)
    generated_program(store, 1)
    store.close()
    out = tmp_path / "report.html"
    assert main(["metrics", "--db", str(db), "--html", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    assert text.count("Plotly.newPlot(") == 3  # the leaderboard is added for the page


def test_without_plotly_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, report: MetricsReport
) -> None:
    import sys

    import referralkit as rk

    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(rk.ConfigError, match=r"referralkit\[report\]"):
        render_html(report)
