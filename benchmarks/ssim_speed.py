"""Our SSIM/PSNR (bench.imagemetrics.ssim_exact, psnr_exact) against pyiqa 0.1.16: equality and speed.

Usage::

    python benchmarks/ssim_speed.py [--sizes 128,512,1024,2048] [--skip-equality]

Speed: ms per pair (square RGB pairs, smooth content plus noise), ours = best of
several calls, pyiqa = ``pyiqa.create_metric('ssimc')`` on float64 tensors (what
the project handed it before), best of fewer calls at large sizes (seconds
each); both single calls on one pair, in this process, torch with its default
threads (or ``--threads N``). Equality: max |ours - pyiqa| over the 200 random pairs of
``tests/test_ssim_fast.py`` and over every bundled quickstart image (HQ vs the
bicubic-upsampled LQ of each of its three levels). Numbers are measurements, not
asserted anywhere; on a shared machine they vary.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _best(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="128,512,1024,2048")
    ap.add_argument("--skip-equality", action="store_true")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch and OpenCV threads (0: the libraries' defaults); 1 is steadier on a busy machine")
    args = ap.parse_args()
    import cv2
    import pyiqa
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    print(f"threads: torch {torch.get_num_threads()}, OpenCV {cv2.getNumThreads()}")

    from bench.imagemetrics.psnr_exact import psnr_rgb
    from bench.imagemetrics.ssim_exact import ssim
    from tests.test_ssim_fast import SSIM_CASES, make_pair, nchw

    ssimc = pyiqa.create_metric("ssimc", device="cpu")
    psnr = pyiqa.create_metric("psnr", device="cpu", test_y_channel=False)

    def theirs(metric, a, b) -> float:
        with torch.no_grad():
            return float(metric(nchw(a), nchw(b)))

    if not args.skip_equality:
        rng = np.random.default_rng(1)
        worst_s = worst_p = 0.0
        for h, w, kind in SSIM_CASES:
            a, b = make_pair(rng, h, w, kind)
            worst_s = max(worst_s, abs(ssim(a, b) - theirs(ssimc, a, b)))
            worst_p = max(worst_p, abs(psnr_rgb(a, b) - theirs(psnr, a, b)))
        print(f"equality, {len(SSIM_CASES)} random pairs (64..2048 px, odd sizes): "
              f"max |diff| SSIM {worst_s:.2e}, PSNR {worst_p:.2e}")
        import pyarrow.parquet as pq

        from bench.io.images import bicubic_resize, decode_image

        path = ROOT / "data" / "quickstart" / "test-00000-of-00001.parquet"
        rows = pq.read_table(path, columns=["id", "hq_img", "lq_img_lv1", "lq_img_lv2", "lq_img_lv3"]).to_pylist()
        worst_s = worst_p = 0.0
        n = 0
        for row in rows:
            hq = decode_image(row["hq_img"]["bytes"], row["id"])
            for col in ("lq_img_lv1", "lq_img_lv2", "lq_img_lv3"):
                lq = bicubic_resize(decode_image(row[col]["bytes"], row["id"]), (hq.shape[1], hq.shape[0]))
                worst_s = max(worst_s, abs(ssim(lq, hq) - theirs(ssimc, lq, hq)))
                worst_p = max(worst_p, abs(psnr_rgb(lq, hq) - theirs(psnr, lq, hq)))
                n += 1
        print(f"equality, {n} quickstart pairs ({len(rows)} images x 3 levels, 512 px): "
              f"max |diff| SSIM {worst_s:.2e}, PSNR {worst_p:.2e}")

    print(f"{'size':>6} {'ours ms':>9} {'pyiqa ms':>10} {'speed-up':>9} {'|diff|':>9}   "
          f"{'PSNR ours ms':>12} {'pyiqa ms':>9}")
    rng = np.random.default_rng(2)
    for n in (int(s) for s in args.sizes.split(",")):
        ref = cv2.GaussianBlur(rng.integers(0, 256, (n, n, 3), dtype=np.uint8), (0, 0), 2.0)
        pred = np.clip(ref.astype(int) + rng.integers(-20, 21, ref.shape), 0, 255).astype(np.uint8)
        # more calls where one is short: the best of a few ~1 ms calls is mostly scheduler noise
        reps = 200 if n <= 128 else 20 if n <= 512 else 3
        ours = _best(lambda: ssim(pred, ref), reps)
        value: dict = {}
        t_theirs = _best(lambda: value.update(v=theirs(ssimc, pred, ref)), 20 if n <= 128 else 3 if n <= 512 else 1)
        diff = abs(ssim(pred, ref) - value["v"])
        p_ours = _best(lambda: psnr_rgb(pred, ref), reps)
        p_theirs = _best(lambda: theirs(psnr, pred, ref), reps)
        print(f"{n:>6} {1e3 * ours:>9.2f} {1e3 * t_theirs:>10.0f} {t_theirs / ours:>8.0f}x {diff:>9.1e}   "
              f"{1e3 * p_ours:>12.2f} {1e3 * p_theirs:>9.2f}")


if __name__ == "__main__":
    main()
