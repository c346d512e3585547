"""The image operations of the ``torch`` degradation backend, as Real-ESRGAN runs them.

Real-ESRGAN makes its LQ images with torch operations on float32 (1, 3, H, W) tensors
in [0, 1] (``upstream/Real-ESRGAN/realesrgan/models/realesrgan_model.py:67-166``,
``feed_data``). This module does each of those operations with the same torch calls in
the same float32 arithmetic, so that our LQ equals theirs to float rounding (the
conformance test ``tests/conformance/test_degrade_torch.py`` runs both):

* :func:`blur` -- BasicSR ``filter2D`` (``basicsr/utils/img_process_util.py:7-31``):
  reflect padding by k // 2, then a correlation (``F.conv2d``) with one kernel shared
  by the three channels.
* :func:`resize` -- ``F.interpolate``. Stage one passes ``scale_factor``
  (``realesrgan_model.py:93``), so torch maps output pixel centres with 1 / scale, not
  with the in/out size ratio (a sub-pixel shift against OpenCV, which always uses the
  size ratio); later stages pass explicit sizes (``realesrgan_model.py:124-125, 149,
  162``). ``area`` is torch's (adaptive average pooling: for enlargement it repeats
  pixels, nearest-like), ``bilinear`` / ``bicubic`` use ``align_corners=False`` and no
  antialiasing (``F.interpolate`` defaults, as the original calls it).
* :func:`add_gaussian_noise`, :func:`add_poisson_noise` -- BasicSR
  ``add_gaussian_noise_pt`` / ``add_poisson_noise_pt`` with ``clip=True, rounds=False``
  (``basicsr/data/degradations.py:460-511, 609-679``; called so at
  ``realesrgan_model.py:97-105, 129-137``).
* :func:`usm_sharpen` -- BasicSR ``USMSharp`` (``img_process_util.py:63-83``), which
  ``feed_data`` applies to the HQ image before degrading it (``realesrgan_model.py:73,
  83``); optional here (off by default).
* :func:`quantize` -- the final ``clamp((x * 255).round(), 0, 255)``
  (``realesrgan_model.py:166``).

The JPEG step is :mod:`bench.degrade.torch_jpeg`.

Random numbers: BasicSR draws its noise with ``torch.randn`` / ``torch.poisson`` from
torch's global generator. We take the same *kind* of draws from the image's own NumPy
stream (:mod:`bench.degrade.plan`): :func:`normal_field` and :func:`poisson_counts`.
The Gaussian field is the one the ``cv2`` backend draws (same call, same shape, same
order), so the two backends differ only in their operations, not in their noise.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import rgb_to_grayscale

#: USMSharp's defaults (``img_process_util.py:65, 74``): Gaussian radius 50 (made odd:
#: 51), sigma 0 (OpenCV then derives it from the size), weight 0.5, threshold 10 (of 255).
USM_RADIUS, USM_WEIGHT, USM_THRESHOLD = 51, 0.5, 10


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (1, 3, H, W) float32 in [0, 1] (x / 255 in float32)."""
    x = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).unsqueeze(0)  # a copy: writable
    return x.to(torch.float32) / 255.0


def kernel_tensor(kernel: np.ndarray) -> torch.Tensor:
    """A float64 NumPy kernel as the (1, k, k) float32 tensor BasicSR's data loader makes."""
    return torch.from_numpy(np.asarray(kernel, dtype=np.float64)).to(torch.float32).unsqueeze(0)


def check_blur_size(shape: tuple[int, ...], k: int, what: str) -> None:
    """Raise ``ValueError`` when torch's reflect padding cannot pad ``shape`` by ``k // 2``.

    torch reflects without repeating the edge and needs each side longer than the pad.
    """
    h, w = shape[-2:]
    if min(h, w) <= k // 2:
        raise ValueError(f"{what}: the image is {h}x{w} px at this step, too small for a {k}x{k} "
                         f"kernel with reflect padding (torch needs each side > {k // 2} px)")


