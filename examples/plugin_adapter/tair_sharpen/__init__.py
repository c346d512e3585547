"""Example tair-bench restorer plugin (see ../pyproject.toml for the entry point).

A restorer is one class: say how it wants its input (``input_mode``), whether it
uses prompts, and implement ``restore_batch``. Anything that can change outputs
goes into ``config()`` (settings) or ``code_version`` (code), so caches stay right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageFilter

from tair_bench_adapters.base import Restorer


class Sharpen(Restorer):
    """Bicubic x``scale`` upsampling followed by an unsharp mask."""
    version_id = "tair_sharpen.Sharpen"  # stable id in cache keys: keep it when the module moves

    input_mode = "lq"        # receives the small LQ image, returns scale x larger
    accepts_prompt = False
    code_version = "1"

    def __init__(self, radius: float = 2.0, percent: int = 120, **kw):
        super().__init__(**kw)
        self.radius, self.percent = float(radius), int(percent)

    def config(self) -> dict:
        return {**super().config(), "radius": self.radius, "percent": self.percent}

    def restore_batch(self, images: Sequence[np.ndarray],
                      prompts: Sequence[str | None] | None = None) -> list[np.ndarray]:
        out = []
        for img in images:
            h, w = img.shape[:2]
            up = Image.fromarray(img).resize((w * self.scale, h * self.scale), Image.Resampling.BICUBIC)
            sharp = up.filter(ImageFilter.UnsharpMask(self.radius, self.percent, 3))
            out.append(np.asarray(sharp, dtype=np.uint8))
        return out
