"""Polygon geometry for text-spotting evaluation (shapely only).

Source of the rules: TESTR's evaluator, ``testr/adet/evaluation/text_evaluation.py``
(``sort_detection``) and ``text_eval_script.py`` in cvlab-kaist/TAIR (docs/protocol.md,
"Matching").

* **Detections** that do not form a valid polygon (fewer than 3 points, zero area,
  self-intersection) are *dropped*, as TESTR's ``sort_detection`` does with
  ``shapely.geometry.Polygon(pts).is_valid``.
* **Ground truth** polygons are never dropped (TESTR would stop with an assertion on
  an invalid GT polygon, so it defines nothing here). Our rule
  (:mod:`bench.textmetrics.gtcheck`): such a GT is don't care; its polygon is repaired
  with ``shapely.make_valid`` and only the polygonal parts are kept, the don't-care
  region that detections covering it are ignored by (empty when no area is left).
* IoU is ``inter / (area_a + area_b - inter)``, the union computed from areas exactly
  as TESTR's ``get_union`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

_EMPTY = Polygon()


def detection_polygon(points: Sequence[Sequence[float]]) -> Polygon | None:
    """Shapely polygon of a detection, or ``None`` when TESTR would drop it (invalid)."""
    if len(points) < 3:
        return None
    try:
        poly = Polygon([(float(x), float(y)) for x, y in points])
    except (ValueError, TypeError):
        return None
    if poly.is_empty or not poly.is_valid:
        return None
    return poly


def gt_polygon(points: Sequence[Sequence[float]]) -> BaseGeometry:
    """Shapely geometry of a GT word; invalid polygons are repaired (see module doc)."""
    if len(points) < 3:
        return _EMPTY
    try:
        poly = Polygon([(float(x), float(y)) for x, y in points])
    except (ValueError, TypeError):
        return _EMPTY
    if poly.is_valid:
        return poly
    return _polygonal_part(shapely.make_valid(poly))


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygons of a (possibly mixed) geometry returned by make_valid."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    polys: list[Polygon] = []
    for part in parts:
        polys.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    return MultiPolygon(polys) if polys else _EMPTY


def intersection_area(a: BaseGeometry, b: BaseGeometry) -> float:
    """Area of ``a & b`` (0 when they do not meet)."""
    if a.is_empty or b.is_empty or not a.intersects(b):
        return 0.0
    return float(a.intersection(b).area)


def iou(a: BaseGeometry, b: BaseGeometry) -> float:
    """Intersection over union; 0 when the union has no area."""
    inter = intersection_area(a, b)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def overlap_matrices(
    gts: Sequence[BaseGeometry], dets: Sequence[BaseGeometry]
) -> tuple[np.ndarray, np.ndarray]:
    """``(iou, own)`` matrices of shape ``(len(gts), len(dets))``.

    ``own[g, d]`` is the intersection divided by the *detection's* area, the quantity
    TESTR compares with ``AREA_PRECISION_CONSTRAINT`` for don't-care regions.
    """
    if not gts or not dets:
        empty = np.zeros((len(gts), len(dets)), dtype=float)
        return empty, empty.copy()
    g = np.asarray(gts, dtype=object)[:, None]
    d = np.asarray(dets, dtype=object)[None, :]
    inter = shapely.area(shapely.intersection(g, d))
    g_area = shapely.area(g)
    d_area = shapely.area(d)
    union = g_area + d_area - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou_m = np.where(union > 0, inter / union, 0.0)
        own_m = np.where(d_area > 0, inter / d_area, 0.0)
    return iou_m.astype(float), np.broadcast_to(own_m, iou_m.shape).astype(float)
