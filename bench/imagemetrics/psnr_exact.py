"""PSNR with pyiqa 0.1.16's definition, streamed over row strips.

pyiqa's ``psnr`` (``pyiqa/archs/psnr_arch.py``): ``10 * log10(1 / (MSE + 1e-8))``
with images in [0, 1] and the MSE over every channel and pixel; with
``test_y_channel=True`` the MSE is over pyiqa's Y (:mod:`bench.imagemetrics.luma`,
not rounded: PSNR's ``data_range`` is 1).

* RGB: the squared differences of uint8 values are integers, so their sum is
  accumulated exactly in int64 and divided by ``N * 255^2`` once; pyiqa's float64
  mean of ``(a/255 - b/255)^2`` differs from that only by float64 rounding.
* Y: float64 sums of the squared Y differences, strip by strip.

A sum is a sum: strips give the whole-image MSE, and memory stays a few strips
of the image whatever its size.
"""

from __future__ import annotations

import math

import numpy as np

from .luma import luma

#: pyiqa's eps (identical images give 80 dB)
EPS = 1e-8
#: pixels per strip
STRIP_PIXELS = 1 << 18


def _strips(height: int, width: int):
    step = max(1, STRIP_PIXELS // max(1, width))
    for r0 in range(0, height, step):
        yield r0, min(height, r0 + step)


def from_mse(mse: float) -> float:
    """``10 log10(1 / (mse + 1e-8))``, pyiqa's formula on [0, 1] data."""
    return 10.0 * math.log10(1.0 / (mse + EPS))


def psnr_rgb(pred: np.ndarray, ref: np.ndarray) -> float:
    """pyiqa ``psnr`` (``test_y_channel=False``) of one ``(H, W, 3)`` uint8 pair."""
    h, w = pred.shape[:2]
    total = 0
    for r0, r1 in _strips(h, w):
        d = pred[r0:r1].astype(np.int32) - ref[r0:r1]
        total += int(np.einsum("ijk,ijk->", d, d, dtype=np.int64))
    return from_mse(total / (pred.size * 255.0 * 255.0))


def psnr_luma(pred: np.ndarray, ref: np.ndarray, color_space: str = "yiq") -> float:
    """pyiqa ``psnr`` with ``test_y_channel=True`` and ``color_space`` of one uint8 pair."""
    h, w = pred.shape[:2]
    total = 0.0
    for r0, r1 in _strips(h, w):
        d = luma(pred[r0:r1], color_space) - luma(ref[r0:r1], color_space)
        total += float(np.einsum("ij,ij->", d, d))
    return from_mse(total / (h * w))
