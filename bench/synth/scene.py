"""Compose one synthetic scene-text image: background, words, don't-care marks.

Everything for image ``index`` is drawn from ``numpy.random.default_rng(
SeedSequence([seed, index]))``, so an image depends only on ``(seed, index)``: not on
the order images are made in, nor on global RNG state.

Placement keeps every item's *footprint* (its polygon grown by a gap, or its sign
plate) disjoint from the others, so words never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from shapely.geometry import Polygon as ShapelyPolygon

from ..records import DONT_CARE
from .backgrounds import background_names, make_background
from .render import (
    CAP_RATIO,
    FONT_FILES,
    LocalGlyph,
    apply_points,
    box_polygon,
    poly_to_bbox,
    render_scribble,
    render_text,
    shape_homography,
    translate,
    warp_mask,
)
from .words import draw_small_text, draw_word

#: Cap height range (pixels) of legible words: large enough for OCR on the HQ image.
CAP_HEIGHT_RANGE = (28.0, 70.0)
#: Images whose ``index % 12 == 5`` get one non-ASCII word; ``index % 4 == 2`` get
#: don't-care marks. Fixed rules, so every set of >= 12 images exercises both.
NON_ASCII_EVERY, NON_ASCII_AT = 12, 5
DONT_CARE_EVERY, DONT_CARE_AT = 4, 2
_EDGE = 6.0  # minimum distance (px) from a polygon to the image border
_TRIES = 40
_DONT_CARE_ATTEMPTS = 6  # glyph draws per don't-care item before giving up


@dataclass
class PlacedText:
    """One instance as placed in the image, with the ink it contributed."""

    text: str
    poly: np.ndarray  # (16, 2) int32, absolute pixels
    bbox: np.ndarray  # (2, 2) int32, [[x1, y1], [x2, y2]]
    mask: np.ndarray  # (H, W) float32 ink alpha of this instance alone
    style: dict = field(default_factory=dict)


@dataclass
class Scene:
    """A finished HQ image and its instances in placement order."""

    id: str
    image: np.ndarray
    items: list[PlacedText]
    background: str


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _contrasting(rng: np.random.Generator, under: np.ndarray, low: bool) -> np.ndarray:
    """A colour that stands out from ``under`` (or, with ``low``, only just)."""
    lum = _luma(under)
    if low:
        delta = rng.uniform(30, 50) * (1 if lum < 128 else -1)
        return np.clip(under + delta + rng.normal(0, 6, 3), 0, 255)
    for _ in range(30):
        col = rng.uniform(0, 255, 3)
        if abs(_luma(col) - lum) >= 110:
            return col
    return np.zeros(3) if lum >= 128 else np.full(3, 255.0)


def _composite(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Paint ``colour`` over ``img`` (float32, in place) with coverage ``alpha``."""
    a = alpha[..., None]
    img *= 1.0 - a
    img += a * colour[None, None, :]


def _fits(foot: ShapelyPolygon, taken: list[ShapelyPolygon], h: int, w: int) -> bool:
    x0, y0, x1, y1 = foot.bounds
    if x0 < _EDGE or y0 < _EDGE or x1 > w - _EDGE or y1 > h - _EDGE:
        return False
    return not any(foot.intersects(t) for t in taken)


def _place(rng: np.random.Generator, glyph: LocalGlyph, hom0: np.ndarray, gap: float,
           plate_pad: float, taken: list[ShapelyPolygon], h: int, w: int,
           ) -> tuple[np.ndarray, ShapelyPolygon, np.ndarray] | None:
    """Find a translation where the footprint fits.

    Returns ``(homography, footprint, plate_corners)``, or ``None`` if no spot was found.
    """
    poly0 = apply_points(hom0, box_polygon(glyph.box))
    x0, y0, x1, y1 = glyph.box
    plate_box = (x0 - plate_pad, y0 - plate_pad, x1 + plate_pad, y1 + plate_pad)
    plate0 = apply_points(hom0, box_polygon(plate_box, 2))
    foot0 = ShapelyPolygon(plate0 if plate_pad > 0 else poly0).buffer(gap)
    if not foot0.is_valid:
        return None
    bx0, by0, bx1, by1 = foot0.bounds
    lo_x, hi_x = _EDGE - bx0, w - _EDGE - bx1
    lo_y, hi_y = _EDGE - by0, h - _EDGE - by1
    if lo_x > hi_x or lo_y > hi_y:
        return None
    for _ in range(_TRIES):
        dx, dy = rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)
        foot = ShapelyPolygon(np.asarray(foot0.exterior.coords) + [dx, dy])
        if _fits(foot, taken, h, w):
            return translate(hom0, dx, dy), foot, plate0 + [dx, dy]
    return None


