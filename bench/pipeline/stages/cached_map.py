"""One cached map for every per-image stage (degrade, spot, recognize, score).

A stage declares its work as a :class:`StageWork`: a worker-state factory (``setup``:
what a worker holds, e.g. the spotter, built once per worker) and a compute function
(one job's missing records). Jobs name the cache entries they produce. Then
:func:`cached_map` does the rest, the same way for every stage:

1. looks each job's entries up in the cache, in the driver (a warm run starts no
   worker), and drops entries already found or queued (an image shared by two rows
   is computed once);
2. maps the jobs that still miss an entry on the run's executor (local processes or
   Ray actors), where each worker sets its state up once per map and stores each
   record it computes;
3. counts hits and misses (:meth:`bench.io.cache.Cache.get`) and returns every record.

A cached record is used only if the cache vouches for it (it parses, names its own key,
matches its checksum: :meth:`bench.io.cache.Cache.get`), its body has its stage's shape
(:data:`RECORD_SHAPES`, also what ``bench cache verify`` checks) and the stage's own
``usable`` predicate accepts it (e.g. the images it names are in the cache and good:
:meth:`bench.io.cache.Cache.has_image` decodes and hashes each once per process). So
every image a worker reads was checked in this run before the worker starts, and
anything that fails a check is recomputed. Corrupt entries a worker meets (e.g. a corrupt
image file it overwrites) travel back with its records and join the driver's
:attr:`bench.io.cache.Cache.corrupt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Optional

from bench.io.cache import Cache
from bench.scaleout.worker import stage_state


@dataclass(frozen=True)
class Entry:
    """One cache record: the stage folder it lives in and its key."""

    stage: str
    key: str


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _hash(x: Any) -> bool:
    return isinstance(x, str) and len(x) == 64 and all(c in "0123456789abcdef" for c in x)


def _detection(d: Any) -> bool:
    return isinstance(d, dict) and set(d) == {"polygon", "text", "score"} and isinstance(d["text"], str) \
        and _number(d["score"]) and isinstance(d["polygon"], list) \
        and all(isinstance(p, list) and len(p) == 2 and all(_number(v) for v in p) for p in d["polygon"])


def _degrade(r: dict) -> bool:
    return set(r) == {"hq", "lq", "lq_up"} and (r["hq"] is None or _hash(r["hq"])) and _hash(r["lq"]) \
        and _hash(r["lq_up"])


def _restore(r: dict) -> bool:
    return set(r) == {"image", "prompt", "prompt_info", "seconds"} and _hash(r["image"]) \
        and (r["prompt"] is None or isinstance(r["prompt"], str)) and isinstance(r["prompt_info"], dict) \
        and (r["seconds"] is None or _number(r["seconds"]))


def _spot(r: dict) -> bool:
    return set(r) == {"detections", "seconds"} and isinstance(r["detections"], list) \
        and _number(r["seconds"]) and all(_detection(d) for d in r["detections"])


def _recognize(r: dict) -> bool:
    return set(r) == {"reads"} and isinstance(r["reads"], list) \
        and all(isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) and _number(x[1]) for x in r["reads"])


def _metric(r: dict) -> bool:
    return set(r) == {"value"} and (r["value"] is None or _number(r["value"]))


def _features(r: dict) -> bool:
    return set(r) == {"features"} and isinstance(r["features"], list) and len(r["features"]) > 0 \
        and all(_number(v) for v in r["features"])


#: the shape of each stage's record body (the stage folders of the cache): what a stage may
#: read from a cached record without a TypeError or a number from the wrong field
RECORD_SHAPES: dict[str, Callable[[dict], bool]] = {
    "degrade": _degrade, "restore": _restore, "spot": _spot, "recognize": _recognize,
    "metric": _metric, "features": _features,
}


def record_fits(stage: str, record: Any) -> bool:
    """True when ``record`` is a dict of ``stage``'s shape (:data:`RECORD_SHAPES`; a stage
    without one: any dict)."""
    shape = RECORD_SHAPES.get(stage)
    return isinstance(record, dict) and (shape is None or shape(record))


#: one job: the entries it produces and what its worker needs to compute them
Job = tuple[tuple[Entry, ...], Any]


@dataclass(frozen=True)
class StageWork:
    """What a per-image stage declares; picklable (module-level functions and plain arguments).

    ``setup(state, *setup_args)`` fills a worker's state dict (``state["cache"]`` is the
    run's cache); it runs once per worker and map, and may keep what an earlier map of the
    same ``family`` left (spot and recognize share one spotter). ``compute(state, payload,
    entries)`` returns the records of ``entries`` (the job's missing ones), in order; the
    map stores them."""

    label: str
    family: str
    setup: Callable[..., None]
    compute: Callable[[dict, Any, tuple[Entry, ...]], list]
    setup_args: tuple = ()
    batch_size: int = 1


@dataclass
class Mapped:
    """What :func:`cached_map` returns: every entry's record, and which were computed now."""

    records: dict[Entry, Any] = field(default_factory=dict)
    computed: set[Entry] = field(default_factory=set)


def _set_up_worker(work: StageWork, cache_root: str) -> None:
    state = stage_state(work.family)
    state["cache"] = Cache(cache_root)
    work.setup(state, *work.setup_args)


def _compute_job(work: StageWork, job: Job) -> tuple[list[tuple[Entry, Any]], dict[str, str]]:
    """Worker side: one job's records, stored in the cache and returned, with the corrupt
    entries this job met (``{path: problem}``, e.g. a corrupt image file it overwrote)."""
    entries, payload = job
    state = stage_state(work.family)
    cache: Cache = state["cache"]
    known = set(cache.corrupt)
    records = work.compute(state, payload, entries)
    if len(records) != len(entries):
        raise RuntimeError(f"stage '{work.label}': computed {len(records)} records for {len(entries)} entries")
    for entry, record in zip(entries, records):
        cache.put(entry.stage, entry.key, record)
    return list(zip(entries, records)), {k: v for k, v in cache.corrupt.items() if k not in known}


def _fits(stage: str, usable: Optional[Callable[[Any], bool]], record: Any) -> bool:
    return record_fits(stage, record) and (usable is None or usable(record))


def _misses(jobs: Iterable[Job], cache: Cache, usable: Optional[Callable[[Any], bool]],
            out: Mapped) -> Iterator[Job]:
    """The jobs with their entries that are neither cached nor already queued; cached
    records go to ``out.records`` on the way."""
    queued: set[Entry] = set()
    for entries, payload in jobs:
        todo = []
        for entry in entries:
            if entry in out.records or entry in queued:
                continue
            record = cache.get(entry.stage, entry.key, partial(_fits, entry.stage, usable))
            if record is not None:
                out.records[entry] = record
            else:
                queued.add(entry)
                todo.append(entry)
        if todo:
            yield tuple(todo), payload


def cached_map(work: StageWork, jobs: Iterable[Job], cache: Cache, executor: Any, progress: Any,
               usable: Optional[Callable[[Any], bool]] = None, total: Optional[int] = None) -> Mapped:
    """Every entry of ``jobs``, from the cache or computed on ``executor`` (module docstring).

    ``usable(record)`` may reject a cached record (e.g. one naming an image that is gone):
    it is then recomputed, as is one not of its stage's shape (:func:`record_fits`).
    A sequence of jobs is looked up first (the progress bar then knows how many will
    run); any other iterable streams, so its payloads (e.g. decoded images) are held
    only while their job is in flight."""
    out = Mapped()
    todo: Iterable[Job] = _misses(jobs, cache, usable, out)
    if isinstance(jobs, Sequence):
        todo = list(todo)
        total = len(todo)
    results = executor.map_actors(partial(_compute_job, work), todo, _set_up_worker, (work, str(cache.root)),
                                  work.batch_size, family=work.family)
    for done, corrupt in progress.bar(results, work.label, total=total):
        for rel, problem in corrupt.items():
            cache.note_corrupt(rel, problem)
        for entry, record in done:
            out.records[entry] = record
            out.computed.add(entry)
    return out
