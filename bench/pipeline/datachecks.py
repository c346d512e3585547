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
from bench.io.runfiles import has_text_scores
from bench.records import LQ_ROW, ImageItem
from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.gtcheck import GT_POLYGON_RULE, gt_check_counts, gt_text_counts
from bench.textmetrics.readstats import reading_counts, statistics_from_counts


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
                    cfg: TextEvalConfig) -> tuple[dict[str, dict], dict[str, dict[str, dict]]]:
    """The ``read_*`` statistics per row and the per-image counts they are pooled from,
    from the spot stage's ``{(image hash, id): detections}``."""
    per_row = {row: {it.id: detections[(it.outputs[row], it.id)] for it in items
                     if row in it.outputs and (it.outputs[row], it.id) in detections}
               for row in rows}
    counts = reading_counts(per_row, cfg)
    stats = statistics_from_counts({row: list(c.values()) for row, c in counts.items()}, LQ_ROW in per_row)
    return stats, counts


def with_reading_counts(per_image: list[dict], counts: dict[str, dict[str, dict]]) -> list[dict]:
    """Add each (image, row)'s reading counts to its per-image record (for ``bench merge``)."""
    for rec in per_image:
        rec.update(counts.get(rec["row"], {}).get(rec["image_id"], {}))
    return per_image


def reading_from_per_image(rows: Sequence[str], per_image: Sequence[dict]) -> dict[str, dict]:
    """The ``read_*`` statistics re-pooled from per-image records (a merge of shards)."""
    per_row = {row: [r for r in per_image if r["row"] == row and r.get("read_words") is not None] for row in rows}
    return statistics_from_counts(per_row, LQ_ROW in rows)


def _nonzero(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none"


def summary_lines(doc: dict) -> list[str]:
    """Lines of the run summary about the data: why text P/R/H are null, what the text
    statistics are, the GT checks and the skipped records per kind."""
    lines: list[str] = []
    results = doc.get("results", {})
    if results and not has_text_scores(doc):
        reason = next((v.get("det_reason") for v in results.values() if v.get("det_reason")), None)
        lines.append(f"text P/R/H: null ({reason or 'no value'}); shown instead, text statistics of the readings "
                     "(no ground truth, not accuracies): words/img = words read per image, read-conf = their mean "
                     "recognition confidence, LQ-agree% = word-level F1 of multiset agreement with the LQ row's words")
    data = doc.get("data", {})
    gt = data.get("gt_checks")
    if gt and gt.get("instances"):
        reading = {k: v for k, v in gt.get("text_reading", {}).items() if k not in ("compat", "words")}
        lines.append(f"ground truth: {gt['instances']} instances; evaluated as given (as the official evaluator "
                     f"does): {_nonzero(gt['kept'])}; don't care, no official answer: {_nonzero(gt['dont_care'])}; "
                     f"words changed by the official GT reader ({gt.get('text_reading', {}).get('compat')}): "
                     f"{_nonzero(reading)}")
    skipped = data.get("skipped_counts") or {}
    if any(skipped.values()):
        lines += [f"skipped records per kind: {_nonzero(skipped)}"]
    return lines


def merge_gt_checks(entries: Sequence[dict | None]) -> dict | None:
    """``data.gt_checks`` of several shards as one: every count summed (the shards hold
    disjoint images), the rule and compat mode kept."""
    entries = [e for e in entries if e]
    if not entries:
        return None

    def add(values: list):
        if isinstance(values[0], dict):
            return {k: add([v[k] for v in values]) for k in values[0]}
        return sum(values) if isinstance(values[0], int) else values[0]

    return add(entries)