def _word_style(rng: np.random.Generator) -> dict:
    """Draw the look of one legible word."""
    rotated = rng.random() < 0.4
    persp = rng.random() < 0.3
    return {
        "font": FONT_FILES[int(rng.integers(0, len(FONT_FILES)))],
        "cap": float(rng.uniform(*CAP_HEIGHT_RANGE)),
        "angle": float(rng.uniform(-25, 25) if rotated else rng.uniform(-3, 3)),
        "keystone": (float(rng.uniform(-0.35, 0.35)), float(rng.uniform(-0.35, 0.35)))
        if persp else (0.0, 0.0),
        "low_contrast": bool(rng.random() < 0.2),
        "plate": bool(rng.random() < 0.3),
        "shadow": bool(rng.random() < 0.2),
    }


def _draw_item(rng: np.random.Generator, img: np.ndarray, glyph: LocalGlyph,
               style: dict, taken: list[ShapelyPolygon]) -> tuple[np.ndarray, np.ndarray] | None:
    """Place and paint one glyph; returns ``(poly_float, ink_mask)`` or ``None``."""
    h, w = img.shape[:2]
    box_h = glyph.box[3] - glyph.box[1]
    hom0 = shape_homography(glyph.box, style["angle"], style["keystone"])
    plate_pad = 0.25 * box_h if style.get("plate") else 0.0
    found = _place(rng, glyph, hom0, max(4.0, 0.15 * box_h), plate_pad, taken, h, w)
    if found is None:
        return None
    hom, foot, plate = found
    taken.append(foot)
    poly = apply_points(hom, box_polygon(glyph.box))
    region = np.zeros((h, w), np.uint8)
    cv2.fillPoly(region, [np.rint(poly).astype(np.int32)], 1)
    under = img[region > 0].mean(axis=0)
    if plate_pad > 0:
        plate_col = _contrasting(rng, under, low=False)
        plate_mask = np.zeros((h, w), np.float32)
        cv2.fillPoly(plate_mask, [np.rint(plate * 16).astype(np.int32)],
                     1.0, lineType=cv2.LINE_AA, shift=4)
        _composite(img, plate_mask, plate_col)
        under = plate_col
    ink = warp_mask(glyph.mask, hom, h, w)
    if style.get("shadow") and plate_pad == 0:
        off = 0.05 * box_h
        shadow = cv2.GaussianBlur(warp_mask(glyph.mask, translate(hom, off, off), h, w),
                                  (0, 0), 1.2)
        _composite(img, 0.6 * shadow, under * 0.35)
    _composite(img, ink, _contrasting(rng, under, style.get("low_contrast", False)))
    return poly, ink


def _legible_glyph(text: str, style: dict, w: int) -> LocalGlyph:
    """Render ``text``, shrinking the font until the word fits the image width."""
    size = max(8, round(style["cap"] / CAP_RATIO))
    while True:
        glyph = render_text(text, style["font"], size)
        if glyph.box[2] - glyph.box[0] <= 0.85 * w or size <= 20:
            return glyph
        size = int(size * 0.9)


def _dont_care_glyph(rng: np.random.Generator) -> LocalGlyph:
    """Tiny random text or a scribble: ink a reader cannot (or need not) transcribe."""
    if rng.random() < 0.5:
        return render_text(draw_small_text(rng), "DejaVuSans.ttf", int(rng.integers(9, 13)))
    return render_scribble(rng, int(rng.integers(40, 120)), int(rng.integers(10, 25)))


def make_scene(seed: int, index: int, size: int = 512) -> Scene:
    """Build image ``index`` of the set with master ``seed`` (pure function)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    h = w = size
    kinds = background_names()  # cycled by index so every kind appears
    bg_name, bg = make_background(rng, h, w, kinds[index % len(kinds)])
    img = bg.astype(np.float32)
    taken: list[ShapelyPolygon] = []
    items: list[PlacedText] = []

    def keep(text: str, drawn, style: dict) -> None:
        poly_f, ink = drawn
        poly = np.clip(np.rint(poly_f), 0, [w - 1, h - 1]).astype(np.int32)
        items.append(PlacedText(text, poly, poly_to_bbox(poly, h, w), ink, style))

    n_words = int(rng.integers(1, 7))
    force_non_ascii = index % NON_ASCII_EVERY == NON_ASCII_AT
    for k in range(n_words):
        text = draw_word(rng, non_ascii=force_non_ascii and k == 0)
        style = _word_style(rng)
        drawn = None
        while drawn is None and style["cap"] >= CAP_HEIGHT_RANGE[0] * 0.999:
            drawn = _draw_item(rng, img, _legible_glyph(text, style, w), style, taken)
            if drawn is None:
                style["cap"] *= 0.85
        if drawn is not None:
            keep(text, drawn, style)

    if index % DONT_CARE_EVERY == DONT_CARE_AT:
        for _ in range(int(rng.integers(1, 3))):
            for _attempt in range(_DONT_CARE_ATTEMPTS):  # fresh, smaller-or-not glyphs
                style = {"angle": float(rng.uniform(-10, 10)), "keystone": (0.0, 0.0),
                         "dont_care": True}
                drawn = _draw_item(rng, img, _dont_care_glyph(rng), style, taken)
                if drawn is not None:
                    keep(DONT_CARE, drawn, style)
                    break

    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return Scene(f"synth_{index:04d}", image, items, bg_name)
