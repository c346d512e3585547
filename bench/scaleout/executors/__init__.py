"""Where the pipeline's per-image work runs: this machine, or a Ray cluster.

An executor maps a function over a stream of inputs and yields the results in
input order, with a bounded number of inputs in flight (memory does not grow
with the data set). Two kinds of work:

* :meth:`Executor.map_tasks`: stateless CPU work (degradation);
* :meth:`Executor.map_actors`: model work (restore, spot, recognize, score): each
  worker calls the initializer once (which loads the model lazily) and then
  handles many inputs;
* :meth:`Executor.run_isolated`: one call in a process of its own (the local
  executor's restore stage: the restorer's model process).

Both maps take the stage ``family``; the local executor gives each family its
own worker processes (:mod:`bench.scaleout.pool`). A family named
``restore:<restorer>`` (:func:`model_family`) runs a restorer, which keeps the
libraries' own thread counts (it wants every core); every other family is a
per-image stage and computes with one library thread on any executor
(:data:`bench.scaleout.pool.STAGE_THREADS`).

``local`` (:class:`LocalExecutor`) is the default: ``--workers`` processes on
this machine per stage family, each restorer in a process of its own
(``--workers 0``: everything in this process). ``ray`` (:class:`RayExecutor`, optional
extra ``ray``) runs tasks and actors on a Ray cluster; ``ray`` is imported only
when that executor is created.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional, Protocol

from bench.errors import BenchError

EXECUTORS = ("local", "ray")
#: family names of the maps that run a restorer (:func:`model_family`)
MODEL_FAMILY_PREFIX = "restore:"


def model_family(restorer: str) -> str:
    """The family name of a map that runs restorer ``restorer``."""
    return f"{MODEL_FAMILY_PREFIX}{restorer}"


def is_per_image_family(family: str) -> bool:
    """True for a per-image stage's family (one library thread), False for a restorer's."""
    return not family.startswith(MODEL_FAMILY_PREFIX)


class Executor(Protocol):
    """What the stages need from an executor."""

    name: str
    #: True when restorers run in remote workers (the driver never loads them)
    remote_models: bool

    def map_tasks(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                  initargs: tuple = (), family: str = "default") -> Iterator[Any]:
        """``fn(item)`` for each item, in order (stateless CPU work)."""

    def map_actors(self, fn: Callable[[Any], Any], items: Iterable[Any], initializer: Optional[Callable] = None,
                   initargs: tuple = (), batch_size: int = 1, family: str = "default") -> Iterator[Any]:
        """``fn(item)`` for each item, in order, in long-lived workers set up once by ``initializer``."""

    def run_isolated(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a process of its own (or inline), returning its result."""

    def close(self) -> None:
        """Release what the executor started."""


def make_executor(kind: str, workers: int = 1, ray_address: Optional[str] = None, device: str = "cpu") -> Executor:
    """The executor named ``kind`` (``local`` or ``ray``)."""
    if kind == "local":
        from bench.scaleout.executors.local import LocalExecutor  # lazy: it imports this package's Executor

        return LocalExecutor(workers)
    if kind == "ray":
        from bench.scaleout.executors.ray_exec import RayExecutor  # lazy: the same, and Ray is optional

        return RayExecutor(address=ray_address, device=device)
    raise BenchError(f"--executor: unknown executor '{kind}', expected one of {', '.join(EXECUTORS)}")
