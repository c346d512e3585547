"""Settings of the text-spotting evaluation (:class:`TextEvalConfig`).

Defaults reproduce TESTR's evaluator (cvlab-kaist/TAIR ``testr/adet/evaluation``;
docs/protocol.md). Every comparison is strict (``>``), as there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench.textmetrics.lexicon import LEXICON_VARIANTS
from bench.textmetrics.matching import MATCHING_MODES

COMPAT_MODES = ("testr", "clean")


@dataclass(frozen=True)
class TextEvalConfig:
    """How detections are cleaned, paired and judged.

    * ``iou_threshold``: a GT/detection pair needs IoU strictly above it (TESTR 0.5).
    * ``dont_care_area``: a detection whose intersection with a don't-care GT over its
      own area is strictly above it is ignored (TESTR 0.5).
    * ``prefilter_score``: detections need a score strictly above it (TESTR 0.1, on top
      of the spotter's own threshold).
    * ``compat``: ``"testr"`` reproduces TESTR's hidden steps: coordinates truncated
      with ``int()``, characters with code >= 128 deleted, and the text-file artefacts
      (cut at the first ``": "`` and ``",####"``, strip, surrounding double quotes
      removed). ``"clean"`` skips all of these (float coordinates, text as given).
      Both modes keep the score pre-filter, drop invalid polygons and keep order.
    * ``matching``: ``"greedy"`` (TESTR) or ``"bipartite"`` (maximum matching; ours).
    * ``confident_threshold``: a matched wrong word with score >= it is "confidently
      wrong" (our hallucination measure; not part of TESTR).
    * ``lexicon_variant``: for the ``full`` lexicon, ``"totaltext"`` always replaces
      the word (Total-Text/CTW1500 rule), ``"icdar15"`` replaces it only at edit
      distance < 2.5 and otherwise drops the detection.
    """

    iou_threshold: float = 0.5
    dont_care_area: float = 0.5
    prefilter_score: float = 0.1
    compat: str = "testr"
    matching: str = "greedy"
    confident_threshold: float = 0.9
    lexicon_variant: str = "totaltext"

    def __post_init__(self) -> None:
        if self.compat not in COMPAT_MODES:
            raise ValueError(f"compat must be one of {COMPAT_MODES}, got {self.compat!r}")
        if self.matching not in MATCHING_MODES:
            raise ValueError(f"matching must be one of {MATCHING_MODES}, got {self.matching!r}")
        if self.lexicon_variant not in LEXICON_VARIANTS:
            raise ValueError(f"lexicon_variant must be one of {LEXICON_VARIANTS}, got {self.lexicon_variant!r}")
        for name in ("iou_threshold", "dont_care_area"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        """Plain dict, for results files and cache keys."""
        return asdict(self)
