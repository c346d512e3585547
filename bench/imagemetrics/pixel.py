"""Weight-free full-reference metrics through pyiqa: PSNR, SSIM and friends.

Definitions follow TAIR's ``val.py`` (pyiqa ``psnr`` and ``ssimc`` on RGB in
[0, 1], no border crop; PROTOCOL.md, "Image metrics as TAIR computes them").
"""

from __future__ import annotations

from typing import Any, ClassVar

from .pyiqa_wrap import PyiqaMetric, pyiqa_version


class Psnr(PyiqaMetric):
    """RGB PSNR, pyiqa ``psnr`` with ``test_y_channel=False``."""

    name = "psnr"
    mode = "fr"
    higher_is_better = True
    pyiqa_name = "psnr"
    pyiqa_options: ClassVar[dict] = {"test_y_channel": False}
    dtype = "float64"

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (f"PSNR over all RGB pixels, pyiqa {pyiqa_version()} 'psnr' (test_y_channel=False, crop_border=0): "
                "10*log10(1 / (MSE + 1e-8)) with uint8/255 values in [0, 1], MSE over H x W x 3 per image, "
                "computed in float64; no resize, no border crop. The 1e-8 is pyiqa's: identical images give 80 dB, "
                "and values near 48 dB read ~0.003 dB low.")


class PsnrY(PyiqaMetric):
    """PSNR on one luma channel, pyiqa ``psnr`` with ``test_y_channel=True``.

    pyiqa's default ``color_space='yiq'`` takes Y of YIQ: ``0.299 R + 0.587 G +
    0.114 B`` on [0, 1] with no offset and no rounding (pyiqa ``utils/color_util.py``
    ``rgb2yiq``). ``color_space='ycbcr'`` gives ITU-R BT.601 studio range,
    ``(16 + 65.481 R + 128.553 G + 24.966 B) / 255``, also unrounded -- not the
    same numbers as BasicSR/MATLAB, which round Y to integers.
    """

    name = "psnr_y"
    mode = "fr"
    higher_is_better = True
    pyiqa_name = "psnr"
    dtype = "float64"

    def __init__(self, color_space: str = "yiq", **options: Any):
        if color_space not in ("yiq", "ycbcr"):
            from ..errors import BenchError

            raise BenchError(f"metric 'psnr_y': color_space must be 'yiq' or 'ycbcr', got {color_space!r}")
        super().__init__(color_space=color_space, **options)
        self.color_space = color_space

    def _load(self, device: str) -> None:
        self.model = self._create(device, test_y_channel=True, color_space=self.color_space)

    @property
    def definition(self) -> str:  # type: ignore[override]
        luma = ("Y of YIQ = 0.299R + 0.587G + 0.114B (no offset)" if self.color_space == "yiq"
                else "BT.601 Y = (16 + 65.481R + 128.553G + 24.966B)/255 (studio range)")
        return (f"PSNR on luma, pyiqa {pyiqa_version()} 'psnr' (test_y_channel=True, color_space={self.color_space!r}): "
                f"{luma} on [0, 1] RGB, not rounded; 10*log10(1 / (MSE + 1e-8)), float64; no resize, no border crop.")


class Ssim(PyiqaMetric):
    """RGB SSIM, pyiqa ``ssimc`` (what TAIR reports as SSIM)."""

    name = "ssim"
    mode = "fr"
    higher_is_better = True
    pyiqa_name = "ssimc"
    dtype = "float64"

    def __init__(self, batch_size: int = 1, **options: Any):
        # pyiqa filters in float64 through conv2d: a batch of 8 512x512 images
        # peaks at ~2.4 GB on the CPU, one image at ~0.3 GB, at the same speed.
        super().__init__(batch_size=batch_size, **options)

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (f"SSIM on RGB, pyiqa {pyiqa_version()} 'ssimc' (test_y_channel=False, downsample=False, crop_border=0): "
                "values x255 rounded to integers, 11x11 Gaussian window sigma 1.5, 'valid' filtering (no padding), "
                "C1=(0.01*255)^2, C2=(0.03*255)^2, contrast-structure term clipped at 0 (ReLU), map averaged over "
                "the three channels and all valid positions, float64; no resize.")


class PyiqaGeneric(PyiqaMetric):
    """Any other weight-free pyiqa metric, run with pyiqa's default options.

    Registered by name in :mod:`bench.imagemetrics` (``ms_ssim``, ``fsim``, ...);
    the registry gives its pyiqa name, mode and direction.
    """

    def __init__(self, metric_name: str, pyiqa_name: str, mode: str, higher_is_better: bool, **options: Any):
        super().__init__(**options)
        self.name = metric_name  # type: ignore[misc]
        self.pyiqa_name = pyiqa_name  # type: ignore[misc]
        self.mode = mode  # type: ignore[misc]
        self.higher_is_better = higher_is_better  # type: ignore[misc]

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (f"pyiqa {pyiqa_version()} '{self.pyiqa_name}' with pyiqa's default options for it, on RGB float32 "
                "in [0, 1] (uint8/255); no resize, no border crop.")
