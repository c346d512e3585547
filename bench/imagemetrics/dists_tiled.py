"""DISTS of a large pair in tiles: pyiqa's definition, with memory bounded by the tile size.

pyiqa 0.1.16's DISTS (``pyiqa/archs/dists_arch.py``, ``DISTS.forward``) runs VGG16 with
L2 pooling on the whole image, keeps the six stage outputs of both images (the input,
relu1_2, relu2_2, relu3_3, relu4_3, relu5_3), and reduces each to per-channel spatial
statistics: means, variances and the covariance. Those stage outputs are what makes it
costly: ~122 float32 values per input pixel and image, 1.5 GB per image at 2048x1536.

The statistics are sums over positions, and every position of a stage output depends
only on a window of the input, so the same numbers come from tiles:

* **receptive field.** Stage 1 is two 3x3 convolutions (radius 2 input pixels); each
  later stage starts with L2 pooling (3 taps, stride 2, padding 1: ``filter_size=5``
  gives ``hanning(5)[1:-1]`` and padding ``(5 - 2) // 2``) and has two or three 3x3
  convolutions at its stride. Radii add up to 2, 7, 21, 49 and 105 input pixels for
  stages 1-5; :data:`HALO` = 112 covers them.
* **grid.** Stage ``k`` has stride ``s = 1, 1, 2, 4, 8, 16`` (stage 0 is the input); a
  pooling output ``i`` is centred on its input ``2 i``, and a stage's size is
  ``ceil(H / s)``. Tiles start at multiples of 16 (:data:`TILE` and :data:`HALO` are),
  so a tile's local positions are the full image's, shifted by ``start / s``.
* **ownership.** The tile with interior rows ``[r0, r1)`` owns the stage-``k`` positions
  ``i`` with ``r0 <= i s < r1`` (likewise for columns): every position is owned once,
  and each owned position's receptive field lies inside the tile with its halo, or meets
  the image border exactly where the whole-image network meets it (same zero padding).
  Owned values therefore equal the whole-image values.
* **statistics.** Per stage and channel, float64 sums of x, y, x^2, y^2 and xy over the
  owned positions; then pyiqa's formula: ``mean = sum / n``, ``var = E[x^2] - mean^2``
  (pyiqa: ``mean((x - mean)^2)``, the same quantity), ``cov = E[xy] - mean_x mean_y``,
  ``S1``, ``S2`` with ``c1 = c2 = 1e-6`` and the alpha/beta weights.

What differs from pyiqa is only floating-point rounding: pyiqa reduces in float32 over
the whole map, we accumulate float64 per tile, and a convolution may round differently
on a tile than on the whole image. Tested against pyiqa's own forward to 1e-5
(``tests/test_dists_tiled.py``). A pair that fits in one tile (both sides <= TILE + 2 HALO)
is scored by pyiqa's forward itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: interior rows/columns of a tile (a multiple of 16)
TILE = 384
#: input pixels added around a tile's interior (>= the 105-pixel receptive field of stage 5; a multiple of 16)
HALO = 112
#: stride of each DISTS stage output relative to the input (stage 0 is the input itself)
STRIDES = (1, 1, 2, 4, 8, 16)
C1 = C2 = 1e-6
#: channels converted to float64 at a time when summing a stage's statistics
CHANNEL_CHUNK = 16


def fits_one_tile(height: int, width: int, tile: int = TILE, halo: int = HALO) -> bool:
    """True when the whole pair is one tile (pyiqa's forward scores it directly)."""
    return height <= tile + 2 * halo and width <= tile + 2 * halo


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _spans(size: int, tile: int, halo: int) -> list[tuple[int, int, int, int]]:
    """``(r0, r1, a0, a1)`` per tile along one axis: interior ``[r0, r1)``, read ``[a0, a1)``."""
    return [(r0, min(size, r0 + tile), max(0, r0 - halo), min(size, r0 + tile + halo))
            for r0 in range(0, size, tile)]


def _owned(r0: int, r1: int, a0: int, stride: int) -> slice:
    """Local indices (in a stage output of a tile read from ``a0``) of the positions it owns."""
    return slice(r0 // stride - a0 // stride, _ceil_div(r1, stride) - a0 // stride)


def _accumulate(sums, px_all, py_all) -> int:
    """Add the float64 sums of x, y, x^2, y^2, xy per channel of one stage's owned positions
    ``(C, h, w)`` to ``sums`` (5, C); channels a few at a time, so the float64 copies stay
    small. Returns the number of positions."""
    import torch

    for c0 in range(0, px_all.shape[0], CHANNEL_CHUNK):
        px = px_all[c0:c0 + CHANNEL_CHUNK].double().flatten(1)
        py = py_all[c0:c0 + CHANNEL_CHUNK].double().flatten(1)
        sums[:, c0:c0 + CHANNEL_CHUNK] += torch.stack([px.sum(1), py.sum(1), (px * px).sum(1), (py * py).sum(1),
                                                       (px * py).sum(1)])
    return px_all.shape[1] * px_all.shape[2]


def _stage_outputs(net: Any, t) -> Iterator:
    """The six feature maps of ``DISTS.forward_once`` in its order (the input, then
    ``(t - mean) / std`` through stage1 ... stage5), one at a time: each is dropped when the
    next is computed."""
    yield t
    h = (t - net.mean) / net.std
    for stage in (net.stage1, net.stage2, net.stage3, net.stage4, net.stage5):
        h = stage(h)
        yield h


def tiled_dists(net: Any, x, y, tile: int = TILE, halo: int = HALO) -> float:
    """DISTS of one pair, ``x`` and ``y`` float32 ``(1, 3, H, W)`` tensors in [0, 1], with
    ``net`` a pyiqa ``DISTS`` arch (its ``mean``, ``std``, ``stage1``-``stage5``, ``alpha``,
    ``beta``, ``chns``).

    Per tile, x runs through the stages keeping only the owned part of each stage output
    (about a third of the tile's maps), then y runs and each of its stage outputs is summed
    with x's part as soon as it is computed: one image's maps of one stage are held at a
    time, plus x's owned parts."""
    import torch

    if tile % 16 or halo % 16:
        raise ValueError("tile and halo must be multiples of 16 (the stride of stage 5)")
    h, w = x.shape[-2:]
    sums = [torch.zeros(5, c, dtype=torch.float64, device=x.device) for c in net.chns]
    counts = [0] * len(net.chns)
    with torch.no_grad():
        for r0, r1, a0, a1 in _spans(h, tile, halo):
            for c0, c1, b0, b1 in _spans(w, tile, halo):
                owned = [(_owned(r0, r1, a0, s), _owned(c0, c1, b0, s)) for s in STRIDES]
                fx = [f[0, :, rows, cols].clone()
                      for f, (rows, cols) in zip(_stage_outputs(net, x[..., a0:a1, b0:b1]), owned)]
                for k, f in enumerate(_stage_outputs(net, y[..., a0:a1, b0:b1])):
                    rows, cols = owned[k]
                    counts[k] += _accumulate(sums[k], fx[k], f[0, :, rows, cols])
                del fx
        w_sum = (net.alpha.sum() + net.beta.sum()).double()
        alpha = torch.split(net.alpha.double().flatten() / w_sum, net.chns)
        beta = torch.split(net.beta.double().flatten() / w_sum, net.chns)
        dist1 = dist2 = 0.0
        for k, n in enumerate(counts):
            if n != _ceil_div(h, STRIDES[k]) * _ceil_div(w, STRIDES[k]):
                raise AssertionError(f"DISTS tiles own {n} positions of stage {k}, expected the whole map")
            mx, my, exx, eyy, exy = sums[k] / n
            s1 = (2 * mx * my + C1) / (mx * mx + my * my + C1)
            s2 = (2 * (exy - mx * my) + C2) / ((exx - mx * mx) + (eyy - my * my) + C2)
            dist1 += float((alpha[k] * s1).sum())
            dist2 += float((beta[k] * s2).sum())
    return 1.0 - (dist1 + dist2)
