"""Split a detected text *line* into word quads.

Line-level engines (PP-OCR, EasyOCR) return one quadrilateral per line, but the
ground truth of every supported data set is word-level, and a line box fails the
IoU > 0.5 test against each of its words (docs/protocol.md, "Matching"). This module
cuts a line quad into one quad per whitespace-separated
word, along the line's own reading direction, so rotated and slanted lines give
rotated and slanted words.

Conventions:

* A line quad is four ``(x, y)`` points in reading order: top-left, top-right,
  bottom-right, bottom-left *of the text as read* (the top edge runs from the
  first character to the last). In image coordinates (y down) this order is
  clockwise; :func:`clockwise` restores it for a quad given the other way round.
* Character positions are the centres of the characters along the top edge, as
  fractions of its length (0 = start, 1 = end), one per character of ``text``;
  entries for whitespace are ignored. Without them the line is shared out in
  proportion to the character count of the stripped text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..records import Polygon, as_polygon


@dataclass(frozen=True)
class Word:
    """One word cut from a line: its quad, text and ``[start, end)`` character
    indices into the line's text."""

    polygon: Polygon
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Span:
    """A word's extent along the line as fractions ``a <= b`` of its length."""

    text: str
    a: float
    b: float
    start: int
    end: int


def signed_area(points) -> float:
    """Shoelace area; positive when the points run clockwise in image
    coordinates (x right, y down)."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def clockwise(points) -> np.ndarray:
    """Return the points as an ``N x 2`` array, reversed if they run
    counter-clockwise in image coordinates (the first point is kept first)."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    if signed_area(p) < 0:
        p = np.concatenate([p[:1], p[:0:-1]])
    return p


def _word_ranges(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` indices of the whitespace-separated words of ``text``."""
    ranges, start = [], None
    for i, ch in enumerate(text):
        if ch.isspace():
            if start is not None:
                ranges.append((start, i))
                start = None
        elif start is None:
            start = i
    if start is not None:
        ranges.append((start, len(text)))
    return ranges


def _char_width(centers: Sequence[float], ranges: list[tuple[int, int]], n_chars: int) -> float:
    """Median spacing of neighbouring characters inside words; when no word has
    two characters, the line shared out over its non-space characters."""
    gaps = [centers[k + 1] - centers[k] for s, e in ranges for k in range(s, e - 1)]
    gaps = [g for g in gaps if g > 0]
    if gaps:
        return float(np.median(gaps))
    return 1.0 / max(n_chars, 1)


def word_spans(
    text: str,
    centers: Optional[Sequence[Optional[float]]] = None,
    char_width: Optional[float] = None,
) -> list[Span]:
    """Extent of each word of ``text`` along its line, as fractions in [0, 1].

    With ``centers`` (one per character of ``text``), a word spans from its first
    character's centre minus half a character width to its last one's plus half
    (``char_width`` as a fraction; estimated from the spacing of neighbouring
    characters when not given). Without them, leading/trailing whitespace is
    ignored and each remaining character (inner spaces included) gets an equal
    share of the line.
    """
    ranges = _word_ranges(text)
    if not ranges:
        return []
    if centers is None:
        first, last = ranges[0][0], ranges[-1][1]
        n = last - first
        return [Span(text[s:e], (s - first) / n, (e - first) / n, s, e) for s, e in ranges]

    if len(centers) != len(text):
        raise ValueError(f"got {len(centers)} character positions for {len(text)} characters of {text!r}")
    for s, e in ranges:
        for k in range(s, e):
            c = centers[k]
            if c is None or not math.isfinite(c):
                raise ValueError(f"character {k} ({text[k]!r}) of {text!r} has no position")
    n_chars = sum(e - s for s, e in ranges)
    width = char_width if char_width is not None else _char_width(centers, ranges, n_chars)
    spans = []
    for s, e in ranges:
        lo, hi = sorted((float(centers[s]), float(centers[e - 1])))
        a = min(max(lo - width / 2, 0.0), 1.0)
        b = min(max(hi + width / 2, 0.0), 1.0)
        spans.append(Span(text[s:e], a, b, s, e))
    return spans


def span_quad(quad, a: float, b: float) -> Polygon:
    """The part of a reading-order line quad between fractions ``a`` and ``b`` of
    its length: cut along the top and bottom edges at the same fractions, so the
    word keeps the line's orientation and slant. Clockwise if ``quad`` is."""
    p = np.asarray(quad, dtype=float).reshape(4, 2)
    top_a, top_b = p[0] + a * (p[1] - p[0]), p[0] + b * (p[1] - p[0])
    bottom_a, bottom_b = p[3] + a * (p[2] - p[3]), p[3] + b * (p[2] - p[3])
    return as_polygon([top_a, top_b, bottom_b, bottom_a])


def split_line(
    quad,
    text: str,
    centers: Optional[Sequence[Optional[float]]] = None,
    char_width: Optional[float] = None,
) -> list[Word]:
    """Cut a line quad (reading order, see module docstring) into word quads.

    ``centers`` and ``char_width`` are as in :func:`word_spans`. A line with one
    word gives that word with the full line quad when no positions are given.
    """
    p = np.asarray(quad, dtype=float)
    if p.shape != (4, 2):
        raise ValueError(f"a line quad needs 4 (x, y) points, got shape {p.shape}")
    return [Word(span_quad(p, s.a, s.b), s.text, s.start, s.end) for s in word_spans(text, centers, char_width)]
