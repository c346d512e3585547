"""The run's state: what each stage hands on to the next, and the scores aggregated at the end.

The components a run is built from (:class:`bench.pipeline.preflight.Components`) never
change during a run; everything the stages produce lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from bench.records import Detection, ImageItem


@dataclass
class RunState:
    """The stages' outputs, filled in order: degrade gives ``items``; restore adds each
    restorer's output to every item and its per-image records; spot gives the detections of
    every distinct (image hash, image id)."""

    items: list[ImageItem]
    restore_records: dict[str, list[dict]] = field(default_factory=dict)
    detections: dict[tuple[str, str], list[Detection]] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scores:
    """What the score stages computed for ``rows``, before aggregation.

    ``text``: ``{row: [(item, ImageTextResult)]}``; ``crop``: ``{row: {image id: [(GT word, read
    word)]}}`` or ``crop_reason`` why there is none; ``image_values``: ``{metric: {row: [(item,
    value)]}}``; ``set_values``: ``{metric: {row: value}}``; ``metric_info``: ``{metric: {...}}``
    facts about how a metric was computed (set metrics: features computed and cached)."""

    rows: list[str]
    text: dict
    image_values: dict
    set_values: dict
    crop: dict = field(default_factory=dict)
    crop_reason: Optional[str] = None
    metric_info: dict = field(default_factory=dict)
