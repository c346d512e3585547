"""The report in a real browser (headless Chromium): it loads without console errors,
the table and plots are in the rendered DOM, a screenshot is written, and OCR text
holding markup is shown as text and runs nothing.

Skipped when no Chromium binary is installed (the CI script installs ``chromium``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.report import write_report
from tests.report_synth import make_run

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


def _chromium(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--enable-logging=stderr", "--v=0", "--window-size=1400,3000", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    report = write_report(make_run(root / "run", root / "cache"))
    dom = _chromium(root, report.as_uri(), "--dump-dom")
    return root, report, dom


def test_console_detector_catches_errors(tmp_path):
    """Control: a page that logs an error and throws is caught by the same check, so an
    empty result for the report means something."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom'); undefinedFn();</script></body></html>")
    errors = _console_errors(_chromium(tmp_path, bad.as_uri(), "--dump-dom").stderr)
    assert any("Uncaught" in e for e in errors)


def test_report_loads_without_console_errors(page):
    _, _, dom = page
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_errors(dom.stderr) == []


def test_rendered_dom_has_table_and_plots(page):
    """The rendered DOM holds the main table with all four rows and the plot images."""
    _, _, dom = page
    html = dom.stdout
    table = html.split('id="main-table"')[1].split("</table>")[0]
    assert all(f">{row}<" in table for row in ("HQ", "LQ", "good", "bad"))
    assert re.search(r'<img src="report_assets/scatter_psnr.png"', html)
    assert re.search(r'<img src="report_assets/dist_e2e_none_hmean.png"', html)


def test_injected_markup_runs_nothing_and_shows_as_text(page):
    """The OCR readings '<script>document.title=...' and '<img onerror=...>' would change
    the title if they ran: the title is unchanged, no such element exists in the DOM,
    and the words are there as (escaped) text."""
    _, _, dom = page
    html = dom.stdout
    assert "<title>tair-bench report: synthetic</title>" in html
    assert "pwned</title>" not in html
    assert html.lower().count("<script") == 0
    img_tags = re.findall(r"<img\b[^>]*>", html)
    assert img_tags and all(re.match(r'<img src="report_assets/', t) and "onerror" not in t for t in img_tags)
    text = re.sub(r"</?mark[^>]*>", "", html)
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=\"document.title='pwned2'\"&gt;" in text


def test_screenshot_is_written(page):
    root, report, _ = page
    shot = root / "report.png"
    result = _chromium(root, report.as_uri(), f"--screenshot={shot}")
    assert result.returncode == 0 and shot.is_file()
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one


def test_row_names_stay_visible_while_the_table_scrolls(page, tmp_path):
    """A copy of the report with a probe script squeezes the results table's scroll box
    and scrolls it sideways: the row-name cell stays at the box's left edge (sticky),
    where a plain cell would have moved out of view by the scrolled distance."""
    _, report, _ = page
    probe = report.with_name("probe.html")
    script = ("<script>const box = document.querySelector('#main-table').parentElement;"
              "box.style.width = '160px'; box.scrollLeft = 400;"
              "const cell = document.querySelector('#main-table tbody td.name');"
              "const moved = Math.round(cell.getBoundingClientRect().left - box.getBoundingClientRect().left);"
              "document.title = 'probe ' + getComputedStyle(cell).position + ' ' + box.scrollLeft + ' ' + moved;"
              "</script>")
    probe.write_text(report.read_text().replace("</body>", script + "</body>"))
    dom = _chromium(tmp_path, probe.as_uri(), "--dump-dom").stdout
    m = re.search(r"<title>probe (\w+) (\d+) (-?\d+)</title>", dom)
    assert m, dom[:500]
    position, scrolled, moved = m.group(1), int(m.group(2)), int(m.group(3))
    assert position == "sticky" and scrolled > 0 and abs(moved) <= 1
