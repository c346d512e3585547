"""Exact definitions and directions of every text key in results.json.

The pooled metrics come from the metric table (:data:`bench.textmetrics.table.TEXT_METRICS`);
the two kinds of key computed elsewhere (headroom, :mod:`bench.textmetrics.headroom`; the
read_* text statistics, :mod:`bench.textmetrics.readstats`) are defined here. The
runner copies these dicts into results.json; the report quotes them. Keys missing from a
``*_HIGHER_IS_BETTER`` dict are counts with no better direction.
"""

from __future__ import annotations

from bench.textmetrics.table import CROPS, SPOTTING, metrics_of

_HEADROOM = ("(f_restored - f_lq) / (f_hq - f_lq) for a pooled higher-is-better score f; 0 = as good as "
             "the degraded input, 1 = as good as the clean image; undefined (null) when f_hq == f_lq.")

_WORD_READ = ("a word read is a detection kept by the evaluator (score > prefilter_score, valid polygon, testr "
              "int() coordinates) whose evaluated word is not empty; every image of the row, annotated or not")
_READ_DEFS = {
    "read_n_images": "Number of images of the row the read_* statistics are over.",
    "read_words_per_image": f"Words read summed over the row's images / read_n_images; {_WORD_READ}.",
    "read_mean_confidence": f"Mean detection score of all words read (null if none); {_WORD_READ}.",
    "read_lq_agreement": "Word-level F1 of multiset agreement with the LQ row's readings: per image A = the "
    "row's words, B = the LQ row's, upper-cased; pooled over the images both rows have, "
    "2 * sum |A & B| / (sum |A| + sum |B|) with & the multiset intersection. 1 = reads the same words as "
    "the LQ input, 0 = none in common; measures change, not correctness. Null for the LQ row itself and "
    f"when neither row reads a word (reason in read_lq_agreement_reason); {_WORD_READ}.",
}

TEXT_METRIC_DEFINITIONS: dict[str, str] = {
    **{m.name: m.definition for m in metrics_of(SPOTTING)},
    "headroom": _HEADROOM,
    **{k: f"Text statistic (describes the readings; no ground truth, not an accuracy). {v}"
       for k, v in _READ_DEFS.items()},
}

TEXT_METRIC_HIGHER_IS_BETTER: dict[str, bool] = {
    **{m.name: m.higher_is_better for m in metrics_of(SPOTTING) if m.higher_is_better is not None},
    "headroom": True,
}

#: recognition on GT crops (:func:`bench.textmetrics.pooling.crop_scores`)
CROP_METRIC_DEFINITIONS: dict[str, str] = {m.name: m.definition for m in metrics_of(CROPS)}
CROP_HIGHER_IS_BETTER: dict[str, bool] = {m.name: m.higher_is_better for m in metrics_of(CROPS)
                                          if m.higher_is_better is not None}
