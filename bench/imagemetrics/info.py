"""What an image metric's class declares, read without creating or loading it.

One record per metric, so the listing, the summary-table headers, the gate's
tolerances and the weights a metric needs are all read from the same class
attributes (:class:`bench.imagemetrics.base.ImageMetric`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..errors import BenchError
from .base import ImageMetric

MODES = ("fr", "nr", "set")


@dataclass(frozen=True)
class MetricInfo:
    """The declared facts of one registered image metric."""

    name: str
    mode: str
    higher_is_better: Optional[bool]
    header: str
    tolerance: Optional[float]
    weights: tuple[str, ...]
    summary: str


def declared(name: str, cls: type) -> MetricInfo:
    """The facts ``cls`` declares for metric ``name``. A plugin class that lacks an
    attribute gets :class:`ImageMetric`'s default (header: the name; not gated).
    Raises ``BenchError`` for a mode or tolerance the harness cannot use."""
    mode = getattr(cls, "mode", ImageMetric.mode)
    if mode not in MODES:
        raise BenchError(f"image metric '{name}': mode {mode!r} is not one of {', '.join(MODES)}")
    tolerance = getattr(cls, "tolerance", None)
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                                  or not math.isfinite(tolerance) or tolerance < 0):
        raise BenchError(f"image metric '{name}': tolerance {tolerance!r} is not a non-negative number or None")
    hib = getattr(cls, "higher_is_better", None)
    return MetricInfo(
        name=name, mode=mode, higher_is_better=None if hib is None else bool(hib),
        header=str(getattr(cls, "header", "") or name),
        tolerance=None if tolerance is None else float(tolerance),
        weights=tuple(getattr(cls, "weights", ())),
        summary=str(getattr(cls, "summary", "") or ""),
    )
