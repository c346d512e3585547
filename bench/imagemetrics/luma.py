"""pyiqa's RGB -> Y conversions and input rounding, in numpy float64.

pyiqa 0.1.16 (``pyiqa/utils/color_util.py``) takes Y as the first row of a 3x3
matrix product with an RGB tensor in [0, 1]. The matrices are written as Python
floats but built with ``torch.tensor([...])`` -- float32 -- and then cast to the
input's dtype, so in a float64 computation the coefficients are the float32
roundings of the printed values (``0.299`` is ``0.29899999499...``). The same
roundings are used here, so Y agrees with pyiqa's to the last bits of a float64.

* ``yiq`` (``rgb2yiq``): ``Y = 0.299 R + 0.587 G + 0.114 B``;
* ``ycbcr`` (``rgb2ycbcr``, BT.601 studio range): ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255``.

``to_y_channel(img, 255)`` then scales by 255 and rounds half to even (its
"MATLAB-like" uint8 rounding); with ``data_range=1`` (PSNR) nothing is rounded.
The input is what :func:`bench.imagemetrics.base.to_tensor` hands pyiqa:
``uint8 / 255.0`` in float64.
"""

from __future__ import annotations

import numpy as np

from bench.errors import BenchError

COLOR_SPACES = ("yiq", "ycbcr")

#: Y rows of pyiqa's matrices (float32 roundings, as pyiqa builds them) and the offset added before / 255
_Y_ROW = {
    "yiq": (np.float32([0.299, 0.587, 0.114]).astype(np.float64), 0.0),
    "ycbcr": (np.float32([65.481, 128.553, 24.966]).astype(np.float64), 16.0),
}


def check_color_space(color_space: str, metric: str) -> None:
    """Only the two spaces pyiqa's PSNR/SSIM offer for Y."""
    if color_space not in COLOR_SPACES:
        raise BenchError(f"metric '{metric}': color_space must be one of {', '.join(COLOR_SPACES)}, "
                         f"got {color_space!r}")


def unit_rgb(rows: np.ndarray) -> np.ndarray:
    """uint8 RGB rows -> float64 in [0, 1], exactly as ``to_tensor`` computes it (``x / 255.0``)."""
    return rows.astype(np.float64) / 255.0


def luma(rows: np.ndarray, color_space: str = "yiq") -> np.ndarray:
    """pyiqa's Y of ``(h, W, 3)`` uint8 rows, float64 ``(h, W)`` on [0, 1] (not rounded)."""
    (w0, w1, w2), offset = _Y_ROW[color_space]
    x = unit_rgb(rows)
    y = x[..., 0] * w0 + x[..., 1] * w1 + x[..., 2] * w2
    if offset:
        y = (y + offset) / 255.0
    return y


def luma_255_rounded(rows: np.ndarray, color_space: str = "yiq") -> np.ndarray:
    """pyiqa's ``to_y_channel(x, 255)``: Y x 255 rounded half to even, float64 ``(h, W)``.

    Plain multiplies and adds, left to right. On exact ties (colours whose exact Y x 255 is
    k + 1/2: 39 of the 2^24 colours for ``yiq``, 3 for ``ycbcr``) the rounding follows the
    last bit of Y, and there pyiqa's own value depends on the CPU kernel behind its
    ``torch.matmul``: with fused multiply-adds (seen with torch 2.14 on an AVX-512 machine)
    5 of the 39 ``yiq`` ties round one unit the other way. We keep one definite arithmetic
    (the same on every machine); ``tests/test_ssim_fast.py`` checks every other colour
    against pyiqa exactly and names those five."""
    return np.round(luma(rows, color_space) * 255.0)
