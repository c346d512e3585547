"""Honest numbers with nothing to measure: a RealIR folder without annotations through `bench run`.

No GT means no text P/R/H: they are null with the reason (never 0.0), the summary table
shows the suite's own no-reference metric (PIQE) and, instead of text F1, the text
statistics of the readings, labelled as such; results.json and the HTML report cope with
the nulls.
"""

from __future__ import annotations

import json
import textwrap

from bench.cli import main

from .test_data_json import picture, save


def test_unannotated_realir_run_reports_nr_metrics_and_text_statistics(tmp_path, blob_spotter, capsys):
    for i in range(3):
        save(picture((48, 40), i), tmp_path / "photos" / f"p{i}.png")
    suite = tmp_path / "suite.yaml"
    suite.write_text(textwrap.dedent(f"""
        version: 1
        name: nr
        dataset: {{kind: realir, path: {tmp_path / 'photos'}}}
        degradation: {{kind: provided, scale: 4}}
        restorers: [{{adapter: bicubic}}, {{adapter: unsharp}}]
        spotter: {{name: blob, min_score: 0.5}}
        metrics: {{image: [piqe]}}
    """))
    out = tmp_path / "out"
    assert main(["run", str(suite), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    doc = json.loads((out / "results.json").read_text())
    header = printed.splitlines()[2]
    assert "PIQE" in header and "words/img" in header and "LQ-agree%" in header and "det-F1%" not in header
    assert "no ground truth, not accuracies" in printed
    for row in ("LQ", "bicubic", "unsharp"):
        r = doc["results"][row]
        assert r["n_images"] == 0 and r["read_n_images"] == 3 and r["piqe"] is not None
        assert r["det_hmean"] is None and r["e2e_none_hmean"] is None and r["det_precision"] is None
        assert "no annotated image" in r["det_reason"]
        assert r["read_words_per_image"] > 0 and 0 < r["read_mean_confidence"] <= 1
    assert doc["results"]["LQ"]["read_lq_agreement"] is None
    assert 0 <= doc["results"]["bicubic"]["read_lq_agreement"] <= 1
    assert "Text statistic" in doc["metrics"]["read_lq_agreement"]["definition"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "text P/R/H are null" in html and "read_words_per_image" in html
