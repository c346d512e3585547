"""What the harness costs: a plain loop of library calls against a cold ``bench run``.

Usage::

    python benchmarks/overhead.py [--suite suites/quickstart.yaml] [--limit 8] [--full-limit 24] [--skip-full]
    python benchmarks/overhead.py --outputs-case [--limit 8]

``--outputs-case`` measures only the most common use instead: scoring a folder of outputs
made elsewhere (the exported inputs, upscaled), the bare loop a researcher would write
(read the outputs, spot, pyiqa metrics, text protocol) against ``bench run --outputs``.

On the same images (the suite's first ``--limit``) and the same components:

* **bare loop**: what a researcher would write without the harness, in one fresh
  process: read each sample, degrade it (the suite's preset, the same library
  call), run every restorer (plus the bicubic-upsampled LQ row), spot every row
  image and read its GT-word crops with the suite's spotter, score with pyiqa
  (``psnr``, ``ssimc``, ``piqe`` as the suite lists them, float32 tensors as TAIR
  feeds them), the text-region PSNR, and the text evaluation; no cache, no files;
* **bench cold**: ``python -m bench run SUITE --limit N`` with an empty cache
  (every stage computed, result files and HTML report written), ``--workers 1``;
* **bench warm**: the same command again on the filled cache.

Printed: both times and their ratio (goal <= 1.10), warm/cold, the peak resident
memory of cold runs at ``--limit`` and ``--full-limit`` (the largest single
process's RSS, and all processes of the run together as RSS and as PSS, sampled
every 50 ms), and each
stage's time and throughput at ``--workers 1`` and ``--workers 2`` (cold runs), each
per-image stage's start-up (its first item) and steady throughput after it, and
whether those two runs' results.json are identical (times aside), all of it at
``--limit`` and again at ``--full-limit``: a stage's start-up (the first item) does
not shrink with more workers, so the wall-time speed-up of a short stage rises with
its number of items.
Only metrics whose files are on disk run (the suite's unavailable ones are
skipped by both). Numbers are measurements, not asserted anywhere; on a shared
machine they vary from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.progress import steady_rate  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def run_tree(cmd: list[str]) -> dict:
    """Run ``cmd``; its wall time, the peak RSS of its largest process, and the peaks of all its
    processes' RSS summed and PSS summed (PSS counts a page shared by k processes 1/k in each:
    forked workers share the libraries their server imported, which the RSS sum counts again
    in every one)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    root = psutil.Process(proc.pid)
    largest, total, total_pss = 0, 0, 0
    while proc.poll() is None:
        try:
            rss, pss = [], []
            for p in [root] + root.children(recursive=True):
                try:
                    mem = p.memory_full_info()
                    rss.append(mem.rss)
                    pss.append(getattr(mem, "pss", mem.rss))  # PSS where the OS reports it (Linux)
                except psutil.Error:
                    pass
            if rss:
                largest, total, total_pss = max(largest, max(rss)), max(total, sum(rss)), max(total_pss, sum(pss))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err[-3000:]}")
    return {"seconds": time.perf_counter() - t0, "largest_mb": largest / 2**20, "total_mb": total / 2**20,
            "total_pss_mb": total_pss / 2**20, "stdout": out}


def bench_run(suite: str, limit: int, cache: Path, out: Path, workers: int) -> dict:
    r = run_tree([sys.executable, "-m", "bench", "run", suite, "--limit", str(limit), "--cache-dir", str(cache),
                  "--out", str(out), "--quiet", "--workers", str(workers)])
    doc = json.loads((out / "results.json").read_text())
    r["stages"] = doc["run"]["stage_seconds"]
    r["stage_items"] = doc["run"].get("stage_items", {})
    r["n_images"] = doc["data"]["n_images"]
    r["out"] = out
    return r


