"""Pairing detections with ground truth (TESTR's ``evaluate_method``).

Source: ``testr/adet/evaluation/text_eval_script.py`` in cvlab-kaist/TAIR
(docs/protocol.md, "Matching").

1. A detection whose intersection with any don't-care GT, divided by the
   detection's own area, is strictly greater than ``dont_care_area`` (0.5) is
   ignored: never matched, never counted.
2. ``greedy`` (TESTR, the default): for each GT in order, for each detection in
   order, the first unmatched cared GT / non-ignored detection pair with IoU
   strictly greater than the threshold is made. This is not optimal.
3. ``bipartite`` (our option, never the default): the maximum number of such pairs,
   ties broken by the largest total IoU (``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

MATCHING_MODES = ("greedy", "bipartite")


def ignored_detections(own: np.ndarray, gt_dont_care: Sequence[bool], dont_care_area: float) -> list[bool]:
    """For each detection: does it cover a don't-care GT (``own > dont_care_area``)?

    ``own`` is the ``(n_gt, n_det)`` matrix of intersection / detection area.
    """
    n_det = own.shape[1] if own.ndim == 2 else 0
    dc_rows = [g for g, dc in enumerate(gt_dont_care) if dc]
    if not dc_rows or n_det == 0:
        return [False] * n_det
    return [bool(v) for v in (own[dc_rows, :] > dont_care_area).any(axis=0)]


def match(
    iou: np.ndarray,
    gt_care: Sequence[bool],
    det_care: Sequence[bool],
    threshold: float,
    mode: str = "greedy",
) -> list[tuple[int, int]]:
    """Pairs ``(gt_index, det_index)`` with ``iou > threshold`` among cared items."""
    if mode == "greedy":
        return greedy_match(iou, gt_care, det_care, threshold)
    if mode == "bipartite":
        return bipartite_match(iou, gt_care, det_care, threshold)
    raise ValueError(f"matching must be one of {MATCHING_MODES}, got {mode!r}")


def greedy_match(
    iou: np.ndarray, gt_care: Sequence[bool], det_care: Sequence[bool], threshold: float
) -> list[tuple[int, int]]:
    """TESTR's greedy pairing in GT order, then detection order."""
    det_used = [False] * len(det_care)
    pairs: list[tuple[int, int]] = []
    for g, g_care in enumerate(gt_care):
        if not g_care:
            continue
        for d, d_care in enumerate(det_care):
            if d_care and not det_used[d] and iou[g, d] > threshold:
                det_used[d] = True
                pairs.append((g, d))
                break
    return pairs


def bipartite_match(
    iou: np.ndarray, gt_care: Sequence[bool], det_care: Sequence[bool], threshold: float
) -> list[tuple[int, int]]:
    """Most pairs with ``iou > threshold``; among those, the largest total IoU.

    Each eligible pair is worth ``big + iou`` with ``big`` larger than any possible
    number of pairs, so one more pair always outweighs any IoU gain.
    """
    n_gt, n_det = len(gt_care), len(det_care)
    if n_gt == 0 or n_det == 0:
        return []
    eligible = (iou > threshold) & np.asarray(gt_care, bool)[:, None] & np.asarray(det_care, bool)[None, :]
    if not eligible.any():
        return []
    big = float(max(n_gt, n_det) + 1)
    weight = np.where(eligible, big + iou, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return sorted((int(r), int(c)) for r, c in zip(rows, cols) if eligible[r, c])
