"""Stage 4b, score the images: every image metric of every (image, row).

Per-image values are cached by (metric definition, prediction hash, reference hash),
set-level metric features (FID) by (metric definition, image hash). The misses run
as jobs on the run's executor through :func:`bench.pipeline.stages.cached_map.cached_map`,
one job per (prediction, reference, image): it decodes its pair once and computes every
missing value of it (and its prediction's features). Each worker holds the suite's
metric objects and loads a model the first time one of its jobs needs it, and one
pair's pixels at a time. Set-level values are then computed in the driver from the
gathered features. Metrics that cannot run are recorded with their reason.

Results do not depend on the worker count: every value is computed from one pair
alone (batches of one, so a network metric never sees a batch whose size depends on
the scheduling), workers use the same library thread settings as a single process,
and values are assembled by cache key in the items' order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from bench.io.cache import Cache, stage_key
from bench.pipeline.stages.cached_map import Entry, Job, StageWork, cached_map
from bench.records import HQ_ROW, ImageItem

STAGE = "metric"
FEATURES = "features"
#: :func:`bench.scaleout.worker.stage_state` family of the score workers
WORKER_FAMILY = "metrics"
#: pairs per call to a remote actor (amortises the call overhead)
SCORE_BATCH = 4


@dataclass(frozen=True)
class MetricState:
    """One image metric of the suite: the object, or why it is unavailable."""

    name: str
    metric: Any = None
    unavailable: Optional[str] = None

    @property
    def version(self) -> str:
        return hashlib.sha256(str(self.metric.definition).encode()).hexdigest()[:16]


def metric_key(state: MetricState, pred: str, ref: Optional[str]) -> str:
    """The cache key of one per-image metric value (prediction hash, reference hash)."""
    return stage_key(STAGE, state.version, {"metric": state.name}, {"pred": pred, "ref": ref})


def feature_key(state: MetricState, image_hash: str) -> str:
    """The cache key of one image's set-metric features (``bench merge`` reads them back)."""
    return stage_key(FEATURES, state.version, {"metric": state.name}, {"image": image_hash})


def metric_pairs(state: MetricState, items: list[ImageItem], rows: list[str]) -> dict:
    """``{row: [(prediction hash, reference hash, item)]}`` a per-image metric scores.

    Full-reference metrics are not applicable to the HQ row (it is the reference)
    nor to images without a reference; such rows get no entries."""
    fr = state.metric.mode == "fr"
    return {row: [(it.outputs[row], it.hq, it) for it in items
                  if row in it.outputs and (not fr or it.hq is not None)]
            for row in rows if not (fr and row == HQ_ROW)}


def set_metric_images(items: list[ImageItem], rows: list[str]) -> list[str]:
    """Hashes of the images a set-level metric needs features of (every row of the items
    with a reference, the references included), in order, repeats kept."""
    return [it.outputs[r] for it in items if it.hq is not None for r in rows if r in it.outputs]


def set_metric_values(state: MetricState, items: list[ImageItem], rows: list[str], feats: dict) -> dict:
    """``{row: value}`` of a set-level metric from per-image features ``{image hash: vector}``."""
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


def _setup(state: dict, metrics: tuple, device: str) -> None:
    """Worker set-up: the suite's (unloaded) metric objects by name."""
    state["metrics"] = dict(metrics)
    state["loaded"] = set()
    state["device"] = device


def _metric(state: dict, name: str) -> Any:
    metric = state["metrics"][name]
    if name not in state["loaded"]:
        metric.load(state["device"])
        state["loaded"].add(name)
    return metric


