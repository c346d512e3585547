"""SSIM with pyiqa 0.1.16's arithmetic, computed in row strips with a separable filter.

What pyiqa computes (``pyiqa/archs/ssim_arch.py``, ``SSIM.forward`` and ``ssim``;
configurations in ``pyiqa/default_model_configs.py``: ``ssimc`` is
``test_y_channel=False``, ``ssim`` is ``test_y_channel=True``, both
``downsample=False``):

1. ``preprocess_rgb`` (``pyiqa/archs/func_util.py``) with ``data_range=255``:
   RGB (``ssimc``) is ``x * 255`` rounded; Y (``ssim``) is pyiqa's Y x 255
   rounded (:mod:`bench.imagemetrics.luma`). Everything after is float64.
   For RGB this gives back the uint8 values: ``(v / 255) * 255`` rounds to
   ``v`` for all 256 values (tested).
2. optional ``downsample``: ``f = max(1, round(min(H, W) / 256))`` (Python's
   round, half to even) and, if ``f > 1``, ``avg_pool2d(kernel_size=f)``:
   means of f x f blocks, trailing rows/columns that do not fill a block dropped.
3. window: ``fspecial(11, 1.5)`` (``pyiqa/matlab_utils/functions.py``): a
   float64 Gaussian, values below ``eps * max`` zeroed, normalised to sum 1, then
   **cast to float32** and back to float64 by ``.to(X)``.
4. ``filter2(..., 'valid')``: a grouped ``conv2d`` without padding, so the
   output is ``(H - 10) x (W - 10)``; mu, E[x^2], E[y^2], E[xy] per channel.
5. ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``;
   ``cs = relu((2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2))``,
   ``ssim = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) * cs``, mean over
   channels and all valid positions.

How this module gets the same numbers on a CPU without pyiqa's ``conv2d``:

* the float32-rounded 11x11 window is not exactly separable, but it is rank one
  up to ~1e-9: its leading singular vector ``u`` (rescaled so that
  ``sum(u)^2`` equals the window's sum exactly, which keeps the large
  ``E[x^2] - mu^2`` cancellation unbiased) gives ``u u^T`` within 6e-10 of every
  window entry. Filtering with it is two 11-tap passes (OpenCV
  ``sepFilter2D`` in float64) instead of one 121-tap pass;
* ``sigma_x^2 + sigma_y^2`` is taken from one filtered ``x^2 + y^2`` (the
  same sum, one filter less);
* the image is processed in strips of output rows, each reading its rows plus
  the 10-row halo the 'valid' window needs. A valid output depends only on its
  11x11 neighbourhood, so strips give exactly the full-image map; the mean is
  the sum over strips divided by the count, so memory stays a few strips;
* every sum is numpy's, never OpenCV's (``cv2.sumElems`` splits its sum over
  OpenCV's threads), so the value is the same bits at any thread count.

Agreement with pyiqa itself is tested (``tests/test_ssim_fast.py``: 200 random
pairs from 64 to 2048 px, max abs difference < 1e-6).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from bench.errors import BenchError

from .luma import luma_255_rounded

WINDOW = 11
SIGMA = 1.5
HALO = WINDOW - 1
#: rows (and columns) on each side of a strip that are not valid output positions
BORDER = HALO // 2
DATA_RANGE = 255.0
C1 = (0.01 * DATA_RANGE) ** 2
C2 = (0.03 * DATA_RANGE) ** 2
#: float64 elements per strip and image: memory is bounded whatever the image size
STRIP_ELEMENTS = 1 << 19
#: fewest output rows per strip, so the 10-row halo stays a small overhead on wide images
MIN_STRIP_ROWS = 64


@lru_cache(maxsize=1)
def pyiqa_window() -> np.ndarray:
    """pyiqa's 11x11 window as its float64 convolution sees it (float32-rounded values)."""
    m = (WINDOW - 1) / 2.0
    y, x = np.ogrid[-m:m + 1, -m:m + 1]
    h = np.exp(-(x * x + y * y) / (2.0 * SIGMA * SIGMA))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    h /= h.sum()
    return h.astype(np.float32).astype(np.float64)


