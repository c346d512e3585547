"""Overlapping-tile inference for super-resolution models.

A large image is cut into ``tile`` x ``tile`` pieces; each piece is run with
``tile_pad`` extra pixels of real context on every side (less at the image
border, where there is none), and only the piece's own area of the output is
kept (the padded margins are cropped away). This is the scheme of Real-ESRGAN's
``RealESRGANer.tile_process`` (xinntao/Real-ESRGAN, ``realesrgan/utils.py``) and
of realesrgan-ncnn-vulkan (``prepadding`` 10), written here for any model.

Tiled output equals untiled output exactly (up to float summation order) when
``tile_pad`` is at least the model's receptive-field radius in input pixels;
with a smaller pad (Real-ESRGAN uses 10 for a much larger radius) the seams
differ slightly, which is the usual price for bounded memory.

Works on numpy arrays and torch tensors alike: only slicing on the last two
axes (``(..., H, W)``) is used, so the batch/channel axes pass through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Tile:
    """One tile: ``core`` is the area it owns, ``padded`` what the model sees
    (both ``(y0, y1, x0, x1)`` in input pixels)."""

    core: tuple[int, int, int, int]
    padded: tuple[int, int, int, int]


def tile_grid(height: int, width: int, tile: int, tile_pad: int) -> Iterator[Tile]:
    """Yield the tiles covering a ``height`` x ``width`` image, row by row.

    Cores partition the image (the last row/column may be smaller); each padded
    box is the core grown by ``tile_pad`` and clipped to the image.
    """
    if tile <= 0:
        raise ValueError(f"tile must be > 0, got {tile}")
    if tile_pad < 0:
        raise ValueError(f"tile_pad must be >= 0, got {tile_pad}")
    for y0 in range(0, height, tile):
        y1 = min(y0 + tile, height)
        for x0 in range(0, width, tile):
            x1 = min(x0 + tile, width)
            padded = (max(y0 - tile_pad, 0), min(y1 + tile_pad, height),
                      max(x0 - tile_pad, 0), min(x1 + tile_pad, width))
            yield Tile((y0, y1, x0, x1), padded)


def _empty_like(sample: Any, shape: tuple[int, ...]) -> Any:
    """An uninitialized array/tensor of ``shape`` with ``sample``'s type, dtype
    and device (torch tensors have ``new_empty``; numpy arrays do not)."""
    if hasattr(sample, "new_empty"):
        return sample.new_empty(shape)
    return np.empty(shape, dtype=sample.dtype)


def run_tiled(fn: Callable[[Any], Any], x: Any, scale: int, tile: int, tile_pad: int) -> Any:
    """Apply the ``scale``-times upscaling ``fn`` to ``x`` (``(..., H, W)``) tile
    by tile and stitch the results.

    ``fn`` maps ``(..., h, w)`` to ``(..., scale*h, scale*w)``. With ``tile <= 0``
    or an image no larger than one tile, ``fn(x)`` is returned as is.
    """
    height, width = int(x.shape[-2]), int(x.shape[-1])
    if tile <= 0 or (height <= tile and width <= tile):
        return fn(x)
    out = None
    for t in tile_grid(height, width, tile, tile_pad):
        py0, py1, px0, px1 = t.padded
        y = fn(x[..., py0:py1, px0:px1])
        expected = (scale * (py1 - py0), scale * (px1 - px0))
        if tuple(y.shape[-2:]) != expected:
            raise ValueError(f"tiled model returned {tuple(y.shape[-2:])}, expected {expected}")
        if out is None:
            out = _empty_like(y, tuple(y.shape[:-2]) + (scale * height, scale * width))
        cy0, cy1, cx0, cx1 = t.core
        # where the core sits inside the padded tile's output
        oy0, ox0 = scale * (cy0 - py0), scale * (cx0 - px0)
        oy1, ox1 = oy0 + scale * (cy1 - cy0), ox0 + scale * (cx1 - cx0)
        out[..., scale * cy0:scale * cy1, scale * cx0:scale * cx1] = y[..., oy0:oy1, ox0:ox1]
    return out
