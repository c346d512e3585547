"""Peak memory (RSS) and time of scoring one large image pair, per metric and all together.

Usage::

    python benchmarks/pair_memory.py [--size 2048x1536] [--metrics psnr,ssim,...]

Each measurement runs in a fresh child process (its peak RSS, VmHWM, is its own): the
interpreter, the imports each metric needs (numpy/OpenCV only for psnr and ssim;
torch and pyiqa for the network metrics) and the model count, as they do in a
run. ``all`` scores the pair with every listed metric through the score stage's
own worker code (:func:`bench.pipeline.stages.score_images.score_pair`), i.e. what
one score worker holds.

Network metrics need their weight files. Where the real files are not in the
weights dir, stand-ins are written to a temporary weights dir: the real
architectures with random weights, in the real file formats. Memory and time do
not depend on the weight values; the scores do, so none is printed. Numbers are
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
DEFAULT_METRICS = "psnr,ssim,text_psnr,lpips,text_lpips,dists,fid,niqe,musiq,piqe"

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from bench.io.cache import Cache
from bench.records import TextInstance
from bench.pipeline.stages.cached_map import Entry
from bench.pipeline.stages.score_images import FEATURES, STAGE, score_pair
from bench.imagemetrics import create_metric
from bench.scaleout.pool import STAGE_THREADS, set_library_threads
set_library_threads(STAGE_THREADS)  # as a score worker runs
h, w = {h}, {w}
rng = np.random.default_rng(0)
base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
ref = np.ascontiguousarray(np.repeat(np.repeat(base, 8, 0), 8, 1)[:h, :w])
pred = np.clip(ref.astype(int) + rng.integers(-12, 13, ref.shape), 0, 255).astype(np.uint8)
words = [TextInstance(((x, y), (x + 300, y), (x + 300, y + 80), (x, y + 80)), "WORD")
         for x, y in ((100, 100), (900, 700), (1500, 1300)) if x + 300 < w and y + 80 < h]
cache = Cache({cache!r})
ph, rh = cache.put_image(pred), cache.put_image(ref)
del base, ref, pred
names = {names!r}
metrics = tuple((n, create_metric(n)) for n in names)
entries = tuple(Entry(FEATURES if m.mode == "set" else STAGE, f"key-{{n}}") for n, m in metrics)
state = {{"cache": cache, "metrics": dict(metrics), "loaded": set(), "device": "cpu"}}
def hwm_mb():  # this process's own peak (VmHWM); ru_maxrss would include the parent's peak before exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
t0 = time.perf_counter()
score_pair(state, (ph, rh, words, {{e.key: n for e, (n, _) in zip(entries, metrics)}}), entries)
print(json.dumps({{"seconds": time.perf_counter() - t0, "peak_rss_mb": hwm_mb()}}))
"""


def write_standins(wdir: Path, names: list[str]) -> list[str]:
    """Stand-in weight files (real architecture, random weights, real format) for the network
    metrics among ``names`` whose files are missing; returns the files written."""
    from bench.io import weights

    def path(key: str) -> Path:
        return wdir / weights.MANIFEST[key].filename

    written = []
    need = set()
    for n in names:
        from bench.imagemetrics import create_metric

        need.update(create_metric(n).weights)
    for key in sorted(need):
        if weights.missing_message(key, "benchmark") is None:
            continue  # the real file is there: the child reads it from the real weights dir
        import numpy as np
        import torch

        torch.manual_seed(0)
        if key == "alexnet":
            import torchvision

            torch.save(torchvision.models.alexnet(weights=None).state_dict(), path(key))
        elif key == "vgg16":
            import torchvision

            torch.save(torchvision.models.vgg16(weights=None).state_dict(), path(key))
        elif key == "dists":
            torch.save({"alpha": torch.rand(1, 1475, 1, 1) * 0.1 + 0.05,
                        "beta": torch.rand(1, 1475, 1, 1) * 0.1 + 0.05}, path(key))
        elif key == "inception_fid":
            from bench.imagemetrics.inception import build_fid_inception

            torch.save(build_fid_inception().state_dict(), path(key))
        elif key == "musiq":
            from pyiqa.archs.musiq_arch import MUSIQ

            torch.save(MUSIQ(pretrained=False).state_dict(), path(key))
        elif key == "niqe":
            import scipy.io

            a = np.random.default_rng(0).normal(size=(36, 36))
            scipy.io.savemat(path(key), {"mu_prisparam": np.random.default_rng(1).normal(size=(1, 36)),
                                         "cov_prisparam": a @ a.T + 36 * np.eye(36)})
        else:
            raise SystemExit(f"no stand-in for weights '{key}': put the real file in the weights dir")
        written.append(path(key).name)
    return written


def measure(names: list[str], h: int, w: int, tmp: Path, env: dict) -> dict:
    code = CHILD.format(root=str(ROOT), h=h, w=w, cache=str(tmp / f"cache-{'-'.join(names)[:60]}"),
                        names=tuple(names))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2048x1536", help="WIDTHxHEIGHT of the pair")
    ap.add_argument("--metrics", default=DEFAULT_METRICS)
    ap.add_argument("--skip-each", action="store_true", help="only the all-metrics measurement")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    names = [n for n in args.metrics.split(",") if n]
    sys.path.insert(0, str(ROOT))
    from bench.io import weights

    with tempfile.TemporaryDirectory(prefix="tair-bench-pairmem-") as tmp_s:
        tmp = Path(tmp_s)
        wdir = tmp / "weights"
        wdir.mkdir()
        real = os.environ.get(weights.ENV_DIR)
        standins = write_standins(wdir, names)
        if real:  # link the real files next to the stand-ins
            for p in Path(real).iterdir():
                if not (wdir / p.name).exists():
                    os.symlink(p, wdir / p.name)
        env = {**os.environ, weights.ENV_DIR: str(wdir), "HF_HUB_OFFLINE": "1"}
        print(f"one {w}x{h} pair; stand-in weights (random, real architectures): {', '.join(standins) or 'none'}")
        print(f"{'metrics':<58} {'peak RSS':>10} {'seconds':>8}")
        runs = [] if args.skip_each else [[n] for n in names]
        for group in runs + [names]:
            r = measure(group, h, w, tmp, env)
            label = "all: " + ",".join(group) if len(group) > 1 else group[0]
            if "error" in r:
                print(f"{label:<58} failed: {r['error']}")
            else:
                print(f"{label:<58} {r['peak_rss_mb']:>7.0f} MB {r['seconds']:>8.2f}")


if __name__ == "__main__":
    main()
