"""Classical baselines: interpolation-only "restorers" that set the floor.

They run on the CPU in milliseconds and never invent detail, so they show what a
learned restorer adds (or hallucinates) on top of plain upsampling.
"""

from __future__ import annotations

from typing import ClassVar, Optional, Sequence

import numpy as np
from PIL import Image, ImageFilter

from bench.io.images import bicubic_resize, to_rgb_array

from .base import Restorer


class Bicubic(Restorer):
    """PIL bicubic upsampling by ``scale`` (identical to the harness's LQ row)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.classical.Bicubic"

    def restore_batch(self, images: Sequence[np.ndarray], prompts: Optional[Sequence] = None) -> list[np.ndarray]:
        return [bicubic_resize(im, (im.shape[1] * self.scale, im.shape[0] * self.scale)) for im in images]


class Lanczos(Restorer):
    """PIL Lanczos (a = 3) upsampling by ``scale``."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.classical.Lanczos"

    def restore_batch(self, images: Sequence[np.ndarray], prompts: Optional[Sequence] = None) -> list[np.ndarray]:
        out = []
        for im in images:
            size = (im.shape[1] * self.scale, im.shape[0] * self.scale)
            out.append(to_rgb_array(Image.fromarray(im).resize(size, Image.Resampling.LANCZOS)))
        return out


class Unsharp(Restorer):
    """Bicubic upsampling followed by PIL's unsharp mask.

    Arguments: ``radius`` (Gaussian radius in output pixels, default 2),
    ``percent`` (strength, default 150) and ``threshold`` (default 3), with PIL's
    meaning (``PIL.ImageFilter.UnsharpMask``).
    """
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.classical.Unsharp"

    def __init__(self, scale: int = 4, device: str = "cpu", radius: float = 2.0, percent: int = 150,
                 threshold: int = 3):
        super().__init__(scale=scale, device=device, radius=float(radius), percent=int(percent),
                         threshold=int(threshold))

    def restore_batch(self, images: Sequence[np.ndarray], prompts: Optional[Sequence] = None) -> list[np.ndarray]:
        f = ImageFilter.UnsharpMask(self.args["radius"], self.args["percent"], self.args["threshold"])
        out = []
        for im in images:
            up = bicubic_resize(im, (im.shape[1] * self.scale, im.shape[0] * self.scale))
            out.append(to_rgb_array(Image.fromarray(up).filter(f)))
        return out
