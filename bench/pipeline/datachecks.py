"""What a run says about its data beyond the scores: ground-truth checks, skipped-record
counts and the text statistics of the readings.

* ``data.gt_checks`` (results.json): over the evaluated, annotated images, how many GT
  polygons of each kind the official evaluator accepts as they are (``kept``) or would
  abort on (``dont_care``: kept in their image as don't care), with the rule
  (:mod:`bench.textmetrics.gtcheck`), and how its GT reader changed the words
  (``text_reading``). Counted from the evaluated images, so a ``--shard`` run counts its
  own images.
* ``data.skipped_counts``: skipped (unreadable) records per kind
  (:data:`bench.data.base.SKIP_KINDS`).
* the ``read_*`` statistics of every row (:mod:`bench.textmetrics.readstats`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bench.data.base import SKIP_KINDS, SkippedRecord
from bench.records import ImageItem
from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.gtcheck import GT_POLYGON_RULE, gt_check_counts, gt_text_counts
from bench.textmetrics.readstats import reading_statistics


def data_checks(items: Sequence[ImageItem], skipped: Sequence[SkippedRecord], compat: str) -> dict:
    """``{"gt_checks": ..., "skipped_counts": ...}`` for the ``data`` section (module doc)."""
    annotated = [it for it in items if it.has_annotations]
    gt = gt_check_counts(([i.polygon for i in it.instances], it.size) for it in annotated)
    kinds = Counter(s.kind for s in skipped)
    return {
        "gt_checks": {**gt, "rule": GT_POLYGON_RULE,
                      "text_reading": gt_text_counts((i.text for it in annotated for i in it.instances), compat)},
        "skipped_counts": {k: kinds[k] for k in SKIP_KINDS + tuple(sorted(set(kinds) - set(SKIP_KINDS)))},
    }


def reading_results(rows: Sequence[str], items: Sequence[ImageItem], detections: dict,
                    cfg: TextEvalConfig) -> dict[str, dict]:
    """The ``read_*`` statistics per row, from the spot stage's ``{(image hash, id): detections}``."""
    per_row = {row: {it.id: detections[(it.outputs[row], it.id)] for it in items
                     if row in it.outputs and (it.outputs[row], it.id) in detections}
               for row in rows}
    return reading_statistics(per_row, cfg)
