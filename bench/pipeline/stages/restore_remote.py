"""The restore stage away from the driver: in a model process, or on Ray actors.

:func:`restore_isolated` (the local executor) runs the whole stage, with its
feeding threads, in one process of its own per restorer
(:meth:`bench.scaleout.executors.local.LocalExecutor.run_isolated`), so the
restorer's model and libraries never share a process with the other stages'.
:func:`restore_remote` (Ray) spreads batches over actors:

Each actor builds one :class:`bench.pipeline.stages.restore.RestoreStage` (restorer, prompt
source, the shared cache) and runs it on batches of items, so prompts, cache
keys, output checks and cache writes are exactly those of a local run; only
where the model runs changes. The driver gets back each image's record and the
actor's cache hit/miss counts.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any, Optional

from bench.io.cache import Cache
from bench.pipeline.stages.restore import RestoreStage, STAGE
from bench.progress import Progress
from bench.records import ImageItem
from bench.scaleout.executors import model_family
from bench.scaleout.worker import release_memory

_STATE: dict[str, Any] = {}


def init_restore(name: str, restorer: Any, prompt_source: Any, cache_root: str,
                 batch_size: Optional[int] = None) -> None:
    """Actor set-up: the stage object (the model loads on the first cache miss)."""
    _STATE["stage"] = RestoreStage(name, restorer, prompt_source, Cache(cache_root), batch_size)


def restore_batch(items: list[ImageItem]) -> tuple[list[dict], dict]:
    """Restore one batch in the actor: its records and ``{"cached": n, "computed": m}``."""
    stage = _STATE["stage"]
    hits, misses = Counter(stage.cache.hits), Counter(stage.cache.misses)
    records = stage.run(items, Progress(quiet=True))
    return records, {"cached": stage.cache.hits[STAGE] - hits[STAGE],
                     "computed": stage.cache.misses[STAGE] - misses[STAGE]}


def run_restore_stage(name: str, restorer: Any, prompt_source: Any, cache_root: str, items: list[ImageItem],
                      batch_size: Optional[int], quiet: bool) -> tuple[list[dict], dict]:
    """In the model process: the whole restore stage over ``items``, with a copy of the restorer
    (its model is freed when the stage ends, also when this runs inline). Returns the records and
    ``{"cached": n, "computed": m}``."""
    cache = Cache(cache_root)
    stage = RestoreStage(name, copy.copy(restorer), prompt_source, cache, batch_size)
    records = stage.run(items, Progress(quiet=quiet))
    return records, {"cached": cache.hits[STAGE], "computed": cache.misses[STAGE]}


def restore_isolated(executor: Any, name: str, restorer: Any, prompt_source: Optional[Any], cache: Cache,
                     items: list[ImageItem], progress: Any, batch_size: Optional[int] = None) -> list[dict]:
    """Fill ``item.outputs[name]`` for every item, the stage running in ``executor``'s model
    process; return the records."""
    records, counts = executor.run_isolated(run_restore_stage, name, restorer, prompt_source, str(cache.root),
                                            items, batch_size, progress.quiet)
    release_memory()  # inline: the stage's model was just dropped
    cache.hits[STAGE] += counts["cached"]
    cache.misses[STAGE] += counts["computed"]
    by_id = {it.id: it for it in items}
    for rec in records:
        by_id[rec["id"]].outputs[name] = rec["image"]
    return records


def restore_remote(executor: Any, name: str, restorer: Any, prompt_source: Optional[Any], cache: Cache,
                   items: list[ImageItem], progress: Any, batch_size: Optional[int] = None) -> list[dict]:
    """Fill ``item.outputs[name]`` for every item using ``executor``'s actors; return the records.
    ``batch_size`` (None: the adapter's) is the images per actor call and per restore_batch."""
    size = max(1, int(batch_size or getattr(restorer, "batch_size", 1)))
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    by_id = {it.id: it for it in items}
    out: list[dict] = []
    results = executor.map_actors(restore_batch, batches, init_restore,
                                  (name, restorer, prompt_source, str(cache.root), size), family=model_family(name))
    for records, counts in progress.bar(results, f"restore {name}", total=len(batches)):
        cache.hits[STAGE] += counts["cached"]
        cache.misses[STAGE] += counts["computed"]
        for rec in records:
            by_id[rec["id"]].outputs[name] = rec["image"]
        out.extend(records)
    return out