@lru_cache(maxsize=1)
def separable_window() -> np.ndarray:
    """The 1-D kernel ``u`` with ``u u^T`` ~= :func:`pyiqa_window` and ``sum(u)^2`` = its sum."""
    w = pyiqa_window()
    left, s, _ = np.linalg.svd(w)
    u = left[:, 0] * np.sqrt(s[0])
    u *= np.sign(u[WINDOW // 2])  # the singular vector's sign is arbitrary
    u *= np.sqrt(w.sum()) / u.sum()
    return u


def ssim_downsample_factor(height: int, width: int) -> int:
    """pyiqa's ``f = max(1, round(min(H, W) / 256))`` (Python round: half to even)."""
    return max(1, round(min(height, width) / 256))


def _block_mean(rows: np.ndarray, f: int) -> np.ndarray:
    """``avg_pool2d(kernel_size=f)``: f x f block means, incomplete blocks dropped."""
    h, w = rows.shape[0] // f, rows.shape[1] // f
    blocks = rows[:h * f, :w * f].reshape(h, f, w, f, *rows.shape[2:])
    return blocks.sum(axis=(1, 3)) / float(f * f)


def _planes(img: np.ndarray, channel: str, color_space: str, f: int) -> Callable[[int, int], np.ndarray]:
    """``planes(r0, r1)``: rows ``r0:r1`` of the preprocessed float64 image (after rounding and
    the optional block downsampling): ``(r1 - r0, W', 3)`` for RGB, ``(r1 - r0, W')`` for Y."""

    def planes(r0: int, r1: int) -> np.ndarray:
        rows = img[r0 * f:r1 * f]
        x = luma_255_rounded(rows, color_space) if channel == "y" else rows.astype(np.float64)
        return _block_mean(x, f) if f > 1 else x

    return planes


def _filter(x: np.ndarray) -> np.ndarray:
    """The 11x11 window's 'valid' filtering of ``(h, w[, C])`` float64: ``(h - 10, w - 10[, C])``."""
    import cv2

    u = separable_window()
    out = cv2.sepFilter2D(x, cv2.CV_64F, u, u, borderType=cv2.BORDER_REFLECT)
    return out[BORDER:-BORDER, BORDER:-BORDER]


def _strip_sum(x: np.ndarray, y: np.ndarray) -> float:
    """Sum of pyiqa's SSIM map (module docstring, step 5) over the valid positions of one strip
    of ``x`` and ``y`` (its rows with the halo)."""
    mu_x, mu_y = _filter(x), _filter(y)
    mu_xy = mu_x * mu_y
    mu_sq = mu_x * mu_x + mu_y * mu_y
    sigma_xy = _filter(x * y) - mu_xy
    sigma_sq = _filter(x * x + y * y) - mu_sq  # sigma_x^2 + sigma_y^2
    cs = np.maximum((2.0 * sigma_xy + C2) / (sigma_sq + C2), 0.0)  # pyiqa: F.relu(cs_map)
    ssim_map = (2.0 * mu_xy + C1) / (mu_sq + C1) * cs
    return float(ssim_map.sum())  # numpy's sum: the same bits at any OpenCV thread count


def ssim(pred: np.ndarray, ref: np.ndarray, channel: str = "rgb", color_space: str = "yiq",
         downsample: bool = False) -> float:
    """pyiqa's SSIM of one ``(H, W, 3)`` uint8 pair: ``channel='rgb'`` is ``ssimc``,
    ``channel='y'`` is ``ssim`` (``color_space`` picks the Y)."""
    if pred.shape != ref.shape:
        raise BenchError(f"SSIM: prediction is {pred.shape} but reference is {ref.shape}")
    h, w = pred.shape[:2]
    f = ssim_downsample_factor(h, w) if downsample else 1
    hp, wp = h // f, w // f
    if hp < WINDOW or wp < WINDOW:
        raise BenchError(f"SSIM: a {w}x{h} image is smaller than the 11x11 window"
                         + (f" after downsampling by {f}" if f > 1 else ""))
    channels = 1 if channel == "y" else 3
    get_x = _planes(pred, channel, color_space, f)
    get_y = _planes(ref, channel, color_space, f)
    n_out = hp - HALO
    step = min(n_out, max(MIN_STRIP_ROWS, STRIP_ELEMENTS // (wp * channels) - HALO))
    total = 0.0
    for o0 in range(0, n_out, step):
        o1 = min(n_out, o0 + step)
        total += _strip_sum(get_x(o0, o1 + HALO), get_y(o0, o1 + HALO))
    return total / (channels * n_out * (wp - HALO))
