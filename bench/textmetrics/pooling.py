"""Data-set level text metrics: point estimates of the metric table (:mod:`.table`).

TESTR pools: it sums matches, cared GT and cared detections over all images, then
computes R = M / GT, P = M / Det, H = 2PR / (P + R), a zero denominator giving 0
(``upstream/TAIR/testr/adet/evaluation/text_eval_script.py:451-453``,
``methodRecall``/``methodPrecision``/``methodHmean``). Per-image values are never averaged.

One deliberate difference: with no cared GT word in a mode (GT = 0: no annotated image,
or every word don't care there), the official code prints 0 for P, R and H; there is
nothing to measure, so we report ``None`` for all three and say why in
``<mode>_reason`` (:data:`NO_GT_REASON`, :data:`NO_IMAGES_REASON`). The counts stay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from typing import Any

from bench.textmetrics.formulas import prh_arrays
from bench.textmetrics.results import Counts, ImageTextResult, modes_of
from bench.textmetrics.statistics import crop_statistics, result_statistics
from bench.textmetrics.table import CROPS, SPOTTING, TextMetric, metrics_of

NO_IMAGES_REASON = "no annotated image: text P/R/H need ground-truth words (see the text statistics read_*)"
NO_GT_REASON = "no cared GT word in this mode (GT = 0): nothing to measure"


def _none_if_nan(x) -> float | None:
    v = float(x)
    return None if math.isnan(v) else v


def prh(c: Counts) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and H-mean of pooled counts (:func:`prh_arrays`): ``None`` for
    all three when there is no cared GT (GT = 0)."""
    p, r, h = prh_arrays(c.matched, c.n_det, c.n_gt)
    return _none_if_nan(p), _none_if_nan(r), _none_if_nan(h)


def _point(metric: TextMetric, sums: Mapping[str, Any]) -> float | None | int:
    """One metric's point estimate: a count as summed, a score as a float (``None`` if undefined)."""
    value = metric.value(sums)
    return value if metric.formula is None else _none_if_nan(value)


def pool(results: Iterable[ImageTextResult]) -> dict[str, float | None | int]:
    """Pooled metrics over images: the table's :data:`~.table.SPOTTING` metrics in table
    order (within a mode P/R/H before its counts, results.json's key order), and
    ``<mode>_reason`` where a mode's H-mean is null. Every key is defined in
    ``TEXT_METRIC_DEFINITIONS``."""
    results = list(results)
    modes = modes_of(r.counts for r in results)
    sums = result_statistics(results, modes)
    out: dict[str, float | None | int] = {}
    for mode, group in groupby(metrics_of(SPOTTING, modes), key=lambda m: m.mode):
        metrics = list(group)
        if mode is not None:
            metrics.sort(key=lambda m: m.formula is None)
        out.update({m.name: _point(m, sums) for m in metrics if m.when is None or sums[m.when] > 0})
        if mode is not None and out[f"{mode}_hmean"] is None:
            out[f"{mode}_reason"] = NO_IMAGES_REASON if not results else NO_GT_REASON
    return out


def crop_scores(pairs: Sequence[Sequence[str]]) -> dict[str, float | None | int]:
    """The ``crop_*`` metrics (the table's :data:`~.table.CROPS` metrics) of the
    (GT word, read word) pairs of recognition on GT crops, pooled over images."""
    sums = crop_statistics(pairs)
    return {m.name: _point(m, sums) for m in metrics_of(CROPS)}
