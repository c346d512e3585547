"""Ray executor: every stage (degrade, restore, spot, recognize, score) in Ray actors.

Model stages use a :class:`ray.util.ActorPool` over a fixed set of actors, not
Ray Data ``map_batches``. Why:

* the stages pass small Python records (``ImageItem`` with polygons, cache keys)
  while the pixels already live in the shared cache; Ray Data would turn every
  batch into Arrow/pandas blocks and back for nothing, and would need a schema
  for nested records;
* the driver keeps exact control of the stream: at most two batches per actor
  are in flight, and ``get_next`` returns results in submission order, so they
  line up with the inputs (deterministic results) without buffering the set;
* one pool per stage (per restorer for restore), killed when the stage ends: one
  restorer's model in (GPU) memory at a time, the same rule as the local run;
* it needs Ray core only.

Actors: one per GPU (``num_gpus=1``) when the run's device is ``cuda`` and the
cluster has GPUs, else one per CPU slot (``num_cpus=1``). Each actor runs the
stage's initializer once (the model itself loads lazily on its first miss), so
a model is loaded once per actor, not per image.

A worker process that dies (killed, out of memory, a crashed node) does not end the
run: Ray restarts the actor (which runs the initializer again) or reschedules the task,
and runs the lost batch again, up to :data:`WORKER_RETRIES` times. A batch run twice
gives the same records (the stages are deterministic) and rewrites the same cache
entries whole (:meth:`bench.io.cache.Cache.put` is atomic), so the results are those
of an undisturbed run. Past the limit the run stops with one :class:`WorkerDied` error.

Every node must import ``bench`` and ``adapters`` (the same tair-bench version:
a shared checkout on PYTHONPATH, or the same container image) and reach the
cache (a shared folder, or an fsspec URL such as ``s3://bucket/prefix``).
A local instance started here gets this checkout on its workers' PYTHONPATH.
"""

from __future__ import annotations

import os
from collections import deque
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from bench.errors import BenchError
from bench.scaleout.executors import is_per_image_family
from bench.scaleout.pool import STAGE_THREADS, set_library_threads

#: batches in flight per worker (bounded memory, and no worker waits for the driver)
IN_FLIGHT_PER_WORKER = 2
#: how many times Ray restarts a dead actor, and retries a batch whose worker died
#: (``max_restarts``, ``max_task_retries``; ``max_retries`` for tasks). A few: enough to
#: ride out a killed or preempted worker, few enough that a batch that kills its worker
#: every time (e.g. out of memory on one huge image) stops the run soon with one error
WORKER_RETRIES = 3


class WorkerDied(BenchError):
    """A Ray worker died more often than :data:`WORKER_RETRIES` allows."""


def _worker_died(exc: BaseException) -> bool:
    """True when ``exc`` is Ray's word that a worker process died (not a stage's own error,
    which Ray raises as the stage's exception, nor an initializer that raised)."""
    from ray.exceptions import OutOfMemoryError, RayActorError, WorkerCrashedError

    if isinstance(exc, RayActorError):
        return not exc.actor_init_failed
    return isinstance(exc, (WorkerCrashedError, OutOfMemoryError))


