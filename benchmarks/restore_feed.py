"""How busy the restore stage keeps a model: the restorer's share of the stage's wall time.

Usage::

    python benchmarks/restore_feed.py [--images 32] [--size 128] [--scale 4] [--batch 4] [--model-ms 100]

A stand-in restorer plays a GPU model: ``restore_batch`` sleeps ``--model-ms`` per
image (a CUDA model leaves the CPU and the GIL free while the GPU works) and
returns nearest-neighbour upscaled images. The real
:class:`bench.pipeline.stages.restore.RestoreStage` runs over ``--images`` random
LQ images in a fresh cache: prompts and cache look-ups, PNG decoding of the
inputs, output checks, PNG encoding and cache writes are the harness's real
work. Printed: stage wall time, time inside ``restore_batch``, their ratio (the
busy fraction; goal >= 90 %), and the harness work the feeder and writer threads
took off the model's path (decode and store seconds, measured around the cache
calls). Numbers are measurements, not asserted anywhere.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.io.cache import Cache  # noqa: E402
from bench.pipeline.stages.restore import RestoreStage  # noqa: E402
from bench.progress import Progress  # noqa: E402
from bench.records import ImageItem  # noqa: E402
from tair_bench_adapters.base import Restorer  # noqa: E402


class SlowStandIn(Restorer):
    """Sleeps ``model_ms`` per image, then upscales by pixel repetition."""

    version_id = "benchmarks.SlowStandIn"

    def __init__(self, scale: int = 4, device: str = "cpu", model_ms: float = 100.0):
        super().__init__(scale=scale, device=device, model_ms=model_ms)
        self.busy = 0.0

    def restore_batch(self, images, prompts=None, *, ids=None):
        t0 = time.perf_counter()
        time.sleep(self.args["model_ms"] / 1000.0 * len(images))
        outs = [np.repeat(np.repeat(im, self.scale, axis=0), self.scale, axis=1) for im in images]
        self.busy += time.perf_counter() - t0
        return outs


class TimedCache(Cache):
    """The real cache, with the seconds spent decoding inputs and storing outputs added up."""

    def __init__(self, root):
        super().__init__(root)
        self.decode = 0.0
        self.store = 0.0

    def get_image(self, h):
        t0 = time.perf_counter()
        try:
            return super().get_image(h)
        finally:
            self.decode += time.perf_counter() - t0

    def put_image(self, arr):
        t0 = time.perf_counter()
        try:
            return super().put_image(arr)
        finally:
            self.store += time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--size", type=int, default=128, help="LQ side in px (outputs are --scale times larger)")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--model-ms", type=float, default=100.0, help="stand-in model time per image")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="tair-bench-feed-") as tmp:
        setup = Cache(Path(tmp, "cache"))
        rng = np.random.default_rng(0)
        items = []
        for i in range(args.images):
            # smooth content, so PNG sizes and encode times are those of photos, not of noise
            base = rng.integers(0, 256, (args.size // 8 + 1, args.size // 8 + 1, 3)).astype(np.uint8)
            lq = np.ascontiguousarray(np.repeat(np.repeat(base, 8, 0), 8, 1)[:args.size, :args.size])
            lq = np.clip(lq.astype(int) + rng.integers(-8, 9, lq.shape), 0, 255).astype(np.uint8)
            h = setup.put_image(lq)
            side = args.size * args.scale
            items.append(ImageItem(id=f"im{i:04d}", hq=None, lq=h, lq_up=h, size=(side, side)))
        cache = TimedCache(Path(tmp, "cache"))
        model = SlowStandIn(scale=args.scale, model_ms=args.model_ms)
        stage = RestoreStage("standin", model, None, cache, batch_size=args.batch)
        t0 = time.perf_counter()
        stage.run(items, Progress(quiet=True))
        wall = time.perf_counter() - t0

    n_out = args.size * args.scale
    print(f"restore stage: {args.images} images {args.size}px -> {n_out}px, batch {args.batch}, "
          f"stand-in model {args.model_ms:.0f} ms/image")
    print(f"  stage wall time            {wall:8.2f} s")
    print(f"  inside restore_batch       {model.busy:8.2f} s")
    print(f"  busy fraction              {100 * model.busy / wall:8.1f} %   (goal >= 90 %)")
    print(f"  input decoding (feeder)    {cache.decode:8.2f} s")
    print(f"  output storing (writer)    {cache.store:8.2f} s   (PNG encode + hash + write)")
    print(f"  serial sum (no overlap)    {model.busy + cache.decode + cache.store:8.2f} s")


if __name__ == "__main__":
    main()
