"""Stage 3, spot: read the text of every distinct image (HQ, LQ, each output).

Results are cached per (spotter version + config, image hash, image id), so an
image shared by two rows (the bicubic restorer and the LQ row) is read once.
Each worker (process or Ray actor) loads its own spotter once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from bench.components import SPOTTERS
from bench.errors import SpotterError
from bench.io.cache import Cache, stage_key
from bench.pipeline.stages.cached_map import Entry, StageWork, cached_map
from bench.records import Detection, as_polygon
from bench.registry import unknown_arguments
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
#: images per call to a spotter worker (amortises the call overhead of remote actors)
SPOT_BATCH = 4


def setup_spotter(state: dict, factory: SpotterFactory, registry_extra: tuple = ()) -> None:
    """Worker set-up for spot and recognize; a spotter already loaded from the same
    factory (spot, then recognize, in one process) is kept."""
    for name, target in registry_extra:  # components registered at run time (tests, plugins)
        if name not in SPOTTERS:
            SPOTTERS.add(name, target, "registered by the parent process")
    if state.get("factory") != factory:
        state["spotter"] = None
    state["factory"] = factory


def worker_spotter(state: dict) -> Spotter:
    """This worker's spotter, built and loaded on first use."""
    if state["spotter"] is None:
        spotter = state["factory"].build()
        spotter.load()
        state["spotter"] = spotter
    return state["spotter"]


def spotter_setup_args(factory: SpotterFactory) -> tuple:
    """:func:`setup_spotter`'s arguments: the factory and its registry entry (a spotter registered
    at run time in the driver is registered again in each worker)."""
    return factory, ((factory.name, SPOTTERS.get(factory.name).target),)


def spot_key(version: str, config: dict, image_hash: str, image_id: str) -> str:
    """The cache key of one spot call: the spotter's version and config (as recorded in
    results.json) over the image hash and id. The report looks detections up with it."""
    return stage_key(STAGE, version, config, {"image": image_hash, "id": image_id})


def _spot_image(state: dict, payload: tuple[str, str], entries: tuple) -> list[dict]:
    """Worker: spot one image; its record (detections and seconds)."""
    image_hash, image_id = payload
    spotter = worker_spotter(state)
    image = state["cache"].get_image(image_hash)
    t0 = time.perf_counter()
    dets = spotter.spot(image, image_id)
    seconds = time.perf_counter() - t0
    if not isinstance(dets, list) or not all(isinstance(d, Detection) for d in dets):
        raise SpotterError(f"spotter '{state['factory'].name}' returned {type(dets).__name__} for image "
                           f"'{image_id}', expected a list of Detection")
    return [{"detections": detections_to_json(dets), "seconds": seconds}]


def spot_stage(jobs: list[tuple[str, str]], factory: SpotterFactory, key_spotter: Spotter, cache: Cache,
               executor: Any, progress: Any) -> dict[tuple[str, str], list[Detection]]:
    """Detections of every distinct (image hash, image id), spotted on ``executor``
    (:mod:`bench.scaleout.executors`: local processes or Ray actors, one spotter loaded per
    worker) where the cache lacks them. ``key_spotter`` gives the cache keys; it is never loaded."""
    version, config = key_spotter.version(), key_spotter.config()
    entries = {job: Entry(STAGE, spot_key(version, config, *job)) for job in sorted(set(jobs))}
    work = StageWork("spot", WORKER_FAMILY, setup_spotter, _spot_image, spotter_setup_args(factory), SPOT_BATCH)
    mapped = cached_map(work, [((e,), job) for job, e in entries.items()], cache, executor, progress)
    return {job: detections_from_json(mapped.records[e]["detections"]) for job, e in entries.items()}
