"""Stage 4a, score the text: evaluate each (row, image)'s cached detections against the GT.

Text evaluation is cheap and recomputed from the cached detections on every run; it
runs in the driver only (shapely, scipy and rapidfuzz stay out of the workers).
"""

from __future__ import annotations

from typing import Any, Optional

from bench.records import HQ_ROW, Detection, ImageItem


def score_text(items: list[ImageItem], rows: list[str], dets: dict, text_cfg: Any, vocabulary: Any) -> dict:
    """Evaluate each (row, image): ``{row: [(item, ImageTextResult)]}``.

    Every row but HQ also gets the phantom count against the HQ detections."""
    from bench.textmetrics import evaluate_image  # lazy: the text libraries load only where text is scored

    out: dict[str, list] = {r: [] for r in rows}
    for item in items:
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
