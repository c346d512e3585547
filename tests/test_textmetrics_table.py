"""The text metric table (bench.textmetrics.table): every entry's statistics exist, the
definitions, pool, crop_scores and the bootstrap all derive from it, and one new entry
reaches all of them."""

from __future__ import annotations

import numpy as np
import pytest

from bench.pipeline import intervals
from bench.records import Detection, TextInstance
from bench.textmetrics import (
    CROP_HIGHER_IS_BETTER,
    CROP_METRIC_DEFINITIONS,
    TEXT_METRIC_DEFINITIONS,
    TEXT_METRIC_HIGHER_IS_BETTER,
    TextEvalConfig,
    crop_scores,
    evaluate_image,
    pool,
    recognition_scores,
    table,
)
from bench.textmetrics.formulas import rate
from bench.textmetrics.results import ALL_MODES, MODES_BASE
from bench.textmetrics.statistics import crop_statistics, result_statistics
from bench.textmetrics.table import CROPS, SPOTTING, TEXT_METRICS, TextMetric, metrics_of

CFG = TextEvalConfig()


def rect(x0, y0, x1, y1):
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _results():
    """Two images: one located word read right, one read wrongly with high confidence,
    one missed word; HQ detections on both (phantoms defined)."""
    gt = [TextInstance(rect(0, 0, 100, 20), "HOUSE"), TextInstance(rect(0, 40, 100, 60), "SHOP"),
          TextInstance(rect(0, 80, 100, 100), "EXIT")]
    dets = [Detection(rect(0, 0, 100, 20), "HOUSE", 0.95), Detection(rect(0, 40, 100, 60), "SHQP", 0.95),
            Detection(rect(200, 0, 300, 20), "GHOST", 0.9)]
    vocab = frozenset({"HOUSE", "SHOP", "EXIT"})
    return [evaluate_image(gt, dets, CFG, vocabulary=vocab, hq_dets=[]),
            evaluate_image(gt[:1], [], CFG, vocabulary=vocab, hq_dets=[])]


def test_every_named_statistic_exists_and_names_are_unique():
    """Each entry's statistics are produced by its source's statistics function, and
    each metric is declared once."""
    produced = {SPOTTING: set(result_statistics([], ALL_MODES)), CROPS: set(crop_statistics([]))}
    for m in TEXT_METRICS:
        assert set(m.stats) <= produced[m.source], m.name
        assert m.when is None or m.when in produced[m.source], m.name
        assert m.formula is not None or len(m.stats) == 1, m.name
    names = [m.name for m in TEXT_METRICS]
    assert len(names) == len(set(names))


def test_definitions_and_directions_come_from_the_table():
    """The results.json dicts hold exactly the table's entries (plus headroom and read_*)."""
    spotting, crops = metrics_of(SPOTTING), metrics_of(CROPS)
    assert [k for k in TEXT_METRIC_DEFINITIONS if k in {m.name for m in spotting}] == [m.name for m in spotting]
    assert set(TEXT_METRIC_DEFINITIONS) - {m.name for m in spotting} == {
        "headroom", "read_n_images", "read_words_per_image", "read_mean_confidence", "read_lq_agreement"}
    assert all(TEXT_METRIC_DEFINITIONS[m.name] == m.definition for m in spotting)
    assert all(TEXT_METRIC_HIGHER_IS_BETTER.get(m.name) is m.higher_is_better for m in spotting)
    assert CROP_METRIC_DEFINITIONS == {m.name: m.definition for m in crops}
    assert CROP_HIGHER_IS_BETTER == {"crop_word_accuracy": True, "crop_cer": False, "crop_one_minus_ned": True}


def test_pool_reports_the_table():
    """pool() returns every spotting metric of the pooled modes (phantoms only with HQ
    detections), nothing else but the reasons of null H-means."""
    res = _results()
    out = pool(res)
    assert set(out) == {m.name for m in metrics_of(SPOTTING, ALL_MODES)}
    without_hq = pool([evaluate_image([], [], CFG)])
    expected = {m.name for m in metrics_of(SPOTTING, MODES_BASE) if m.when is None}
    assert set(without_hq) == expected | {f"{mode}_reason" for mode in MODES_BASE}
    assert out["confidently_wrong_rate"] == 0.5 and out["phantom_per_image"] == 0.5
    assert isinstance(out["det_matched"], int) and out["rec_n"] == 2


def test_crop_scores_are_recognition_scores():
    """The crop_* metrics of (GT, read) pairs are the recognition scores of those pairs."""
    pairs = [["kitten", "sitting"], ["abc", "ABC"], ["", ""]]
    s = recognition_scores([tuple(p) for p in pairs])
    assert crop_scores(pairs) == {"crop_n": 3, "crop_word_accuracy": s["word_accuracy"], "crop_cer": s["cer"],
                                  "crop_one_minus_ned": s["one_minus_ned"]}
    assert crop_scores([]) == {"crop_n": 0, "crop_word_accuracy": None, "crop_cer": None, "crop_one_minus_ned": None}


def test_statistics_are_additive():
    """Statistics over all images equal the sum over each image alone (what the bootstrap sums)."""
    res = _results()
    whole = result_statistics(res, ALL_MODES)
    parts = [result_statistics([r], ALL_MODES) for r in res]
    for k, v in whole.items():
        assert sum(p[k] for p in parts) == pytest.approx(v, abs=1e-12), k


def test_one_new_entry_reaches_pool_and_the_bootstrap(monkeypatch):
    """A metric added to the table (here: words read wrongly with confidence per image)
    is pooled by pool() and gets a bootstrap formula, equal on the full resample."""
    extra = TextMetric("confidently_wrong_per_image", ("confidently_wrong", "n_images"), rate, False, "test entry")
    monkeypatch.setattr(table, "TEXT_METRICS", TEXT_METRICS + (extra,))
    res = _results()
    assert pool(res)["confidently_wrong_per_image"] == 0.5
    modes = tuple(ALL_MODES)
    assert "confidently_wrong_per_image" in intervals.text_formulas(modes)
    details = [r.to_dict() for r in res]
    stats = np.array([intervals.text_stats(d, modes) for d in details])
    got = intervals.pooled_resamples(np.ones((1, len(res)), dtype=np.int64), stats, np.ones(len(res)), modes,
                                     ["confidently_wrong_per_image", "e2e_none_hmean"])
    assert got["confidently_wrong_per_image"][0] == 0.5
    assert got["e2e_none_hmean"][0] == pool(res)["e2e_none_hmean"]