def score_pair(state: dict, payload: tuple, entries: tuple[Entry, ...]) -> list[dict]:
    """Worker: the records of one (prediction, reference) pair's missing entries: ``{"value": v}``
    for a per-image value, ``{"features": [...]}`` for a set metric's features."""
    pred_hash, ref_hash, instances, names = payload
    cache: Cache = state["cache"]
    pred = cache.get_image(pred_hash)
    needs_ref = any(e.stage == STAGE and state["metrics"][names[e.key]].mode == "fr" for e in entries)
    ref = cache.get_image(ref_hash) if needs_ref else None
    out: list[dict] = []
    for entry in entries:
        metric = _metric(state, names[entry.key])
        if entry.stage == FEATURES:
            out.append({"features": np.asarray(metric.features([pred]), dtype=np.float64)[0].tolist()})
            continue
        value = metric.score_batch([pred], [ref] if metric.mode == "fr" else None, [instances])[0]
        out.append({"value": None if value is None else float(value)})
    return out


class _PairJobs:
    """The jobs, one per (prediction, reference, image id), in first-seen order; a set
    metric's features ride with the first job of their image."""

    def __init__(self) -> None:
        self.jobs: dict[tuple, tuple[list[Entry], tuple]] = {}
        self.first_by_pred: dict[str, tuple] = {}

    def add(self, pred: str, ref: Optional[str], item: Optional[ImageItem], entry: Entry, name: str) -> None:
        jk = (pred, ref, item.id if item is not None else None)
        if jk not in self.jobs:
            self.jobs[jk] = ([], (pred, ref, list(item.instances) if item is not None else [], {}))
            self.first_by_pred.setdefault(pred, jk)
        self._append(jk, entry, name)

    def add_features(self, image: str, entry: Entry, name: str) -> None:
        jk = self.first_by_pred.get(image)
        if jk is None:
            self.add(image, None, None, entry, name)
        else:
            self._append(jk, entry, name)

    def _append(self, jk: tuple, entry: Entry, name: str) -> None:
        entries, payload = self.jobs[jk]
        entries.append(entry)
        payload[3][entry.key] = name  # the metric that computes the entry

    def as_list(self) -> list[Job]:
        return [(tuple(entries), payload) for entries, payload in self.jobs.values()]


def score_stage(states: list[MetricState], items: list[ImageItem], rows: list[str], cache: Cache, executor: Any,
                progress: Any, device: str) -> tuple[dict, dict, dict]:
    """``(image_values, set_values, info)`` of every available metric:
    ``{name: {row: [(item, value or None)]}}``, ``{name: {row: value}}`` and, for each set
    metric, ``{name: {"features_computed": n, "features_from_cache": m}}``."""
    active = [s for s in states if not s.unavailable]
    per_image = [s for s in active if s.metric.mode != "set"]
    set_level = [s for s in active if s.metric.mode == "set"]
    jobs = _PairJobs()
    pairs = {s.name: metric_pairs(s, items, rows) for s in per_image}
    for s in per_image:
        for row_pairs in pairs[s.name].values():
            for pred, ref, item in row_pairs:
                jobs.add(pred, ref, item, Entry(STAGE, metric_key(s, pred, ref)), s.name)
    for s in set_level:
        for h in dict.fromkeys(set_metric_images(items, rows)):
            jobs.add_features(h, Entry(FEATURES, feature_key(s, h)), s.name)
    work = StageWork("score", WORKER_FAMILY, _setup, score_pair,
                     (tuple((s.name, s.metric) for s in active), device), SCORE_BATCH)
    mapped = cached_map(work, jobs.as_list(), cache, executor, progress)
    values = mapped.records
    image_values = {s.name: {row: [(item, values[Entry(STAGE, metric_key(s, pred, ref))]["value"])
                                   for pred, ref, item in row_pairs]
                             for row, row_pairs in pairs[s.name].items()}
                    for s in per_image}
    set_values, info = {}, {}
    for s in set_level:
        unique = {Entry(FEATURES, feature_key(s, h)) for h in set_metric_images(items, rows)}
        info[s.name] = {"features_computed": len(unique & mapped.computed),
                        "features_from_cache": len(unique - mapped.computed)}
        feats = {h: np.asarray(values[Entry(FEATURES, feature_key(s, h))]["features"])
                 for h in set_metric_images(items, rows)}
        set_values[s.name] = set_metric_values(s, items, rows, feats)
    return image_values, set_values, info
