"""Run a text-line model on a whole image: crop, rectify, restore, paste back.

Line-level text super-resolution models (DiffTSR: one horizontal line, 512x128)
cannot take a scene image. For each text polygon this module

1. fits the smallest rotated rectangle around it, oriented along the reading
   direction (for SA-Text/TESTR polygons the first half of the points is the top
   edge, left to right, so ``p[n/2-1] - p[0]`` is the direction);
2. warps that rectangle to an axis-aligned crop of the model's input size
   (a perspective warp, so slanted text becomes horizontal);
3. restores all crops of the image in one call to the inner model;
4. warps each result back and blends it in with a feathered mask: weight 1
   inside the polygon, falling linearly to 0 over ``feather`` pixels outside it,
   and 0 wherever the warped crop has no content. Pixels farther than
   ``feather`` from every polygon are never changed.

Polygons are in the coordinates of the image being restored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

InnerModel = Callable[[list[np.ndarray]], list[np.ndarray]]


def reading_direction(poly: np.ndarray) -> np.ndarray:
    """Unit vector along the text: top edge from first point to the middle one."""
    n = len(poly)
    d = poly[max(1, n // 2 - 1)] - poly[0] if n >= 4 and n % 2 == 0 else np.array([1.0, 0.0])
    norm = float(np.hypot(*d))
    return d / norm if norm > 1e-6 else np.array([1.0, 0.0])


def oriented_quad(polygon) -> np.ndarray:
    """The minimum-area rectangle around ``polygon`` as ``(tl, tr, br, bl)``,
    its top edge along the reading direction. Shape ``(4, 2)`` float32."""
    poly = np.asarray(polygon, dtype=np.float32).reshape(-1, 2)
    box = cv2.boxPoints(cv2.minAreaRect(poly))
    d = reading_direction(poly)
    rot = np.array([[d[0], d[1]], [-d[1], d[0]]], dtype=np.float32)  # text axis -> x axis
    r = box @ rot.T
    s, t = r[:, 0] + r[:, 1], r[:, 1] - r[:, 0]
    tl, br, tr, bl = int(np.argmin(s)), int(np.argmax(s)), int(np.argmin(t)), int(np.argmax(t))
    if len({tl, tr, br, bl}) < 4:  # rectangle at exactly 45 degrees in the rotated frame
        order = np.argsort(np.arctan2(r[:, 1] - r[:, 1].mean(), r[:, 0] - r[:, 0].mean()))
        tl, tr, br, bl = (int(i) for i in np.roll(order, -int(np.argmin(s[order]))))
    return box[[tl, tr, br, bl]].astype(np.float32)


def quad_aspect(quad: np.ndarray) -> float:
    """Width / height of an oriented quad (reading direction = width)."""
    w = np.linalg.norm(quad[1] - quad[0])
    h = np.linalg.norm(quad[3] - quad[0])
    return float(w / max(h, 1e-6))


def rectify(image: np.ndarray, quad: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Warp the quad ``(tl, tr, br, bl)`` of ``image`` to a ``size=(w, h)`` crop.
    Returns the crop and the 3x3 matrix mapping image to crop coordinates."""
    w, h = size
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    crop = cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return crop, m


def feather_mask(shape: tuple[int, int], polygon, feather: int) -> np.ndarray:
    """Float mask: 1 inside ``polygon``, linear fall-off to 0 at ``feather`` px outside."""
    inside = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(inside, [np.round(np.asarray(polygon, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)], 1)
    if feather <= 0:
        return inside.astype(np.float32)
    dist = cv2.distanceTransform((1 - inside).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip(1.0 - dist / float(feather + 1), 0.0, 1.0).astype(np.float32) * (dist <= feather)


def paste_back(image: np.ndarray, restored: np.ndarray, matrix: np.ndarray, polygon, feather: int) -> np.ndarray:
    """Blend ``restored`` (a crop made by :func:`rectify` with ``matrix``) into ``image``."""
    h, w = image.shape[:2]
    inv = np.linalg.inv(matrix)
    back = cv2.warpPerspective(restored, inv, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT)
    valid = cv2.warpPerspective(np.ones(restored.shape[:2], np.float32), inv, (w, h),
                                flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = (feather_mask((h, w), polygon, feather) * valid)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + back.astype(np.float32) * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


@dataclass
class LineReport:
    """What happened to one image's polygons (for the per-image record)."""

    restored: int = 0
    skipped_aspect: int = 0


LineJob = tuple  # (polygon, rectified crop, image->crop matrix)


def prepare_lines(
    image: np.ndarray,
    polygons: Sequence,
    size: tuple[int, int] = (512, 128),
    aspect_range: tuple[float, float] | None = None,
) -> tuple[list[LineJob], LineReport]:
    """Rectify every polygon of ``image`` whose aspect is inside ``aspect_range``."""
    report, jobs = LineReport(), []
    for poly in polygons:
        quad = oriented_quad(poly)
        if aspect_range is not None and not aspect_range[0] <= quad_aspect(quad) <= aspect_range[1]:
            report.skipped_aspect += 1
            continue
        crop, m = rectify(image, quad, size)
        jobs.append((poly, crop, m))
    return jobs, report


def apply_lines(image: np.ndarray, jobs: Sequence[LineJob], outs: Sequence[np.ndarray],
                size: tuple[int, int] = (512, 128), feather: int = 4) -> np.ndarray:
    """Paste the restored crops ``outs`` (one per job, any size) back into ``image``."""
    if len(outs) != len(jobs):
        raise ValueError(f"line model returned {len(outs)} crops for {len(jobs)} inputs")
    result = image.copy()
    for (poly, _, m), out in zip(jobs, outs):
        if out.shape[:2] != (size[1], size[0]):
            out = cv2.resize(out, size, interpolation=cv2.INTER_CUBIC)
        result = paste_back(result, out, m, poly, feather)
    return result


def restore_lines(
    image: np.ndarray,
    polygons: Sequence,
    inner: InnerModel,
    size: tuple[int, int] = (512, 128),
    feather: int = 4,
    aspect_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, LineReport]:
    """Restore every text polygon of ``image`` with ``inner`` and paste it back.

    ``inner`` gets the list of rectified crops (RGB uint8, ``size``) and returns
    one image per crop (any size: it is resized to ``size``). Polygons whose
    rectangle's aspect is outside ``aspect_range`` are left as they are.
    """
    jobs, report = prepare_lines(image, polygons, size, aspect_range)
    if not jobs:
        return image.copy(), report
    result = apply_lines(image, jobs, inner([c for _, c, _ in jobs]), size, feather)
    report.restored = len(jobs)
    return result, report
