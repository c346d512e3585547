"""Stage 1, prepare: store the HQ image, make (or take) the LQ image, and the
bicubic-upsampled LQ ("no restoration" row).

The LQ image comes from the data set (``degradation: provided``) or from the
seeded degradation pipeline (``degradation: preset``), cached under a key made
of the HQ hash, the image id, the full preset definition, seed, scale, the backend
(with its library version) and USM sharpening.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from bench.degrade import DEGRADE_VERSION, backend_version, degrade_image, preset_definition
from bench.errors import DataError
from bench.io.cache import Cache, stage_key
from bench.io.images import bicubic_resize
from bench.records import HQ_ROW, ImageItem, LQ_ROW, Sample
from bench.scaleout.executors.local import LocalExecutor
from bench.suite import DegradationSpec

STAGE = "degrade"


@dataclass(frozen=True)
class PrepareConfig:
    """Everything the prepare stage needs; picklable for worker processes."""

    cache_root: str
    degradation: DegradationSpec


_CACHE: Optional[Cache] = None


def _init_worker(cache_root: str) -> None:
    global _CACHE
    _CACHE = Cache(cache_root)


def _degrade_config(spec: DegradationSpec) -> tuple[str, dict]:
    return DEGRADE_VERSION, {"preset": spec.preset, "definition": preset_definition(spec.preset),
                             "seed": spec.seed, "scale": spec.scale, "backend": spec.backend,
                             "backend_version": backend_version(spec.backend), "usm_sharpen": spec.usm_sharpen}


def prepare_one(job: tuple[Sample, DegradationSpec]) -> tuple[ImageItem, Optional[bool]]:
    """Prepare one sample; returns the item and whether the LQ came from cache
    (``None`` when the data set provided it)."""
    sample, spec = job
    cache = _CACHE
    assert cache is not None, "prepare worker not initialised"
    hit: Optional[bool] = None
    hq_hash = cache.put_image(sample.hq) if sample.hq is not None else None
    if spec.kind == "provided":
        if sample.lq is None:
            raise DataError(f"{sample.source}: record '{sample.id}': the data set provides no LQ image "
                            f"for degradation level {spec.level}")
        lq = sample.lq
        lq_hash = cache.put_image(lq)
    else:
        if sample.hq is None:
            raise DataError(f"{sample.source}: record '{sample.id}': a degradation preset needs an HQ image")
        version, config = _degrade_config(spec)
        key = stage_key(STAGE, version, config, {"hq": hq_hash, "id": sample.id})
        rec = cache.get(STAGE, key)
        if rec is not None and cache.has_image(rec["lq"]):
            lq_hash, hit = rec["lq"], True
            lq = None
        else:
            lq = degrade_image(sample.hq, spec.preset, spec.seed, sample.id, spec.scale,
                               backend=spec.backend, usm_sharpen=spec.usm_sharpen)
            lq_hash = cache.put_image(lq)
            cache.put(STAGE, key, {"lq": lq_hash})
            hit = False
    if sample.hq is not None:
        size = (sample.hq.shape[1], sample.hq.shape[0])
    else:
        shape = (lq if lq is not None else cache.get_image(lq_hash)).shape
        size = (shape[1] * spec.scale, shape[0] * spec.scale)
    lq_img = lq if lq is not None else cache.get_image(lq_hash)
    lq_up_hash = cache.put_image(bicubic_resize(lq_img, size))
    item = ImageItem(id=sample.id, hq=hq_hash, lq=lq_hash, lq_up=lq_up_hash, size=size,
                     instances=list(sample.instances), has_annotations=sample.has_annotations)
    item.outputs[LQ_ROW] = lq_up_hash
    if hq_hash is not None:
        item.outputs[HQ_ROW] = hq_hash
    return item, hit


def prepare_stage(samples: Iterable[Sample], cfg: PrepareConfig, workers: int, cache: Cache,
                  executor=None) -> Iterator[ImageItem]:
    """Yield one prepared :class:`ImageItem` per sample, in data set order.

    ``executor`` (:mod:`bench.scaleout.executors`) runs the work, e.g. as Ray tasks; by
    default ``workers`` local processes."""
    if executor is None:
        own = LocalExecutor(workers)
        try:
            yield from prepare_stage(samples, cfg, workers, cache, own)
        finally:
            own.close()
        return
    jobs = ((s, cfg.degradation) for s in samples)
    for item, hit in executor.map_tasks(prepare_one, jobs, _init_worker, (cfg.cache_root,), family=STAGE):
        if hit is True:
            cache.hits[STAGE] += 1
        elif hit is False:
            cache.misses[STAGE] += 1
        yield item
