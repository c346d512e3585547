"""Write benchmarks/RESULTS.md: the measured cost of a run, for one checkout or several side by side.

Usage::

    python benchmarks/results_page.py [--tree LABEL=PATH ...] [--limit 8] [--size 2048x1536] [--out FILE]

For each checkout (default: this one), in fresh processes:

* the quickstart suite (its first ``--limit`` images, ``--workers 1``): a cold run on an
  empty cache and a warm re-run on the filled one, with the wall time and the peak memory
  of the run's processes (the largest process's RSS, and all processes' PSS summed,
  sampled every 50 ms);
* one ``--size`` image pair scored with every metric of ``benchmarks/pair_memory.py`` in
  one worker (that checkout's own script): its time and peak RSS.

Several ``--tree`` arguments (e.g. a checkout of an older commit made with ``git worktree
add``) give one column each, so the page shows what a change cost. The page is written by
this script only: rerun it instead of editing numbers by hand. Numbers are measurements on
the machine named on the page, not asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _sample(proc: subprocess.Popen) -> tuple[float, float]:
    """Peak RSS of the largest process and peak PSS summed over ``proc`` and its children, in MB."""
    import psutil

    root = psutil.Process(proc.pid)
    largest = pss = 0
    while proc.poll() is None:
        rss_now, pss_now = [], []
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    mem = p.memory_full_info()
                except psutil.Error:
                    continue
                rss_now.append(mem.rss)
                pss_now.append(getattr(mem, "pss", mem.rss))
        except psutil.Error:
            pass
        largest, pss = max(largest, max(rss_now, default=0)), max(pss, sum(pss_now))
        time.sleep(0.05)
    return largest / 2**20, pss / 2**20


def bench_run(tree: Path, limit: int, cache: Path, out: Path) -> dict:
    """One ``bench run`` of the quickstart in ``tree``: seconds and peak memory."""
    cmd = [sys.executable, "-m", "bench", "run", "suites/quickstart.yaml", "--limit", str(limit), "--quiet",
           "--workers", "1", "--cache-dir", str(cache), "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env={**ENV, "PYTHONPATH": str(tree)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    largest, pss = _sample(proc)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        sys.exit(f"{tree}: bench run failed:\n{err[-3000:]}")
    return {"seconds": time.perf_counter() - t0, "largest_mb": largest, "pss_mb": pss}


def pair_run(tree: Path, size: str) -> dict:
    """``benchmarks/pair_memory.py --skip-each`` of ``tree``: the all-metrics line's seconds and peak RSS."""
    proc = subprocess.run([sys.executable, "benchmarks/pair_memory.py", "--size", size, "--skip-each"], cwd=tree,
                          env={**ENV, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("all:")), "")
    match = re.search(r"(\d+) MB\s+([\d.]+)\s*$", line)
    if proc.returncode != 0 or match is None:
        return {"error": (proc.stderr.strip().splitlines() or [line or f"exit {proc.returncode}"])[-1]}
    return {"largest_mb": float(match.group(1)), "seconds": float(match.group(2))}


def measure(tree: Path, limit: int, size: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="tair-bench-results-") as tmp_s:
        tmp = Path(tmp_s)
        cold = bench_run(tree, limit, tmp / "cache", tmp / "cold")
        warm = bench_run(tree, limit, tmp / "cache", tmp / "warm")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True,
                            text=True).stdout.strip()
    return {"commit": commit or "?", "cold": cold, "warm": warm, "pair": pair_run(tree, size)}


def page(columns: dict[str, dict], limit: int, size: str) -> str:
    """The Markdown page: one column per checkout."""
    def row(label: str, cell) -> str:
        return f"| {label} | " + " | ".join(cell(m) for m in columns.values()) + " |"

    def pair(m: dict, key: str, fmt: str) -> str:
        return m["pair"].get("error", "failed") if key not in m["pair"] else format(m["pair"][key], fmt)

    lines = [
        "# Measurements",
        "",
        f"Written by `python benchmarks/results_page.py` on {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}. One run each: on a shared machine times vary from run to run.",
        "",
        f"Quickstart: `bench run suites/quickstart.yaml --limit {limit} --workers 1`, cold (empty cache) "
        "then warm (same cache). Peak memory: the largest process's RSS / all processes' PSS summed. "
        f"Pair: one {size} pair scored with every metric of `benchmarks/pair_memory.py` in one worker "
        "(stand-in weights where the real files are absent).",
        "",
        "| | " + " | ".join(f"{label} (`{m['commit']}`)" for label, m in columns.items()) + " |",
        "|---|" + "---|" * len(columns),
        row("quickstart cold, s", lambda m: f"{m['cold']['seconds']:.1f}"),
        row("quickstart warm, s", lambda m: f"{m['warm']['seconds']:.1f}"),
        row("warm / cold", lambda m: f"{m['warm']['seconds'] / m['cold']['seconds']:.3f}"),
        row("cold peak memory, MB", lambda m: f"{m['cold']['largest_mb']:.0f} / {m['cold']['pss_mb']:.0f}"),
        row("pair, all metrics, s", lambda m: pair(m, "seconds", ".1f")),
        row("pair, all metrics, peak RSS MB", lambda m: pair(m, "largest_mb", ".0f")),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH",
                    help="a checkout to measure (repeatable; default: this one)")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--size", default="2048x1536")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = ap.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree) or {"this checkout": str(ROOT)}
    columns = {}
    for label, path in trees.items():
        print(f"measuring {label} ({path}) ...", flush=True)
        columns[label] = measure(Path(path).resolve(), args.limit, args.size)
    text = page(columns, args.limit, args.size)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
