"""The default executor: processes on this machine.

Per-image stages (degrade, spot, recognize, score) run on a
:class:`bench.scaleout.pool.StagePool`: ``workers`` spawned processes per stage
family (spot and recognize share theirs), order preserving, at most
``2 * workers`` inputs in flight. Each restorer's restore stage runs in a
process of its own (:meth:`LocalExecutor.run_isolated`), one after the other:
one model in memory at a time, which is what a single GPU wants, and never in a
process that also holds the other stages' libraries. ``workers=0`` runs
everything in this process.
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
        self.workers = max(0, int(workers))
        self._pool = StagePool(self.workers)

    def map_tasks(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                  initargs: tuple = (), family: str = "default") -> Iterator[Any]:
        """``fn`` over ``items`` in the family's ``workers`` processes (inline when 0)."""
        return self._pool.map(fn, items, initializer, initargs, family)

    def map_actors(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                   initargs: tuple = (), batch_size: int = 1, family: str = "default") -> Iterator[Any]:
        """Same as :meth:`map_tasks`: each process runs ``initializer`` once per call."""
        return self._pool.map(fn, items, initializer, initargs, family)

    def run_isolated(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a fresh process, stopped when it returns (inline when ``workers == 0``)."""
        return self._pool.call(fn, *args)

    def close(self) -> None:
        """Stop the worker processes; inline, drop the models the stages left in this process."""
        self._pool.close()
        if self.workers == 0:
            release_all()
