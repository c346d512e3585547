"""Stage 2, restore: run each restorer over the LQ images, check and store outputs.

The cache key of one output is (restorer version, restorer config, input mode,
target size, prompt) over the LQ image hash, so changing a checkpoint, a
sampling setting or the prompt recomputes exactly what it affects.

Where the model runs (:func:`restore_stage`): with the local executor the whole
stage, with its feeding threads, runs in one process of its own per restorer
(:meth:`bench.scaleout.executors.local.LocalExecutor.run_isolated`), so the
restorer's model and libraries never share a process with the other stages'. On
Ray, batches are spread over actors, each holding one :class:`RestoreStage` (so
prompts, cache keys, output checks and cache writes are exactly those of a local
run); the driver gets back each image's record and the cache hit/miss counts.
"""

from __future__ import annotations

import copy
import gc
import time
from functools import partial
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from bench.errors import AdapterError
from bench.io.cache import Cache, stage_key
from bench.pipeline.stages.cached_map import record_fits
from bench.pipeline.stages.feed import BackgroundWriter, prefetched
from bench.progress import Progress
from bench.records import ImageItem, Sample
from bench.scaleout.executors import model_family
from bench.scaleout.worker import stage_state
from tair_bench_adapters.base import Restorer

STAGE = "restore"
#: batches decoded ahead of the model, and outputs waiting to be stored, at most
PREFETCH_BATCHES = 1


def check_output(out: Any, name: str, image_id: str, size: tuple[int, int]) -> np.ndarray:
    """Validate one restorer output: an (H, W, 3) uint8 array of the target size."""
    w, h = size
    where = f"restorer '{name}', image '{image_id}'"
    if not isinstance(out, np.ndarray):
        raise AdapterError(f"{where}: output is a {type(out).__name__}, expected a numpy array")
    if out.dtype != np.uint8:
        raise AdapterError(f"{where}: output dtype is {out.dtype}, expected uint8 (values 0..255)")
    if out.ndim != 3 or out.shape[2] != 3:
        raise AdapterError(f"{where}: output shape is {out.shape}, expected (H, W, 3) RGB")
    if out.shape[:2] != (h, w):
        raise AdapterError(f"{where}: output is {out.shape[1]}x{out.shape[0]}, expected {w}x{h} "
                           f"(the HQ size); check the adapter's scale")
    return np.ascontiguousarray(out)


class RestoreStage:
    """Restores every item with one restorer, batching cache misses.

    The model never waits for the harness: a feeder thread computes prompts, looks
    outputs up in the cache and decodes the inputs of the next batch while the model
    runs on the current one, and a writer thread checks, encodes and stores the
    previous batch's outputs (:mod:`bench.pipeline.stages.feed`). The model runs in
    the calling thread. ``batch_size`` (suite ``restorers[i].batch_size`` or
    ``bench run --batch-size``) overrides the adapter's preferred batch size.
    """

    def __init__(self, name: str, restorer: Restorer, prompt_source, cache: Cache,
                 batch_size: Optional[int] = None, prefetch: int = PREFETCH_BATCHES):
        self.name = name
        self.restorer = restorer
        self.prompts = prompt_source
        self.cache = cache
        self.batch_size = max(1, int(batch_size or getattr(restorer, "batch_size", 1)))
        self.prefetch = max(1, int(prefetch))
        self._loaded = False

    def _key(self, item: ImageItem, prompt: Optional[str]) -> str:
        r = self.restorer
        config = {"restorer": r.config(), "input_mode": r.input_mode, "size": list(item.size),
                  "prompt_source": self.prompts.version() if self.prompts is not None else "none"}
        inputs = {"lq": item.lq, "prompt": prompt, "id": item.id if self.restorer.needs_ids else None}
        return stage_key(STAGE, r.version(), config, inputs)

    def _usable(self, record: Any) -> bool:
        """A cached record of this stage's shape whose output image is in the cache and good
        (decodes, hashes to its name: checked once per process)."""
        return record_fits(STAGE, record) and self.cache.has_image(record["image"])

    def _prompt(self, item: ImageItem) -> tuple[Optional[str], dict]:
        if self.prompts is None or not self.restorer.accepts_prompt:
            return None, {}
        lq = self.cache.get_image(item.lq)
        sample = Sample(id=item.id, hq=None, lq=lq, instances=item.instances,
                        has_annotations=item.has_annotations)
        return self.prompts.prompt(sample, lq)

    def _batches(self, items: Iterable[ImageItem]) -> Iterator[tuple]:
        """Feeder thread: ``("hit", index, item, record)`` for a cached output, and
        ``("miss", batch, inputs)`` with the decoded inputs of each batch of misses."""
        r = self.restorer
        batch: list[tuple[int, ImageItem, str, Optional[str], dict]] = []
        for index, item in enumerate(items):
            prompt, info = self._prompt(item)
            key = self._key(item, prompt)
            rec = self.cache.get(STAGE, key, self._usable)
            if rec is not None:
                yield "hit", index, item, rec
                continue
            batch.append((index, item, key, prompt, info))
            if len(batch) >= self.batch_size:
                yield "miss", batch, [self.cache.get_image(it.lq if r.input_mode == "lq" else it.lq_up)
                                      for _, it, *_ in batch]
                batch = []
        if batch:
            yield "miss", batch, [self.cache.get_image(it.lq if r.input_mode == "lq" else it.lq_up)
                                  for _, it, *_ in batch]

    def run(self, items: Iterable[ImageItem], progress) -> list[dict]:
        """Fill ``item.outputs[name]`` for every item; return per-image records in item order."""
        records: dict[int, dict] = {}
        bar = progress.bar(None, f"restore {self.name}", total=len(items) if hasattr(items, "__len__") else None)
        try:
            with BackgroundWriter(self.prefetch) as writer:
                for kind, *rest in prefetched(self._batches(items), self.prefetch):
                    if kind == "hit":
                        index, item, rec = rest
                        item.outputs[self.name] = rec["image"]
                        records[index] = {"id": item.id, **rec}
                        bar.update(1)
                        continue
                    batch, inputs = rest
                    outs, per_image = self._restore(batch, inputs)
                    writer.submit(self._store, batch, outs, per_image, records)
                    bar.update(len(batch))
        finally:
            bar.close()
        return [records[i] for i in sorted(records)]

    def _restore(self, batch: list, inputs: list[np.ndarray]) -> tuple[Any, float]:
        """The model on one batch (this thread); returns its outputs and seconds per image."""
        r = self.restorer
        if not self._loaded:
            r.load()
            self._loaded = True
        prompts = [p for _, _, _, p, _ in batch] if r.accepts_prompt else None
        kwargs = {"ids": [it.id for _, it, *_ in batch]} if r.needs_ids else {}
        t0 = time.perf_counter()
        outs = r.restore_batch(inputs, prompts, **kwargs)
        per_image = (time.perf_counter() - t0) / len(batch)
        if not isinstance(outs, (list, tuple)) or len(outs) != len(batch):
            raise AdapterError(f"restorer '{self.name}': returned {len(outs) if hasattr(outs, '__len__') else outs!r} "
                               f"outputs for a batch of {len(batch)}")
        return outs, per_image

    def _store(self, batch: list, outs: Any, per_image: float, records: dict) -> None:
        """Writer thread: check, store and record one batch's outputs."""
        for (index, item, key, prompt, info), out in zip(batch, outs):
            img = check_output(out, self.name, item.id, item.size)
            h = self.cache.put_image(img)
            rec = {"image": h, "prompt": prompt, "prompt_info": info, "seconds": per_image}
            self.cache.put(STAGE, key, rec)
            item.outputs[self.name] = h
            records[index] = {"id": item.id, **rec}


