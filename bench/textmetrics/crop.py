"""Rectified crops of text polygons, for recognition on crops.

A 4-point polygon is warped as a quadrilateral (points in drawing order from the
top-left corner: TL, TR, BR, BL). Any other polygon (e.g. SA-Text's 16 points) is
replaced by its minimum-area rectangle (``cv2.minAreaRect``), warped so that its long
side is horizontal and reads left to right. Crops are at least 1x1 pixels.

GT polygons are taken as given (docs/protocol.md), also outside the image:

* partly outside: the part outside repeats the image's edge pixels (``BORDER_REPLICATE``);
* wholly outside (no point of the polygon's convex hull is inside the image): the word has no
  pixels in this image, and its crop is blank (all zeros), the same for every row, instead
  of edge pixels smeared across it;
* no side of a crop is longer than the image's diagonal (rounded up, plus one): a longer
  side (a polygon reaching far outside the image) is resampled down to that length, so a
  huge polygon is not a huge allocation. A polygon inside the image is never that long, so
  its crop is unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np


def _clockwise(pts: np.ndarray) -> np.ndarray:
    """Order 4 corners clockwise on screen (y down): positive shoelace sum."""
    x, y = pts[:, 0], pts[:, 1]
    signed = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    return pts if signed >= 0 else pts[::-1].copy()


def _rect_corners(points: np.ndarray) -> np.ndarray:
    """TL, TR, BR, BL of the min-area rectangle with its long side as the top edge."""
    box = _clockwise(cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32))).astype(np.float64))
    edge = [np.linalg.norm(box[(i + 1) % 4] - box[i]) for i in range(4)]
    starts = (0, 2) if edge[0] >= edge[1] else (1, 3)
    # Of the two long edges, the one running left to right is the top one.
    start = max(starts, key=lambda s: (box[(s + 1) % 4][0] - box[s][0], -s))
    return np.roll(box, -start, axis=0)


def max_side(shape: tuple[int, ...]) -> int:
    """The longest side a crop of an image of ``shape`` ``(H, W, ...)`` may have: its diagonal,
    rounded up, plus one (no polygon inside the image has a longer side)."""
    return math.ceil(math.hypot(shape[0], shape[1])) + 1


def outside(polygon: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether the convex hull of the points has no point inside the ``(H, W)`` image
    (interiors disjoint: touching its border from outside is outside)."""
    from shapely.geometry import MultiPoint, box

    return not MultiPoint(polygon).convex_hull.relate_pattern(box(0, 0, shape[1], shape[0]), "T********")


def rectified_crop(image: np.ndarray, polygon: Sequence[Sequence[float]]) -> np.ndarray:
    """Crop ``polygon`` out of an ``(H, W, 3)`` image as an upright rectangle (blank when the
    polygon lies wholly outside the image; sides at most :func:`max_side`, see the module doc)."""
    pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(pts)}")
    src = pts if len(pts) == 4 else _rect_corners(pts)
    width = max(np.linalg.norm(src[1] - src[0]), np.linalg.norm(src[2] - src[3]))
    height = max(np.linalg.norm(src[3] - src[0]), np.linalg.norm(src[2] - src[1]))
    limit = max_side(image.shape)
    w, h = min(limit, max(1, round(float(width)))), min(limit, max(1, round(float(height))))
    if outside(pts, image.shape):
        return np.zeros((h, w) + image.shape[2:], dtype=image.dtype)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    return cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
