"""Hallucination measures (ours, not TESTR's).

* **Confidently wrong** (per matched pair): in E2E with word spotting off and no
  lexicon, a detection paired with a GT word (IoU > threshold) whose word is judged
  wrong and whose score is ``>= confident_threshold``. ``confidently_wrong_rate`` =
  confidently wrong pairs / all such pairs, pooled over images.
* **Phantom text** (per detection): a detection on the *restored* image, kept by the
  evaluator's pre-filter (score, coordinates, valid polygon), that

  - has IoU > ``iou_threshold`` with no GT word (``###`` regions included), and
  - covers no ``###`` region (intersection / own area > ``dont_care_area``), and
  - has IoU > ``iou_threshold`` with no detection on the *HQ* image (same pre-filter).

  Text that is neither annotated nor found on the clean image was most likely
  invented by the restorer. ``phantom_per_image`` = mean count per image.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.records import Detection, TextInstance
from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.geometry import overlap_matrices
from bench.textmetrics.prepare import gt_geometries, prepare_detections


def is_confidently_wrong(correct: bool, score: float, cfg: TextEvalConfig) -> bool:
    """A matched pair is confidently wrong iff its word is wrong and ``score >= threshold``."""
    return (not correct) and score >= cfg.confident_threshold


def phantom_detections(
    restored_dets: Sequence[Detection],
    gt: Sequence[TextInstance],
    hq_dets: Sequence[Detection],
    cfg: TextEvalConfig,
    dont_care: Sequence[bool] | None = None,
) -> list[Detection]:
    """Detections on the restored image explained by neither GT nor the HQ image (module doc).

    ``dont_care`` (one flag per GT) is the evaluator's don't-care decision (the GT word as
    read in the compat mode); by default :attr:`TextInstance.dont_care`."""
    restored = prepare_detections(restored_dets, cfg)
    if not restored:
        return []
    geoms = [p.geometry for p in restored]
    iou_gt, own_gt = overlap_matrices(gt_geometries(gt, cfg.compat), geoms)
    iou_hq, _ = overlap_matrices([p.geometry for p in prepare_detections(hq_dets, cfg)], geoms)
    flags = [g.dont_care for g in gt] if dont_care is None else list(dont_care)
    dc_rows = [i for i, dc in enumerate(flags) if dc]
    phantoms = []
    for d, prep in enumerate(restored):
        if (iou_gt[:, d] > cfg.iou_threshold).any():
            continue
        if dc_rows and (own_gt[dc_rows, d] > cfg.dont_care_area).any():
            continue
        if (iou_hq[:, d] > cfg.iou_threshold).any():
            continue
        phantoms.append(restored_dets[prep.index])
    return phantoms