def _counts(cache: Cache) -> dict:
    return {"cached": cache.hits[STAGE], "computed": cache.misses[STAGE]}


def _run_in_model_process(name: str, restorer: Restorer, prompt_source: Any, cache_root: str,
                          items: list[ImageItem], batch_size: Optional[int], quiet: bool) -> tuple[list[dict], dict]:
    """In the model process: the whole stage over ``items``, with a copy of the restorer (its
    model is freed when the stage ends, also when this runs inline). Returns the records and
    ``{"cached": n, "computed": m}``."""
    cache = Cache(cache_root)
    stage = RestoreStage(name, copy.copy(restorer), prompt_source, cache, batch_size)
    return stage.run(items, Progress(quiet=quiet)), {**_counts(cache), "corrupt": dict(cache.corrupt)}


def _set_up_actor(name: str, restorer: Restorer, prompt_source: Any, cache_root: str,
                  batch_size: Optional[int]) -> None:
    """Actor set-up: the stage object (the model loads on the first cache miss)."""
    stage_state(model_family(name))["stage"] = RestoreStage(name, restorer, prompt_source, Cache(cache_root),
                                                            batch_size)


def _restore_on_actor(family: str, items: list[ImageItem]) -> tuple[list[dict], dict]:
    """One batch on an actor: its records and this batch's ``{"cached": n, "computed": m}``."""
    stage: RestoreStage = stage_state(family)["stage"]
    before, known = _counts(stage.cache), set(stage.cache.corrupt)
    records = stage.run(items, Progress(quiet=True))
    return records, {**{k: v - before[k] for k, v in _counts(stage.cache).items()},
                     "corrupt": {k: v for k, v in stage.cache.corrupt.items() if k not in known}}


def _batches_on_actors(executor: Any, name: str, restorer: Restorer, prompt_source: Any, cache: Cache,
                       items: list[ImageItem], progress: Any, batch_size: Optional[int]) -> Iterator[tuple]:
    size = max(1, int(batch_size or getattr(restorer, "batch_size", 1)))
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    results = executor.map_actors(partial(_restore_on_actor, model_family(name)), batches, _set_up_actor,
                                  (name, restorer, prompt_source, str(cache.root), size), family=model_family(name))
    yield from progress.bar(results, f"restore {name}", total=len(batches))


def restore_stage(executor: Any, name: str, restorer: Restorer, prompt_source: Any, cache: Cache,
                  items: list[ImageItem], progress: Any, batch_size: Optional[int] = None) -> list[dict]:
    """Fill ``item.outputs[name]`` for every item and return the per-image records, the model
    running where ``executor`` puts models (module docstring). ``batch_size`` (None: the
    adapter's) is the images per ``restore_batch`` call (and per actor call on Ray)."""
    if executor.remote_models:
        results = _batches_on_actors(executor, name, restorer, prompt_source, cache, items, progress, batch_size)
    else:
        results = iter([executor.run_isolated(_run_in_model_process, name, restorer, prompt_source,
                                              str(cache.root), items, batch_size, progress.quiet)])
    by_id = {it.id: it for it in items}
    out: list[dict] = []
    for records, counts in results:
        cache.hits[STAGE] += counts["cached"]  # counted where the stage ran
        cache.misses[STAGE] += counts["computed"]
        for rel, problem in counts.get("corrupt", {}).items():  # met in the model process
            cache.note_corrupt(rel, problem)
        for rec in records:
            by_id[rec["id"]].outputs[name] = rec["image"]
        out.extend(records)
    gc.collect()  # inline: the stage's model was just dropped
    return out
