"""What TESTR's official evaluator does with each ground-truth polygon, and the counts per kind.

Read from ``upstream/TAIR/testr/adet/evaluation/`` (the evaluator TAIR ships):

* ``text_eval_script.py:54`` validates each GT file with
  ``validate_lines_in_file_gt(k, gt[k], CRLF, LTRB, True)``: no image size is passed, so
  ``imWidth = imHeight = 0`` and the bounds check (``rrc_evaluation_funcs.py:213-215`` ->
  ``validate_point_inside_bounds``, :292) never runs (were it called on a point outside, it
  would fail on its own message: it formats the undefined ``xmin``/``ymin``, :294, :296). GT
  partly or wholly outside the image is accepted and evaluated unclipped
  (``polygon_from_points``, ``text_eval_script.py:74-85``).
* ``rrc_evaluation_funcs.py:211`` runs ``validate_clockwise_points`` (:298-332) on every GT
  line, and an assertion there aborts the whole evaluation (``main_evaluation`` has its
  ``try`` commented out, :413-419):

  - ``Polygon(pts)`` raising (:323-326): fewer than 3 points -> our ``too_few_points``;
  - ``not pdet.is_valid`` (:328-329, "polygon has intersection sides"): all points on one
    line -> ``zero_area``, any other invalid ring -> ``self_intersecting``;
  - ``LinearRing(pts).is_ccw`` (:330-332) -> ``counter_clockwise``.

* Nothing looks at duplicate polygons, repeated vertices or the size of the area.

Our rule (docs/protocol.md):

(a) accepted polygons are evaluated exactly as given; we only count what is unusual:
    ``outside_partly`` (a vertex with x < 0, x > W, y < 0 or y > H: the test the official
    bounds check would make), ``outside_wholly`` (no area inside the W x H frame),
    ``duplicate`` (covers exactly the area of an earlier GT of the same image, shapely
    ``equals``), ``repeated_vertex`` (two consecutive vertices equal, the last and first
    included), ``tiny_area`` (area < :data:`TINY_AREA` square pixels).
(b) polygons the validator refuses have no official answer: the instance stays in its image
    as don't care (:attr:`bench.records.TextInstance.no_official_answer`), counted per kind.
    Its area, repaired with ``shapely.make_valid`` (empty for ``too_few_points`` and
    ``zero_area``), is a don't-care region like a ``###`` word.
    ``counter_clockwise`` is the exception, and is accepted and counted: orientation changes
    no quantity the evaluator computes (``Polygon.area()`` and ``&`` of the ``Polygon``
    library it uses, and shapely's ``area``/``intersection`` here, are orientation-free), so
    the official answer for a ring is the answer for the same ring reversed, which is what
    any converter writing files for the official code must do. We leave the point order as
    given (the crops of :mod:`bench.textmetrics.crop` read it). Note that shapely's
    ``is_ccw`` is computed with the y axis pointing up: in image coordinates (y down) its
    "counter-clockwise" is the order that looks *clockwise* on screen, e.g. SA-Text's
    top edge left to right, then bottom edge right to left.
(c) records that cannot be read at all (no image, not a list of points, NaN, mismatched
    lists) are skipped by the loaders (:mod:`bench.data`), never here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import LinearRing, Polygon, box

from bench.records import DONT_CARE
from bench.textmetrics.normalize import GT_READING_STEPS, gt_reading

#: kinds the official validator aborts on: the instance becomes don't care (rule b)
NO_ANSWER_KINDS = ("too_few_points", "zero_area", "self_intersecting", "not_finite")
#: kinds the official code accepts and evaluates as they are (rule a), counted only
KEPT_KINDS = ("outside_partly", "outside_wholly", "duplicate", "repeated_vertex", "tiny_area", "counter_clockwise")
#: below this area (square pixels of the evaluation frame) a GT polygon is counted as ``tiny_area``
TINY_AREA = 1.0

GT_POLYGON_RULE = (
    "GT polygons are evaluated as the official TESTR evaluator evaluates them: partly or wholly outside "
    "the image, duplicated, with repeated vertices or tiny areas, as given (no clipping), and in either "
    "orientation (counter_clockwise: shapely is_ccw, which the official validator refuses; orientation "
    "changes no area or intersection). Polygons it aborts on (too_few_points: < 3 points; zero_area: all "
    "points on one line; self_intersecting: any other shapely-invalid ring) have no official answer: the "
    "image is kept and that instance is don't care (its make_valid area is a don't-care region). Only "
    "records that cannot be read (no image, not a list of points, NaN, mismatched lists) are skipped."
)


@dataclass(frozen=True)
class PolygonCheck:
    """The verdict on one GT polygon: ``no_answer`` (a :data:`NO_ANSWER_KINDS` entry, or
    ``""`` when the official code accepts it) and the :data:`KEPT_KINDS` it shows."""

    no_answer: str
    kept: tuple[str, ...] = ()


def _points(points: Sequence[Sequence[float]]) -> np.ndarray:
    return np.asarray(points, dtype=float).reshape(-1, 2)


def no_official_answer(points: Sequence[Sequence[float]]) -> str:
    """Why the official validator would abort on this GT polygon, or ``""`` if it accepts it
    (orientation aside: a counter-clockwise ring is accepted here, see the module doc)."""
    arr = _points(points)
    if not np.all(np.isfinite(arr)):
        return "not_finite"
    if len(arr) < 3:
        return "too_few_points"
    if Polygon(arr).is_valid:
        return ""
    if np.linalg.matrix_rank(arr - arr.mean(axis=0), tol=1e-9) < 2:
        return "zero_area"
    return "self_intersecting"


def check_polygons(polygons: Sequence[Sequence[Sequence[float]]],
                   size: tuple[int, int] | None) -> list[PolygonCheck]:
    """Check the GT polygons of one image (``size`` = (width, height) of the frame they
    are in, or None when unknown: then the two ``outside_*`` kinds are not looked at)."""
    out: list[PolygonCheck] = []
    accepted: list[Polygon] = []
    frame = box(0, 0, size[0], size[1]) if size is not None else None
    for points in polygons:
        why = no_official_answer(points)
        if why:
            out.append(PolygonCheck(why))
            continue
        arr = _points(points)
        poly = Polygon(arr)
        kept: list[str] = []
        if frame is not None:
            w, h = size
            if poly.intersection(frame).area <= 0:
                kept.append("outside_wholly")
            elif (arr[:, 0] < 0).any() or (arr[:, 0] > w).any() or (arr[:, 1] < 0).any() or (arr[:, 1] > h).any():
                kept.append("outside_partly")
        if any(poly.equals(prev) for prev in accepted):
            kept.append("duplicate")
        if (np.abs(arr - np.roll(arr, -1, axis=0)).sum(axis=1) == 0).any():
            kept.append("repeated_vertex")
        if poly.area < TINY_AREA:
            kept.append("tiny_area")
        if LinearRing(arr).is_ccw:
            kept.append("counter_clockwise")
        accepted.append(poly)
        out.append(PolygonCheck("", tuple(kept)))
    return out


def gt_check_counts(images: Iterable[tuple[Sequence[Sequence[Sequence[float]]], tuple[int, int] | None]]) -> dict:
    """Counts per kind over images given as (polygons, frame size): ``{"instances": n,
    "kept": {kind: n}, "dont_care": {kind: n}}``, every kind listed (0 included)."""
    kept: Counter = Counter()
    dont_care: Counter = Counter()
    n = 0
    for polygons, size in images:
        for check in check_polygons(polygons, size):
            n += 1
            if check.no_answer:
                dont_care[check.no_answer] += 1
            kept.update(check.kept)
    return {"instances": n, "kept": {k: kept[k] for k in KEPT_KINDS},
            "dont_care": {k: dont_care[k] for k in NO_ANSWER_KINDS}}


def gt_text_counts(texts: Iterable[str], compat: str) -> dict:
    """How the official GT reader changed the GT words (``testr`` compat; ``clean``
    keeps them as given): ``{"words": n, <step>: n for each of GT_READING_STEPS,
    "empty": n, "dont_care_after_reading": n}``. ``line_break`` words have no official
    reading and are don't care; ``empty`` counts words read as "" (empty or blank ones
    included); ``dont_care_after_reading`` words read as ``###`` that were not ``###``
    as given (e.g. ``"###"`` quoted)."""
    counts: Counter = Counter()
    n = 0
    for text in texts:
        n += 1
        if compat != "testr":
            continue
        word, steps = gt_reading(text)
        counts.update(steps)
        counts["empty"] += word == ""
        counts["dont_care_after_reading"] += word == DONT_CARE and text != DONT_CARE
    keys = GT_READING_STEPS + ("empty", "dont_care_after_reading")
    return {"compat": compat, "words": n, **{k: counts[k] for k in keys}}
