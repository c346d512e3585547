"""LPIPS computed layer by layer (bench.imagemetrics.lpips_metric.lpips_streamed) is
lpips.LPIPS.forward bit for bit: same network (the lpips package's linear layers, a
random AlexNet trunk: no weights file needed), same inputs, equal tensors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bench.imagemetrics.base import to_tensor
from bench.imagemetrics.lpips_metric import lpips_distance, lpips_streamed

torch = pytest.importorskip("torch")
lpips = pytest.importorskip("lpips")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False).eval()


@pytest.mark.parametrize("shape,batch", [((64, 64), 1), ((97, 131), 2), ((240, 321), 1)])
def test_streamed_equals_library_forward(model, shape, batch):
    rng = np.random.default_rng(sum(shape))
    a = [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for _ in range(batch)]
    b = [np.clip(x.astype(int) + rng.integers(-30, 31, x.shape), 0, 255).astype(np.uint8) for x in a]
    with torch.no_grad():
        x0, x1 = to_tensor(a), to_tensor(b)
        want = model(x0, x1, normalize=True)
        got = lpips_streamed(model, x0, x1)
    assert torch.equal(got, want)
    assert lpips_distance(model, a, b, "cpu") == [float(v) for v in want.reshape(-1).double().tolist()]


def test_other_variants_take_the_library_path(model, monkeypatch):
    """A spatial LPIPS (one map, not a number) is not streamed: the library computes it."""
    monkeypatch.setattr(model, "spatial", True)
    x = to_tensor([np.zeros((64, 64, 3), np.uint8)])
    with torch.no_grad():
        assert lpips_streamed(model, x, x).shape == model(x, x, normalize=True).shape == (1, 1, 64, 64)
