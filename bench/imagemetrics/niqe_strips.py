"""NIQE with its local normalization computed in row strips: pyiqa's numbers, bounded memory.

pyiqa 0.1.16's NIQE (``pyiqa/archs/niqe_arch.py``, ``niqe``) normalizes the whole float64
Y image at each of its two scales with ``normalize_img_with_gauss(img, padding='replicate')``
(``pyiqa/archs/func_util.py``): a 7x7 Gaussian local mean and deviation by ``imfilter``, a
float64 ``conv2d`` that a CPU computes by unfolding 49 shifted copies of the image. On a
2048x1536 image that unfolding alone is +1.28 GB of peak memory (measured), for a filter
whose every output pixel reads only its 7x7 neighbourhood.

So, exactly: each output row depends on the input rows within ``kernel_size // 2`` (3) of
it, and ``'replicate'`` padding acts only at the image's own top and bottom. A strip of
output rows ``[r0, r1)`` is therefore pyiqa's own function applied to input rows
``[r0 - 3, r1 + 3)`` (clipped to the image), keeping the rows that are not halo: at a strip
edge inside the image the halo holds real rows and the replicated rows reach only the
discarded halo outputs; at the image's edges the strip edge is the image edge, padded as
before. Full width, so columns are untouched. Everything else of NIQE (the 0.5 ``imresize``,
the 96x96 block features, the MVG fit) runs as pyiqa runs it.

:func:`strip_normalization` swaps the strip version in for the duration of a call
(pyiqa's ``niqe`` looks the function up in its module at call time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: output rows per strip of the normalization (memory ~ 49 x rows x width x 8 bytes)
STRIP_ROWS = 128


def strip_normalize(original, img, kernel_size: int = 7, sigma: float = 7.0 / 6, C: int = 1,
                    padding: str = "same", strip_rows: int = STRIP_ROWS):
    """``original(img, kernel_size, sigma, C, padding)`` computed strip by strip (module doc);
    any padding other than ``'replicate'`` goes to ``original`` whole."""
    import torch

    h = img.shape[-2]
    if padding != "replicate" or h <= strip_rows:
        return original(img, kernel_size, sigma, C, padding)
    r = kernel_size // 2
    parts = []
    for r0 in range(0, h, strip_rows):
        r1 = min(h, r0 + strip_rows)
        a0, a1 = max(0, r0 - r), min(h, r1 + r)
        out = original(img[..., a0:a1, :], kernel_size, sigma, C, padding)
        parts.append(out[..., r0 - a0:r1 - a0, :])
    return torch.cat(parts, dim=-2)


@contextmanager
def strip_normalization(strip_rows: int = STRIP_ROWS) -> Iterator[None]:
    """Within the block, pyiqa's NIQE normalizes in strips (module doc)."""
    from pyiqa.archs import niqe_arch

    original = niqe_arch.normalize_img_with_gauss

    def normalize(img, kernel_size=7, sigma=7.0 / 6, C=1, padding="same"):
        return strip_normalize(original, img, kernel_size, sigma, C, padding, strip_rows)

    niqe_arch.normalize_img_with_gauss = normalize
    try:
        yield
    finally:
        niqe_arch.normalize_img_with_gauss = original
