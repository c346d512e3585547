"""Fidelity inside the ground-truth text regions: ``text_psnr`` and ``text_lpips``.

Whole-image PSNR/LPIPS are dominated by background; a restorer that paints
plausible but wrong glyphs loses little there. These metrics look only where the
ground truth says there is text. They are tair-bench's own definitions (no
published reference); the exact wording is in each class's ``definition``.

Regions are the GT polygons whose text is not ``###`` (don't care, docs/protocol.md),
in the reference image's pixel coordinates. An image with no such polygon, or
whose polygons cover no pixel, scores ``None`` with the reason in
``last_reasons``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.io.images import bicubic_resize
from bench.io.weights import require

from ..records import TextInstance
from .base import ImageMetric
from .lpips_metric import LPIPS_DEFINITION, build_lpips_alex, lpips_distance, lpips_version

#: pyiqa's PSNR adds this to the MSE; reused so text_psnr and psnr cap alike (80 dB).
PSNR_EPS = 1e-8
NO_TEXT = "no cared GT text polygon in this image"
NO_PIXELS = "cared GT polygons cover no pixel"


def cared(instances: Sequence[TextInstance] | None) -> list[TextInstance]:
    """The instances that count (text is not ``###``)."""
    return [t for t in (instances or []) if not t.dont_care]


#: a polygon with a coordinate farther than this from 0 is clipped before it is filled (OpenCV takes int32)
FAR_COORD = 1 << 20
#: clipped polygons are filled in fixed point with this many fractional bits, within this margin of the image
CLIP_SHIFT, CLIP_MARGIN = 8, 1 << 16


def _fill_points(polygon, shape: tuple[int, int]) -> tuple[list[np.ndarray], int]:
    """The point arrays and ``shift`` ``cv2.fillPoly`` fills for one polygon: its vertices rounded
    to the nearest pixel. A polygon with a coordinate beyond :data:`FAR_COORD` (it would overflow
    OpenCV's int32) is, after rounding, clipped to the image grown by :data:`CLIP_MARGIN` pixels
    (shapely) and its clipped vertices given in fixed point (:data:`CLIP_SHIFT` bits), so its
    edges cross the image along the same lines; a polygon wholly outside that frame has none."""
    pts = np.round(np.asarray(polygon, dtype=np.float64).reshape(-1, 2))
    if len(pts) < 3 or np.abs(pts).max() <= FAR_COORD:
        return [pts.astype(np.int32).reshape(-1, 1, 2)], 0
    from shapely.geometry import Polygon, box

    h, w = shape
    clipped = Polygon(pts).buffer(0) if not Polygon(pts).is_valid else Polygon(pts)
    clipped = clipped.intersection(box(-CLIP_MARGIN, -CLIP_MARGIN, w + CLIP_MARGIN, h + CLIP_MARGIN))
    parts = [g for g in getattr(clipped, "geoms", [clipped]) if g.geom_type == "Polygon" and not g.is_empty]
    scale = 1 << CLIP_SHIFT
    return [np.round(np.asarray(g.exterior.coords[:-1]) * scale).astype(np.int32).reshape(-1, 1, 2)
            for g in parts], CLIP_SHIFT


def text_mask(shape: tuple[int, int], instances: Sequence[TextInstance]) -> np.ndarray:
    """Boolean ``(H, W)`` mask: union of the polygons, each filled with OpenCV ``fillPoly``
    after rounding vertices to the nearest pixel (8-connected edges, edge pixels in).

    Each polygon is filled on its own (one ``fillPoly`` call for several polygons fills them
    even-odd: a duplicated word or the overlap of two words would drop out of the union).
    A polygon outside the image covers no pixel; one with coordinates too large for OpenCV
    is clipped first (:func:`_fill_points`; its edges keep their lines to 1/256 pixel)."""
    import cv2

    mask = np.zeros(shape, dtype=np.uint8)
    for t in instances:
        points, shift = _fill_points(t.polygon, shape)
        for p in points:
            cv2.fillPoly(mask, [p], 1, shift=shift)
    return mask.astype(bool)


def masked_psnr(pred: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> float:
    """PSNR of uint8 RGB images over the masked pixels: ``10 log10(1 / (MSE + 1e-8))``
    with values /255 and the MSE over masked pixels x 3 channels, in float64."""
    diff = (pred[mask].astype(np.float64) - ref[mask].astype(np.float64)) / 255.0
    return 10.0 * math.log10(1.0 / (float(np.mean(diff**2)) + PSNR_EPS))


class TextPsnr(ImageMetric):
    """PSNR over the union of cared GT text polygons."""

    name = "text_psnr"
    summary = "PSNR inside the GT text polygons"
    header = "txtPSNR"
    mode = "fr"
    higher_is_better = True
    definition = (
        "PSNR over the pixels inside the union of non-don't-care GT polygons (text != '###'), rasterized with "
        "OpenCV fillPoly on vertices rounded to integers (each polygon filled on its own, so duplicates and "
        "overlaps count once), in the reference image's coordinates (a polygon outside the image adds no "
        "pixel; one with coordinates beyond 2^20 is clipped to the image grown by 2^16 px before filling): "
        "10*log10(1 / (MSE + 1e-8)) with uint8/255 RGB values and the MSE over masked pixels x 3 channels, float64. "
        "The 1e-8 (as pyiqa's psnr) caps a perfect region at 80 dB. None when an image has no cared polygon "
        "or its polygons cover no pixel (e.g. every cared word lies outside the image)."
    )

    def _score(self, preds: list[np.ndarray], refs: list[np.ndarray] | None,
               instances: Sequence[Sequence[TextInstance]] | None) -> list[float | None]:
        out: list[float | None] = []
        for i, (p, r) in enumerate(zip(preds, refs)):
            words = cared(instances[i] if instances is not None else None)
            if not words:
                out.append(None)
                self.last_reasons[i] = NO_TEXT
                continue
            mask = text_mask(r.shape[:2], words)
            if not mask.any():
                out.append(None)
                self.last_reasons[i] = NO_PIXELS
                continue
            out.append(masked_psnr(p, r, mask))
        return out


def word_box(inst: TextInstance, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Axis-aligned bounding box ``(x0, y0, x1, y1)`` (exclusive ends) of the polygon,
    floor/ceil to whole pixels and clipped to the image; ``None`` if empty."""
    pts = np.asarray(inst.polygon, dtype=np.float64)
    h, w = shape
    x0, y0 = max(0, math.floor(pts[:, 0].min())), max(0, math.floor(pts[:, 1].min()))
    x1, y1 = min(w, math.ceil(pts[:, 0].max())), min(h, math.ceil(pts[:, 1].max()))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return x0, y0, x1, y1


def crop_size(box: tuple[int, int, int, int], height: int, min_width: int) -> tuple[int, int]:
    """``(width, height)`` a word crop is resized to: fixed height, aspect kept, at least ``min_width``."""
    x0, y0, x1, y1 = box
    return max(min_width, round((x1 - x0) * height / (y1 - y0))), height


class TextLpips(ImageMetric):
    """LPIPS-Alex averaged over the GT words' bounding-box crops, lower is better."""

    name = "text_lpips"
    summary = "LPIPS over GT word crops (64 px high)"
    header = "txtLPIPS"
    mode = "fr"
    higher_is_better = False
    weights = ("alexnet",)

    def __init__(self, crop_height: int = 64, min_width: int = 64, **options: Any):
        super().__init__(crop_height=crop_height, min_width=min_width, **options)
        self.crop_height, self.min_width = int(crop_height), int(min_width)
        self.model = None

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (LPIPS_DEFINITION.format(ver=lpips_version()) + ", computed per cared GT word (text != '###') on the "
                "axis-aligned bounding box of its polygon (floor/ceil to pixels, clipped to the image; not "
                f"perspective-rectified), the same box cut from prediction and reference, each resized with PIL "
                f"bicubic to height {self.crop_height} px keeping the aspect ratio (width at least {self.min_width} px, "
                "so AlexNet's receptive field fits); the image's score is the unweighted mean over its words. "
                "None when an image has no cared word inside the image.")

    def _load(self, device: str) -> None:
        self.model = build_lpips_alex(require("alexnet", f"metric '{self.name}'"), device)

    def _score(self, preds: list[np.ndarray], refs: list[np.ndarray] | None,
               instances: Sequence[Sequence[TextInstance]] | None) -> list[float | None]:
        out: list[float | None] = []
        for i, (p, r) in enumerate(zip(preds, refs)):
            words = cared(instances[i] if instances is not None else None)
            boxes = [b for b in (word_box(t, r.shape[:2]) for t in words) if b is not None]
            if not boxes:
                out.append(None)
                self.last_reasons[i] = NO_TEXT if not words else NO_PIXELS
                continue
            dists = []
            for box in boxes:
                x0, y0, x1, y1 = box
                size = crop_size(box, self.crop_height, self.min_width)
                pc = bicubic_resize(np.ascontiguousarray(p[y0:y1, x0:x1]), size)
                rc = bicubic_resize(np.ascontiguousarray(r[y0:y1, x0:x1]), size)
                dists.append(lpips_distance(self.model, [pc], [rc], self.device)[0])
            out.append(float(np.mean(dists)))
        return out