def bare_loop(suite_path: str, limit: int, outputs: Optional[dict[str, str]] = None) -> None:
    """The plain loop (runs in its own process; prints its seconds as JSON). With ``outputs``
    ({row: folder}) the rows are read from those folders (``<id>.png``) instead of restored."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    import pyiqa
    import torch

    from bench.components import RESTORERS, SPOTTERS
    from bench.data import open_dataset
    from bench.degrade import degrade_image
    from bench.imagemetrics import create_metric
    from bench.imagemetrics.textregion import cared, masked_psnr, text_mask
    from bench.io.images import bicubic_resize, read_image
    from bench.suite import load_suite
    from bench.textmetrics import TextEvalConfig, evaluate_image, rectified_crop

    suite = load_suite(suite_path)
    suite = replace(suite, dataset=replace(suite.dataset, limit=limit))
    spec = suite.degradation
    restorers = {}
    for r in ([] if outputs else suite.restorers):
        model = RESTORERS.load(r.adapter)(scale=spec.scale, device="cpu", **r.args)
        if model.preflight():
            continue
        model.load()
        restorers[r.name] = model
    sp = SPOTTERS.load(suite.spotter.name)(min_score=suite.spotter.min_score, device="cpu", **suite.spotter.args)
    sp.load()
    wanted = [m for m in suite.metrics.image if m in ("psnr", "ssim", "piqe", "text_psnr")]
    available = [m for m in wanted if not create_metric(m).preflight()]
    iqa = {"psnr": ("psnr", {"test_y_channel": False}), "ssim": ("ssimc", {}), "piqe": ("piqe", {})}
    models = {m: pyiqa.create_metric(iqa[m][0], device="cpu", **iqa[m][1]) for m in available if m in iqa}
    tm = suite.metrics.text
    cfg = TextEvalConfig(compat=tm.compat, matching=tm.matching, confident_threshold=tm.confident_threshold)
    samples = list(open_dataset(suite.dataset, suite.degradation))
    vocabulary = frozenset(i.text for s in samples for i in s.instances if not i.dont_care)

    def tensor(img):
        return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0

    for s in samples:
        lq = degrade_image(s.hq, spec.preset, spec.seed, s.id, spec.scale, backend=spec.backend,
                           usm_sharpen=spec.usm_sharpen)
        size = (s.hq.shape[1], s.hq.shape[0])
        rows = {"HQ": s.hq, "LQ": bicubic_resize(lq, size)}
        for name, model in restorers.items():
            rows[name] = model.restore_batch([lq if model.input_mode == "lq" else rows["LQ"]])[0]
        for name, folder in (outputs or {}).items():
            rows[name] = read_image(Path(folder) / f"{s.id}.png")
        words = [i for i in s.instances if not i.dont_care]
        hq_dets = None
        for name, img in rows.items():
            dets = sp.spot(img, s.id)
            if name == "HQ":
                hq_dets = dets
            evaluate_image(s.instances, dets, cfg, vocabulary, hq_dets=None if name == "HQ" else hq_dets)
            if words and sp.has_recognizer():
                sp.recognize([rectified_crop(img, w.polygon) for w in words])
            with torch.no_grad():
                if "piqe" in models:
                    models["piqe"](tensor(img))
                if name == "HQ":
                    continue
                for m in ("psnr", "ssim"):
                    if m in models:
                        models[m](tensor(img), tensor(s.hq))
            if "text_psnr" in available and cared(s.instances):
                mask = text_mask(s.hq.shape[:2], cared(s.instances))
                if mask.any():
                    masked_psnr(img, s.hq, mask)
    print(json.dumps({"seconds": time.perf_counter() - t0, "n_images": len(samples)}))


def _bicubic_outputs(inputs: Path, out: Path, scale: int) -> None:
    """The outputs a researcher's model would write: here PIL bicubic x``scale`` of each exported input."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(inputs.glob("*.png")):
        with Image.open(p) as im:
            im.resize((im.width * scale, im.height * scale), Image.BICUBIC).save(out / p.name)


