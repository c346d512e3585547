"""Sets without annotations: text_details.jsonl keeps the words read (with polygons and
scores) for every (image, row), the report shows them as a gallery of word crops with
per-image plots of the no-reference metrics, and its header prints no degradation level
or seed that does not apply."""

from __future__ import annotations

import csv
import json
import re
import textwrap
from pathlib import Path

import pytest

from bench.cli import main
from bench.report.build import degradation_label

from .conftest import register_blob
from .test_data_json import picture, save


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    register_blob()
    root = tmp_path_factory.mktemp("unannotated")
    for i in range(2):
        save(picture((48, 40), i), root / "photos" / f"p{i}.png")
    suite = root / "suite.yaml"
    suite.write_text(textwrap.dedent(f"""
        version: 1
        name: nr
        dataset: {{kind: realir, path: {root / 'photos'}}}
        degradation: {{kind: provided, scale: 4}}
        restorers: [{{adapter: bicubic}}]
        spotter: {{name: blob, min_score: 0.5}}
        metrics: {{image: [piqe]}}
    """))
    out = root / "out"
    assert main(["run", str(suite), "--out", str(out), "--cache-dir", str(root / "cache"), "--quiet"]) == 0
    return out


def _details(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "text_details.jsonl").read_text().splitlines() if line.strip()]


def test_text_details_keep_the_words_read_of_unannotated_images(run_dir):
    details = _details(run_dir)
    assert {(d["image_id"], d["row"]) for d in details} == {(i, r) for i in ("p0", "p1") for r in ("LQ", "bicubic")}
    per_image = {(r["image_id"], r["row"]): r for r in
                 csv.DictReader((run_dir / "per_image.csv").open(encoding="utf-8"))}
    for d in details:
        assert d["annotated"] is False
        assert d["read"], d
        for w in d["read"]:
            assert w["text"].startswith("W") and 0.5 <= w["score"] <= 1 and len(w["polygon"]) == 4
            assert all(len(p) == 2 for p in w["polygon"])
        # the same words the text statistics count
        assert len(d["read"]) == int(per_image[(d["image_id"], d["row"])]["read_words"])
    # the text results are unchanged: no annotated image, no text score
    doc = json.loads((run_dir / "results.json").read_text())
    assert doc["results"]["bicubic"]["n_images"] == 0 and doc["results"]["bicubic"]["det_hmean"] is None


def test_report_has_gallery_of_words_read_and_per_image_plots(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="read-gallery"' in html
    gallery = html.split('id="read-gallery"')[1].split('id="hallucination"')[0]
    assert gallery.count('class="read-item"') == 2
    word = _details(run_dir)[0]["read"][0]["text"]
    assert f'<div class="read">{word} <span class="score">0.950</span>' in gallery
    crops = re.findall(r'<a class="crop" href="#[^"]+"><img src="([^"]+)"', gallery)
    assert len(crops) >= 4 and all((run_dir / src).is_file() for src in crops)
    plots = html.split('id="plots"')[1].split('id="gallery"')[0]
    strip = re.search(r'<img src="([^"]+)" alt="per-image piqe: one point per image and row', plots)
    assert strip and (run_dir / strip.group(1)).is_file()
    assert 'alt="per-image read_words' in plots


def test_report_header_has_no_level_or_seed_that_does_not_apply(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    header = html.split("<h1>")[1].split("</p>", 2)[1]
    assert "degradation\nprovided (the data set&#39;s own LQ images, x4)" in header
    assert "None" not in header and "seed" not in header


def test_degradation_label():
    """The level only where the data set reads one (SA-Text's lq_img_lv<level>)."""
    for level in (None, 1):  # realir: the suite loader's default level 1 does not apply
        assert degradation_label({"kind": "provided", "level": level, "scale": 4, "seed": 0},
                                 {"kind": "realir"}) == "provided (the data set's own LQ images, x4)"
    assert degradation_label({"kind": "provided", "level": 2, "scale": 4},
                             {"kind": "satext-test", "lq_field": "lq_img_lv2"}) == \
        "provided (the data set's own LQ images, level 2, x4)"
    assert degradation_label({"kind": "provided", "level": None, "scale": 4}, {"lq_field": "lq_img_lvNone"}) == \
        "provided (the data set's own LQ images, x4)"
    assert degradation_label({"kind": "preset", "preset": "level2", "seed": 0, "scale": 4}) == "level2 (seed 0, x4)"


def test_mixed_set_annotated_records_get_read_and_unannotated_ones_pool_as_nothing():
    """score_text + _text_details on one annotated and one unannotated image: both records
    carry ``read`` (the statistics' rule: the empty word and the score-0.05 one are not
    read); the unannotated record's zero counts leave the pooled text metrics as they are."""
    from bench.pipeline.aggregate import _text_details
    from bench.pipeline.stages.score_text import score_text
    from bench.pipeline.state import Scores
    from bench.records import Detection, ImageItem, TextInstance
    from bench.textmetrics import pool
    from bench.textmetrics.config import TextEvalConfig
    from bench.textmetrics.readstats import words_read
    from bench.textmetrics.results import ImageTextResult

    box = ((10.0, 10.0), (50.0, 10.0), (50.0, 30.0), (10.0, 30.0))
    other = ((60.0, 10.0), (90.0, 10.0), (90.0, 30.0), (60.0, 30.0))
    dets = [Detection(box, "OPEN", 0.9), Detection(other, "", 0.8), Detection(other, "SHUT", 0.05)]
    items = [ImageItem("a", None, "la", "la", (100, 40), [TextInstance(box, "OPEN")], True, {"LQ": "ha"}),
             ImageItem("b", None, "lb", "lb", (100, 40), [], False, {"LQ": "hb"})]
    cfg = TextEvalConfig()
    text = score_text(items, ["LQ"], {("ha", "a"): dets, ("hb", "b"): dets}, cfg, frozenset())
    details = _text_details(["LQ"], Scores(["LQ"], text, {}, {}), {})
    assert [(d["image_id"], d.get("annotated", True)) for d in details] == [("a", True), ("b", False)]
    for d in details:
        assert [(w["text"], w["score"]) for w in d["read"]] == words_read(dets, cfg) == [("OPEN", 0.9)]
        assert d["read"][0]["polygon"] == [list(p) for p in box]
    pooled, scored = pool(ImageTextResult.from_dict(d) for d in details), pool(r for _, r in text["LQ"])
    assert scored["e2e_none_hmean"] > 0
    assert {k: v for k, v in pooled.items() if k != "n_images"} == {k: v for k, v in scored.items() if k != "n_images"}
