"""Stage 4a, score the text: evaluate each (row, image)'s cached detections against the GT.

Text evaluation is cheap and recomputed from the cached detections on every run; it
runs in the driver only (shapely, scipy and rapidfuzz stay out of the workers).

It also collects, for every (row, image), annotated or not, the words read (the words
the text statistics count, :func:`bench.textmetrics.readstats.read_records`) with their
polygons and scores: ``text_details.jsonl`` keeps them for the report's gallery of read words.
"""

from __future__ import annotations

from typing import Any, Optional

from bench.records import HQ_ROW, Detection, ImageItem


class TextScores(dict):
    """``{row: [(item, ImageTextResult)]}`` of the annotated images (a plain dict to every
    reader), with ``read``: ``{row: {image id: [{"text", "score", "polygon"}]}}`` for every
    image of the row, annotated or not, in item order."""

    def __init__(self, *args, read: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: dict[str, dict[str, list[dict]]] = read or {}


def score_text(items: list[ImageItem], rows: list[str], dets: dict, text_cfg: Any, vocabulary: Any) -> TextScores:
    """Evaluate each (row, image): ``{row: [(item, ImageTextResult)]}`` (a :class:`TextScores`).

    Every row but HQ also gets the phantom count against the HQ detections."""
    from bench.textmetrics import evaluate_image  # lazy: the text libraries load only where text is scored
    from bench.textmetrics.readstats import read_records  # lazy: as evaluate_image

    out = TextScores({r: [] for r in rows}, read={r: {} for r in rows})
    for item in items:
        for row in rows:
            key = (item.outputs.get(row), item.id)
            if row in item.outputs and key in dets:
                out.read[row][item.id] = read_records(dets[key], text_cfg)
        if not item.has_annotations:
            continue
        hq_dets: Optional[list[Detection]] = dets.get((item.hq, item.id)) if item.hq else None
        for row in rows:
            if row not in item.outputs:
                continue
            d = dets[(item.outputs[row], item.id)]
            result = evaluate_image(item.instances, d, text_cfg, vocabulary,
                                    hq_dets=hq_dets if row != HQ_ROW else None)
            out[row].append((item, result))
    return out
