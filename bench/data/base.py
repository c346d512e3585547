"""Shared loader machinery: the DatasetSource base and annotation validation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np
from shapely.geometry import Polygon as ShapelyPolygon

from ..errors import DataError
from ..records import Sample, TextInstance, as_polygon
from ..suite import DatasetSpec, DegradationSpec


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out of the evaluation, with the reason (shown in results)."""

    record_id: str
    where: str
    field: str
    reason: str

    def message(self) -> str:
        return f"{self.where}: record '{self.record_id}': {self.field}: {self.reason}"


class DatasetSource:
    """Base class of loaders. Subclasses implement :meth:`_records`.

    Iterating yields valid samples; invalid ones are appended to
    :attr:`skipped` (and never stop the other records).
    """

    def __init__(self, spec: DatasetSpec, degradation: DegradationSpec):
        self.spec = spec
        self.degradation = degradation
        self.skipped: list[SkippedRecord] = []

    @property
    def root(self) -> Path:
        """The data set's local folder (``dataset.path``; empty when loaded from a hub id)."""
        return Path(self.spec.path or "")

    def describe(self) -> dict:
        """Provenance for results.json: kind, where the data came from, options."""
        return {"kind": self.spec.kind, "path": self.spec.path, "source": self.spec.source,
                "split": self.spec.split, "options": dict(self.spec.options)}

    def preflight(self) -> list[str]:
        """Problems that prevent loading at all (missing files), each with its fix."""
        return []

    def _records(self) -> Iterator[Sample]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Sample]:
        self.skipped = []
        seen: set[str] = set()
        count = 0
        for sample in self._records():
            if isinstance(sample, SkippedRecord):
                self.skipped.append(sample)
                continue
            if sample.id in seen:
                self.skipped.append(SkippedRecord(sample.id, sample.source, "id", "duplicate id (first kept)"))
                continue
            seen.add(sample.id)
            yield sample
            count += 1
            if self.spec.limit is not None and count >= self.spec.limit:
                return


def check_polygon(points, size: Optional[tuple[int, int]]) -> str | None:
    """Return why a polygon is unusable, or None. ``size`` is (width, height)."""
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        return "polygon is not a list of numbers"
    if arr.ndim != 2 or arr.shape[1] != 2:
        return f"polygon must be N x 2 points, got shape {tuple(arr.shape)}"
    if arr.shape[0] < 3:
        return f"polygon has {arr.shape[0]} point(s), needs at least 3"
    if not np.all(np.isfinite(arr)):
        return "polygon has NaN or infinite coordinates"
    if size is not None:
        w, h = size
        tol = 1.0  # allow a 1 px rounding margin on the border
        if arr[:, 0].min() < -tol or arr[:, 1].min() < -tol or arr[:, 0].max() > w + tol or arr[:, 1].max() > h + tol:
            return f"polygon lies outside the {w}x{h} image"
    if np.linalg.matrix_rank(arr - arr.mean(axis=0), tol=1e-9) < 2:
        return "polygon has zero area (all points on one line)"
    shape = ShapelyPolygon(arr)
    if not shape.is_valid:
        return "polygon is self-intersecting"
    if shape.area <= 0:
        return "polygon has zero area"
    return None


def build_instances(record_id: str, where: str, texts: Sequence, polys: Sequence,
                    size: Optional[tuple[int, int]]) -> list[TextInstance] | SkippedRecord:
    """Validate parallel text/polygon lists into instances, or explain the problem."""
    if texts is None or polys is None:
        return SkippedRecord(record_id, where, "text/poly", "annotation lists are missing")
    if len(texts) != len(polys):
        return SkippedRecord(record_id, where, "text/poly",
                             f"{len(texts)} transcriptions but {len(polys)} polygons")
    out = []
    for i, (text, poly) in enumerate(zip(texts, polys)):
        if not isinstance(text, str) or not text.strip():
            return SkippedRecord(record_id, where, f"text[{i}]", "empty or non-string transcription")
        why = check_polygon(poly, size)
        if why:
            return SkippedRecord(record_id, where, f"poly[{i}]", why)
        out.append(TextInstance(as_polygon(poly), text))
    return out


def finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def require_path(path: Optional[str], what: str, fix: str) -> list[str]:
    """Preflight helper: one message if ``path`` is unset or missing."""
    import os

    if path is None or not os.path.exists(path):
        return [f"{what} not found at {path}: {fix}"]
    return []


def check_options(options: dict, allowed: dict[str, type]) -> list[str]:
    """Preflight helper: unknown ``dataset.options`` keys and wrongly typed values."""
    from ..registry import did_you_mean

    problems = []
    for key, value in options.items():
        if key not in allowed:
            problems.append(f"dataset.options.{key}: unknown option{did_you_mean(key, allowed)} "
                            f"(this loader takes: {', '.join(sorted(allowed)) or 'none'})")
        elif not isinstance(value, allowed[key]) or (allowed[key] is not bool and isinstance(value, bool)):
            problems.append(f"dataset.options.{key}: expected {allowed[key].__name__}, got {value!r}")
    return problems


__all__ = ["DatasetSource", "SkippedRecord", "build_instances", "check_options", "check_polygon", "DataError"]
