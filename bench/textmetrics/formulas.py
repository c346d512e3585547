"""Each data-set level text formula, written once and evaluated element-wise.

``bench.textmetrics.pooling`` calls these on one pooled total (0-d arrays);
the bootstrap (:mod:`bench.pipeline.intervals`) calls them on every resample at once;
``bench merge`` re-pools shards through ``pool``. NaN marks "undefined" here; the
scalar callers turn it into ``None``.
"""

from __future__ import annotations

import numpy as np


def ratio(num, den, empty: float) -> np.ndarray:
    """Element-wise ``num / den``, ``empty`` where ``den == 0`` (scalars or arrays)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), empty)


def prh_arrays(matched, n_det, n_gt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one definition of pooled precision, recall and H-mean, element-wise (the
    bootstrap evaluates it on every resample at once): R = M / GT, P = M / Det,
    H = 2PR / (P + R), 0 on a zero denominator as TESTR, and NaN for all three where
    there is no cared GT (GT = 0)."""
    has_gt = np.asarray(n_gt) > 0
    p = np.where(has_gt, ratio(matched, n_det, 0.0), np.nan)
    r = np.where(has_gt, ratio(matched, n_gt, 0.0), np.nan)
    h = np.where(has_gt, ratio(2 * p * r, p + r, 0.0), np.nan)
    return p, r, h


def recognition_from_sums(sums: dict) -> dict:
    """The one definition of word accuracy, CER and 1-NED from (summed)
    :func:`bench.textmetrics.recognition.recognition_sums`, element-wise (scalars, or arrays of bootstrap
    resamples); NaN where undefined (no pairs; no GT characters for CER)."""
    return {"word_accuracy": ratio(sums["correct"], sums["n"], np.nan),
            "cer": ratio(sums["dist"], sums["gt_chars"], np.nan),
            "one_minus_ned": ratio(sums["ned_sum"], sums["n"], np.nan)}
