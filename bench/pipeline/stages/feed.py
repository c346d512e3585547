"""Keeping a model busy: produce its next inputs and store its last outputs in background threads.

:func:`prefetched` runs a generator in a thread, ``depth`` items ahead of its
consumer; :class:`BackgroundWriter` runs submitted calls (encoding and writing
outputs) in a thread, at most ``depth`` behind. The model itself runs in the
calling thread (CUDA contexts and most frameworks expect the thread that loaded
them). PNG decoding and encoding, hashing and file I/O release the GIL for most
of their time, and so does a model running on a GPU, so the three overlap.

An exception in either thread is re-raised in the calling thread, and both
threads stop when the caller stops (error or early exit): nothing hangs.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterable, Iterator

_DONE = object()
_POLL = 0.1


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetched(produce: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Yield the items of ``produce`` (iterated in a background thread, up to ``depth`` ahead)."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(obj: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for obj in produce:
                if not put(obj):
                    return
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer, which re-raises it
            put(_Failure(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=work, name="tair-bench-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            obj = q.get()
            if obj is _DONE:
                return
            if isinstance(obj, _Failure):
                raise obj.exc
            yield obj
    finally:
        stop.set()
        thread.join()


class BackgroundWriter:
    """Runs submitted calls in order in one background thread (a context manager).

    :meth:`submit` blocks while ``depth`` calls are waiting; leaving the ``with``
    block waits for all of them. The first exception of a call is re-raised by
    the next :meth:`submit` or on exit; later calls are then skipped."""

    def __init__(self, depth: int = 2):
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="tair-bench-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            call = self._q.get()
            if call is _DONE:
                return
            if self._error is None:
                try:
                    call()
                except BaseException as exc:  # noqa: BLE001 -- re-raised in the submitting thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._raise()
        self._q.put(lambda: fn(*args))

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._q.put(_DONE)
        self._thread.join()
        if exc_type is None:
            self._raise()
