"""Order-preserving, bounded parallel map over a stream (process pool).

Results come back in input order whatever the worker count, and at most
``2 * workers`` inputs are in flight, so memory does not grow with the stream.
With ``workers <= 1`` everything runs inline in this process (no pickling).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Optional
import multiprocessing


def bounded_map(fn: Callable[[Any], Any], items: Iterable[Any], workers: int = 1,
                initializer: Optional[Callable] = None, initargs: tuple = ()) -> Iterator[Any]:
    """Yield ``fn(item)`` for each item, in order."""
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        for item in items:
            yield fn(item)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork: safe with torch/onnx threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=initializer,
                             initargs=initargs) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
