"""The restore stage on an executor whose workers hold the models (Ray actors).

Each actor builds one :class:`bench.pipeline.stages.restore.RestoreStage` (restorer, prompt
source, the shared cache) and runs it on batches of items, so prompts, cache
keys, output checks and cache writes are exactly those of a local run; only
where the model runs changes. The driver gets back each image's record and the
actor's cache hit/miss counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from bench.io.cache import Cache
from bench.records import ImageItem

_STATE: dict[str, Any] = {}


def init_restore(name: str, restorer: Any, prompt_source: Any, cache_root: str,
                 batch_size: Optional[int] = None) -> None:
    """Actor set-up: the stage object (the model loads on the first cache miss)."""
    from bench.pipeline.stages.restore import RestoreStage

    _STATE["stage"] = RestoreStage(name, restorer, prompt_source, Cache(cache_root), batch_size)


def restore_batch(items: list[ImageItem]) -> tuple[list[dict], dict]:
    """Restore one batch in the actor: its records and ``{"cached": n, "computed": m}``."""
    from bench.progress import Progress
    from bench.pipeline.stages.restore import STAGE

    stage = _STATE["stage"]
    hits, misses = Counter(stage.cache.hits), Counter(stage.cache.misses)
    records = stage.run(items, Progress(quiet=True))
    return records, {"cached": stage.cache.hits[STAGE] - hits[STAGE],
                     "computed": stage.cache.misses[STAGE] - misses[STAGE]}


def restore_remote(executor: Any, name: str, restorer: Any, prompt_source: Optional[Any], cache: Cache,
                   items: list[ImageItem], progress: Any, batch_size: Optional[int] = None) -> list[dict]:
    """Fill ``item.outputs[name]`` for every item using ``executor``'s actors; return the records.
    ``batch_size`` (None: the adapter's) is the images per actor call and per restore_batch."""
    from bench.pipeline.stages.restore import STAGE

    size = max(1, int(batch_size or getattr(restorer, "batch_size", 1)))
    batches = [items[i:i + size] for i in range(0, len(items), size)]
    by_id = {it.id: it for it in items}
    out: list[dict] = []
    results = executor.map_actors(restore_batch, batches, init_restore,
                                  (name, restorer, prompt_source, str(cache.root), size))
    for records, counts in progress.bar(results, f"restore {name}", total=len(batches)):
        cache.hits[STAGE] += counts["cached"]
        cache.misses[STAGE] += counts["computed"]
        for rec in records:
            by_id[rec["id"]].outputs[name] = rec["image"]
        out.extend(records)
    return out
