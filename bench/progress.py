"""One progress bar per stage (count and ETA on stderr); silent with --quiet.

Each bar that wraps an iterable also times it (:attr:`Progress.timings`): when the
iteration started, when its first item came out and when its last did. The first
item's latency is the stage's start-up (worker processes spawned, libraries imported,
models loaded); ``(items - 1) / (last - first)`` is its steady throughput. The run
records both (``results.json`` ``run.stage_items``) so that a speed-up from more
workers can be read apart from the fixed start-up cost.
"""

from __future__ import annotations

import time
from typing import Iterable, Iterator, Optional

from tqdm import tqdm


class Progress:
    """Factory for per-stage bars, sharing the run's quiet flag."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        #: stage -> {"items", "first_item_seconds", "seconds"} (see the module doc)
        self.timings: dict[str, dict] = {}

    def bar(self, iterable: Iterable, stage: str, total: Optional[int] = None):
        timed = None if iterable is None else self._timed(iterable, stage)
        return tqdm(timed, desc=f"{stage:<14}", total=total, unit="img", disable=self.quiet,
                    dynamic_ncols=True, leave=True)

    def _timed(self, iterable: Iterable, stage: str) -> Iterator:
        t0 = time.perf_counter()
        n, first = 0, None
        try:
            for x in iterable:
                n += 1
                if first is None:
                    first = time.perf_counter() - t0
                yield x
        finally:
            rec = self.timings.setdefault(stage, {"items": 0, "first_item_seconds": 0.0, "seconds": 0.0})
            if n and not rec["items"]:
                rec["first_item_seconds"] = round(first, 3)
            rec["items"] += n
            rec["seconds"] = round(rec["seconds"] + time.perf_counter() - t0, 3)

    def say(self, msg: str) -> None:
        if not self.quiet:
            tqdm.write(msg)


def steady_rate(timing: dict) -> Optional[float]:
    """Items per second after the first item (``None`` with fewer than two items)."""
    span = timing["seconds"] - timing["first_item_seconds"]
    return (timing["items"] - 1) / span if timing["items"] > 1 and span > 0 else None
