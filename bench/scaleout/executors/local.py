"""The default executor: ``--workers`` processes on this machine.

CPU stages and the spot stage use :func:`bench.scaleout.parallel.bounded_map` (a spawn
process pool, order preserving, at most ``2 * workers`` inputs in flight);
restorers stay in the driver process (one model in memory at a time, which is
what a single GPU wants).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

from bench.scaleout.parallel import bounded_map


class LocalExecutor:
    """Processes on this machine (see the module docstring)."""

    name = "local"
    remote_models = False

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))

    def map_tasks(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                  initargs: tuple = ()) -> Iterator[Any]:
        """``fn`` over ``items`` in ``workers`` processes (inline when 1)."""
        return bounded_map(fn, items, self.workers, initializer, initargs)

    def map_actors(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                   initargs: tuple = (), batch_size: int = 1) -> Iterator[Any]:
        """Same pool as :meth:`map_tasks`: each process runs ``initializer`` once."""
        return bounded_map(fn, items, self.workers, initializer, initargs)

    def close(self) -> None:
        """Nothing to release: each map's pool closes when it is exhausted."""
