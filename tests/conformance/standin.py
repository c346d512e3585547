"""Helpers for the stand-in end-to-end tests: real upstream code, tiny configs, random weights.

``test_standin_difftsr.py`` and ``test_standin_diffbir.py`` run our adapters against
the *real* inference code of the upstream snapshot on a CPU. The official code opens
its configs and checkpoints at fixed paths relative to the repository, so each test
works on a writable copy of the snapshot in ``tmp_path`` (nothing is copied into the
project), shrinks the real YAML configs there (only size keys, each of which must
already exist), writes random weights in the real checkpoint formats
(:mod:`standin_weights`) and runs the adapter with ``standin_site/`` first on the
subprocess's ``PYTHONPATH`` (no network; CUDA redirected to the CPU where upstream
hard-codes it, each redirect citing its upstream lines).

Every run appends one line to the stand-in log: the command, image sizes in and out,
and the wall time. It goes to ``$TAIR_BENCH_STANDIN_LOG`` when set, else to
``runs/standin/standin.log`` under the project root.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
SITE = HERE / "standin_site"
WEIGHTS_SCRIPT = HERE / "standin_weights.py"
LOG_ENV = "TAIR_BENCH_STANDIN_LOG"


def copy_snapshot(src: Path, dst: Path) -> Path:
    """A writable copy of a read-only upstream snapshot (the code writes configs and weights
    next to itself, at fixed relative paths)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    for root, dirs, files in os.walk(dst):
        for name in dirs + files:
            p = Path(root) / name
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
    Path(dst).chmod(Path(dst).stat().st_mode | stat.S_IWUSR)
    return dst


def shrink_yaml(path: Path, sizes: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Rewrite the real YAML at ``path`` with only the dotted ``sizes`` keys changed.

    Every key must already exist in the real file (a renamed key fails here, not
    silently later); targets and every other key stay as upstream wrote them. Returns
    ``{key: (real value, stand-in value)}``.
    """
    doc = yaml.safe_load(Path(path).read_text())
    changed = {}
    for dotted, value in sizes.items():
        node = doc
        *parents, last = dotted.split(".")
        for key in parents:
            assert isinstance(node, dict) and key in node, f"{path}: no key '{dotted}' in the real config"
            node = node[key]
        assert isinstance(node, dict) and last in node, f"{path}: no key '{dotted}' in the real config"
        changed[dotted] = (node[last], value)
        node[last] = value
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False))
    return changed


def targets(doc: Any) -> list[str]:
    """Every ``target:`` class path in a config document (for checking they are unchanged)."""
    if isinstance(doc, dict):
        own = [doc["target"]] if isinstance(doc.get("target"), str) else []
        return own + [t for v in doc.values() for t in targets(v)]
    if isinstance(doc, list):
        return [t for v in doc for t in targets(v)]
    return []


def subprocess_env() -> dict[str, str]:
    """Environment for the upstream subprocess: ``standin_site/`` first on ``PYTHONPATH``
    (network blocked, CUDA -> CPU), Hugging Face offline, one torch thread unless
    ``OMP_NUM_THREADS`` says otherwise (the stand-in networks are too small to gain from
    more, and on a shared 2-core machine a second spinning thread only slows it down)."""
    path = os.pathsep.join(p for p in (str(SITE), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def write_weights(repo: Path, model: str) -> str:
    """Run :mod:`standin_weights` inside ``repo``; returns its output (one line per file)."""
    proc = subprocess.run([sys.executable, str(WEIGHTS_SCRIPT), model], cwd=repo, capture_output=True,
                          text=True, env={**os.environ, **subprocess_env()}, check=False)
    assert proc.returncode == 0, f"standin_weights.py {model} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@contextmanager
def record_commands(monkeypatch) -> Iterator[list[dict[str, Any]]]:
    """Record every command the adapter runs through ``subprocess.run`` (it still runs):
    ``{"argv", "seconds", "returncode", "settings"}``, ``settings`` being the lines our
    runners print about what they will run (``difftsr_run: {...}``, ``diffbir_run: {...}``)."""
    import tair_bench_adapters.subprocess_driver as driver

    seen: list[dict[str, Any]] = []
    real_run = driver.subprocess.run

    def run(argv, *args, **kwargs):
        start = time.perf_counter()
        proc = real_run(argv, *args, **kwargs)
        out = proc.stdout if isinstance(proc.stdout, str) else ""
        seen.append({"argv": [str(a) for a in argv], "seconds": round(time.perf_counter() - start, 1),
                     "returncode": proc.returncode,
                     "settings": [line for line in out.splitlines() if line.startswith(("difftsr_run:", "diffbir_run:"))],
                     "stderr_tail": (proc.stderr or "")[-2000:] if proc.returncode else ""})
        return proc

    monkeypatch.setattr(driver.subprocess, "run", run)
    yield seen


@contextmanager
def read_back_spy(restorer) -> Iterator[list[dict[str, Any]]]:
    """Record what the adapter reads back from the run folder before it is deleted: the
    output file names and image shapes, and the folder's ``prompt.csv`` rows if the
    upstream code wrote one (DiffBIR's loop.py:224-235 does)."""
    import csv

    seen: list[dict[str, Any]] = []
    real = restorer._read_outputs

    def spy(work, ids):
        out = real(work, ids)
        folder = Path(work) / "outputs"
        csv_path = folder / "prompt.csv"
        rows = list(csv.DictReader(csv_path.open())) if csv_path.is_file() else None
        seen.append({"files": sorted(p.name for p in folder.iterdir()),
                     "shapes": {i: tuple(a.shape) for i, a in out.items()}, "prompt_csv": rows})
        return out

    restorer._read_outputs = spy
    try:
        yield seen
    finally:
        del restorer._read_outputs


def log_run(name: str, commands: Sequence[Mapping[str, Any]], sizes_in: Sequence[tuple[int, ...]],
            sizes_out: Sequence[tuple[int, ...]], seconds: float, **extra: Any) -> Path:
    """Append one stand-in run to the log (command, image sizes in and out, time) and print it."""
    path = Path(os.environ.get(LOG_ENV) or PROJECT / "runs" / "standin" / "standin.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"test": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(seconds, 1),
              "commands": [{"argv": " ".join(c["argv"]), "seconds": c["seconds"], "settings": c["settings"]}
                           for c in commands],
              "sizes_in": [list(s) for s in sizes_in], "sizes_out": [list(s) for s in sizes_out], **extra}
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(f"[stand-in] {name}: {record['seconds']} s; images in {record['sizes_in']} -> out "
          f"{record['sizes_out']}; " + "; ".join(f"{c['argv']} ({c['seconds']} s)" for c in record["commands"]))
    return path
