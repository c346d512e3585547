"""The image-metric part of the score stage, run on the executor like spot.

The driver reads every cached value (per-image metric values, set-metric
features) and turns the misses into jobs, one per (prediction, reference,
image): each job decodes its pair once and runs every metric that lacks a value
for it (and extracts the set-level features of its prediction). Jobs run on the
run's executor (``--workers`` local processes, or Ray actors); each worker holds
the suite's metric objects and loads a model the first time one of its jobs
needs it. A worker holds one pair's pixels at a time.

Results do not depend on the worker count: every value is computed from one
pair alone (batches of one, so a network metric never sees a batch whose size
depends on the scheduling), workers use the same library thread settings as a
single process, and values are assembled by cache key in the items' order.
Set-level metrics (FID) are then computed in the driver from the gathered
per-image features, as :func:`bench.pipeline.stages.score.score_set_metric` does.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from bench.io.cache import Cache
from bench.pipeline.stages.score import (
    FEATURES,
    STAGE,
    MetricState,
    feature_key,
    metric_key,
    metric_pairs,
    set_metric_images,
    set_metric_values,
)
from bench.records import ImageItem
from bench.scaleout.worker import stage_state

#: :func:`bench.scaleout.worker.stage_state` family of the score workers
WORKER_FAMILY = "metrics"
#: pairs per call to a remote actor (amortises the call overhead)
SCORE_BATCH = 4
VALUE = "value"


def init_worker(metrics: tuple, device: str, cache_root: str) -> None:
    """Worker set-up: the suite's (unloaded) metric objects by name, and the cache."""
    state = stage_state(WORKER_FAMILY)
    state["metrics"] = dict(metrics)
    state["loaded"] = set()
    state["device"] = device
    state["cache"] = Cache(cache_root)


def _metric(state: dict, name: str):
    metric = state["metrics"][name]
    if name not in state["loaded"]:
        metric.load(state["device"])
        state["loaded"].add(name)
    return metric


def score_one(job: tuple) -> list[tuple[str, Any]]:
    """Worker: one (prediction, reference) pair's missing values and features, cached and returned
    as ``[(cache key, value or feature list)]``."""
    pred_hash, ref_hash, instances, tasks = job
    state = stage_state(WORKER_FAMILY)
    cache: Cache = state["cache"]
    pred = cache.get_image(pred_hash)
    needs_ref = any(kind == VALUE and state["metrics"][name].mode == "fr" for name, _, kind in tasks)
    ref = cache.get_image(ref_hash) if needs_ref else None
    out: list[tuple[str, Any]] = []
    for name, key, kind in tasks:
        metric = _metric(state, name)
        if kind == FEATURES:
            feats = np.asarray(metric.features([pred]), dtype=np.float64)[0].tolist()
            cache.put(FEATURES, key, {"features": feats})
            out.append((key, feats))
            continue
        refs = [ref] if metric.mode == "fr" else None
        value = metric.score_batch([pred], refs, [instances])[0]
        value = None if value is None else float(value)
        cache.put(STAGE, key, {"value": value})
        out.append((key, value))
    return out


class _Jobs:
    """The misses, grouped into one job per (prediction, reference, image id), in first-seen order."""

    def __init__(self) -> None:
        self.jobs: dict[tuple, tuple[str, Optional[str], list, list]] = {}
        self.first_by_pred: dict[str, tuple] = {}

    def add(self, pred: str, ref: Optional[str], item: Optional[ImageItem], task: tuple) -> None:
        jk = (pred, ref, item.id if item is not None else None)
        if jk not in self.jobs:
            self.jobs[jk] = (pred, ref, list(item.instances) if item is not None else [], [])
            self.first_by_pred.setdefault(pred, jk)
        self.jobs[jk][3].append(task)

    def add_features(self, image: str, task: tuple) -> None:
        jk = self.first_by_pred.get(image)
        if jk is None:
            self.add(image, None, None, task)
        else:
            self.jobs[jk][3].append(task)

    def as_list(self) -> list[tuple]:
        return [(p, r, inst, tuple(tasks)) for p, r, inst, tasks in self.jobs.values()]


def score_stage(states: list[MetricState], items: list[ImageItem], rows: list[str], cache: Cache, executor,
                progress, device: str) -> tuple[dict, dict]:
    """``(image_values, set_values)`` of every available metric:
    ``{name: {row: [(item, value or None)]}}`` and ``{name: {row: value}}``."""
    active = [s for s in states if not s.unavailable]
    per_image = [s for s in active if s.metric.mode != "set"]
    set_level = [s for s in active if s.metric.mode == "set"]
    values: dict[str, Any] = {}
    queued: set[str] = set()
    jobs = _Jobs()
    pairs = {s.name: metric_pairs(s, items, rows) for s in per_image}
    for s in per_image:
        for row_pairs in pairs[s.name].values():
            for pred, ref, item in row_pairs:
                key = metric_key(s, pred, ref)
                if key in values or key in queued:
                    continue
                rec = cache.get(STAGE, key)
                if rec is not None:
                    values[key] = rec["value"]
                else:
                    jobs.add(pred, ref, item, (s.name, key, VALUE))
                    queued.add(key)
    for s in set_level:
        unique = list(dict.fromkeys(set_metric_images(items, rows)))
        computed = 0
        for h in unique:
            key = feature_key(s, h)
            rec = cache.get(FEATURES, key)
            if rec is not None:
                values[key] = rec["features"]
            else:
                jobs.add_features(h, (s.name, key, FEATURES))
                computed += 1
        s.info["features_computed"] = computed
        s.info["features_from_cache"] = len(unique) - computed
    todo = jobs.as_list()
    if todo:
        initargs = (tuple((s.name, s.metric) for s in active), device, str(cache.root))
        results = executor.map_actors(score_one, todo, init_worker, initargs, SCORE_BATCH, family=WORKER_FAMILY)
        for done in progress.bar(results, "score", total=len(todo)):
            values.update(done)
    image_values = {s.name: {row: [(item, values[metric_key(s, pred, ref)]) for pred, ref, item in row_pairs]
                             for row, row_pairs in pairs[s.name].items()}
                    for s in per_image}
    set_values = {}
    for s in set_level:
        feats = {h: np.asarray(values[feature_key(s, h)]) for h in set_metric_images(items, rows)}
        set_values[s.name] = set_metric_values(s, items, rows, feats)
    return image_values, set_values
