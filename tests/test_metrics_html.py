"""The HTML report, opened in a real headless browser (Debian's ``chromium``).

The page must render its four charts offline (plotly.js inlined), or with plotly.js
loaded from a URL; every figure carries its `DEFINITIONS` label, every axis a title,
count axes whole-number ticks; and its screenshot must match the committed baseline
within a tolerance. After an intended change of the page, refresh the baseline:
``REFERRALKIT_UPDATE_BASELINES=1 pytest tests/test_metrics_html.py``.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

import referralkit as rk
from referralkit.cli import main
from referralkit.metrics import (
    CHART_COLOURS,
    DEFINITIONS,
    MetricsReport,
    render_html,
    write_html,
)
from referralkit.metrics._format import format_figure
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


CHARTS = ("funnel-chart", "cohort-chart", "leaderboard-chart", "fraud-reasons-chart")


def test_the_page_is_self_contained(page: Path) -> None:
    text = page.read_text()
    assert "<script src=" not in text  # plotly.js is inlined, not fetched
    assert text.count("Plotly.newPlot(") == len(CHARTS)
    assert "cust-021" in text  # the leaderboard's best referrer


def _plotly_bundle() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def test_a_plotly_url_gives_a_small_page(tmp_path: Path, report: MetricsReport) -> None:
    """The page loads plotly.js from the host's URL: the bundle's weight is all it saves."""
    url = "https://static.shop.example/js/plotly-3.min.js"
    small = render_html(report, plotly_js=url)
    full = render_html(report)
    assert small.count("<script src=") == 1
    assert f'<script src="{url}" charset="utf-8"></script>' in small
    assert small.count("Plotly.newPlot(") == len(CHARTS)
    assert len(small.encode()) < 100_000
    assert len(full.encode()) - len(small.encode()) >= 0.95 * _plotly_bundle().stat().st_size


@pytest.mark.parametrize(
    "url", ["", "javascript:alert(1)", "data:text/javascript,1", 'x.js" onload="alert(1)', 7]
)
def test_a_plotly_url_that_is_not_one_is_refused(report: MetricsReport, url: object) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        render_html(report, plotly_js=url)  # type: ignore[arg-type]
    assert caught.value.field == "plotly_js"


def test_the_small_page_draws_its_charts_from_the_url(
    tmp_path: Path, report: MetricsReport
) -> None:
    page = write_html(report, tmp_path / "small.html", plotly_js=_plotly_bundle().as_uri())
    dom = browse(tmp_path, page, "--dump-dom").stdout.decode()
    for chart in CHARTS:
        assert 'class="main-svg"' in _chart(dom, chart), chart


def _chart(dom: str, chart: str) -> str:
    """The DOM of one chart: from its div to the end of its section."""
    start = dom.index(f'id="{chart}"')
    return dom[start : dom.index("</section>", start)]


def _texts(dom: str, cls: str) -> list[str]:
    """The text of every SVG group of class ``cls`` (tick labels, axis titles)."""
    return [
        html.unescape(t) for t in re.findall(rf'<g class="{cls}">\s*<text[^>]*>([^<]*)</text>', dom)
    ] + [html.unescape(t) for t in re.findall(rf'<text class="{cls}"[^>]*>([^<]*)</text>', dom)]


def test_every_axis_is_titled_and_counts_have_whole_ticks(
    tmp_path: Path, page: Path, report: MetricsReport
) -> None:
    dom = browse(tmp_path, page, "--dump-dom").stdout.decode()
    counts = {
        "cohort-chart": "ytick",
        "leaderboard-chart": "xtick",
        "fraud-reasons-chart": "xtick",
    }
    for chart in CHARTS:
        part = _chart(dom, chart)
        for axis in ("x", "y", "y2"):
            if _texts(part, f"{axis}tick"):
                titles = [t for t in _texts(part, f"{axis}title") if t.strip()]
                assert titles, f"{chart}: the {axis} axis has no title"
        if chart in counts:
            ticks = _texts(part, counts[chart])
            assert len(ticks) >= 2, chart
            assert all(re.fullmatch(r"[0-9,]+", t) for t in ticks), (chart, ticks)
    rates = _texts(_chart(dom, "cohort-chart"), "y2tick")
    assert rates[0] == "0%"
    assert rates[-1] == "100%"
    assert all(re.fullmatch(r"[0-9]+%", t) for t in rates)


def _cards(dom: str) -> list[tuple[str, str, str, str, str]]:
    """Every headline card: (figure, unit kind, label, value, unit caption)."""
    return [
        tuple(html.unescape(part) for part in found)  # type: ignore[misc]
        for found in re.findall(
            r'<div class="figure" data-figure="(\w+)" data-unit="(\w+)">'
            r'<div class="label">([^<]*)</div><div class="value">([^<]*)</div>'
            r'<div class="unit">([^<]*)</div></div>',
            dom,
        )
    ]


def test_every_figure_shows_its_definition_label_and_unit(
    tmp_path: Path, page: Path, report: MetricsReport
) -> None:
    """One name per definition: the card, the funnel and the tables say the same."""
    dom = browse(tmp_path, page, "--dump-dom").stdout.decode()
    cards = _cards(dom)
    assert len(cards) == 6 + 4 * len(report.currencies)
    for name, unit, label, value, caption in cards:
        assert label == DEFINITIONS[name].label
        assert unit == DEFINITIONS[name].unit
        if unit == "money":
            assert caption in {s.currency for s in report.currencies}
        if unit == "rate":
            assert value.endswith(" %") or value == "-"
    conversion = format_figure("conversion_rate", report.conversion_rate)
    assert ("conversion_rate", "rate", "conversion rate", conversion, "rate, of referrals") in cards
    # The funnel labels its rate with the same name and the same value as the card.
    funnel = " ".join(html.unescape(_chart(dom, "funnel-chart")).replace("\xa0", " ").split())
    assert f"conversion rate {conversion}" in funnel
    # Every "conversion" on the page (cards, charts, tables) is that definition's label.
    visible = re.sub(r"<script.*?</script>|<[^>]+>", " ", dom, flags=re.DOTALL)
    assert "conversion" in visible
    assert re.findall(r"conversion(?! rate)", html.unescape(visible)) == []
    # ROI is a ratio, shown as a percentage; never labelled as money.
    for s in report.currencies:
        roi = format_figure("roi", s.roi)
        assert roi.endswith(" %")
        assert ("roi", "ratio", "ROI", roi, f"ratio of {s.currency} amounts") in cards


def test_the_page_has_the_text_reports_tables_and_the_fraud_reasons(
    tmp_path: Path, page: Path, report: MetricsReport
) -> None:
    dom = browse(tmp_path, page, "--dump-dom").stdout.decode()
    headings = re.findall(r"<h2>([^<]*)</h2>", dom)
    assert headings[:3] == ["Funnel", "Fraud and review", "Fraud reasons"]
    assert "Leaderboard (by referrer)" in headings
    assert "Weekly cohorts (by attribution week)" in headings
    assert [f"Money ({s.currency})" for s in report.currencies] == [
        h for h in headings if h.startswith("Money")
    ]
    assert "one rejected attribution can cite several reasons" in dom
    assert sum(report.fraud_reasons.values()) > report.rejected  # the note is needed here
    for reason, n in report.fraud_reasons.items():
        assert f"<tr><td>{reason}</td><td>{n}</td></tr>" in dom
    assert sorted(_texts(_chart(dom, "fraud-reasons-chart"), "ytick")) == sorted(
        report.fraud_reasons
    )


def test_the_browser_draws_the_funnel_the_cohorts_the_leaderboard_and_the_reasons(
    tmp_path: Path, page: Path, report: MetricsReport
) -> None:
    dom = browse(tmp_path, page, "--dump-dom").stdout.decode()
    for chart in CHARTS:
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
    assert text.count("Plotly.newPlot(") == len(CHARTS)  # the leaderboard is added for it


def test_without_plotly_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, report: MetricsReport
) -> None:
    import sys

    import referralkit as rk

    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(rk.ConfigError, match=r"referralkit\[report\]"):
        render_html(report)
