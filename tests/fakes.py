"""Fast, deterministic stand-ins used by pipeline tests (like lm-eval's dummy model).

``BlobSpotter`` is not an OCR: it finds dark blobs with OpenCV and names each by
its mean intensity, so its output depends on the pixels (different restorers give
different "words") while costing milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np

from bench.records import Detection
from bench.spotters.base import Spotter
from tair_bench_adapters.base import Restorer


class BlobSpotter(Spotter):
    def spot(self, image, image_id=None):
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        mask = (gray < gray.mean() - 30).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((9, 9), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        out = []
        for i in range(1, n):
            x, y, w, h, area = stats[i]
            if area < 200:
                continue
            val = int(gray[y:y + h, x:x + w].mean())
            poly = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
            out.append(Detection(tuple((float(a), float(b)) for a, b in poly), f"W{val // 16}", 0.95))
        return [d for d in out if d.score >= self.min_score]


class FailingRestorer(Restorer):
    """Bicubic that raises on the image id given in ``fail_on`` (simulates a crash)."""

    needs_ids = True

    def __init__(self, scale=4, device="cpu", fail_on: str = ""):
        super().__init__(scale=scale, device=device, fail_on=fail_on)

    def restore_batch(self, images, prompts=None, *, ids=None):
        from bench.io.images import bicubic_resize

        if self.args["fail_on"] in (ids or []):
            raise RuntimeError(f"simulated crash on {self.args['fail_on']}")
        return [bicubic_resize(im, (im.shape[1] * self.scale, im.shape[0] * self.scale)) for im in images]


class WrongSizeRestorer(Restorer):
    """Returns images one pixel too narrow: the harness must reject them."""

    def restore_batch(self, images, prompts=None):
        return [np.zeros((im.shape[0] * self.scale, im.shape[1] * self.scale - 1, 3), np.uint8) for im in images]


class PromptEcho(Restorer):
    """Bicubic upsampling that accepts a prompt (so prompt sources can be tested
    without a diffusion model); the prompt does not change the pixels."""

    accepts_prompt = True

    def restore_batch(self, images, prompts=None):
        from bench.io.images import bicubic_resize

        return [bicubic_resize(im, (im.shape[1] * self.scale, im.shape[0] * self.scale)) for im in images]


class BlindReader(BlobSpotter):
    """Blob detection plus a recognizer that reads every crop as the empty word."""

    def recognize(self, crops):
        return [("", 0.0) for _ in crops]


def channel_means(x):
    """A stand-in FID feature extractor (real Inception weights are not here): the channel means
    of each image; the FID definition then says STAND-IN."""
    return x.mean(dim=(2, 3))
