"""Paired bootstrap intervals (bench.pipeline.intervals): reproducibility, coverage, pairing, and
that the vectorised re-pooling gives exactly what bench.textmetrics.pool gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.pipeline.intervals import (
    add_confidence_intervals,
    pooled_resamples,
    resample_weights,
    text_formulas,
    text_stats,
)
from bench.textmetrics import ImageTextResult, pool
from bench.textmetrics.results import MODES_BASE

IMAGE_METRIC = {"kind": "image", "mode": "full-reference", "higher_is_better": True, "available": True}


def _doc(rows, metrics=None):
    return {"rows": rows, "reference_rows": [r for r in rows if r in ("HQ", "LQ")],
            "metrics": metrics or {"x": IMAGE_METRIC}, "results": {r: {} for r in rows}}


def _per_image(values: dict[str, list[float]]) -> list[dict]:
    return [{"image_id": f"i{k:03d}", "row": row, "x": v} for row, vals in values.items() for k, v in enumerate(vals)]


def test_same_seed_same_interval_other_seed_differs():
    """The interval is a deterministic function of the seed (it goes into the stable
    part of results.json); another seed draws other resamples."""
    rng = np.random.default_rng(1)
    per_image = _per_image({"LQ": list(rng.normal(size=20)), "A": list(rng.normal(size=20))})
    docs = [_doc(["LQ", "A"]) for _ in range(3)]
    add_confidence_intervals(docs[0], per_image, [], seed=7)
    add_confidence_intervals(docs[1], per_image, [], seed=7)
    add_confidence_intervals(docs[2], per_image, [], seed=8)
    assert json.dumps(docs[0]["intervals"]) == json.dumps(docs[1]["intervals"])
    assert docs[0]["intervals"]["rows"]["A"]["x"] != docs[2]["intervals"]["rows"]["A"]["x"]


def test_coverage_of_a_known_mean():
    """200 samples of 30 draws from N(5, 2): the 95% interval of the mean should cover
    5 in roughly 95% of them (percentile bootstrap runs a little narrow at n = 30, so
    accept 88-99%)."""
    rng = np.random.default_rng(123)
    covered = 0
    for rep in range(200):
        doc = _doc(["A"])
        add_confidence_intervals(doc, _per_image({"A": list(rng.normal(5.0, 2.0, size=30))}), [], seed=rep)
        ci = doc["intervals"]["rows"]["A"]["x"]
        covered += ci["low"] <= 5.0 <= ci["high"]
    assert 0.88 <= covered / 200 <= 0.99, covered


def test_differences_are_paired():
    """Row A = LQ + 0.5 on every image, with large spread between images. A paired
    bootstrap sees a difference of exactly 0.5 in every resample (interval [0.5, 0.5],
    significant), while each row's own interval is wide."""
    base = list(np.random.default_rng(3).normal(0, 10, size=25))
    doc = _doc(["LQ", "A"])
    doc["results"] = {"LQ": {"x": float(np.mean(base))}, "A": {"x": float(np.mean(base)) + 0.5}}
    add_confidence_intervals(doc, _per_image({"LQ": base, "A": [v + 0.5 for v in base]}), [])
    diff = doc["intervals"]["differences"]["A"]["x"]
    assert diff["low"] == pytest.approx(0.5) and diff["high"] == pytest.approx(0.5)
    assert diff["significant"] and diff["delta"] == pytest.approx(0.5)
    own = doc["intervals"]["rows"]["A"]["x"]
    assert own["high"] - own["low"] > 2.0


def test_identical_rows_not_significant():
    """A row equal to the baseline has a zero difference: its interval contains 0."""
    vals = list(np.random.default_rng(4).normal(size=15))
    doc = _doc(["LQ", "A"])
    add_confidence_intervals(doc, _per_image({"LQ": vals, "A": vals}), [])
    assert doc["intervals"]["differences"]["A"]["x"]["significant"] is False


def test_set_level_and_unavailable_metrics_are_skipped_with_reason():
    """FID-like set metrics have no per-image values; unavailable metrics no values at all."""
    metrics = {"x": IMAGE_METRIC, "fid": {"kind": "image", "mode": "set", "higher_is_better": False},
               "lpips": {"kind": "image", "mode": "full-reference", "available": False}}
    doc = _doc(["A"], metrics)
    add_confidence_intervals(doc, _per_image({"A": [1.0, 2.0, 3.0]}), [])
    assert "set-level" in doc["intervals"]["skipped"]["fid"]
    assert doc["intervals"]["skipped"]["lpips"] == "unavailable"
    assert set(doc["intervals"]["rows"]["A"]) == {"x"}


def test_vectorised_repooling_equals_pool(tmp_path):
    """For random resamples of the synthetic run's images, every pooled text metric
    from the weight-matrix sums equals pool() on the resampled list of results."""
    from tests.report_synth import make_run

    run = make_run(tmp_path / "run", tmp_path / "cache")
    details = [json.loads(line) for line in (run / "text_details.jsonl").read_text().splitlines()]
    bad = [d for d in details if d["row"] == "bad"]
    ids = sorted(d["image_id"] for d in bad)
    stats = np.array([text_stats(next(d for d in bad if d["image_id"] == i), MODES_BASE) for i in ids])
    weights = resample_weights(len(ids), 20, seed=5)
    names = list(text_formulas(MODES_BASE))
    got = pooled_resamples(weights, stats, np.ones(len(ids)), MODES_BASE, names)
    results = {d["image_id"]: ImageTextResult.from_dict(d) for d in bad}
    for b in range(weights.shape[0]):
        resampled = [results[i] for i, w in zip(ids, weights[b]) for _ in range(w)]
        expected = pool(resampled)
        for name in names:
            want = expected.get(name)
            if want is None:
                assert np.isnan(got[name][b]), name
            else:
                assert got[name][b] == pytest.approx(want, abs=1e-12), (name, b)


def test_pooled_metric_is_not_a_mean_of_per_image_f1(tmp_path):
    """With every image drawn once the 'resample' is the data set: the interval code
    reproduces the pooled H-mean of results.json, not the mean of per-image F1."""
    from tests.report_synth import make_run

    run = make_run(tmp_path / "run", tmp_path / "cache")
    doc = json.loads((run / "results.json").read_text())
    details = [json.loads(line) for line in (run / "text_details.jsonl").read_text().splitlines()]
    lq = sorted((d for d in details if d["row"] == "LQ"), key=lambda d: d["image_id"])
    stats = np.array([text_stats(d, MODES_BASE) for d in lq])
    got = pooled_resamples(np.ones((1, len(lq)), dtype=np.int64), stats, np.ones(len(lq)), MODES_BASE,
                           ["e2e_none_hmean"])
    assert got["e2e_none_hmean"][0] == pytest.approx(doc["results"]["LQ"]["e2e_none_hmean"])