def _died_error(family: str, exc: BaseException) -> WorkerDied:
    """The one error a run ends with when a ``family`` worker died past the retry limit."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return WorkerDied(f"a Ray worker of stage '{family}' died again after {WORKER_RETRIES} restarts and retries "
                      f"({type(exc).__name__}: {first}); the records computed so far are cached: rerun to resume")


def _deaths_as_one_error(results: Iterator[Any], family: str) -> Iterator[Any]:
    """``results``, with a worker death past the retry limit turned into :class:`WorkerDied`."""
    try:
        yield from results
    except Exception as exc:
        if _worker_died(exc):
            raise _died_error(family, exc) from exc
        raise


def project_root() -> str:
    """The checkout holding ``bench/`` and ``adapters/`` (put on Ray workers' PYTHONPATH)."""
    return str(Path(__file__).resolve().parents[2])


def start_local_ray(num_cpus: Optional[int] = None) -> None:
    """Start a local Ray instance whose workers can import this checkout (and ``tests``)."""
    import ray

    path = os.pathsep.join(p for p in (project_root(), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})


def _batched(items: Iterable[Any], size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _library_threads(family: str) -> Optional[int]:
    """One library thread for a per-image stage, as on the local executor (a value never
    depends on the worker's core count, and N one-CPU workers do not oversubscribe the node;
    Ray itself sets only ``OMP_NUM_THREADS``, not OpenCV's threads); None (the libraries'
    defaults) for a restorer."""
    return STAGE_THREADS if is_per_image_family(family) else None


def _set_up(initializer: Optional[Callable], initargs: tuple, threads: Optional[int]) -> None:
    """A worker's set-up: its library threads, then the stage's initializer."""
    if threads is not None:
        set_library_threads(threads)
    if initializer is not None:
        initializer(*initargs)


def _run_task(fn: Callable, batch: list, initializer: Optional[Callable], initargs: tuple,
              threads: Optional[int]) -> list:
    """Body of one Ray task: set the worker up, then ``fn`` over a batch."""
    _set_up(initializer, initargs, threads)
    return [fn(x) for x in batch]


class _Worker:
    """Body of one Ray actor: set up once, then ``fn`` over many batches."""

    def __init__(self, fn: Callable, initializer: Optional[Callable], initargs: tuple, threads: Optional[int]):
        self.fn = fn
        _set_up(initializer, initargs, threads)

    def run(self, batch: list) -> list:
        return [self.fn(x) for x in batch]


class RayExecutor:
    """Runs stages on a Ray cluster (``address``) or a local instance started here."""

    name = "ray"
    remote_models = True

    def __init__(self, address: Optional[str] = None, device: str = "cpu", num_cpus: Optional[int] = None):
        import ray

        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address)
            else:
                start_local_ray(num_cpus)
            self._started = True
        resources = ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        self.cpus = max(1, int(resources.get("CPU", 1)))
        self.use_gpu = device.startswith("cuda") and self.gpus > 0

    def _slots(self) -> tuple[int, dict]:
        if self.use_gpu:
            return self.gpus, {"num_gpus": 1, "num_cpus": 1}
        return self.cpus, {"num_cpus": 1}

    def map_tasks(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                  initargs: tuple = (), batch_size: int = 1, family: str = "default") -> Iterator[Any]:
        """``fn`` over ``items`` as Ray tasks (one CPU each), results in order; a task whose
        worker died runs again (:data:`WORKER_RETRIES`)."""
        return _deaths_as_one_error(self._map_tasks(fn, items, initializer, initargs, batch_size, family), family)

    def _map_tasks(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable],
                   initargs: tuple, batch_size: int, family: str) -> Iterator[Any]:
        ray = self._ray
        task = ray.remote(num_cpus=1, max_retries=WORKER_RETRIES)(_run_task)
        window = IN_FLIGHT_PER_WORKER * self.cpus
        pending: deque = deque()
        for batch in _batched(items, batch_size):
            pending.append(task.remote(fn, batch, initializer, initargs, _library_threads(family)))
            if len(pending) >= window:
                yield from ray.get(pending.popleft())
        while pending:
            yield from ray.get(pending.popleft())

    def map_actors(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                   initargs: tuple = (), batch_size: int = 1, family: str = "default") -> Iterator[Any]:
        """``fn`` over ``items`` in a pool of actors made for this call, results in order; a
        dead actor is restarted and its batch runs again (:data:`WORKER_RETRIES`)."""
        return _deaths_as_one_error(self._map_actors(fn, items, initializer, initargs, batch_size, family), family)

    def _map_actors(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable],
                    initargs: tuple, batch_size: int, family: str) -> Iterator[Any]:
        from ray.util import ActorPool

        ray = self._ray
        batches = _batched(items, max(1, batch_size))
        first = next(batches, None)
        if first is None:
            return
        n, options = self._slots()
        if isinstance(items, (list, tuple)):
            n = min(n, -(-len(items) // max(1, batch_size)))
        actor_cls = ray.remote(_Worker).options(max_restarts=WORKER_RETRIES, max_task_retries=WORKER_RETRIES,
                                                **options)
        actors = [actor_cls.remote(fn, initializer, initargs, _library_threads(family)) for _ in range(n)]
        pool = ActorPool(actors)
        try:
            pool.submit(lambda a, b: a.run.remote(b), first)
            in_flight = 1
            for batch in batches:
                pool.submit(lambda a, b: a.run.remote(b), batch)
                in_flight += 1
                if in_flight >= IN_FLIGHT_PER_WORKER * n:
                    yield from pool.get_next()
                    in_flight -= 1
            while pool.has_next():
                yield from pool.get_next()
        finally:
            for actor in actors:
                ray.kill(actor)

    def run_isolated(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` as one Ray task (on a GPU when the run uses one). The restore stage
        does not use it on Ray: it spreads batches over actors (:func:`bench.pipeline.stages.restore.restore_stage`)."""
        _, options = self._slots()
        return self._ray.get(self._ray.remote(**options)(fn).remote(*args))

    def close(self) -> None:
        """Shut down the local Ray instance if this executor started it."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False
