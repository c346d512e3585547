"""Stage 3, spot: read the text of every distinct image (HQ, LQ, each output).

Results are cached per (spotter version + config, image hash, image id), so an
image shared by two rows (the bicubic restorer and the LQ row) is read once.
With ``workers > 1`` each worker process loads its own spotter once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from bench.components import SPOTTERS
from bench.errors import SpotterError
from bench.io.cache import Cache, stage_key
from bench.records import Detection, as_polygon
from bench.registry import unknown_arguments
from bench.scaleout.executors.local import LocalExecutor
from bench.scaleout.worker import stage_state
from bench.spotters.base import Spotter

STAGE = "spot"


def detections_to_json(dets: list[Detection]) -> list[dict]:
    return [{"polygon": [list(p) for p in d.polygon], "text": d.text, "score": float(d.score)} for d in dets]


def detections_from_json(raw: list[dict]) -> list[Detection]:
    return [Detection(as_polygon(d["polygon"]), str(d["text"]), float(d["score"])) for d in raw]


@dataclass(frozen=True)
class SpotterFactory:
    """Picklable recipe for building the suite's spotter in any process."""

    name: str
    min_score: float
    args: dict
    device: str
    #: the suite's ``spotter.python`` (None: the spotter runs in the harness)
    python: Optional[str] = None

    def build(self):
        cls = SPOTTERS.load(self.name)
        unknown = unknown_arguments(cls, Spotter, self.args)
        if unknown:
            raise SpotterError("; ".join(f"spotter.args.{key}: {msg}" for key, msg in unknown))
        if self.python is None:
            return cls(min_score=self.min_score, device=self.device, **self.args)
        if not getattr(cls, "accepts_python", False):
            raise SpotterError(f"spotter '{self.name}' runs inside the harness, so 'spotter.python' cannot "
                               f"apply -- remove it (only spotters that run in their own environment take it)")
        return cls(min_score=self.min_score, device=self.device, python=self.python, **self.args)


#: :func:`bench.scaleout.worker.stage_state` family of spot and recognize (they share the spotter)
WORKER_FAMILY = "spotter"


def init_worker(factory: SpotterFactory, cache_root: str, registry_extra: tuple = ()) -> None:
    """Worker set-up for spot and recognize; a spotter already loaded from the same
    factory (spot, then recognize, in one process) is kept."""
    for name, target in registry_extra:  # components registered at run time (tests, plugins)
        if name not in SPOTTERS:
            SPOTTERS.add(name, target, "registered by the parent process")
    state = stage_state(WORKER_FAMILY)
    if state.get("factory") != factory:
        state["spotter"] = None
    state["factory"] = factory
    state["cache"] = Cache(cache_root)


def worker_spotter():
    """This worker's spotter, built and loaded on first use."""
    state = stage_state(WORKER_FAMILY)
    if state["spotter"] is None:
        spotter = state["factory"].build()
        spotter.load()
        state["spotter"] = spotter
    return state["spotter"]


def spot_key(version: str, config: dict, image_hash: str, image_id: str) -> str:
    """The cache key of one spot call: the spotter's version and config (as recorded in
    results.json) over the image hash and id. The report looks detections up with it."""
    return stage_key(STAGE, version, config, {"image": image_hash, "id": image_id})


def _spot_one(job: tuple[str, str, str]) -> tuple[str, Optional[dict]]:
    """Spot one image unless cached. Returns (key, record or None if it was cached)."""
    key, image_hash, image_id = job
    state = stage_state(WORKER_FAMILY)
    cache: Cache = state["cache"]
    if cache.get(STAGE, key) is not None:
        return key, None
    spotter = worker_spotter()
    image = cache.get_image(image_hash)
    t0 = time.perf_counter()
    dets = spotter.spot(image, image_id)
    seconds = time.perf_counter() - t0
    if not isinstance(dets, list) or not all(isinstance(d, Detection) for d in dets):
        raise SpotterError(f"spotter '{state['factory'].name}' returned {type(dets).__name__} for image "
                           f"'{image_id}', expected a list of Detection")
    rec = {"detections": detections_to_json(dets), "seconds": seconds}
    cache.put(STAGE, key, rec)
    return key, rec


def registered(name: str) -> tuple:
    return ((name, SPOTTERS.get(name).target),)


#: images per call to a spotter worker (amortises the call overhead of remote actors)
SPOT_BATCH = 4


def spot_stage(jobs: list[tuple[str, str]], factory: SpotterFactory, key_spotter, cache: Cache,
               workers: int, progress, executor=None) -> dict[tuple[str, str], list[Detection]]:
    """Spot every distinct (image hash, image id); returns their detections.

    ``executor`` (:mod:`bench.scaleout.executors`) runs the spotters, e.g. as Ray actors
    (one spotter loaded per actor); by default ``workers`` local processes."""
    if executor is None:
        own = LocalExecutor(workers)
        try:
            return spot_stage(jobs, factory, key_spotter, cache, workers, progress, own)
        finally:
            own.close()
    unique = sorted(set(jobs))
    version, config = key_spotter.version(), key_spotter.config()
    keyed = [(spot_key(version, config, h, i), h, i) for h, i in unique]
    todo = [j for j in keyed if cache.get(STAGE, j[0]) is None]
    initargs = (factory, str(cache.root), registered(factory.name))
    results = executor.map_actors(_spot_one, todo, init_worker, initargs, SPOT_BATCH, family=WORKER_FAMILY)
    for _ in progress.bar(results, "spot", total=len(todo)):
        pass
    out = {}
    for key, h, i in keyed:
        rec = Cache(cache.root).get(STAGE, key)
        if rec is None:
            raise SpotterError(f"spot result for image '{i}' missing after the spot stage (cache at {cache.root})")
        out[(h, i)] = detections_from_json(rec["detections"])
    return out