def blur(img: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlate each channel of ``img`` (1, C, H, W) with ``kernel`` (1, k, k), odd k.

    Reflect padding, then ``conv2d`` of the C channels as C one-channel images with one
    (1, 1, k, k) weight, the way ``filter2D`` lays it out for a single kernel.
    """
    k = int(kernel.shape[-1])
    if k % 2 == 0:
        raise ValueError(f"blur kernel size must be odd, got {k}")
    check_blur_size(img.shape, k, "blur")
    b, c, h, w = img.shape
    padded = F.pad(img, (k // 2, k // 2, k // 2, k // 2), mode="reflect")
    planes = padded.reshape(b * c, 1, h + k - 1, w + k - 1)
    return F.conv2d(planes, kernel.reshape(1, 1, k, k)).reshape(b, c, h, w)


def resize_by(img: torch.Tensor, scale: float, mode: str) -> torch.Tensor:
    """Stage-one resize: ``F.interpolate(scale_factor=scale)``, output floor(size * scale)."""
    return F.interpolate(img, scale_factor=scale, mode=mode)


def resize_to(img: torch.Tensor, height: int, width: int, mode: str) -> torch.Tensor:
    """Resize to an explicit ``height`` x ``width`` with ``F.interpolate(size=...)``."""
    return F.interpolate(img, size=(int(height), int(width)), mode=mode)


def normal_field(rng: np.random.Generator, channels: int, height: int, width: int) -> torch.Tensor:
    """Standard normal draws as a (1, channels, H, W) float32 tensor.

    Drawn as ``rng.standard_normal((H, W, channels), float32)`` -- the ``cv2``
    backend's call -- and moved to channel-first.
    """
    z = rng.standard_normal((height, width, channels), dtype=np.float32)
    return torch.from_numpy(z).permute(2, 0, 1).unsqueeze(0).contiguous()


def poisson_counts(rng: np.random.Generator, rate: torch.Tensor) -> torch.Tensor:
    """Poisson draws with mean ``rate`` (1, C, H, W), drawn in (H, W, C) order; float32."""
    lam = rate[0].permute(1, 2, 0).to(torch.float64).numpy()
    counts = rng.poisson(lam).astype(np.float32)
    return torch.from_numpy(counts).permute(2, 0, 1).unsqueeze(0).contiguous()


def add_gaussian_noise(img: torch.Tensor, sigma: float, gray: bool, rng: np.random.Generator) -> torch.Tensor:
    """img + N(0, 1) * sigma / 255, one field for all channels if ``gray``; clamp to [0, 1].

    BasicSR (``degradations.py:471-489``) always draws a colour field and, for gray
    noise, blends ``colour * (1 - 1) + gray * 1``, which is exactly the gray field;
    we draw only the field that is used. ``sigma`` is a float32 value as there
    (``degradations.py:537-538`` draws it as a float32 tensor).
    """
    _, c, h, w = img.shape
    s = torch.tensor(sigma, dtype=torch.float32)
    noise = normal_field(rng, 1 if gray else c, h, w) * s / 255.0
    return torch.clamp(img + noise, 0, 1)


def _photon_levels(levels: torch.Tensor) -> torch.Tensor:
    """2 ** ceil(log2(number of distinct values)) of integer-valued ``levels`` in 0..255.

    BasicSR counts ``torch.unique`` of levels / 255 (``degradations.py:632-636``); a
    histogram of the levels counts the same values (x / 255 is one-to-one), faster.
    """
    distinct = int(torch.bincount(levels.flatten().to(torch.int64), minlength=256).count_nonzero())
    return levels.new_tensor(float(2 ** np.ceil(np.log2(distinct))))


def add_poisson_noise(img: torch.Tensor, scale: float, gray: bool, rng: np.random.Generator) -> torch.Tensor:
    """img + scale * (Poisson(q * n) / n - q); clamp to [0, 1].

    As BasicSR (``degradations.py:623-654``): q is the image rounded to 8 bits (for
    gray noise: its torchvision luma 0.2989 R + 0.587 G + 0.114 B, rounded), n the
    number of distinct values of q rounded up to a power of two; the noise is taken
    against q and added to the unrounded image. A gray field is shared by the three
    channels (BasicSR's blend with the colour field, weight 0, leaves it unchanged).
    """
    src = rgb_to_grayscale(img, num_output_channels=1) if gray else img
    levels = torch.clamp((src * 255.0).round(), 0, 255)
    q = levels / 255.0
    n = _photon_levels(levels)
    noise = poisson_counts(rng, q * n) / n - q
    return torch.clamp(img + noise * torch.tensor(scale, dtype=torch.float32), 0, 1)


def usm_kernel(radius: int = USM_RADIUS) -> torch.Tensor:
    """USMSharp's (1, r, r) Gaussian: the outer product of ``cv2.getGaussianKernel(r, 0)``.

    With sigma 0 OpenCV uses sigma = 0.3 * ((r - 1) / 2 - 1) + 0.8 (8.0 for r = 51).
    """
    import cv2

    g = cv2.getGaussianKernel(radius, 0)
    return torch.from_numpy(np.dot(g, g.T)).to(torch.float32).unsqueeze(0)


def usm_sharpen(img: torch.Tensor, weight: float = USM_WEIGHT, threshold: float = USM_THRESHOLD) -> torch.Tensor:
    """Unsharp masking as USMSharp does it (``img_process_util.py:74-83``).

    residual = img - G * img; sharp = clip(img + weight * residual, 0, 1); the mask
    (|residual| * 255 > threshold) is blurred with the same Gaussian G into a soft
    mask m, and the result is m * sharp + (1 - m) * img.
    """
    kernel = usm_kernel()
    residual = img - blur(img, kernel)
    mask = (torch.abs(residual) * 255 > threshold).to(torch.float32)
    soft = blur(mask, kernel)
    sharp = torch.clamp(img + weight * residual, 0, 1)
    return soft * sharp + (1 - soft) * img


def quantize(img: torch.Tensor) -> np.ndarray:
    """The final clamp((x * 255).round(), 0, 255) as an (H, W, 3) uint8 RGB array."""
    out = torch.clamp((img * 255.0).round(), 0, 255)
    return out[0].permute(1, 2, 0).to(torch.uint8).numpy()
