"""What a stage worker holds in its process (loaded models), one stage family at a time.

A worker process (or the driver itself with ``--workers 1``) runs the stages one
after another. Each stage keeps its models in :func:`stage_state` under a family
name (``"spotter"`` for spot and recognize, which share the suite's spotter;
``"metrics"`` for score; ...). Asking for one family's state drops every other
family's, so a worker holds one stage's models at a time: the spotter is freed
before the image metrics load, and the peak memory of a run is the largest
stage's, not the sum of all of them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any

_STATE: dict[str, dict[str, Any]] = {}


def stage_state(family: str) -> dict[str, Any]:
    """This process's state dict for ``family``; every other family's state is released."""
    others = [k for k in _STATE if k != family]
    for k in others:
        del _STATE[k]
    if others:
        release_memory()
    return _STATE.setdefault(family, {})


def release_all() -> None:
    """Drop every family's state (end of a run, or of an inline executor)."""
    if _STATE:
        _STATE.clear()
        release_memory()


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc ``malloc_trim``),
    so the resident size falls after a model is dropped, not only its reuse potential."""
    gc.collect()
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)


def _glibc(function: str):
    """A glibc function of this process, or None where the C library is not glibc (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return getattr(ctypes.CDLL(name), function)
    except (OSError, AttributeError):
        return None


#: glibc ``mallopt`` parameters (malloc.h): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: allocations from this size on get pages of their own, returned to the OS when freed
HEAP_MMAP_BYTES = 128 * 1024


def bound_heap() -> None:
    """Make freed memory leave this process at once (glibc): blocks >= 128 KiB are mapped
    on their own and unmapped when freed, and the heap top is trimmed beyond 128 KiB.

    glibc's default raises its mmap threshold each time a large block is freed (up to
    32 MiB), so a worker that computes tile after tile of feature maps keeps the freed
    ones in its heap: measured on DISTS of a 2048x1536 pair, 1627 MB peak RSS with the
    default, 1430 MB with this setting, in the same time. A per-image worker calls it
    once at start (:mod:`bench.scaleout.pool`); elsewhere (not glibc) it does nothing."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return
    mallopt(_M_MMAP_THRESHOLD, HEAP_MMAP_BYTES)
    mallopt(_M_TRIM_THRESHOLD, HEAP_MMAP_BYTES)
