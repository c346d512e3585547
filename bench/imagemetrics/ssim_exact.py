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

How this module gets the same numbers ~100x faster on a CPU:

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
  the sum over strips divided by the count. Memory is a few float64 strips, not
  the ~120 float64 copies pyiqa's ``conv2d`` unfolds on a CPU.

Agreement with pyiqa itself is tested (``tests/test_ssim_fast.py``: 200 random
pairs from 64 to 2048 px, max abs difference < 1e-6; seen: ~1e-10).
"""

from __future__ import annotations

import threading
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
#: float64 elements per strip buffer (4 MB; a strip holds six): memory is bounded whatever the image size
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
    """The 1-D kernel ``u`` with ``u u^T`` ~= :func:`pyiqa_window`, ``sum(u)^2`` = its sum and
    ``u == u[::-1]`` exactly."""
    w = pyiqa_window()
    left, s, _ = np.linalg.svd(w)
    u = left[:, 0] * np.sqrt(s[0])
    u *= np.sign(u[WINDOW // 2])
    # The window is symmetric, so u is up to rounding (4e-17); made bitwise symmetric, OpenCV
    # takes its symmetric-kernel filter path (detected by exact comparison), ~10 % faster.
    u = (u + u[::-1]) / 2.0
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


def _planes(img: np.ndarray, channel: str, color_space: str, f: int) -> Callable[[int, int, np.ndarray], np.ndarray]:
    """``planes(r0, r1, out)``: rows ``r0:r1`` of the preprocessed float64 image (after rounding
    and the optional block downsampling), shape ``(r1 - r0, W', C)``, written into ``out``."""

    def planes(r0: int, r1: int, out: np.ndarray) -> np.ndarray:
        rows = img[r0 * f:r1 * f]
        if channel == "rgb" and f == 1:
            np.copyto(out, rows)  # uint8 -> float64, exact
            return out
        x = luma_255_rounded(rows, color_space)[..., None] if channel == "y" else rows.astype(np.float64)
        np.copyto(out, _block_mean(x, f) if f > 1 else x)
        return out

    return planes


class _Strip:
    """The float64 buffers one strip needs, reused from strip to strip and from call to call
    (:func:`_buffers`): fresh arrays would cost a page fault per 4 KiB touched, which is most of
    the time on small images. ``rows`` input rows of ``width x channels``."""

    def __init__(self, rows: int, width: int, channels: int):
        full = (rows, width, channels)
        self.key = full
        self.x, self.y, self.sq = np.empty(full), np.empty(full), np.empty(full)
        self.f = [np.empty(full) for _ in range(3)]

    def view(self, rows: int) -> "_Strip":
        """The same buffers for a shorter (last) strip."""
        v = object.__new__(_Strip)
        v.x, v.y, v.sq = self.x[:rows], self.y[:rows], self.sq[:rows]
        v.f = [b[:rows] for b in self.f]
        return v


_LOCAL = threading.local()


def _buffers(rows: int, width: int, channels: int) -> _Strip:
    """This thread's strip buffers for the shape (the last shape's are kept: at most
    ``6 * STRIP_ELEMENTS`` float64, 24 MB)."""
    strip = getattr(_LOCAL, "strip", None)
    if strip is None or strip.key != (rows, width, channels):
        _LOCAL.strip = None  # drop the old buffers before allocating the new ones
        strip = _LOCAL.strip = _Strip(rows, width, channels)
    return strip


def _filter(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """11x11 filtering of ``(h, w, C)`` float64 (C <= 4) with the separable window into ``out``
    (same shape), returned as the 2-D ``(h - 10, w * C)`` block of its valid rows, which is
    contiguous. Its first and last ``5 * C`` columns are not valid positions (the border
    the filter made up): :func:`_valid` drops them. The pointwise passes run over whole rows
    because numpy's loops over a contiguous block are several times faster than over a
    column-cropped view (measured at 128 px: 7 vs 32 us a pass)."""
    import cv2

    u = separable_window()
    h, w, c = x.shape
    cv2.sepFilter2D(x, cv2.CV_64F, u, u, dst=out.reshape(h, w, c) if c > 1 else out.reshape(h, w),
                    borderType=cv2.BORDER_REFLECT)
    return out.reshape(h, w * c)[BORDER:h - BORDER]


def _valid(rows: np.ndarray, channels: int) -> np.ndarray:
    """The valid positions of a :func:`_filter` block: its columns without the 5-pixel borders."""
    return rows[:, BORDER * channels:rows.shape[1] - BORDER * channels]


def _flat(a: np.ndarray) -> np.ndarray:
    """``(h, w, C)`` as the 2-D ``(h, w * C)`` view OpenCV's arithmetic takes as one channel."""
    return a.reshape(a.shape[0], -1)


def _strip_sum(b: _Strip) -> float:
    """Sum of the SSIM map over the valid positions of one strip (``b.x``, ``b.y`` hold its
    rows, the halo included).

    pyiqa's formula (module docstring, step 5) with its two divisions as one:
    ``relu(cs) * l = max(2 sigma_xy + C2, 0) (2 mu_x mu_y + C1) / ((sigma_sq + C2)(mu_sq + C1))``
    (both denominators are positive), and ``sigma_x^2 + sigma_y^2 = E[x^2 + y^2] - mu_x^2 - mu_y^2``;
    evaluated in place, in the strip's buffers.

    The pointwise steps use OpenCV's fused float64 operations where one replaces several numpy
    passes (``addWeighted``: ``a*alpha + b*beta + gamma``; ``accumulateSquare``: ``dst += src^2``;
    ``multiply`` with ``scale``): at 128 px (one thread) the ~21 numpy passes took ~0.31 ms beside
    the four filters' ~0.43 ms; these ~15 take ~0.23 ms. In-place steps and buffers read just
    before keep the working set (six strip buffers) small. Scaling by 2 is exact, so only the order of the roundings
    changes (~1e-16 relative; tested against pyiqa)."""
    import cv2

    x, y, sq = _flat(b.x), _flat(b.y), _flat(b.sq)
    mu_x, mu_y = _filter(b.x, b.f[0]), _filter(b.y, b.f[1])
    cv2.multiply(x, y, dst=sq)
    e_xy = _filter(b.sq, b.f[2])
    cv2.multiply(x, x, dst=x)
    cv2.accumulateSquare(y, x)                           # x^2 + y^2, in b.x
    e_sq = _filter(b.x, b.sq)
    # 2 mu_x mu_y into b.y's middle rows: free now, and still in the cache
    mu_xy2 = cv2.multiply(mu_x, mu_y, dst=y[BORDER:y.shape[0] - BORDER], scale=2.0)
    mu_sq = cv2.multiply(mu_x, mu_x, dst=mu_x)
    cv2.accumulateSquare(mu_y, mu_sq)                    # mu_x^2 + mu_y^2
    cs_num = cv2.addWeighted(e_xy, 2.0, mu_xy2, -1.0, C2, dst=e_xy)  # 2 sigma_xy + C2
    cs_den = cv2.addWeighted(e_sq, 1.0, mu_sq, -1.0, C2, dst=e_sq)   # sigma_x^2 + sigma_y^2 + C2
    np.maximum(cs_num, 0.0, out=cs_num)                  # pyiqa: F.relu(cs_map)
    mu_xy2 += C1
    mu_sq += C1
    cs_num *= mu_xy2
    cs_den *= mu_sq
    # numpy's sum, not cv2.sumElems: OpenCV splits its sum over its threads, so its rounding
    # would depend on the thread count (seen at 512 px: 1 vs 2 threads differ by 3e-15)
    return float(_valid(np.divide(cs_num, cs_den, out=cs_num), b.x.shape[2]).sum())


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
    buffers = _buffers(step + HALO, wp, channels)
    total = 0.0
    for o0 in range(0, n_out, step):
        o1 = min(n_out, o0 + step)
        b = buffers if o1 - o0 == step else buffers.view(o1 - o0 + HALO)
        get_x(o0, o1 + HALO, b.x)
        get_y(o0, o1 + HALO, b.y)
        total += _strip_sum(b)
    return total / (channels * n_out * (wp - HALO))
