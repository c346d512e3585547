"""What a stage worker holds in its process (loaded models), one stage family at a time.

A worker process (or the driver itself with ``--workers 0``) runs the stages one
after another. Each stage keeps its models in :func:`stage_state` under a family
name (``"spotter"`` for spot and recognize, which share the suite's spotter;
``"metrics"`` for score; ``restore:<name>`` for a restorer on Ray). Asking for one
family's state drops every other family's, so a worker holds one stage's models at
a time: the spotter is freed before the image metrics load, and the peak memory of
a run is the largest stage's, not the sum of all of them.
"""

from __future__ import annotations

import gc
from typing import Any

_STATE: dict[str, dict[str, Any]] = {}


def stage_state(family: str) -> dict[str, Any]:
    """This process's state dict for ``family``; every other family's state is released."""
    others = [k for k in _STATE if k != family]
    for k in others:
        del _STATE[k]
    if others:
        gc.collect()
    return _STATE.setdefault(family, {})


def release_all() -> None:
    """Drop every family's state (end of a run, or of an inline executor)."""
    if _STATE:
        _STATE.clear()
        gc.collect()
