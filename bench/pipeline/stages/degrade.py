"""Stage 1, degrade: store the HQ image, make (or take) the LQ image, and the
bicubic-upsampled LQ ("no restoration" row).

The LQ image comes from the data set (``degradation: provided``) or from the
seeded degradation pipeline (``degradation: preset``). One record per image, cached
under a key made of the HQ hash (and the provided LQ's), the image id and, for a
preset, the full preset definition, seed, scale, the backend (with its library
version) and USM sharpening. The record names the LQ and upsampled-LQ images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

from bench.degrade import DEGRADE_VERSION, backend_version, degrade_image, preset_definition
from bench.errors import DataError
from bench.io.cache import Cache, stage_key
from bench.io.images import array_hash, bicubic_resize
from bench.pipeline.stages.cached_map import Entry, Job, StageWork, cached_map
from bench.records import HQ_ROW, LQ_ROW, ImageItem, Sample, TextInstance
from bench.suite import DegradationSpec

STAGE = "degrade"
#: the version of the provided-LQ records (their key holds no degradation definition)
PROVIDED_VERSION = "provided-1"


@dataclass(frozen=True)
class _Planned:
    """What the driver keeps of one sample while its images are made: no pixels."""

    id: str
    hq: Optional[str]
    size: tuple[int, int]
    instances: list[TextInstance]
    has_annotations: bool
    entry: Entry


def _degrade_config(spec: DegradationSpec) -> tuple[str, dict]:
    return DEGRADE_VERSION, {"preset": spec.preset, "definition": preset_definition(spec.preset),
                             "seed": spec.seed, "scale": spec.scale, "backend": spec.backend,
                             "backend_version": backend_version(spec.backend), "usm_sharpen": spec.usm_sharpen}


def _key(sample: Sample, spec: DegradationSpec, hq_hash: Optional[str]) -> str:
    if spec.kind == "provided":
        return stage_key(STAGE, PROVIDED_VERSION, {"scale": spec.scale},
                         {"hq": hq_hash, "lq": array_hash(sample.lq), "id": sample.id})
    version, config = _degrade_config(spec)
    return stage_key(STAGE, version, config, {"hq": hq_hash, "id": sample.id})


def _check(sample: Sample, spec: DegradationSpec) -> None:
    if spec.kind == "provided" and sample.lq is None:
        raise DataError(f"{sample.source}: record '{sample.id}': the data set provides no LQ image "
                        f"for degradation level {spec.level}")
    if spec.kind != "provided" and sample.hq is None:
        raise DataError(f"{sample.source}: record '{sample.id}': a degradation preset needs an HQ image")


def _target_size(sample: Sample, spec: DegradationSpec) -> tuple[int, int]:
    """The HQ size, or the provided LQ's times the scale when there is no HQ."""
    if sample.hq is not None:
        return sample.hq.shape[1], sample.hq.shape[0]
    return sample.lq.shape[1] * spec.scale, sample.lq.shape[0] * spec.scale


def _setup(state: dict, spec: DegradationSpec) -> None:
    state["spec"] = spec


def _make_images(state: dict, payload: tuple[Sample, tuple[int, int]], entries: tuple[Entry, ...]) -> list[dict]:
    """Worker: store the HQ, the LQ (degraded or provided) and the upsampled LQ of one sample."""
    sample, size = payload
    spec: DegradationSpec = state["spec"]
    cache: Cache = state["cache"]
    lq = sample.lq if spec.kind == "provided" else degrade_image(
        sample.hq, spec.preset, spec.seed, sample.id, spec.scale, backend=spec.backend,
        usm_sharpen=spec.usm_sharpen)
    hq = cache.put_image(sample.hq) if sample.hq is not None else None
    return [{"hq": hq, "lq": cache.put_image(lq), "lq_up": cache.put_image(bicubic_resize(lq, size))}]


def _plan(samples: Iterable[Sample], spec: DegradationSpec, planned: list[_Planned]) -> Iterator[Job]:
    """One job per sample, its plan appended to ``planned`` (the pixels travel only in the job)."""
    for sample in samples:
        _check(sample, spec)
        hq_hash = array_hash(sample.hq) if sample.hq is not None else None
        size = _target_size(sample, spec)
        entry = Entry(STAGE, _key(sample, spec, hq_hash))
        planned.append(_Planned(sample.id, hq_hash, size, list(sample.instances), sample.has_annotations, entry))
        yield (entry,), (sample, size)


def _item(plan: _Planned, record: dict) -> ImageItem:
    item = ImageItem(id=plan.id, hq=plan.hq, lq=record["lq"], lq_up=record["lq_up"], size=plan.size,
                     instances=plan.instances, has_annotations=plan.has_annotations)
    item.outputs[LQ_ROW] = record["lq_up"]
    if plan.hq is not None:
        item.outputs[HQ_ROW] = plan.hq
    return item


def degrade_stage(samples: Iterable[Sample], spec: DegradationSpec, cache: Cache, executor: Any,
                  progress: Any) -> list[ImageItem]:
    """One :class:`ImageItem` per sample, in data set order; images made on ``executor``
    (:mod:`bench.scaleout.executors`) where the cache lacks them."""
    planned: list[_Planned] = []

    def usable(record: Any) -> bool:
        """A record of this stage's shape whose images are all in the cache."""
        if not isinstance(record, dict) or set(record) != {"hq", "lq", "lq_up"}:
            return False
        names = [record["lq"], record["lq_up"]] + ([record["hq"]] if record["hq"] is not None else [])
        return all(isinstance(h, str) and cache.has_image(h) for h in names)

    work = StageWork("degrade", STAGE, _setup, _make_images, (spec,))
    mapped = cached_map(work, _plan(samples, spec, planned), cache, executor, progress, usable)
    return [_item(plan, mapped.records[plan.entry]) for plan in planned]
