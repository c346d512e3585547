"""TESTR's treatment of predictions before matching (docs/protocol.md, "Detections: what the evaluator keeps").

Source: ``to_eval_format`` and ``sort_detection`` in cvlab-kaist/TAIR
``testr/adet/evaluation/text_evaluation.py``: keep ``score > 0.1``; write coordinates
with ``int()``; drop polygons shapely calls invalid; keep the detection order.

Ground truth: the official evaluator builds every polygon it measures with
``polygon_from_points`` (``text_eval_script.py:74-85``), which stores the coordinates in a
``float32`` array, so in ``testr`` compat a GT coordinate is rounded to the nearest
float32 before any area or IoU (integer coordinates, as SA-Text has, are unchanged; a
fractional one such as 5.000000001 becomes 5.0 and can move an IoU across 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from bench.records import Detection, TextInstance
from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.geometry import detection_polygon, gt_polygon
from bench.textmetrics.normalize import prediction_text


@dataclass(frozen=True)
class PreparedDetection:
    """A detection as the evaluator sees it; ``index`` is its place in the input list."""

    index: int
    geometry: Polygon
    text: str
    raw_text: str
    score: float


def evaluated_points(det: Detection, compat: str) -> list[tuple[float, float]] | None:
    """Polygon points after TESTR's ``int()`` truncation (testr) or as given (clean)."""
    pts = [(float(x), float(y)) for x, y in det.polygon]
    if not all(math.isfinite(v) for p in pts for v in p):
        return None
    if compat == "testr":
        pts = [(float(int(x)), float(int(y))) for x, y in pts]
    return pts


def prepare_detections(dets: Sequence[Detection], cfg: TextEvalConfig) -> list[PreparedDetection]:
    """Apply the score pre-filter, coordinate rule, polygon validity and text rule."""
    out: list[PreparedDetection] = []
    for i, det in enumerate(dets):
        if not det.score > cfg.prefilter_score:
            continue
        pts = evaluated_points(det, cfg.compat)
        geom = detection_polygon(pts) if pts is not None else None
        if geom is None:
            continue
        out.append(PreparedDetection(i, geom, prediction_text(det.text, cfg.compat), det.text, float(det.score)))
    return out


def gt_geometries(gt: Sequence[TextInstance], compat: str) -> list[BaseGeometry]:
    """The GT polygons as the evaluator measures them: coordinates rounded to float32 in
    ``testr`` compat (module doc), as given in ``clean``."""
    if compat != "testr":
        return [gt_polygon(g.polygon) for g in gt]
    return [gt_polygon(np.asarray(g.polygon, dtype=np.float32).astype(np.float64).tolist()) for g in gt]
