"""Shared loader machinery: the DatasetSource base and annotation validation.

The rule for ground truth (docs/protocol.md;
:mod:`bench.textmetrics.gtcheck`): a record is skipped only when it cannot be read at
all (no image, a polygon that is not a list of [x, y] numbers, NaN, text and polygon
lists of different lengths, a text that is not a string). A readable polygon is kept
whatever its geometry; one the official evaluator would abort on becomes a don't-care
instance of its image (:func:`gt_instance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from ..errors import DataError
from ..records import Sample, TextInstance, as_polygon
from ..registry import did_you_mean
from ..suite import DatasetSpec, DegradationSpec
from ..textmetrics.gtcheck import no_official_answer

#: the kinds of :class:`SkippedRecord`, in the order results.json lists their counts
SKIP_KINDS = ("image", "lq_size", "polygon", "not_finite", "mismatched_lists", "text", "record", "duplicate_id")


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out of the evaluation, with the reason (shown in results).

    ``kind`` groups the reasons for the counts in results.json (``data.skipped_counts``):
    ``image`` (missing or unreadable), ``lq_size`` (a provided LQ that is not HQ size /
    scale), ``polygon`` (not a list of [x, y] numbers), ``not_finite`` (NaN or infinite
    coordinates), ``mismatched_lists``, ``text`` (not a string), ``record`` (the record's
    structure), ``duplicate_id``.
    """

    record_id: str
    where: str
    field: str
    reason: str
    kind: str = "record"

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

    @classmethod
    def option_types(cls) -> dict[str, type]:
        """The ``dataset.options`` this loader reads: name -> type (none by default)."""
        return {}

    @classmethod
    def declared_args(cls) -> frozenset[str]:
        """The ``dataset.options`` keys ``bench validate`` accepts for this loader."""
        return frozenset(cls.option_types())

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
                self.skipped.append(SkippedRecord(sample.id, sample.source, "id", "duplicate id (first kept)",
                                                  "duplicate_id"))
                continue
            seen.add(sample.id)
            yield sample
            count += 1
            if self.spec.limit is not None and count >= self.spec.limit:
                return


def check_polygon(points) -> Optional[tuple[str, str]]:
    """Why a GT polygon cannot be read at all, as ``(kind, reason)``, or None.

    Only unreadable values are refused: not a list of [x, y] numbers, or NaN/infinite
    coordinates. Anything else is readable, however odd its geometry (outside the image,
    fewer than 3 points, self-intersecting, ...): :func:`gt_instance` keeps it.
    """
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        return "polygon", "polygon is not a list of [x, y] number pairs"
    if arr.size == 0:
        return None  # zero points: readable, and refused by the official validator (too_few_points)
    if arr.ndim != 2 or arr.shape[1] != 2:
        return "polygon", f"polygon must be N x 2 points, got shape {tuple(arr.shape)}"
    if not np.all(np.isfinite(arr)):
        return "not_finite", "polygon has NaN or infinite coordinates"
    return None


def gt_instance(points, text: str) -> TextInstance:
    """A GT instance from a readable polygon (:func:`check_polygon`), marked don't care
    when the official validator would refuse its polygon (no official answer)."""
    polygon = as_polygon(points) if np.asarray(points, dtype=float).size else ()
    return TextInstance(polygon, text, no_official_answer(polygon))


def build_instances(record_id: str, where: str, texts: Sequence, polys: Sequence) -> list[TextInstance] | SkippedRecord:
    """Validate parallel text/polygon lists (the SA-Text-test ``text`` and ``poly``
    columns) into instances, or say why the record cannot be read."""
    if texts is None or polys is None:
        return SkippedRecord(record_id, where, "text/poly", "annotation lists are missing", "mismatched_lists")
    if len(texts) != len(polys):
        return SkippedRecord(record_id, where, "text/poly",
                             f"{len(texts)} transcriptions but {len(polys)} polygons", "mismatched_lists")
    out = []
    for i, (text, poly) in enumerate(zip(texts, polys)):
        if not isinstance(text, str):
            return SkippedRecord(record_id, where, f"text[{i}]",
                                 f"expected a string, got {type(text).__name__}", "text")
        problem = check_polygon(poly)
        if problem:
            return SkippedRecord(record_id, where, f"poly[{i}]", problem[1], problem[0])
        out.append(gt_instance(poly, text))
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

    problems = []
    for key, value in options.items():
        if key not in allowed:
            problems.append(f"dataset.options.{key}: unknown option{did_you_mean(key, allowed)} "
                            f"(this loader takes: {', '.join(sorted(allowed)) or 'none'})")
        elif not isinstance(value, allowed[key]) or (allowed[key] is not bool and isinstance(value, bool)):
            problems.append(f"dataset.options.{key}: expected {allowed[key].__name__}, got {value!r}")
    return problems


__all__ = ["DatasetSource", "SKIP_KINDS", "SkippedRecord", "build_instances", "check_options", "check_polygon", "gt_instance",
           "DataError"]
