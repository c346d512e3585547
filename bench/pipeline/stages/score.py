"""Stage 4, score: text metrics and image metrics for every (image, row).

Per-image image-metric values are cached by (metric definition, prediction hash,
reference hash); text evaluation is cheap and recomputed from the cached
detections. Metrics that cannot run are recorded with their reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional

from bench.io.cache import Cache, stage_key
from bench.records import Detection, HQ_ROW, ImageItem

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
    # the score workers import this module for its keys; text evaluation runs in the driver only
    from bench.textmetrics import evaluate_image  # lazy: shapely, scipy and rapidfuzz stay out of the workers

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


def _cached_batches(cache: Cache, stage: str, field: str, entries: list, compute) -> tuple[list, int]:
    """Values for ``entries`` (cache key, payload): cached ones read back, the
    misses computed ``BATCH`` at a time by ``compute(payloads) -> values`` and
    stored under ``{field: value}``. Returns the values in order and how many
    were computed."""
    values: list = [None] * len(entries)
    todo = []
    for i, (key, _payload) in enumerate(entries):
        rec = cache.get(stage, key)
        if rec is not None:
            values[i] = rec[field]
        else:
            todo.append(i)
    for start in range(0, len(todo), BATCH):
        chunk = todo[start:start + BATCH]
        for i, value in zip(chunk, compute([entries[i][1] for i in chunk])):
            cache.put(stage, entries[i][0], {field: value})
            values[i] = value
    return values, len(todo)


def _cached_scores(state: MetricState, cache: Cache, pairs: list[tuple[str, Optional[str], ImageItem]]):
    """(item, value) per (prediction hash, reference hash, item) pair."""
    metric = state.metric

    def compute(chunk):
        preds = [cache.get_image(pred) for pred, _, _ in chunk]
        refs = [cache.get_image(ref) for _, ref, _ in chunk] if metric.mode == "fr" else None
        scores = metric.score_batch(preds, refs, [item.instances for _, _, item in chunk])
        return [None if v is None else float(v) for v in scores]

    entries = [(metric_key(state, pred, ref), (pred, ref, it)) for pred, ref, it in pairs]
    values, _ = _cached_batches(cache, STAGE, "value", entries, compute)
    return [(item, v) for (_, _, item), v in zip(pairs, values)]


def metric_key(state: MetricState, pred: str, ref: Optional[str]) -> str:
    """The cache key of one per-image metric value (prediction hash, reference hash)."""
    return stage_key(STAGE, state.version, {"metric": state.name}, {"pred": pred, "ref": ref})


def metric_pairs(state: MetricState, items: list[ImageItem], rows: list[str]) -> dict:
    """``{row: [(prediction hash, reference hash, item)]}`` a per-image metric scores.

    Full-reference metrics are not applicable to the HQ row (it is the reference)
    nor to images without a reference; such rows get no entries."""
    fr = state.metric.mode == "fr"
    return {row: [(it.outputs[row], it.hq, it) for it in items
                  if row in it.outputs and (not fr or it.hq is not None)]
            for row in rows if not (fr and row == HQ_ROW)}


def score_image_metric(state: MetricState, items: list[ImageItem], rows: list[str], cache: Cache) -> dict:
    """Per-image values of one per-image metric, in this process: ``{row: [(item, value or None)]}``
    (the run scores through :func:`bench.pipeline.stages.score_jobs.score_stage`)."""
    return {row: _cached_scores(state, cache, pairs) for row, pairs in metric_pairs(state, items, rows).items()}


def feature_key(state: MetricState, image_hash: str) -> str:
    """The cache key of one image's set-metric features (``bench merge`` reads them back)."""
    return stage_key(FEATURES, state.version, {"metric": state.name}, {"image": image_hash})


def _features(state: MetricState, hashes: list[str], cache: Cache):
    """Set-level metric features per image hash, cached per image."""
    import numpy as np

    unique = list(dict.fromkeys(hashes))
    entries = [(feature_key(state, h), h) for h in unique]

    def compute(chunk):
        arr = np.asarray(state.metric.features([cache.get_image(h) for h in chunk]), dtype=np.float64)
        return [row.tolist() for row in arr]

    values, computed = _cached_batches(cache, FEATURES, "features", entries, compute)
    return {h: np.asarray(v) for h, v in zip(unique, values)}, computed


def set_metric_images(items: list[ImageItem], rows: list[str]) -> list[str]:
    """Hashes of the images a set-level metric needs features of (every row of the items
    with a reference, the references included), in order, repeats kept."""
    return [it.outputs[r] for it in items if it.hq is not None for r in rows if r in it.outputs]


def score_set_metric(state: MetricState, items: list[ImageItem], rows: list[str], cache: Cache) -> dict:
    """Set-level metric (e.g. FID) of each row's images against the HQ images; features
    missing from the cache are computed in this process."""
    all_hashes = set_metric_images(items, rows)
    if not all_hashes:
        return {}
    feats, computed = _features(state, all_hashes, cache)
    state.info["features_computed"] = computed
    state.info["features_from_cache"] = len(set(all_hashes)) - computed
    return set_metric_values(state, items, rows, feats)


def set_metric_values(state: MetricState, items: list[ImageItem], rows: list[str], feats: dict) -> dict:
    """``{row: value}`` of a set-level metric from per-image features ``{image hash: vector}``."""
    import numpy as np

    with_ref = [it for it in items if it.hq is not None]
    if not with_ref:
        return {}
    ref = np.stack([feats[it.hq] for it in with_ref])
    out = {}
    for row in rows:
        if row == HQ_ROW:
            continue
        pred = np.stack([feats[it.outputs[row]] for it in with_ref if row in it.outputs])
        out[row] = float(state.metric.from_features(pred, ref))
    return out
