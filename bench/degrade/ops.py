"""The image operations of the degradation pipeline, on float32 RGB images in [0, 1].

Each mirrors a BasicSR / Real-ESRGAN operation with NumPy and OpenCV instead of torch:

* :func:`blur` -- ``filter2D``: correlation with reflect padding (torch ``reflect`` ==
  OpenCV ``BORDER_REFLECT_101``).
* :func:`resize` -- ``F.interpolate`` with mode area / bilinear / bicubic, here
  ``cv2.INTER_AREA`` / ``INTER_LINEAR`` / ``INTER_CUBIC`` (same bicubic a = -0.75; for
  enlargement, torch ``area`` is nearest-like while OpenCV's is bilinear-like).
* :func:`add_gaussian_noise`, :func:`add_poisson_noise` -- ``random_add_*_noise_pt``
  with ``clip=True, rounds=False``.
* :func:`jpeg` -- ``DiffJPEG`` with a float quality, here a real JPEG (libjpeg via
  ``cv2.imencode``, 4:2:0 chroma) at an integer quality of the 8-bit image.

No function keeps state or touches global RNG; noise takes an explicit generator.
OpenCV's row-parallel loops compute every pixel the same way whatever the thread count,
so results do not depend on ``cv2.setNumThreads`` (a test checks this).
"""

from __future__ import annotations

import cv2
import numpy as np

_INTERP = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
#: ITU-R BT.601 luma weights as in torchvision ``rgb_to_grayscale`` (BasicSR's gray Poisson).
_GRAY = np.array([0.2989, 0.587, 0.114], dtype=np.float32)


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate each channel with ``kernel`` (odd square), reflect-101 borders."""
    return cv2.filter2D(img, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)


def resize(img: np.ndarray, height: int, width: int, mode: str) -> np.ndarray:
    """Resize to ``height`` x ``width`` (each at least 1) with ``mode`` in area/bilinear/bicubic."""
    height, width = max(1, int(height)), max(1, int(width))
    if img.shape[:2] == (height, width):
        return img
    return cv2.resize(img, (width, height), interpolation=_INTERP[mode])


def add_gaussian_noise(img: np.ndarray, sigma: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add N(0, (sigma/255)^2) noise, one field for all channels if ``gray``; clip to [0, 1]."""
    h, w, c = img.shape
    if gray:
        noise = rng.standard_normal((h, w, 1), dtype=np.float32)
    else:
        noise = rng.standard_normal((h, w, c), dtype=np.float32)
    return np.clip(img + noise * np.float32(sigma / 255.0), 0.0, 1.0)


def add_poisson_noise(img: np.ndarray, scale: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Add ``scale`` x shot noise; clip to [0, 1].

    As BasicSR: quantize to 8 bits, take the number of distinct values rounded up to a
    power of two as the photon count per unit, draw Poisson(img * count) / count, and add
    (draw - img) * scale. With ``gray`` the noise is drawn on the luma and shared.
    """
    levels = to_uint8(img @ _GRAY if gray else img)
    distinct = np.count_nonzero(np.bincount(levels.ravel(), minlength=256))
    count = 2.0 ** np.ceil(np.log2(distinct))
    src = levels.astype(np.float64) / 255.0
    noise = (rng.poisson(src * count) / count - src).astype(np.float32)
    if gray:
        noise = noise[..., None]
    return np.clip(img + noise * np.float32(scale), 0.0, 1.0)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round to uint8."""
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through baseline JPEG at integer ``quality`` (RGB kept RGB)."""
    bgr = cv2.cvtColor(to_uint8(img), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - only on a broken OpenCV build
        raise RuntimeError("OpenCV could not encode a JPEG")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255.0)
