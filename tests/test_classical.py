"""Baselines and the harness's output checks."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import AdapterError
from bench.io.images import bicubic_resize
from bench.pipeline.stages.restore import check_output
from tair_bench_adapters.classical import Bicubic, Lanczos, Unsharp


@pytest.mark.parametrize("cls", [Bicubic, Lanczos, Unsharp])
def test_baselines_upscale_by_scale(cls):
    lq = np.random.default_rng(1).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    (out,) = cls(scale=4).restore_batch([lq])
    assert out.shape == (40, 48, 3) and out.dtype == np.uint8


def test_bicubic_restorer_equals_the_lq_reference_row():
    """The 'LQ' row is the bicubic-upsampled LQ; the bicubic restorer must be identical to it."""
    lq = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert np.array_equal(Bicubic(scale=4).restore_batch([lq])[0], bicubic_resize(lq, (32, 32)))


def test_constant_image_stays_constant():
    """Interpolating a flat image gives the same flat image (hand-known answer)."""
    lq = np.full((6, 6, 3), 77, np.uint8)
    for cls in (Bicubic, Lanczos, Unsharp):
        assert np.all(cls(scale=2).restore_batch([lq])[0] == 77)


@pytest.mark.parametrize("bad,msg", [
    (np.zeros((32, 31, 3), np.uint8), "output is 31x32, expected 32x32"),
    (np.zeros((32, 32, 3), np.float32), "dtype is float32, expected uint8"),
    (np.zeros((32, 32), np.uint8), "expected (H, W, 3) RGB"),
    ([[0]], "output is a list"),
])
def test_bad_outputs_name_restorer_and_image(bad, msg):
    with pytest.raises(AdapterError) as err:
        check_output(bad, "myrestorer", "img_7", (32, 32))
    assert "restorer 'myrestorer', image 'img_7'" in str(err.value) and msg in str(err.value)
