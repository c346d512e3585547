"""The local executor's processes: one pool per stage family, one process per model.

:meth:`StagePool.map` yields ``fn(item)`` for each item in input order whatever
the worker count, with at most ``2 * workers`` items in flight (memory does not
grow with the stream). Each map call names its stage ``family`` (``degrade``;
``spotter`` for spot and recognize; ``metrics`` for score) and carries the
stage's ``initializer``; a worker runs the initializer once per map call, before
its first item of that call, so a stage's models load once per worker.

Consecutive maps of one family share the pool's processes (recognize reuses the
spotter the spot stage loaded); a map of another family first stops them. So a
worker process only ever imports and holds one family's libraries and models
(torch for the degradation, onnxruntime for the spotter, pyiqa for the metrics):
memory is that of one stage, not of all of them, and each stage's processes
start once.

:meth:`StagePool.call` runs one call in a process of its own, stopped when it
returns: the restore stage runs there, so a restorer's model and libraries never
share a process with the per-image stages' (or with the driver's).

``workers=0`` runs everything inline in this process (no pickling; the
initializer once per map call, as a worker would): for library use and tests
that patch functions in-process. Peak memory is then the sum of the stages'.

**One library thread per worker.** Every per-image map runs with torch's intra-op
pool and OpenCV at one thread (the pool's initializer, or :func:`stage_threads` inline; the spotters fix their ONNX
Runtime threads themselves), in a worker as inline. So a value never depends on how
many workers or cores computed it (a multi-threaded reduction may sum in another
order), and ``--workers N`` on N cores runs N computations side by side instead of
N x cores threads on N cores. The restore stage
(:meth:`StagePool.call`) keeps the libraries' defaults: a restorer wants every core.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import uuid
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional

from bench.errors import BenchError

_CURRENT: dict[str, Optional[str]] = {"call": None}


#: library threads of a per-image stage (module doc)
STAGE_THREADS = 1


def set_library_threads(n: int) -> None:
    """torch intra-op and OpenCV threads of this process (and of a torch imported later) to ``n``."""
    os.environ["OMP_NUM_THREADS"] = str(n)  # a torch imported later in this process starts with n
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(n)


@contextmanager
def stage_threads():
    """Run the block with :data:`STAGE_THREADS` library threads, then restore what was set
    (for an inline map; a worker process keeps the setting)."""
    env = os.environ.get("OMP_NUM_THREADS")
    torch, cv2 = sys.modules.get("torch"), sys.modules.get("cv2")
    before = (torch.get_num_threads() if torch is not None else None, cv2.getNumThreads() if cv2 is not None else None)
    set_library_threads(STAGE_THREADS)
    try:
        yield
    finally:
        if env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env
        if before[0] is not None:
            torch.set_num_threads(before[0])
        elif "torch" in sys.modules:  # imported inside the block: give it back the machine's default
            sys.modules["torch"].set_num_threads(os.cpu_count() or 1)
        if before[1] is not None:
            cv2.setNumThreads(before[1])


def _run(call: str, initializer: Optional[Callable], initargs: tuple, fn: Callable, item: Any) -> Any:
    """Worker side: set the stage up on this map call's first item, then ``fn(item)``."""
    if _CURRENT["call"] != call:
        if initializer is not None:
            initializer(*initargs)
        _CURRENT["call"] = call
    return fn(item)


def _spawn(workers: int, stage_threads: bool) -> ProcessPoolExecutor:
    """Fresh interpreters (``spawn``: never a fork of the driver, which may hold library
    threads); a per-image stage's workers start with :data:`STAGE_THREADS` library threads."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=set_library_threads if stage_threads else None,
                               initargs=(STAGE_THREADS,) if stage_threads else ())


def _died(what: str) -> BenchError:
    return BenchError(f"a {what} process of the local executor died; often out of memory: retry with fewer "
                      "--workers (or --workers 0 to see the error in this process)")


class StagePool:
    """``workers`` spawned processes per stage family (inline when ``workers == 0``)."""

    def __init__(self, workers: int = 1):
        self.workers = max(0, int(workers))
        self._pool: Optional[ProcessPoolExecutor] = None
        self._family: Optional[str] = None

    def _executor(self, family: str) -> ProcessPoolExecutor:
        if self._pool is not None and self._family != family:
            self.close()
        if self._pool is None:
            self._pool = _spawn(self.workers, stage_threads=True)
            self._family = family
        return self._pool

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
            initargs: tuple = (), family: str = "default") -> Iterator[Any]:
        """``fn(item)`` for each item, in order (see the module docstring)."""
        if self.workers == 0:
            with stage_threads():
                if initializer is not None:
                    initializer(*initargs)
                for item in items:
                    yield fn(item)
            return
        pool = self._executor(family)
        call = uuid.uuid4().hex
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(_run, call, initializer, initargs, fn, item))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            self._pool = None
            raise _died(f"'{family}' worker") from None
        finally:
            for f in pending:
                f.cancel()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a fresh process of its own, stopped when it returns (inline when
        ``workers == 0``), with the libraries' own thread counts. The per-image workers are
        stopped first: the model process is the run's largest."""
        if self.workers == 0:
            return fn(*args)
        self.close()
        pool = _spawn(1, stage_threads=False)
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:
            raise _died("model") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Stop the processes (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._family = None
