"""The default executor: ``--workers`` processes on this machine.

Every per-image stage (degrade, spot, score, recognize) runs on one
:class:`bench.scaleout.pool.StagePool`: ``workers`` spawned processes started at
the first map and reused by every stage until :meth:`LocalExecutor.close`
(order preserving, at most ``2 * workers`` inputs in flight; inline when 1).
Restorers stay in the driver process (one model in memory at a time, which is
what a single GPU wants).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

from bench.scaleout.pool import StagePool
from bench.scaleout.worker import release_all


class LocalExecutor:
    """Processes on this machine (see the module docstring)."""

    name = "local"
    remote_models = False

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._pool = StagePool(self.workers)

    def map_tasks(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                  initargs: tuple = ()) -> Iterator[Any]:
        """``fn`` over ``items`` in ``workers`` processes (inline when 1)."""
        return self._pool.map(fn, items, initializer, initargs)

    def map_actors(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                   initargs: tuple = (), batch_size: int = 1) -> Iterator[Any]:
        """Same pool as :meth:`map_tasks`: each process runs ``initializer`` once per call."""
        return self._pool.map(fn, items, initializer, initargs)

    def close(self) -> None:
        """Stop the worker processes; inline, drop the models the stages left in this process."""
        self._pool.close()
        if self.workers <= 1:
            release_all()
