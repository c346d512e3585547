"""Speed and memory of the quickstart suite: cold vs warm, per stage, RSS vs size.

Usage::

    python benchmarks/quickstart_bench.py [--suite suites/quickstart.yaml] [--skip-full]

Each measurement runs in a fresh child process (so peak RSS is that run's own) and
prints: cold time (empty cache), warm time (same cache: everything cached), the
per-stage breakdown of the cold run, and the peak RSS of a cold run at
``--limit 8`` and on the full bundled set (``quickstart_full``), which must not
grow with the number of images (the pipeline streams; only hashes and small
per-image records are kept). The run's stages work in worker processes
(``--workers 1``): their largest peak is printed beside the driver's
(``benchmarks/overhead.py`` also samples all processes together). Numbers are
measurements, not asserted anywhere.
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
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite
suite = load_suite({suite!r})
t0 = time.perf_counter()
doc, _ = run_suite(suite, RunOptions(out_dir=Path({out!r}), cache_dir=Path({cache!r}), limit={limit!r},
                                     quiet=True, workers={workers}))
print(json.dumps({{"seconds": time.perf_counter() - t0, "n_images": doc["data"]["n_images"],
                  "stages": doc["run"]["stage_seconds"], "cache": doc["run"]["cache"]["stages"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}))
"""


def measure(suite: str, cache: Path, out: Path, limit=None, workers: int = 1) -> dict:
    """Run one suite in a child process; return its timing, cache use and peak RSS."""
    code = CHILD.format(root=str(ROOT), suite=suite, out=str(out), cache=str(cache), limit=limit, workers=workers)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"benchmark run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="suites/quickstart.yaml")
    ap.add_argument("--full-suite", default="suites/quickstart_full.yaml")
    ap.add_argument("--skip-full", action="store_true", help="skip the RSS comparison on the full set")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tair-bench-bench-"))

    cold = measure(args.suite, work / "cache", work / "out_cold")
    warm = measure(args.suite, work / "cache", work / "out_warm")
    print(f"suite {args.suite}: {cold['n_images']} images")
    print(f"cold: {cold['seconds']:.1f} s   warm: {warm['seconds']:.1f} s   "
          f"(warm = {100 * warm['seconds'] / cold['seconds']:.1f}% of cold)")
    print("cold per stage:")
    for stage, sec in cold["stages"].items():
        print(f"  {stage:<24} {sec:8.1f} s")
    print("warm cache use: " + ", ".join(f"{s} {v['cached']} cached / {v['computed']} computed"
                                         for s, v in warm["cache"].items()))
    print(f"peak RSS cold: {cold['peak_rss_mb']:.0f} MB (largest worker process {cold['peak_rss_workers_mb']:.0f} MB)"
          f"   warm: {warm['peak_rss_mb']:.0f} MB (largest worker {warm['peak_rss_workers_mb']:.0f} MB)")
    if not args.skip_full:
        small = measure(args.full_suite, work / "cache8", work / "out8", limit=8)
        full = measure(args.full_suite, work / "cache_full", work / "out_full")
        print(f"peak RSS, cold: --limit 8: {small['peak_rss_mb']:.0f} MB ({small['n_images']} images, "
              f"{small['seconds']:.0f} s)   full: {full['peak_rss_mb']:.0f} MB ({full['n_images']} images, "
              f"{full['seconds']:.0f} s)")
    print(f"(scratch folder: {work})")


if __name__ == "__main__":
    main()
