"""DISTS in tiles (bench/imagemetrics/dists_tiled.py) against pyiqa's own DISTS forward.

pyiqa's ``DISTS`` arch is built with a random VGG16 (torchvision's ``vgg16`` served
without weights, so nothing is downloaded) and random alpha/beta: the definition under
test is the computation, which does not depend on the weight values.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.imagemetrics.dists_tiled import HALO, STRIDES, TILE, _owned, _spans, fits_one_tile, tiled_dists

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
dists_arch = pytest.importorskip("pyiqa.archs.dists_arch")


#: torchvision's builder, captured before the fixture replaces it
_VGG16 = torchvision.models.vgg16


@pytest.fixture(scope="module")
def net():
    """pyiqa's DISTS arch, random VGG16 trunk (its ``vgg16(weights='IMAGENET1K_V1')`` gets
    an untrained VGG16 instead of a download), random positive alpha/beta."""
    mp = pytest.MonkeyPatch()
    mp.setattr(torchvision.models, "vgg16", lambda weights=None, **kwargs: _VGG16(weights=None))
    try:
        torch.manual_seed(3)
        model = dists_arch.DISTS(pretrained=False).eval()
    finally:
        mp.undo()
    return model


def pair(h: int, w: int, seed: int):
    rng = np.random.default_rng(seed)
    ref = rng.random((1, 3, h, w)).astype(np.float32)
    pred = np.clip(ref + 0.1 * rng.standard_normal(ref.shape), 0, 1).astype(np.float32)
    return torch.from_numpy(pred), torch.from_numpy(ref)


def test_tiles_own_every_position_of_every_stage_once():
    """Worked by hand for 100 rows, tile 32: interiors [0,32) [32,64) [64,96) [96,100); at
    stride 16 they own positions 0-1, 2-3, 4-5, 6 of ceil(100/16) = 7; and for a range of
    sizes the owned slices of every stage tile the whole ceil(size/stride) positions."""
    spans = _spans(100, 32, 16)
    assert [(r0, r1) for r0, r1, _, _ in spans] == [(0, 32), (32, 64), (64, 96), (96, 100)]
    owned = [_owned(r0, r1, a0, 16) for r0, r1, a0, _ in spans]
    assert [(s.start + a0 // 16, s.stop + a0 // 16) for s, (_, _, a0, _) in zip(owned, spans)] == \
        [(0, 2), (2, 4), (4, 6), (6, 7)]
    for size in (1, 15, 16, 17, 100, 511, 737, 2048):
        for stride in STRIDES:
            got = []
            for r0, r1, a0, _ in _spans(size, 64, 112):
                s = _owned(r0, r1, a0, stride)
                got.extend(range(s.start + a0 // stride, s.stop + a0 // stride))
            assert got == list(range(-(-size // stride))), (size, stride)
    side = TILE + 2 * HALO
    assert fits_one_tile(side, side) and not fits_one_tile(side + 1, 100) and not fits_one_tile(100, side + 1)


@pytest.mark.parametrize("h, w", [(161, 147), (144, 176)])
def test_tiled_dists_equals_pyiqa_forward(net, h, w):
    """Tiles of 64 interior pixels with the 112-pixel halo (9 tiles, odd sizes included):
    the value equals pyiqa's whole-image DISTS.forward to 1e-5; with a halo too small for
    the receptive field (16 px) it does not, which shows the halo is what makes it exact."""
    x, y = pair(h, w, h + w)
    with torch.no_grad():
        whole = float(net(x, y))
    assert tiled_dists(net, x, y, tile=64, halo=HALO) == pytest.approx(whole, abs=1e-5)
    assert abs(tiled_dists(net, x, y, tile=64, halo=16) - whole) > 1e-5
