"""NIQE's local normalization in row strips (bench/imagemetrics/niqe_strips.py) against pyiqa's."""

from __future__ import annotations

import numpy as np
import pytest

from bench.imagemetrics.niqe_strips import strip_normalization, strip_normalize

torch = pytest.importorskip("torch")
niqe_arch = pytest.importorskip("pyiqa.archs.niqe_arch")


def y_image(h: int, w: int, seed: int):
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(rng.standard_normal((h, w)), 0), 1)
    img = np.round(np.interp(smooth, (smooth.min(), smooth.max()), (0, 255)))
    return torch.from_numpy(img)[None, None]


@pytest.mark.parametrize("h, w, rows", [(157, 120, 16), (96, 200, 7), (40, 33, 50)])
def test_strips_equal_the_whole_image_normalization(h, w, rows):
    """Strips of 16 and 7 rows (not dividing the height) and one strip larger than the
    image: the normalized image equals pyiqa's whole-image normalize_img_with_gauss with
    replicate padding to 1e-12 (float64; only the convolution's summation may differ)."""
    img = y_image(h, w, h)
    whole = niqe_arch.normalize_img_with_gauss(img, padding="replicate")
    strips = strip_normalize(niqe_arch.normalize_img_with_gauss, img, padding="replicate", strip_rows=rows)
    assert strips.shape == whole.shape
    assert float((strips - whole).abs().max()) <= 1e-12


def test_niqe_with_strips_equals_pyiqa_niqe():
    """pyiqa's calculate_niqe on a 400x300 image (two scales, 12 blocks) with a random
    positive-definite pristine model: the same value with the strip normalization
    (strips of 32 rows) to 1e-9, and the swap is undone afterwards."""
    rng = np.random.default_rng(2)
    img = torch.from_numpy(rng.integers(0, 256, (1, 3, 300, 400)).astype(np.float64) / 255.0)
    a = rng.standard_normal((36, 36))
    mu = torch.from_numpy(rng.standard_normal((1, 36)))
    cov = torch.from_numpy(a @ a.T + 36 * np.eye(36))
    original = niqe_arch.normalize_img_with_gauss
    whole = float(niqe_arch.calculate_niqe(img, mu_pris_param=mu, cov_pris_param=cov))
    with strip_normalization(strip_rows=32):
        assert niqe_arch.normalize_img_with_gauss is not original
        strips = float(niqe_arch.calculate_niqe(img, mu_pris_param=mu, cov_pris_param=cov))
    assert niqe_arch.normalize_img_with_gauss is original
    assert np.isfinite(whole) and strips == pytest.approx(whole, abs=1e-9)
