"""HTML report (bench.report): content of the page, escaping of OCR text, a run whose
cache is gone, the text diff, and the 'report' command."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pytest

from bench.cli.report import add_commands as add_report_commands
from bench.report import write_report
from bench.report.textdiff import diff_markup
from tests.report_synth import make_run


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    return write_report(make_run(root / "run", root / "cache"))


def _main_table(html: str) -> str:
    return html.split('id="main-table"')[1].split("</table>")[0]


def test_main_table_rows_references_best_and_intervals(report):
    """Every row is in the main table; HQ/LQ are marked as references; the best restorer
    per column ('good' on E2E F1) is highlighted; each value has a 95% interval."""
    table = _main_table(report.read_text())
    for row in ("HQ", "LQ", "good", "bad"):
        assert f'<td class="name">{row}' in table
    assert table.count('class="reference"') == 2
    good = table.split('<td class="name">good')[1].split("</tr>")[0]
    bad = table.split('<td class="name">bad')[1].split("</tr>")[0]
    assert re.search(r'<td class="best"><span[^>]*>0.875</span>', good)  # E2E F1 of 'good'
    assert re.search(r'<td class=""><span[^>]*>0.533</span>', bad)  # E2E F1 of 'bad', not marked
    assert table.count('class="ci"') >= 8
    assert "e2e_none_hmean ↑" in table and "rec_cer ↓" in table


def test_definitions_unavailable_metrics_provenance(report):
    """Metric definitions are quoted from results.json; an unavailable metric is listed
    with its reason; the provenance names versions, seeds, device and data."""
    html = report.read_text()
    assert "PSNR in dB on RGB uint8, mean over images" in html
    unavailable = html.split('id="unavailable"')[1].split("</table>")[0]
    assert "lpips" in unavailable and "bench weights fetch alexnet" in unavailable
    prov = html.split('id="provenance"')[1]
    for needle in ("abc123", "testr-1", "level2", "/data/synth", "seed 0, 1000 resamples"):
        assert needle in prov, needle


def test_plots_and_gallery_assets_exist(report):
    """Every <img> of the page points at a file in report_assets (no network URL)."""
    html = report.read_text()
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert any("scatter_psnr" in s for s in srcs) and any("dist_psnr" in s for s in srcs)
    assert any(s.endswith(".jpg") for s in srcs)  # annotated gallery panels
    for s in srcs:
        assert not s.startswith(("http:", "https:", "//")), s
        assert (report.parent / s).is_file(), s
    assert "http://" not in html and "https://" not in html


def test_ocr_markup_is_escaped(report):
    """The 'bad' row read '<script>...' and '<img onerror=...>': the page holds them only
    as escaped text (no tag of that name other than the page's own images)."""
    html = report.read_text()
    assert "<script" not in html.lower()
    assert "<img src=x" not in html
    text = re.sub(r"</?mark[^>]*>", "", html)  # the diff splits words into <mark> spans
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in text


def test_hallucination_section(report):
    """Per restorer: wrong words with GT / read text and the confidently-wrong flag."""
    html = report.read_text()
    section = html.split('id="hallucination"')[1].split('id="definitions"')[0]
    assert "bad: 3 wrong word(s)" in section
    assert "⚠ yes" in section
    assert 'OP<mark class="del">E</mark>N' in section and 'OP<mark class="ins">F</mark>N' in section


def test_cache_gone_report_still_renders(tmp_path):
    """Without the cache the report says so and shows no gallery images, but renders."""
    run = make_run(tmp_path / "run", tmp_path / "cache")
    shutil.rmtree(tmp_path / "cache")
    html = write_report(run).read_text()
    assert "stage cache" in html and "is gone" in html
    assert "(image not in the cache)" in html
    assert 'id="main-table"' in html


def test_intervals_computed_when_missing(tmp_path):
    """An older results.json without 'intervals' still gets them, with a note."""
    run = make_run(tmp_path / "run", tmp_path / "cache")
    doc = json.loads((run / "results.json").read_text())
    del doc["intervals"]
    (run / "results.json").write_text(json.dumps(doc))
    html = write_report(run).read_text()
    assert "computed at report time" in html and 'class="ci"' in html


def test_diff_markup_marks_and_escapes():
    """Only differing characters are marked; case is ignored like the E2E protocol;
    markup in either word is escaped."""
    gt, pred = diff_markup("STOP", "ST0P")
    assert str(pred) == 'ST<mark class="ins">0</mark>P' and str(gt) == 'ST<mark class="del">O</mark>P'
    assert "<mark" not in str(diff_markup("Stop", "STOP")[1])
    _, pred = diff_markup("A", "<b>")
    assert "<b>" not in str(pred) and "&lt;b&gt;" in str(pred)


def test_report_command(tmp_path, capsys):
    """'bench report RUN_DIR --out FILE' writes the page where asked."""
    run = make_run(tmp_path / "run", tmp_path / "cache")
    parser = argparse.ArgumentParser()
    add_report_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", str(run), "--out", str(tmp_path / "r" / "index.html")])
    assert args.handler(args) == 0
    assert (tmp_path / "r" / "index.html").is_file() and (tmp_path / "r" / "report_assets").is_dir()
    assert "report:" in capsys.readouterr().out


def test_not_a_run_folder_is_a_bench_error(tmp_path):
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="results.json"):
        write_report(tmp_path)


def test_diff_highlight_survives_upper_casing_that_changes_length():
    """'ß'.upper() is 'SS': the comparison is case-insensitive, so indices of the
    upper-cased words must be mapped back to the original characters. 'Straße' read
    as 'STRASSE' is the same word (no mark, the protocol upper-cases both); read as
    'STRASE', one S is missing, so exactly the 'ß' is marked, and the 'e' after it
    is not shifted into the mark."""
    gt, pred = diff_markup("Straße", "STRASSE")
    assert "<mark" not in str(gt) + str(pred)
    gt, pred = diff_markup("Straße", "STRASE")
    assert str(gt) == 'Stra<mark class="del">ß</mark>e' and str(pred) == "STRASE"
    gt, pred = diff_markup("ßX", "SSY")
    assert str(gt) == 'ß<mark class="del">X</mark>' and str(pred) == 'SS<mark class="ins">Y</mark>'


def test_scatter_labels_do_not_overlap():
    """Rows with (nearly) the same fidelity and text scores -- bicubic and LQ are often
    identical -- get labels whose boxes do not overlap."""
    from bench.report.plots import _figure, place_labels

    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    points = [(25.277, 57.1), (25.277, 57.1), (25.28, 57.2), (25.312, 57.1), (27.4, 72.7)]
    labels = ["LQ", "bicubic", "lanczos-long-name", "lanczos", "realesrgan"]
    ax.scatter(*zip(*points))
    fig.tight_layout()
    texts = place_labels(ax, points, labels)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert [t.get_text() for t in texts] == labels
    assert not [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]
