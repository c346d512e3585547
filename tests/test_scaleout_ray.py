"""The Ray executor on a local Ray instance (CPU only, 2 CPUs): same results as the
local executor, a cache behind an fsspec URL, and adapter errors that stay readable.

Skipped when ``ray`` is not installed (optional extra ``ray``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("ray")

from bench.errors import AdapterError
from bench.io.runfiles import stable
from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite

from .conftest import write_suite

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    """One local Ray instance for the module (workers get this checkout on PYTHONPATH)."""
    import ray

    from bench.scaleout.executors.ray_exec import start_local_ray

    start_local_ray(num_cpus=2)
    yield
    ray.shutdown()


def _run(suite_path, out: Path, cache, **kw):
    doc, _ = run_suite(load_suite(suite_path), RunOptions(out_dir=out, cache_dir=cache, quiet=True, **kw))
    return doc


def test_ray_executor_equals_local_executor(tmp_path, tiny_set, blob_spotter):
    """Tiny set, bicubic + unsharp, blob spotter, PSNR: degradation as Ray tasks,
    restore and spot in Ray actors give the local executor's results.json (stable
    part); every stage really ran (all computed, nothing cached, in a fresh cache)."""
    suite = write_suite(tmp_path, tiny_set)
    local = _run(suite, tmp_path / "local", tmp_path / "c_local")
    remote = _run(suite, tmp_path / "ray", tmp_path / "c_ray", executor="ray")
    assert stable(remote) == stable(local)
    assert remote["run"]["executor"]["name"] == "ray"
    stages = remote["run"]["cache"]["stages"]
    assert stages["degrade"] == {"cached": 0, "computed": 3}
    assert stages["restore"] == {"cached": 0, "computed": 6}  # 2 restorers x 3 images, counted in the actors
    # the rerun on Ray finds everything in the shared cache
    again = _run(suite, tmp_path / "ray2", tmp_path / "c_ray", executor="ray")
    assert all(v["computed"] == 0 for v in again["run"]["cache"]["stages"].values())
    assert stable(again) == stable(local)


def test_ray_executor_over_fsspec_url_cache(tmp_path, tiny_set, blob_spotter):
    """Actors and tasks share a cache given as a file:// URL (the s3:// code path)."""
    suite = write_suite(tmp_path, tiny_set)
    local = _run(suite, tmp_path / "local", tmp_path / "c_local")
    remote = _run(suite, tmp_path / "ray", f"file://{tmp_path}/c_url", executor="ray")
    assert stable(remote) == stable(local)
    assert any((tmp_path / "c_url" / "stages" / "restore").rglob("*.json"))


def test_adapter_error_in_an_actor_stays_an_adapter_error(tmp_path, tiny_set, blob_spotter):
    """A restorer's wrong output size raised inside a Ray actor reaches the user as
    the same AdapterError (naming restorer and image), not a bare Ray error."""
    from bench.components import RESTORERS

    RESTORERS.add("wrongsize", "tests.fakes:WrongSizeRestorer", "test")
    suite = write_suite(tmp_path, tiny_set, restorers="  - {adapter: wrongsize}")
    with pytest.raises(AdapterError, match=r"restorer 'wrongsize', image '\w+': output is 511x512"):
        _run(suite, tmp_path / "bad", tmp_path / "c", executor="ray")


@pytest.mark.slow
def test_ray_quickstart_limit2_equals_local(tmp_path):
    """The real quickstart suite (RapidOCR, Real-ESRGAN ncnn, pyiqa metrics) on 2 images:
    Ray executor == local executor (stable part of results.json)."""
    pytest.importorskip("rapidocr")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    suite = ROOT / "suites" / "quickstart.yaml"
    local = _run(suite, tmp_path / "local", tmp_path / "c_local", limit=2, skip_unavailable=True)
    remote = _run(suite, tmp_path / "ray", tmp_path / "c_ray", limit=2, skip_unavailable=True, executor="ray")
    assert stable(remote) == stable(local)


def _library_thread_counts(_item) -> tuple[int, int]:
    """(OpenCV threads, torch intra-op threads) of the worker that runs it."""
    import cv2
    import torch

    return cv2.getNumThreads(), torch.get_num_threads()


def test_per_image_stages_compute_with_one_library_thread_on_ray():
    """As on the local executor, a per-image family's tasks and actors compute with one
    OpenCV and one torch thread (Ray sets OMP_NUM_THREADS only, so OpenCV would otherwise
    take every core); a restorer's actors keep OpenCV's default (more than one thread
    on this 2-CPU instance)."""
    from bench.scaleout.executors import model_family
    from bench.scaleout.executors.ray_exec import RayExecutor

    executor = RayExecutor()
    assert list(executor.map_tasks(_library_thread_counts, [0, 1], family="degrade")) == [(1, 1)] * 2
    assert list(executor.map_actors(_library_thread_counts, [0, 1], family="metrics")) == [(1, 1)] * 2
    restorer = list(executor.map_actors(_library_thread_counts, [0], family=model_family("x")))
    assert restorer[0][0] > 1
