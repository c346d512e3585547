"""A JPEG round trip in float arithmetic, as Real-ESRGAN's ``DiffJPEG`` computes it.

Real-ESRGAN compresses with BasicSR's ``DiffJPEG(differentiable=False)``
(``upstream/Real-ESRGAN/realesrgan/models/realesrgan_model.py:25, 109, 154, 159``), a
baseline-JPEG model that never writes a file: encode and decode in float32, so the
only loss is the quantization of the DCT coefficients and of the chroma resolution.
This is our own implementation of the JPEG definition (ITU-T T.81: level shift,
8x8 DCT-II, quantization; JFIF colour transform and 4:2:0 sampling), with every choice
where DiffJPEG departs from a file-writing encoder taken from it and cited:

* Input: RGB in [0, 1], clamped by the caller, never rounded to 8 bits
  (``realesrgan_model.py:108, 153, 158``); scaled by 255 (``diffjpeg.py:230``).
* Padding: bottom and right to a multiple of 16 with zeros, cropped after decoding
  (``basicsr/utils/diffjpeg.py:479-490``); a real encoder replicates edge pixels.
* Colour: JFIF YCbCr with offsets (0, 128, 128) (``diffjpeg.py:55-57``) and its
  inverse (``diffjpeg.py:385-386``).
* Chroma 4:2:0: Cb and Cr averaged over 2x2 (``diffjpeg.py:91-92``), restored by
  repeating each sample 2x2 (``diffjpeg.py:366-375``).
* DCT: level shift -128, 2-D DCT-II with C(0) = 1/sqrt(2), factor 1/4
  (``diffjpeg.py:127-132, 142-143``); the inverse (``diffjpeg.py:303-319``).
* Quantization tables: the T.81 Annex K luminance and chrominance tables
  (``diffjpeg.py:14-23``), with the luminance table **transposed** (``diffjpeg.py:18``:
  the coefficient of vertical frequency u and horizontal frequency v is divided by
  the standard table's entry in row v, column u; the chrominance table is symmetric).
* Quality: a continuous factor, 5000 / q / 100 below 50 and (200 - 2 q) / 100 from 50
  (``diffjpeg.py:32-45``; IJG's formula without rounding the scaled table to integers
  or clipping it to >= 1), applied as table * factor (``diffjpeg.py:168-173``).
* Rounding: ``torch.round`` of coefficient / (table * factor), ties to even
  (``diffjpeg.py:460-462``, ``differentiable=False``).
* Output: clamped to [0, 255] after the colour transform, divided by 255
  (``diffjpeg.py:442-443``).

Every sum is one ``torch.tensordot`` over the 64 samples of a block or the 3 colour
components, the same reductions (same float32 rounding) as DiffJPEG's.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

#: ITU-T T.81 Annex K, Table K.1 (luminance), row = vertical frequency.
LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
#: Table K.2 (chrominance): 17..66 in the low 4x4 frequencies, 99 elsewhere.
CHROMA_TABLE = tuple(
    tuple(row[:4]) + (99,) * 4
    for row in ((17, 18, 24, 47), (18, 21, 26, 66), (24, 26, 56, 99), (47, 66, 99, 99))
) + ((99,) * 8,) * 4

#: JFIF RGB -> YCbCr rows (Y, Cb, Cr) and YCbCr -> RGB rows (R, G, B), on 0..255 values.
RGB_TO_YCC = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))
YCC_TO_RGB = ((1.0, 0.0, 1.402), (1.0, -0.344136, -0.714136), (1.0, 1.772, 0.0))
CHROMA_OFFSET = 128.0
BLOCK = 8
#: DiffJPEG pads to a multiple of 16 (two 8x8 blocks, so chroma blocks are whole too).
PAD_TO = 16


def quality_factor(quality: torch.Tensor) -> torch.Tensor:
    """The continuous table scale of a float32 quality (0-d tensor) in (0, 100).

    In float32 tensor arithmetic as DiffJPEG computes it (``5000. / q`` on a tensor is
    torch's reciprocal times 5000).
    """
    q = quality.to(torch.float32)
    scaled = 5000.0 / q if q < 50 else 200.0 - q * 2
    return scaled / 100.0


@functools.lru_cache(maxsize=None)
def _tables() -> dict[str, torch.Tensor]:
    """Constant tensors (built once): quantization tables, DCT bases and scales, colour matrices."""
    # cos((2x + 1) u pi / 16) for sample x and frequency u, in float64 as written
    cos = np.array([[np.cos((2 * x + 1) * u * np.pi / 16) for u in range(BLOCK)] for x in range(BLOCK)])
    # forward[x, y, u, v] = cos_xu * cos_yv; the inverse maps frequencies back: its transpose
    forward = np.einsum("xu,yv->xyuv", cos, cos).astype(np.float32)
    inverse = np.ascontiguousarray(forward.transpose(2, 3, 0, 1))
    c = np.array([1.0 / math.sqrt(2.0)] + [1.0] * (BLOCK - 1))
    norm = np.outer(c, c)
    return {
        "luma": torch.tensor(LUMA_TABLE, dtype=torch.float32).T.contiguous(),  # transposed: see module doc
        "chroma": torch.tensor(CHROMA_TABLE, dtype=torch.float32).T.contiguous(),
        "dct": torch.from_numpy(forward),
        "idct": torch.from_numpy(inverse),
        "dct_scale": torch.from_numpy((norm * 0.25).astype(np.float32)),
        "idct_scale": torch.from_numpy(norm.astype(np.float32)),
        # (component in, component out) as transposed views: the memory layout DiffJPEG's
        # matrices have, so that the matrix product takes the same BLAS path
        "to_ycc": torch.tensor(RGB_TO_YCC, dtype=torch.float32).T,
        "to_rgb": torch.tensor(YCC_TO_RGB, dtype=torch.float32).T,
        "ycc_offset": torch.tensor([0.0, CHROMA_OFFSET, CHROMA_OFFSET]),
    }


def _to_blocks(plane: torch.Tensor) -> torch.Tensor:
    """(H, W) -> (H/8 * W/8, 8, 8), blocks in raster order."""
    h, w = plane.shape
    return plane.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).permute(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)


def _from_blocks(blocks: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`_to_blocks`."""
    return blocks.reshape(h // BLOCK, w // BLOCK, BLOCK, BLOCK).permute(0, 2, 1, 3).reshape(h, w)


def _code_plane(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Level shift, DCT, quantize, dequantize, inverse DCT of one (H, W) plane (0..255)."""
    t = _tables()
    h, w = plane.shape
    coef = t["dct_scale"] * torch.tensordot(_to_blocks(plane) - 128, t["dct"], dims=2)
    levels = torch.round(coef / table)
    restored = 0.25 * torch.tensordot((levels * table) * t["idct_scale"], t["idct"], dims=2) + 128
    return _from_blocks(restored, h, w)


def jpeg(img: torch.Tensor, quality: float) -> torch.Tensor:
    """JPEG-compress and decode ``img`` (1, 3, H, W) in [0, 1] at float ``quality``.

    Returns (1, 3, H, W) float32 in [0, 1]; ``quality`` in (0, 100) (at 100 the
    table scale is 0).
    """
    if img.dim() != 4 or img.shape[:2] != (1, 3):
        raise ValueError(f"expected a (1, 3, H, W) tensor, got {tuple(img.shape)}")
    if not 0.0 < float(quality) < 100.0:
        raise ValueError(f"JPEG quality must be in (0, 100), got {quality}")
    t = _tables()
    factor = quality_factor(torch.tensor(float(quality), dtype=torch.float32))
    h, w = img.shape[-2:]
    ph, pw = -h % PAD_TO, -w % PAD_TO
    x = F.pad(img, (0, pw, 0, ph), mode="constant", value=0) * 255
    ycc = torch.tensordot(x.permute(0, 2, 3, 1), t["to_ycc"], dims=1) + t["ycc_offset"]  # (1, H, W, 3)
    hp, wp = h + ph, w + pw
    luma = _code_plane(ycc[0, :, :, 0], t["luma"] * factor)
    chroma = []
    for k in (1, 2):
        sub = F.avg_pool2d(ycc[:, :, :, k].unsqueeze(1), kernel_size=2, stride=2)[0, 0]
        coded = _code_plane(sub, t["chroma"] * factor)
        chroma.append(coded.repeat_interleave(2, dim=0).repeat_interleave(2, dim=1))
    decoded = torch.stack([luma, *chroma], dim=-1).reshape(1, hp, wp, 3)
    rgb = torch.tensordot(decoded - t["ycc_offset"], t["to_rgb"], dims=1).permute(0, 3, 1, 2)
    return (torch.clamp(rgb, 0, 255) / 255)[:, :, :h, :w]
