"""Quickstart throughput (images/s) with --workers 1, --workers 2 and the Ray executor.

Usage::

    python benchmarks/scaleout.py [--suite suites/quickstart.yaml] [--limit 4] [--ray-cpus N]

Every configuration is a cold run (fresh, empty cache) in its own child process,
so model loading, Ray start-up and process spawning are all counted: this is the
throughput a user sees for a small run, not the asymptotic one. Prints seconds,
images/s, the ratio to ``--workers 1``, the per-stage seconds, and whether each
run's results.json (stable part) equals the ``--workers 1`` run's. The Ray run
starts a local instance with ``--ray-cpus`` CPUs (default: all of this machine's).
Numbers are measurements, not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from bench.io.runfiles import stable
from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite
if {executor!r} == "ray":
    from bench.scaleout.executors.ray_exec import start_local_ray
    t_ray = time.perf_counter()
    start_local_ray({ray_cpus!r})
    ray_start = time.perf_counter() - t_ray
else:
    ray_start = None
suite = load_suite({suite!r})
t0 = time.perf_counter()
doc, _ = run_suite(suite, RunOptions(out_dir=Path({out!r}), cache_dir=Path({cache!r}), limit={limit!r}, quiet=True,
                                     workers={workers}, executor={executor!r}, skip_unavailable=True))
seconds = time.perf_counter() - t0
Path({out!r}, "stable.json").write_text(json.dumps(stable(doc), sort_keys=True, default=str))
print(json.dumps({{"seconds": seconds, "ray_start": ray_start, "n_images": doc["data"]["n_images"],
                  "stages": doc["run"]["stage_seconds"]}}))
"""

CONFIGS = (("--workers 1", "local", 1), ("--workers 2", "local", 2), ("--executor ray", "ray", 1))


def run_one(suite: str, limit: int, workers: int, executor: str, ray_cpus, tmp: Path, name: str) -> dict:
    """One cold run in a child process; returns its timings and where its results are."""
    out, cache = tmp / f"out_{name}", tmp / f"cache_{name}"
    code = CHILD.format(root=str(ROOT), suite=suite, out=str(out), cache=str(cache), limit=limit,
                        workers=workers, executor=executor, ray_cpus=ray_cpus)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stable"] = (out / "stable.json").read_text()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default=str(ROOT / "suites" / "quickstart.yaml"))
    parser.add_argument("--limit", type=int, default=4, help="images (default 4: a few minutes on 2 CPUs)")
    parser.add_argument("--ray-cpus", type=int, default=None, help="CPUs of the local Ray instance")
    args = parser.parse_args()
    print(f"suite {args.suite}, {args.limit} images, cold caches, {os.cpu_count()} CPUs on this machine")
    rows = []
    with tempfile.TemporaryDirectory(prefix="tair-scaleout-") as tmp:
        for label, executor, workers in CONFIGS:
            r = run_one(args.suite, args.limit, workers, executor, args.ray_cpus, Path(tmp), label.split()[-1])
            rows.append((label, r))
            print(f"  done: {label} in {r['seconds']:.1f} s", flush=True)
    base = rows[0][1]
    print(f"\n{'config':<16}{'seconds':>9}{'img/s':>8}{'ratio':>7}  same results  stages (s)")
    for label, r in rows:
        rate = r["n_images"] / r["seconds"]
        ratio = base["seconds"] / r["seconds"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        extra = f" (+ Ray start {r['ray_start']:.1f} s, not counted)" if r["ray_start"] is not None else ""
        print(f"{label:<16}{r['seconds']:>9.1f}{rate:>8.3f}{ratio:>7.2f}  {r['stable'] == base['stable']!s:<12}  "
              f"{stages}{extra}")


if __name__ == "__main__":
    main()
