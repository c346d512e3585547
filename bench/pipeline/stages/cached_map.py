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


def _compute_job(work: StageWork, job: Job) -> list[tuple[Entry, Any]]:
    """Worker side: one job's records, stored in the cache and returned."""
    entries, payload = job
    state = stage_state(work.family)
    records = work.compute(state, payload, entries)
    if len(records) != len(entries):
        raise RuntimeError(f"stage '{work.label}': computed {len(records)} records for {len(entries)} entries")
    for entry, record in zip(entries, records):
        state["cache"].put(entry.stage, entry.key, record)
    return list(zip(entries, records))


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
            record = cache.get(entry.stage, entry.key, usable)
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
    it is then recomputed.
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
    for done in progress.bar(results, work.label, total=total):
        for entry, record in done:
            out.records[entry] = record
            out.computed.add(entry)
    return out
