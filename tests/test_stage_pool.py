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


def worker_view(item: int) -> tuple[int, str, str, int, bool, int]:
    """A worker's view: the item, its cwd, an env variable, its torch threads, whether the
    zygote's libraries were already imported, and its parent process id."""
    import sys

    return (item, os.getcwd(), os.environ.get("TAIR_BENCH_POOL_PROBE", ""), torch.get_num_threads(),
            "pyiqa" in sys.modules, os.getppid())


def test_torch_families_fork_from_the_zygote_and_take_the_drivers_context(tmp_path, monkeypatch):
    """A metrics-family worker forks from the forkserver (its parent is not this process; it
    finds pyiqa imported before running anything), yet sees this process's working directory
    and environment as they are at the map call, set after the server started, and one
    torch thread. The family names are the stages' own."""
    from bench.pipeline.stages.degrade import STAGE as DEGRADE_FAMILY
    from bench.pipeline.stages.score_jobs import WORKER_FAMILY as METRICS_FAMILY
    from bench.scaleout.pool import ZYGOTE_FAMILIES

    assert ZYGOTE_FAMILIES == {DEGRADE_FAMILY, METRICS_FAMILY}
    pool = StagePool(2)
    try:
        list(pool.map(worker_view, range(2), family=METRICS_FAMILY))  # the server starts here
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("TAIR_BENCH_POOL_PROBE", "after-start")
        pool.close()
        seen = list(pool.map(worker_view, range(4), family=METRICS_FAMILY))
    finally:
        pool.close()
    assert [s[0] for s in seen] == list(range(4))
    assert {s[1:4] for s in seen} == {(str(tmp_path), "after-start", 1)}
    assert all(s[4] for s in seen) and all(s[5] != os.getpid() for s in seen)


def test_a_model_call_stops_the_forkserver_and_the_next_torch_map_restarts_it():
    """The restore call runs with no forkserver beside it (the server's memory would sit idle
    there); the next metrics map starts a new server, whose workers still find pyiqa imported."""
    from multiprocessing import forkserver

    from bench.scaleout.pool import stop_forkserver

    server = forkserver._forkserver
    pool = StagePool(1)
    try:
        first = list(pool.map(worker_view, range(1), family="metrics"))
        old_pid = first[0][5]
        assert pool.call(os.getpid) != os.getpid()
        assert server._forkserver_pid is None            # stopped before the model process ran
        again = list(pool.map(worker_view, range(1), family="metrics"))
    finally:
        pool.close()
        stop_forkserver()
    assert again[0][4] and again[0][5] not in (old_pid, os.getpid())
