"""Stage 4, score: text metrics and image metrics for every (image, row).

Per-image image-metric values are cached by (metric definition, prediction hash,
reference hash); text evaluation is cheap and recomputed from the cached
detections. Metrics that cannot run are recorded with their reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional

from .cache import Cache, stage_key
from .records import Detection, ImageItem

STAGE = "metric"
FEATURES = "features"
BATCH = 8


@dataclass
class MetricState:
    """One image metric of the suite: the object, or why it is unavailable."""

    name: str
    metric: object = None
    unavailable: Optional[str] = None
    info: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return hashlib.sha256(str(self.metric.definition).encode()).hexdigest()[:16]


def score_text(items: list[ImageItem], rows: list[str], dets: dict, text_cfg, vocabulary) -> dict:
    """Evaluate each (row, image): ``{row: [(item, ImageTextResult)]}``.

    Every row but HQ also gets the phantom count against the HQ detections."""
    from .textmetrics import evaluate_image

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
                                    hq_dets=hq_dets if row != "HQ" else None)
            out[row].append((item, result))
    return out


def _cached_scores(state: MetricState, cache: Cache, pairs: list[tuple[str, Optional[str], ImageItem]]):
    """Yield (item, value) per pair, computing cache misses in batches."""
    metric = state.metric
    values: dict[int, Optional[float]] = {}
    todo: list[tuple[int, str]] = []
    for idx, (pred, ref, item) in enumerate(pairs):
        key = stage_key(STAGE, state.version, {"metric": state.name}, {"pred": pred, "ref": ref})
        rec = cache.get(STAGE, key)
        if rec is not None:
            values[idx] = rec["value"]
        else:
            todo.append((idx, key))
    for start in range(0, len(todo), BATCH):
        chunk = todo[start:start + BATCH]
        preds = [cache.get_image(pairs[i][0]) for i, _ in chunk]
        refs = [cache.get_image(pairs[i][1]) for i, _ in chunk] if metric.mode == "fr" else None
        inst = [pairs[i][2].instances for i, _ in chunk]
        scores = metric.score_batch(preds, refs, inst)
        for (i, key), v in zip(chunk, scores):
            v = None if v is None else float(v)
            cache.put(STAGE, key, {"value": v})
            values[i] = v
    return [(pairs[i][2], values[i]) for i in range(len(pairs))]


def score_image_metric(state: MetricState, items: list[ImageItem], rows: list[str], cache: Cache) -> dict:
    """Per-image values of one per-image metric: ``{row: [(item, value or None)]}``.

    Full-reference metrics are not applicable to the HQ row (it is the reference)
    nor to images without a reference; such rows get no entries."""
    metric = state.metric
    out = {}
    for row in rows:
        if metric.mode == "fr" and row == "HQ":
            continue
        pairs = [(it.outputs[row], it.hq, it) for it in items
                 if row in it.outputs and (metric.mode != "fr" or it.hq is not None)]
        out[row] = _cached_scores(state, cache, pairs)
    return out


def _features(state: MetricState, hashes: list[str], cache: Cache):
    """Set-level metric features per image hash, cached per image."""
    import numpy as np

    feats: dict[str, list] = {}
    todo = []
    for h in dict.fromkeys(hashes):
        key = stage_key(FEATURES, state.version, {"metric": state.name}, {"image": h})
        rec = cache.get(FEATURES, key)
        if rec is not None:
            feats[h] = rec["features"]
        else:
            todo.append((h, key))
    for start in range(0, len(todo), BATCH):
        chunk = todo[start:start + BATCH]
        arr = state.metric.features([cache.get_image(h) for h, _ in chunk])
        for (h, key), row in zip(chunk, np.asarray(arr, dtype=np.float64)):
            feats[h] = row.tolist()
            cache.put(FEATURES, key, {"features": feats[h]})
    return {h: np.asarray(v) for h, v in feats.items()}, len(todo)


def score_set_metric(state: MetricState, items: list[ImageItem], rows: list[str], cache: Cache) -> dict:
    """Set-level metric (e.g. FID) of each row's images against the HQ images."""
    import numpy as np

    with_ref = [it for it in items if it.hq is not None]
    if not with_ref:
        return {}
    all_hashes = [it.outputs[r] for it in with_ref for r in rows if r in it.outputs]
    feats, computed = _features(state, all_hashes, cache)
    state.info["features_computed"] = computed
    state.info["features_from_cache"] = len(set(all_hashes)) - computed
    ref = np.stack([feats[it.hq] for it in with_ref])
    out = {}
    for row in rows:
        if row == "HQ":
            continue
        pred = np.stack([feats[it.outputs[row]] for it in with_ref if row in it.outputs])
        out[row] = float(state.metric.from_features(pred, ref))
    return out
