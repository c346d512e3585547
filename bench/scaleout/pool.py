"""The local executor's process pool: spawned once per run, reused by every stage.

:meth:`StagePool.map` yields ``fn(item)`` for each item in input order whatever
the worker count, with at most ``2 * workers`` items in flight (memory does not
grow with the stream). Each map call carries its stage's ``initializer``; a
worker runs it once per map call, before its first item of that call, so a
stage's models are loaded once per worker. The processes themselves (and the
libraries they imported) live for the whole run, so a stage does not pay for
process start-up and imports again.

With ``workers <= 1`` everything runs inline in this process (no pickling), the
initializer once per map call, exactly as a worker would run it.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, Optional

from bench.errors import BenchError

_CURRENT: dict[str, Optional[str]] = {"call": None}


def _run(call: str, initializer: Optional[Callable], initargs: tuple, fn: Callable, item: Any) -> Any:
    """Worker side: set the stage up on this map call's first item, then ``fn(item)``."""
    if _CURRENT["call"] != call:
        if initializer is not None:
            initializer(*initargs)
        _CURRENT["call"] = call
    return fn(item)


class StagePool:
    """``workers`` spawned processes (lazily started), or inline when ``workers <= 1``."""

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._pool: Optional[ProcessPoolExecutor] = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")  # no fork: safe with torch/onnx threads
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
            initargs: tuple = ()) -> Iterator[Any]:
        """``fn(item)`` for each item, in order (see the module docstring)."""
        if self.workers <= 1:
            if initializer is not None:
                initializer(*initargs)
            for item in items:
                yield fn(item)
            return
        pool = self._executor()
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
            raise BenchError(f"a worker process of the local executor died (--workers {self.workers}); "
                             "often out of memory: retry with fewer --workers") from None
        finally:
            for f in pending:
                f.cancel()

    def close(self) -> None:
        """Stop the processes (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
