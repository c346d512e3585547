"""Each data-set level text formula, written once and evaluated element-wise.

The metric table (:mod:`bench.textmetrics.table`) names one of these for every pooled
score. ``pool`` calls them on one pooled total (0-d arrays); the bootstrap
(:mod:`bench.pipeline.intervals`) calls them on every resample at once; ``bench merge``
re-pools shards through ``pool``. NaN marks "undefined" here; the scalar callers turn
it into ``None``.
"""

from __future__ import annotations

import numpy as np


def ratio(num, den, empty: float) -> np.ndarray:
    """Element-wise ``num / den``, ``empty`` where ``den == 0`` (scalars or arrays)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), empty)


def rate(num, den) -> np.ndarray:
    """``num / den``, NaN (undefined) where ``den == 0``."""
    return ratio(num, den, np.nan)


# -- pooled precision, recall and H-mean: 0 on a zero denominator as TESTR, NaN for all
# three where there is no cared GT (GT = 0: nothing to measure)

def precision(matched, n_det, n_gt) -> np.ndarray:
    """P = M / Det."""
    return np.where(np.asarray(n_gt) > 0, ratio(matched, n_det, 0.0), np.nan)


def recall(matched, n_gt) -> np.ndarray:
    """R = M / GT."""
    return np.where(np.asarray(n_gt) > 0, ratio(matched, n_gt, 0.0), np.nan)


def hmean(matched, n_det, n_gt) -> np.ndarray:
    """H = 2PR / (P + R) of :func:`precision` and :func:`recall`."""
    p, r = precision(matched, n_det, n_gt), recall(matched, n_gt)
    return np.where(np.asarray(n_gt) > 0, ratio(2 * p * r, p + r, 0.0), np.nan)


def prh_arrays(matched, n_det, n_gt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`precision`, :func:`recall` and :func:`hmean` together."""
    return precision(matched, n_det, n_gt), recall(matched, n_gt), hmean(matched, n_det, n_gt)


# -- recognition over (GT word, read word) pairs, from the sums of
# :func:`bench.textmetrics.recognition.recognition_sums`; NaN where undefined

def word_accuracy(correct, n) -> np.ndarray:
    """Share of pairs whose words are identical (NaN without pairs)."""
    return rate(correct, n)


def cer(dist, gt_chars) -> np.ndarray:
    """Sum of edit distances / sum of GT lengths (can exceed 1; NaN without GT characters)."""
    return rate(dist, gt_chars)


def one_minus_ned(ned_sum, n) -> np.ndarray:
    """Mean of the per-pair ``1 - NED`` terms (NaN without pairs)."""
    return rate(ned_sum, n)


def recognition_from_sums(sums: dict) -> dict:
    """Word accuracy, CER and 1-NED from (summed) ``recognition_sums``, element-wise."""
    return {"word_accuracy": word_accuracy(sums["correct"], sums["n"]),
            "cer": cer(sums["dist"], sums["gt_chars"]),
            "one_minus_ned": one_minus_ned(sums["ned_sum"], sums["n"])}
