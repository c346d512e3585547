"""Text-spotting evaluation of tair-bench: TESTR's protocol, plus hallucination measures.

Per image: :func:`evaluate_image` -> :class:`ImageTextResult` (integer counts for every
mode, matched words). Over a data set: :func:`pool` (sums, then P/R/H). Every pooled key
is defined in :data:`TEXT_METRIC_DEFINITIONS`. Protocol: PROTOCOL.md, "Text spotting
evaluation" (cvlab-kaist/TAIR ``testr/adet/evaluation``).
"""

from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.crop import rectified_crop
from bench.textmetrics.definitions import TEXT_METRIC_DEFINITIONS, TEXT_METRIC_HIGHER_IS_BETTER
from bench.textmetrics.evaluate import evaluate_image
from bench.textmetrics.hallucination import phantom_detections
from bench.textmetrics.headroom import headroom
from bench.textmetrics.lexicon import vocabulary_from_texts
from bench.textmetrics.pooling import pool
from bench.textmetrics.recognition import recognition_scores
from bench.textmetrics.results import ALL_MODES, Counts, ImageTextResult, MatchedPair, WrongWord

__all__ = [
    "ALL_MODES",
    "TEXT_METRIC_DEFINITIONS",
    "TEXT_METRIC_HIGHER_IS_BETTER",
    "Counts",
    "ImageTextResult",
    "MatchedPair",
    "TextEvalConfig",
    "WrongWord",
    "evaluate_image",
    "headroom",
    "phantom_detections",
    "pool",
    "recognition_scores",
    "rectified_crop",
    "vocabulary_from_texts",
]