def outputs_case(suite: str, limit: int, work: Path) -> None:
    """Scoring a folder of outputs made elsewhere: the exported inputs upscaled (the "model"),
    then, on the same outputs and cold, the bare loop (read the outputs, spot, pyiqa metrics,
    text protocol; HQ and LQ rows too, as bench keeps them) against ``bench run --outputs``."""
    subprocess.run([sys.executable, "-m", "bench", "export", suite, str(work / "inputs"), "--limit", str(limit),
                    "--quiet", "--cache-dir", str(work / "export-cache")], check=True, cwd=ROOT, env=ENV,
                   stdout=subprocess.DEVNULL)
    scale = json.loads((work / "inputs" / "manifest.json").read_text())["images"][0]["scale"]
    _bicubic_outputs(work / "inputs", work / "mine", scale)
    outputs = f"mine={work / 'mine'}"
    bare = run_tree([sys.executable, __file__, "--bare", "--suite", suite, "--limit", str(limit),
                     "--bare-outputs", outputs])
    bench = run_tree([sys.executable, "-m", "bench", "run", suite, "--limit", str(limit), "--outputs", outputs,
                      "--cache-dir", str(work / "cache"), "--out", str(work / "scored"), "--quiet", "--workers", "1"])
    print(f"scoring a folder of outputs ({suite}, {limit} images, rows HQ, LQ and the folder; cold):")
    print(f"  bare library loop          {bare['seconds']:8.1f} s")
    print(f"  bench run --outputs        {bench['seconds']:8.1f} s   ratio bench/bare = "
          f"{bench['seconds'] / bare['seconds']:.2f}  (goal <= 1.10)")
    print(f"(scratch folder: {work})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="suites/quickstart.yaml")
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--full-limit", type=int, default=24)
    ap.add_argument("--skip-full", action="store_true", help="skip the cold runs at --full-limit")
    ap.add_argument("--outputs-case", action="store_true",
                    help="only the case of scoring a folder of outputs made elsewhere (bench run --outputs)")
    ap.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)  # the child process
    ap.add_argument("--bare-outputs", help=argparse.SUPPRESS)  # the child process: NAME=DIR
    args = ap.parse_args()
    if args.bare:
        name, _, folder = (args.bare_outputs or "").partition("=")
        bare_loop(args.suite, args.limit, {name: folder} if folder else None)
        return
    work = Path(tempfile.mkdtemp(prefix="tair-bench-overhead-"))
    if args.outputs_case:
        outputs_case(args.suite, args.limit, work)
        return
    bare = run_tree([sys.executable, __file__, "--bare", "--suite", args.suite, "--limit", str(args.limit)])
    cold = bench_run(args.suite, args.limit, work / "c1", work / "cold", 1)
    warm = bench_run(args.suite, args.limit, work / "c1", work / "warm", 1)
    two = bench_run(args.suite, args.limit, work / "c2", work / "cold2", 2)
    full = None if args.skip_full else bench_run(args.suite, args.full_limit, work / "c3", work / "full", 1)
    full_two = None if args.skip_full else bench_run(args.suite, args.full_limit, work / "c4", work / "full2", 2)

    n = cold["n_images"]
    print(f"suite {args.suite}, {n} images (cold = empty cache; times include start-up, imports, model loads)")
    print(f"  bare library loop        {bare['seconds']:8.1f} s   (peak RSS {bare['largest_mb']:.0f} MB)")
    print(f"  bench run, cold          {cold['seconds']:8.1f} s   ratio bench/bare = "
          f"{cold['seconds'] / bare['seconds']:.2f}  (goal <= 1.10)")
    print(f"  bench run, warm          {warm['seconds']:8.1f} s   warm/cold = {warm['seconds'] / cold['seconds']:.3f}")
    print("peak memory of a cold bench run: RSS of the largest process / RSS of all processes summed / "
          "PSS of all processes summed (shared pages once):")
    for r in (cold, full):
        if r is not None:
            print(f"  --limit {r['n_images']:<3}            {r['largest_mb']:6.0f} MB / {r['total_mb']:6.0f} MB / "
                  f"{r['total_pss_mb']:6.0f} MB   ({r['seconds']:.0f} s)")
    for one_worker, two_workers in ((cold, two), (full, full_two)):
        if one_worker is not None:
            _stage_tables(one_worker, two_workers)
    print(f"(scratch folder: {work})")


def _stage_tables(one: dict, two: dict) -> None:
    """Each stage's wall time at ``--workers 1`` and 2 (``one``, ``two``: :func:`bench_run` of the
    same images), then each per-image stage's start-up and steady throughput, then whether the two
    runs' results.json agree."""
    n = one["n_images"]
    print(f"per stage, {n} images, cold, --workers 1 vs --workers 2 (seconds, images/s, speed-up):")
    for stage in one["stages"]:
        t1, t2 = one["stages"][stage], two["stages"].get(stage)
        if t2 is None:
            continue
        ips = lambda t: n / t if t > 0 else float("inf")  # noqa: E731
        print(f"  {stage:<22} {t1:7.1f} s {ips(t1):7.2f}/s   {t2:7.1f} s {ips(t2):7.2f}/s   x{t1 / t2 if t2 else 0:.2f}")
    print(f"  {'whole run':<22} {one['seconds']:7.1f} s {'':9}   {two['seconds']:7.1f} s {'':9}   "
          f"x{one['seconds'] / two['seconds']:.2f}")
    print(f"per-image stages apart from their start-up (first item: workers spawned, libraries imported, models "
          f"loaded), {n} images, --workers 1 vs 2:")
    print(f"  {'stage':<10} {'items':>5}  {'first item':>16}  {'steady items/s':>17}  speed-up")
    for stage, t1 in one["stage_items"].items():
        t2 = two["stage_items"].get(stage)
        if t2 is None or stage.startswith("restore"):
            continue
        r1, r2 = steady_rate(t1), steady_rate(t2)
        up = f"x{r2 / r1:.2f}" if r1 and r2 else "n/a"
        print(f"  {stage:<10} {t1['items']:>5}  {t1['first_item_seconds']:6.1f} / {t2['first_item_seconds']:5.1f} s  "
              f"{r1 or 0:7.2f} / {r2 or 0:7.2f}  {up}")
    same = _stable(one["out"]) == _stable(two["out"])
    print(f"results.json of --workers 1 and --workers 2, {n} images (times and run details aside): "
          f"{'identical' if same else 'DIFFERENT'}")


def _stable(run_dir: Path) -> str:
    """results.json without ``run`` (times, cache counts) and ``git_commit``, as canonical text."""
    doc = json.loads((run_dir / "results.json").read_text())
    return json.dumps({k: v for k, v in doc.items() if k not in ("run", "git_commit")}, sort_keys=True)


if __name__ == "__main__":
    main()
