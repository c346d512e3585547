"""A Ray worker process killed (SIGKILL) mid-stage: the run retries and finishes with the
results of an undisturbed run.

``bench run --executor ray`` runs in a subprocess (it starts its own local Ray instance) on
the tiny set, with two stand-ins registered as plugins (entry points in a temporary
``dist-info`` folder on ``PYTHONPATH``, as a third-party package would): a blob spotter and
a PSNR that each hold their call at a gate (:func:`_gate`) until the test opens it. So the
kill lands while an actor executes a batch of that stage, with no sleep and no mock of the
executor or the cache. The test kills one spot worker, opens the spot gate, kills one score
worker, opens the score gate, and checks:

* the run exits 0 and its ``results.json`` (less ``run``) equals an undisturbed run's (the
  same suite and command, local executor: ``tests/test_scaleout_ray.py`` shows Ray and local
  runs agree);
* each killed process was a Ray actor worker (its ``/proc`` title ``ray::_Worker.run``)
  holding that stage's call, and the call it held ran again in another process
  (the retried batch).

A second test has a batch kill its worker every time: after ``WORKER_RETRIES`` retries the
map ends with one ``WorkerDied`` error.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

from bench.imagemetrics.pixel import Psnr
from bench.io.runfiles import stable
from tests.fakes import BlobSpotter

from .conftest import write_suite

ROOT = Path(__file__).resolve().parent.parent
#: the folder where stand-ins announce their calls and wait (unset: they do not wait)
GATE_ENV = "TAIR_BENCH_TEST_GATE"
#: how long the test waits for a gated call or for the run to end (a hang guard, not a timing check)
PATIENCE_S = 240
STAGES = ("spot", "score")


def _token(*arrays: np.ndarray) -> str:
    """A short name for a call's input (the same input: the same name, in any process)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _gate(stage: str, token: str) -> None:
    """Announce this call (file ``<stage>.<pid>.<token>``), then wait until the test opens the
    stage (file ``<stage>.open``)."""
    folder = os.environ.get(GATE_ENV)
    if not folder:
        return
    Path(folder, f"{stage}.{os.getpid()}.{token}").touch()
    while not Path(folder, f"{stage}.open").exists():
        time.sleep(0.05)


class GatedSpotter(BlobSpotter):
    """The blob spotter, held at the spot gate."""

    version_id = "tests.gated-blob"

    def spot(self, image, image_id=None):
        _gate("spot", _token(image))
        return super().spot(image, image_id)


class GatedPsnr(Psnr):
    """PSNR, held at the score gate."""

    name = "gated_psnr"
    header = "gPSNR"

    def _one(self, pred: np.ndarray, ref: np.ndarray) -> float:
        _gate("score", _token(pred, ref))
        return super()._one(pred, ref)


def _plugins(folder: Path) -> Path:
    """A folder holding a ``dist-info`` whose entry points register the stand-ins."""
    info = folder / "tair_bench_kill_test-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tair-bench-kill-test\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        f"[tair_bench.spotters]\ngated = {__name__}:GatedSpotter\n\n"
        f"[tair_bench.image_metrics]\ngated_psnr = {__name__}:GatedPsnr\n")
    return folder


def _suite(tmp_path: Path, data: Path) -> Path:
    text = write_suite(tmp_path, data).read_text()
    text = text.replace("name: blob", "name: gated").replace("image: [psnr]", "image: [gated_psnr]")
    path = tmp_path / "gated.yaml"
    path.write_text(text)
    return path


