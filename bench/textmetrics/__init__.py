"""Text-spotting evaluation of tair-bench: TESTR's protocol, plus hallucination measures.

Per image: :func:`evaluate_image` -> :class:`ImageTextResult` (integer counts for every
mode, matched words). Over a data set: :func:`pool` (sums, then P/R/H) and
:func:`crop_scores` (recognition on GT crops), both derived from the metric table
(:data:`bench.textmetrics.table.TEXT_METRICS`). Every pooled key is defined in
:data:`TEXT_METRIC_DEFINITIONS` or :data:`CROP_METRIC_DEFINITIONS`. Protocol: the
evaluator of TESTR (cvlab-kaist/TAIR ``testr/adet/evaluation``).
"""

from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.crop import rectified_crop
from bench.textmetrics.definitions import (
    CROP_HIGHER_IS_BETTER,
    CROP_METRIC_DEFINITIONS,
    TEXT_METRIC_DEFINITIONS,
    TEXT_METRIC_HIGHER_IS_BETTER,
)
from bench.textmetrics.evaluate import evaluate_image
from bench.textmetrics.hallucination import phantom_detections
from bench.textmetrics.headroom import headroom
from bench.textmetrics.lexicon import vocabulary_from_texts
from bench.textmetrics.pooling import crop_scores, pool
from bench.textmetrics.recognition import recognition_scores
from bench.textmetrics.results import (
    ALL_MODES,
    Counts,
    ImageTextResult,
    MatchedPair,
    WrongWord,
)

__all__ = [
    "ALL_MODES",
    "CROP_HIGHER_IS_BETTER",
    "CROP_METRIC_DEFINITIONS",
    "TEXT_METRIC_DEFINITIONS",
    "TEXT_METRIC_HIGHER_IS_BETTER",
    "Counts",
    "ImageTextResult",
    "MatchedPair",
    "TextEvalConfig",
    "WrongWord",
    "crop_scores",
    "evaluate_image",
    "headroom",
    "phantom_detections",
    "pool",
    "recognition_scores",
    "rectified_crop",
    "vocabulary_from_texts",
]
