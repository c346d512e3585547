"""The local executor's stage pool: order, and one library thread per per-image stage."""

from __future__ import annotations

import os

import torch

from bench.progress import Progress, steady_rate
from bench.scaleout.pool import STAGE_THREADS, StagePool


def threads_seen(item: int) -> tuple[int, int, str]:
    """A worker's view: the item, torch's intra-op threads, OMP_NUM_THREADS."""
    return item, torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS", "")


def test_per_image_maps_run_with_one_library_thread_in_workers_and_inline():
    """Spawned workers (2) and the inline map (workers=0) compute with STAGE_THREADS
    torch threads, whatever this process had, in input order; inline, the driver's
    own setting is given back after the map."""
    assert STAGE_THREADS == 1
    torch.set_num_threads(2)
    pool = StagePool(2)
    try:
        seen = list(pool.map(threads_seen, range(6), family="t"))
    finally:
        pool.close()
    assert [s[0] for s in seen] == list(range(6))
    assert {s[1:] for s in seen} == {(1, "1")}
    before_env = os.environ.get("OMP_NUM_THREADS")
    inline = list(StagePool(0).map(threads_seen, range(3)))
    assert {s[1] for s in inline} == {1}
    assert torch.get_num_threads() == 2 and os.environ.get("OMP_NUM_THREADS") == before_env


def test_progress_times_the_first_item_apart_from_the_rest():
    """A bar records its items, the first item's latency and the whole span; the steady
    rate is (items - 1) / (span - first); a bar over nothing records no rate."""
    progress = Progress(quiet=True)
    assert list(progress.bar(iter(range(5)), "s")) == list(range(5))
    t = progress.timings["s"]
    assert t["items"] == 5 and 0 <= t["first_item_seconds"] <= t["seconds"]
    list(progress.bar(iter([]), "empty"))
    assert progress.timings["empty"]["items"] == 0 and steady_rate(progress.timings["empty"]) is None
    assert steady_rate({"items": 5, "first_item_seconds": 1.0, "seconds": 3.0}) == 2.0
