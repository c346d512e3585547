"""Render one word (or a don't-care scribble) as an ink mask with its polygon.

A glyph is drawn upright on a small local canvas with PIL, its tight ink box is
sampled into a 16-point polygon (8 points along the top edge left->right, then 8
along the bottom edge right->left, as SA-Text/TESTR polygons are), and both are then
mapped into the image by one homography (rotation, perspective, translation). A
homography maps straight lines to straight lines, so the warped polygon still
encloses the warped ink exactly.

Fonts come from matplotlib's wheel, so no system font packages are needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Font files (inside matplotlib's ``fonts/ttf``) used for words; all cover Latin-1.
FONT_FILES: tuple[str, ...] = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
)

#: Cap height as a fraction of the font size (about 0.66-0.73 for these fonts).
CAP_RATIO = 0.70


def font_dir() -> Path:
    """Folder of the TrueType fonts shipped with matplotlib."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=64)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """Load ``name`` from :func:`font_dir` at pixel ``size`` (cached)."""
    return ImageFont.truetype(str(font_dir() / name), size)


@dataclass(frozen=True)
class LocalGlyph:
    """An upright rendering: ``mask`` in ``[0, 1]`` and its ink box ``(x0, y0, x1, y1)``."""

    mask: np.ndarray
    box: tuple[float, float, float, float]


def _ink_box(mask: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    """Tight box around ink (alpha > 0), grown by ``margin`` pixels on each side."""
    ys, xs = np.nonzero(mask > 0.0)
    return (float(xs.min()) - margin, float(ys.min()) - margin,
            float(xs.max()) + 1 + margin, float(ys.max()) + 1 + margin)


def render_text(text: str, font_name: str, size: int, stroke: int = 0) -> LocalGlyph:
    """Draw ``text`` upright in white-on-black; the box hugs the ink plus a margin."""
    font = load_font(font_name, size)
    pad = size // 2 + stroke + 4
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    w, h = int(right - left) + 2 * pad, int(bottom - top) + 2 * pad
    canvas = Image.new("L", (w, h), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), text, fill=255, font=font,
                                stroke_width=stroke, stroke_fill=255)
    mask = np.asarray(canvas, np.float32) / 255.0
    margin = max(2.0, 0.08 * size)
    return LocalGlyph(mask, _ink_box(mask, margin))


def render_scribble(rng: np.random.Generator, width: int, height: int) -> LocalGlyph:
    """Illegible ink (a wavy pen stroke) for a don't-care instance."""
    pad = 8
    canvas = np.zeros((height + 2 * pad, width + 2 * pad), np.uint8)
    n = int(rng.integers(6, 14))
    xs = np.linspace(pad, pad + width, n)
    ys = pad + rng.uniform(0, height, n)
    pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
    thick = int(rng.integers(1, 4))
    cv2.polylines(canvas, [pts], False, 255, thick, lineType=cv2.LINE_AA)
    mask = canvas.astype(np.float32) / 255.0
    return LocalGlyph(mask, _ink_box(mask, 2.0))


def box_polygon(box: tuple[float, float, float, float], n_side: int = 8) -> np.ndarray:
    """16-point polygon of a box: top edge left->right, bottom edge right->left."""
    x0, y0, x1, y1 = box
    xs = np.linspace(x0, x1, n_side)
    top = np.stack([xs, np.full(n_side, y0)], axis=1)
    bottom = np.stack([xs[::-1], np.full(n_side, y1)], axis=1)
    return np.concatenate([top, bottom]).astype(np.float64)


def shape_homography(box: tuple[float, float, float, float], angle_deg: float,
                     keystone: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Homography that centres ``box`` on the origin, rotates it and adds perspective.

    ``keystone = (kx, ky)``: ``ky`` shrinks the right edge's height relative to the
    left (a sign seen from the side), ``kx`` shrinks the bottom edge's width relative
    to the top (a sign seen from below). Zero means no perspective.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    kx, ky = keystone
    src = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    dst = np.float32([
        [-w / 2 * (1 + kx / 2), -h / 2 * (1 + ky / 2)],
        [w / 2 * (1 + kx / 2), -h / 2 * (1 - ky / 2)],
        [w / 2 * (1 - kx / 2), h / 2 * (1 - ky / 2)],
        [-w / 2 * (1 - kx / 2), h / 2 * (1 + ky / 2)],
    ])
    persp = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    return rot @ persp


def translate(hom: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Compose ``hom`` with a translation by ``(dx, dy)``."""
    t = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])
    return t @ hom


def apply_points(hom: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map ``N x 2`` points through a homography."""
    return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), hom).reshape(-1, 2)


def warp_mask(mask: np.ndarray, hom: np.ndarray, h: int, w: int) -> np.ndarray:
    """Warp a local mask into an ``(h, w)`` image frame (bilinear)."""
    return cv2.warpPerspective(mask, hom, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def poly_to_bbox(poly: np.ndarray, h: int, w: int) -> np.ndarray:
    """Axis-aligned ``[[x1, y1], [x2, y2]]`` (int32) enclosing an integer polygon."""
    lo = np.floor(poly.min(axis=0))
    hi = np.ceil(poly.max(axis=0))
    lo = np.clip(lo, 0, [w - 1, h - 1])
    hi = np.clip(hi, 0, [w - 1, h - 1])
    return np.stack([lo, hi]).astype(np.int32)