def _start(suite: Path, out: Path, gate: Path, plugins: Path, *args: str) -> subprocess.Popen:
    """``python -m bench run`` in a subprocess, its output in ``out``.log."""
    env = {**os.environ, GATE_ENV: str(gate),
           "PYTHONPATH": os.pathsep.join(p for p in (str(plugins), os.environ.get("PYTHONPATH")) if p)}
    cmd = [sys.executable, "-m", "bench", "run", str(suite), "--out", str(out), "--cache-dir", f"{out}-cache",
           "--quiet", *args]
    with open(f"{out}.log", "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen, out: Path) -> dict:
    """Wait for the run; its results.json (the run's output in the failure message)."""
    rc = proc.wait(timeout=PATIENCE_S)
    log = Path(f"{out}.log").read_text()
    assert rc == 0, f"bench run exited {rc}:\n{log[-4000:]}"
    return json.loads((out / "results.json").read_text())


def _calls(gate: Path, stage: str) -> list[tuple[int, str]]:
    """``(pid, token)`` of every call of ``stage`` announced at the gate."""
    out = []
    for f in gate.glob(f"{stage}.*.*"):
        _, pid, token = f.name.split(".")
        out.append((int(pid), token))
    return out


def _wait_for_call(gate: Path, stage: str, proc: subprocess.Popen, log: Path) -> tuple[int, str]:
    """The first call of ``stage`` held at its gate."""
    deadline = time.monotonic() + PATIENCE_S
    while not (calls := _calls(gate, stage)):
        assert proc.poll() is None, \
            f"the run ended (exit {proc.returncode}) before the {stage} stage:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"no {stage} call reached the gate"
        time.sleep(0.05)
    return min(calls)


def _title(pid: int) -> Optional[str]:
    """The process title of ``pid`` (what Ray set), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except FileNotFoundError:
        return None


def _kill_held_worker(gate: Path, stage: str, proc: subprocess.Popen, log: Path) -> tuple[int, str, str]:
    """SIGKILL the worker holding a call of ``stage``, then open the stage; ``(pid, token,
    title)`` of the killed call."""
    pid, token = _wait_for_call(gate, stage, proc, log)
    title = _title(pid)
    os.kill(pid, signal.SIGKILL)
    (gate / f"{stage}.open").touch()
    return pid, token, title


def test_run_survives_a_worker_killed_in_spot_and_in_score(tmp_path, tiny_set):
    """One Ray run, one worker SIGKILLed in the spot stage and one in the score stage, each
    while it executes a batch: exit 0, the undisturbed run's results, and each killed call
    ran again in another process."""
    suite, plugins = _suite(tmp_path, tiny_set), _plugins(tmp_path / "plugins")
    calm_gate, gate = tmp_path / "calm-gate", tmp_path / "gate"
    calm_gate.mkdir()
    gate.mkdir()
    for stage in STAGES:
        (calm_gate / f"{stage}.open").touch()
    calm = _finish(_start(suite, tmp_path / "calm", calm_gate, plugins, "--workers", "0"), tmp_path / "calm")

    proc = _start(suite, tmp_path / "killed", gate, plugins, "--executor", "ray")
    try:
        killed = {stage: _kill_held_worker(gate, stage, proc, tmp_path / "killed.log") for stage in STAGES}
        results = _finish(proc, tmp_path / "killed")
    finally:
        if proc.poll() is None:
            proc.kill()
    retries = [line for line in (tmp_path / "killed.log").read_text().splitlines() if "will be retried" in line]
    print(json.dumps({"killed (pid, call, title)": killed, "ray": retries}, indent=1))  # the proof, shown with -s

    assert results["run"]["executor"]["name"] == "ray"
    assert stable(results) == stable(calm)
    for stage, (pid, token, title) in killed.items():
        assert title is not None and title.startswith("ray::_Worker.run"), (stage, title)
        again = [p for p, t in _calls(gate, stage) if t == token and p != pid]
        assert again, f"{stage}: the call killed in worker {pid} never ran again"


def _die(folder: str, item: int) -> int:
    """Note this attempt in ``folder``, then die as a killed worker does."""
    Path(folder, f"{item}.{os.getpid()}").touch()
    os.kill(os.getpid(), signal.SIGKILL)
    return item


def test_a_worker_that_always_dies_ends_the_map_with_one_error(tmp_path):
    """A batch that kills its worker every time runs 1 + WORKER_RETRIES times, in an actor
    and in a task, then the map raises one WorkerDied naming the stage (no hang, no bare Ray
    error)."""
    from bench.scaleout.executors.ray_exec import WORKER_RETRIES, RayExecutor, WorkerDied

    executor = RayExecutor(num_cpus=1)
    try:
        for name, mapper in (("actor", executor.map_actors), ("task", executor.map_tasks)):
            folder = tmp_path / name
            folder.mkdir()
            with pytest.raises(WorkerDied, match=rf"stage 'spotter' died again after {WORKER_RETRIES} restarts"):
                list(mapper(partial(_die, str(folder)), [0], family="spotter"))
            assert len(list(folder.iterdir())) == 1 + WORKER_RETRIES, name
    finally:
        executor.close()
