"""The text metric table: every pooled text metric declared once.

An entry names the metric, the summed per-image statistics it needs
(:mod:`bench.textmetrics.statistics`, the "update" half), its formula over those sums
(:mod:`bench.textmetrics.formulas`, element-wise: the "compute" half), its direction and
its definition. Everything else derives from this table: the point estimates
(:func:`bench.textmetrics.pooling.pool`, :func:`bench.textmetrics.pooling.crop_scores`,
so also ``bench merge``), the bootstrap's statistics and formulas
(:mod:`bench.pipeline.intervals`) and the definitions and directions copied into
results.json (:mod:`bench.textmetrics.definitions`).

Adding a pooled text metric = one entry here (plus its statistic in
:mod:`bench.textmetrics.statistics` if it needs a new one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.textmetrics.formulas import cer, hmean, one_minus_ned, precision, rate, recall, word_accuracy
from bench.textmetrics.results import ALL_MODES

#: pooled from the spotter evaluations of the images (:func:`~bench.textmetrics.statistics.result_statistics`)
SPOTTING = "spotting"
#: pooled from the (GT word, read word) pairs of recognition on GT crops
#: (:func:`~bench.textmetrics.statistics.crop_statistics`)
CROPS = "crops"


@dataclass(frozen=True)
class TextMetric:
    """One pooled text metric.

    ``formula`` takes the summed ``stats`` in order and works element-wise (one total or
    every bootstrap resample); ``None`` makes the metric a count: the value is its one
    statistic, and it gets no interval. ``higher_is_better`` is ``None`` for counts with
    no better direction. ``mode`` ties a metric to an evaluation mode (left out when that
    mode is not pooled); ``when`` names a statistic that must be > 0 for the metric to be
    reported at all.
    """

    name: str
    stats: tuple[str, ...]
    formula: Callable[..., np.ndarray] | None
    higher_is_better: bool | None
    definition: str
    source: str = SPOTTING
    mode: str | None = None
    when: str | None = None

    def value(self, sums: Mapping[str, Any]) -> Any:
        """The metric from summed statistics (scalars or arrays of resamples)."""
        if self.formula is None:
            return sums[self.stats[0]]
        return self.formula(*(sums[s] for s in self.stats))


def _count(name: str, stat: str, definition: str, higher_is_better: bool | None = None,
           **kw: Any) -> TextMetric:
    return TextMetric(name, (stat,), None, higher_is_better, definition, **kw)


_MODE_TEXT = {
    "det": "detection only (TESTR 'DETECTION_ONLY'): a pair is a GT/detection pair with "
    "IoU > iou_threshold; don't care = GT '###'",
    "e2e_none": "end-to-end, no lexicon, word spotting off (TESTR E2E as for CTW1500/ICDAR2015, "
    "'E2E None'): don't care = GT '###'; a pair counts iff, upper-cased, the evaluated "
    "prediction equals the GT or the GT without one of !?.:,*\"()·[]/' at its start, end or both",
    "e2e_none_ws": "end-to-end, no lexicon, word spotting on (TESTR as for Total-Text): don't care = "
    "GT '###' or a GT that after normalization (drop final 's, strip '-', !?.:,*\"()·[]/' -> space, "
    "strip) has a space, < 3 characters or a character outside Latin/Greek letters and '-'; a pair "
    "counts iff upper-cased normalized GT == upper-cased prediction",
    "e2e_full": "as e2e_none, with each raw prediction first snapped to the closest word (Levenshtein, "
    "upper-cased, first in sorted order on ties) of the data set vocabulary ('full' lexicon): the non-'###' "
    "GT words, each read as the GT words below (in testr compat stripped, as TESTR strips its lexicon lines). "
    "Known, deliberate difference from TESTR: of words with one upper-cased form (Straße, STRASSE) we return "
    "the first in sorted order, where TESTR's pair list returns its last line's spelling; that depends on the "
    "lexicon file's line order, and a vocabulary has none, so we keep an order-free rule",
    "e2e_full_ws": "as e2e_none_ws, with the 'full' lexicon snapping of e2e_full",
}
_COMMON = (
    "Detections: score > prefilter_score, invalid polygons dropped, in testr compat int() coordinates "
    "and TESTR's text-file artefacts; a detection whose intersection with a don't-care GT over its own "
    "area is > dont_care_area is ignored. Pairs: greedy in GT order then detection order (IoU alone; "
    "a wrong word still uses up its GT). Sums are pooled over all images before dividing. GT words: in testr "
    "compat read as TESTR's GT reader reads them (cut at ',####', stripped, surrounding double quotes removed "
    "with \\\\ and \\\" unescaped; a line break: no official reading, don't care), '###' decided on that reading; "
    "a GT polygon the official validator refuses (self-intersecting, zero area, < 3 points) is don't care; "
    "in testr compat GT coordinates are rounded to float32, as the official polygon_from_points stores them."
)


def _mode_metrics(mode: str) -> tuple[TextMetric, ...]:
    """The counts and P/R/H of one evaluation mode."""
    base = f"[{mode}] {_MODE_TEXT[mode]}. {_COMMON}"
    nothing = f"Null if GT = 0 (nothing to measure; the reason is in {mode}_reason)"
    m, gt, det = f"{mode}:matched", f"{mode}:n_gt", f"{mode}:n_det"
    return (
        _count(f"{mode}_matched", m, f"M: number of counted pairs, summed over images. {base}", True, mode=mode),
        _count(f"{mode}_n_gt", gt, f"GT: number of cared GT words, summed over images. {base}", mode=mode),
        _count(f"{mode}_n_det", det, f"Det: number of cared (non-ignored) detections, summed over images. {base}",
               mode=mode),
        TextMetric(f"{mode}_precision", (m, det, gt), precision, True,
                   f"P = M / Det (0 if Det = 0). {nothing}. {base}", mode=mode),
        TextMetric(f"{mode}_recall", (m, gt), recall, True, f"R = M / GT. {nothing}. {base}", mode=mode),
        TextMetric(f"{mode}_hmean", (m, det, gt), hmean, True,
                   f"H = 2PR / (P + R) (0 if P + R = 0); pooled, never a mean of per-image values. "
                   f"{nothing}. {base}", mode=mode),
    )


_PHANTOM = {"when": "phantom_valid"}

#: the table, in the order of results.json's ``metrics`` section
TEXT_METRICS: tuple[TextMetric, ...] = (
    _count("n_images", "n_images", "Number of images pooled."),
    *(entry for mode in ALL_MODES for entry in _mode_metrics(mode)),
    _count("e2e_none_pairs", "e2e_none_pairs",
           "Number of GT/detection pairs made on IoU in mode e2e_none (right or wrong word), summed."),
    _count("confidently_wrong", "confidently_wrong",
           "Pairs of e2e_none whose word is wrong and whose detection score >= confident_threshold, summed.", False),
    TextMetric("confidently_wrong_rate", ("confidently_wrong", "e2e_none_pairs"), rate, False,
               "confidently_wrong / e2e_none_pairs (null if no pairs): the share of located "
               "words read wrongly with high confidence."),
    _count("rec_n", "rec_n", "Number of det-mode pairs (cared GT, IoU > iou_threshold) used for the rec_* scores."),
    TextMetric("rec_word_accuracy", ("rec_correct", "rec_n"), word_accuracy, True,
               "Over det-mode pairs: share where the upper-cased evaluated prediction equals the "
               "upper-cased GT word exactly (no punctuation allowance). Null if rec_n = 0."),
    TextMetric("rec_cer", ("rec_dist", "rec_gt_chars"), cer, False,
               "Over det-mode pairs, upper-cased: sum of Levenshtein distances / sum of GT lengths "
               "(can exceed 1). Null if there are no GT characters."),
    TextMetric("rec_one_minus_ned", ("rec_ned_sum", "rec_n"), one_minus_ned, True,
               "Over det-mode pairs, upper-cased: mean of 1 - Levenshtein / max(len(gt), len(pred)) "
               "(1 for two empty words). Null if rec_n = 0."),
    _count("phantom_total", "phantom",
           "Phantom detections summed over images: on the restored image, after the pre-filter, "
           "IoU > iou_threshold with no GT (### included), covering no ### region (intersection / own area > "
           "dont_care_area) and IoU > iou_threshold with no detection on the HQ image.", False, **_PHANTOM),
    _count("phantom_n_images", "phantom_valid",
           "Number of images with HQ detections, over which phantom_per_image is averaged.", **_PHANTOM),
    TextMetric("phantom_per_image", ("phantom", "phantom_valid"), rate, False,
               "phantom_total / phantom_n_images (null if 0).", **_PHANTOM),
    _count("crop_n", "crop_n", "Number of cared GT words (not ###) read from their rectified GT-polygon crops, "
           "summed over images.", source=CROPS),
    TextMetric("crop_word_accuracy", ("crop_correct", "crop_n"), word_accuracy, True,
               "Recognition on GT crops (no detection involved): share of cared GT words whose crop "
               "the spotter's recognizer reads exactly as the GT word, case-insensitive.", source=CROPS),
    TextMetric("crop_cer", ("crop_dist", "crop_gt_chars"), cer, False,
               "Recognition on GT crops: sum of Levenshtein distances (upper-cased) / sum of GT word lengths.",
               source=CROPS),
    TextMetric("crop_one_minus_ned", ("crop_ned_sum", "crop_n"), one_minus_ned, True,
               "Recognition on GT crops: mean over words of 1 - Levenshtein / max(len(gt), len(read)), "
               "upper-cased.", source=CROPS),
)


def metrics_of(source: str, modes: Sequence[str] = ALL_MODES) -> tuple[TextMetric, ...]:
    """The table's metrics pooled from ``source``, for the evaluated ``modes``, in table order."""
    return tuple(m for m in TEXT_METRICS if m.source == source and (m.mode is None or m.mode in modes))
