"""Weight-free full-reference metrics: PSNR and SSIM, our exact code (the other weight-free
pyiqa metrics: :mod:`.pyiqa_generic`).

Definitions follow TAIR's ``val.py`` (pyiqa ``psnr`` and ``ssimc`` on RGB in
[0, 1], no border crop; TAIR val.py:68-69, :185-186).
PSNR and SSIM are computed by :mod:`.psnr_exact` and :mod:`.ssim_exact`, which
reproduce pyiqa 0.1.16's arithmetic (agreement with pyiqa itself < 1e-6 is
tested, ``tests/test_ssim_fast.py``) without importing torch or pyiqa, in row
strips: peak memory is a few float64 strips of the image, whatever its size.
Both tile exactly (a sum over pixels; a 'valid' 11x11 window with a 10-row
halo).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import ImageMetric
from .luma import check_color_space
from .psnr_exact import psnr_luma, psnr_rgb
from .ssim_exact import ssim

#: the pyiqa release whose arithmetic psnr/ssim reproduce (pinned by the 'iqa' extra; tested against it)
PYIQA_REFERENCE = "0.1.16"


class _ExactPixelMetric(ImageMetric):
    """A full-reference metric computed pair by pair by a numpy function ``_one(pred, ref)``."""

    mode = "fr"
    higher_is_better = True

    def _one(self, pred: np.ndarray, ref: np.ndarray) -> float:
        raise NotImplementedError

    def _score(self, preds: list[np.ndarray], refs: list[np.ndarray] | None,
               instances: Sequence[Sequence[Any]] | None) -> list[float | None]:
        return [float(self._one(p, r)) for p, r in zip(preds, refs)]


class Psnr(_ExactPixelMetric):
    """RGB PSNR, as pyiqa ``psnr`` with ``test_y_channel=False``."""

    name = "psnr"
    summary = "PSNR on RGB, pyiqa 'psnr' (as TAIR)"
    header = "PSNR"
    tolerance = 0.1
    definition = (f"PSNR over all RGB pixels, as pyiqa {PYIQA_REFERENCE} 'psnr' (test_y_channel=False, "
                  "crop_border=0): 10*log10(1 / (MSE + 1e-8)) with uint8/255 values in [0, 1], MSE over H x W x 3 "
                  "per image (integer sum of squared uint8 differences / (N * 255^2)); no resize, no border crop. "
                  "The 1e-8 is pyiqa's: identical images give 80 dB, and values near 48 dB read ~0.003 dB low.")

    def _one(self, pred: np.ndarray, ref: np.ndarray) -> float:
        return psnr_rgb(pred, ref)


class PsnrY(_ExactPixelMetric):
    """PSNR on one luma channel, as pyiqa ``psnr`` with ``test_y_channel=True``.

    pyiqa's default ``color_space='yiq'`` takes Y of YIQ: ``0.299 R + 0.587 G +
    0.114 B`` on [0, 1] with no offset and no rounding (pyiqa ``utils/color_util.py``
    ``rgb2yiq``). ``color_space='ycbcr'`` gives ITU-R BT.601 studio range,
    ``(16 + 65.481 R + 128.553 G + 24.966 B) / 255``, also unrounded -- not the
    same numbers as BasicSR/MATLAB, which round Y to integers.
    """

    name = "psnr_y"
    summary = "PSNR on luma (pyiqa YIQ Y by default)"

    def __init__(self, color_space: str = "yiq", **options: Any):
        check_color_space(color_space, "psnr_y")
        super().__init__(color_space=color_space, **options)
        self.color_space = color_space

    def _one(self, pred: np.ndarray, ref: np.ndarray) -> float:
        return psnr_luma(pred, ref, self.color_space)

    @property
    def definition(self) -> str:  # type: ignore[override]
        luma = ("Y of YIQ = 0.299R + 0.587G + 0.114B (no offset)" if self.color_space == "yiq"
                else "BT.601 Y = (16 + 65.481R + 128.553G + 24.966B)/255 (studio range)")
        return (f"PSNR on luma, as pyiqa {PYIQA_REFERENCE} 'psnr' (test_y_channel=True, "
                f"color_space={self.color_space!r}): {luma} on [0, 1] RGB with pyiqa's float32-rounded "
                "coefficients, not rounded; 10*log10(1 / (MSE + 1e-8)), float64; no resize, no border crop.")


class Ssim(_ExactPixelMetric):
    """RGB SSIM, as pyiqa ``ssimc`` (what TAIR reports as SSIM)."""

    name = "ssim"
    summary = "SSIM on RGB, pyiqa 'ssimc' (as TAIR)"
    header = "SSIM"
    tolerance = 0.005
    channel = "rgb"

    def __init__(self, downsample: bool = False, **options: Any):
        super().__init__(downsample=bool(downsample), **options)
        self.downsample = bool(downsample)

    def _one(self, pred: np.ndarray, ref: np.ndarray) -> float:
        return ssim(pred, ref, self.channel, "yiq", self.downsample)

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (f"SSIM on RGB, as pyiqa {PYIQA_REFERENCE} 'ssimc' (test_y_channel=False, "
                f"downsample={self.downsample}, crop_border=0): values x255 rounded to integers, "
                + _SSIM_COMMON.format(ds=_downsample_text(self.downsample)))


class SsimY(Ssim):
    """SSIM on luma, as pyiqa ``ssim`` (its default: Y of YIQ, rounded to integers)."""

    name = "ssim_y"
    summary = "SSIM on luma, pyiqa 'ssim' (YIQ Y, rounded)"
    header = ""  # not Ssim's: the name
    tolerance = None  # not gated, unlike Ssim
    channel = "y"

    def __init__(self, color_space: str = "yiq", downsample: bool = False, **options: Any):
        check_color_space(color_space, "ssim_y")
        super().__init__(downsample=downsample, color_space=color_space, **options)
        self.color_space = color_space

    def _one(self, pred: np.ndarray, ref: np.ndarray) -> float:
        return ssim(pred, ref, "y", self.color_space, self.downsample)

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (f"SSIM on luma, as pyiqa {PYIQA_REFERENCE} 'ssim' (test_y_channel=True, "
                f"color_space={self.color_space!r}, downsample={self.downsample}, crop_border=0): pyiqa's Y "
                "(float32-rounded coefficients) x255 rounded half to even, "
                + _SSIM_COMMON.format(ds=_downsample_text(self.downsample)))


_SSIM_COMMON = ("{ds}11x11 Gaussian window sigma 1.5 (float32-rounded, as pyiqa builds it), 'valid' filtering "
                "(no padding), C1=(0.01*255)^2, C2=(0.03*255)^2, contrast-structure term clipped at 0 (ReLU), map "
                "averaged over the channels and all valid positions, float64; no resize.")


def _downsample_text(downsample: bool) -> str:
    return ("then f x f block means with f = max(1, round(min(H, W) / 256)) (pyiqa's avg_pool2d), "
            if downsample else "")
