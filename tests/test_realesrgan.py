"""Tests for the torch Real-ESRGAN adapter (adapters/realesrgan.py) and the tiling
helper (adapters/tiling.py). No released weights are needed: small random nets
with the official key layout are saved and loaded through the real adapter path."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from bench.errors import AdapterError, WeightsMissing
from tair_bench_adapters.realesrgan import RealESRGAN, RRDBNet, SRVGGNetCompact, load_network
from tair_bench_adapters.tiling import run_tiled, tile_grid

# Key names as they appear in the released RealESRGAN_x4plus.pth (BasicSR naming).
OFFICIAL_RRDB_KEYS = [
    "conv_first.weight", "conv_first.bias", "body.0.rdb1.conv1.weight",
    "body.0.rdb1.conv5.bias", "body.22.rdb3.conv5.weight", "conv_body.weight",
    "conv_up1.weight", "conv_up2.bias", "conv_hr.weight", "conv_last.bias",
]


def _tiny_rrdb() -> RRDBNet:
    torch.manual_seed(0)
    return RRDBNet(num_feat=8, num_block=1, num_grow_ch=4).eval()


def _save(tmp_path, sd, layout="params_ema", name="net.pth"):
    path = tmp_path / name
    torch.save({layout: sd} if layout else sd, path)
    return path


def _images(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]


# -- architecture ---------------------------------------------------------------------


def test_full_size_rrdbnet_has_official_keys_and_counts():
    """RealESRGAN_x4plus: conv_first + 23 RRDB x 3 RDB x 5 convs + conv_body,
    conv_up1, conv_up2, conv_hr, conv_last = 351 convs, each weight + bias = 702
    keys. 16,697,987 parameters is the published "16.7M" of ESRGAN's RRDBNet, and
    equals the weight count of the official ncnn export (checked in
    test_realesrgan_ncnn.py). Built on the meta device: no memory is allocated."""
    with torch.device("meta"):
        sd = RRDBNet().state_dict()
    assert len(sd) == 702
    assert all(k in sd for k in OFFICIAL_RRDB_KEYS)
    assert sum(v.numel() for v in sd.values()) == 16_697_987
    assert tuple(sd["body.0.rdb1.conv2.weight"].shape) == (32, 64 + 32, 3, 3)


def test_full_size_srvgg_has_official_keys():
    """realesr-general-x4v3: 34 convs (first, 32 body, last) with weight + bias and
    33 PReLUs with one weight = 101 keys at body.0 ... body.66; the last conv
    emits 3 x 4 x 4 = 48 channels for the x4 pixel shuffle."""
    with torch.device("meta"):
        sd = SRVGGNetCompact().state_dict()
    assert len(sd) == 101
    assert tuple(sd["body.0.weight"].shape) == (64, 3, 3, 3)
    assert tuple(sd["body.1.weight"].shape) == (64,)  # PReLU slopes
    assert tuple(sd["body.66.weight"].shape) == (48, 64, 3, 3)


def test_tiny_rrdbnet_keeps_the_key_pattern():
    sd = _tiny_rrdb().state_dict()
    assert len(sd) == 2 * (1 + 15 * 1 + 5)
    assert "body.0.rdb3.conv5.weight" in sd and "conv_hr.bias" in sd


# -- loading ----------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["params_ema", "params", None])
def test_official_file_layouts_load(tmp_path, layout):
    net = _tiny_rrdb()
    path = _save(tmp_path, net.state_dict(), layout)
    loaded = load_network("RealESRGAN_x4plus", path)
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))


def test_params_ema_wins_over_params(tmp_path):
    """Real-ESRGAN's own loader prefers the EMA weights when both are present."""
    ema, plain = _tiny_rrdb().state_dict(), RRDBNet(num_feat=8, num_block=1, num_grow_ch=4).state_dict()
    path = tmp_path / "both.pth"
    torch.save({"params": plain, "params_ema": ema}, path)
    loaded = load_network("RealESRGAN_x4plus", path).state_dict()
    assert torch.equal(loaded["conv_first.weight"], ema["conv_first.weight"])


def test_missing_and_unexpected_keys_are_named(tmp_path):
    sd = _tiny_rrdb().state_dict()
    del sd["conv_hr.weight"]
    sd["extra.weight"] = torch.zeros(1)
    path = _save(tmp_path, sd)
    with pytest.raises(AdapterError) as err:
        load_network("RealESRGAN_x4plus", path)
    msg = str(err.value)
    assert str(path) in msg and "conv_hr.weight" in msg and "extra.weight" in msg


# -- adapter ----------------------------------------------------------------------------


def test_adapter_shapes_dtype_and_batches(tmp_path):
    path = _save(tmp_path, _tiny_rrdb().state_dict())
    r = RealESRGAN(weights=str(path), batch_size=2)
    assert r.preflight() == []
    imgs = _images((20, 24), (20, 24), (9, 13))
    outs = r.restore_batch(imgs)
    assert [o.shape for o in outs] == [(80, 96, 3), (80, 96, 3), (36, 52, 3)]
    assert all(o.dtype == np.uint8 for o in outs)
    # batching does not change results: image 3 alone gives the same output
    assert np.array_equal(r.restore_batch(imgs[2:])[0], outs[2])


def test_tiled_equals_untiled_when_pad_covers_receptive_field(tmp_path):
    """The tiny net's receptive radius in input pixels: conv_first + 15 RDB convs
    + conv_body = 17 convs at 1x, conv_up1 at 2x (0.5 px), conv_up2, conv_hr,
    conv_last at 4x (0.75 px) -> 18.25, so tile_pad 19 reproduces the untiled
    output; tile_pad 2 does not (this shows the comparison can fail)."""
    path = _save(tmp_path, _tiny_rrdb().state_dict())
    x = torch.from_numpy(_images((21, 30))[0]).permute(2, 0, 1)[None].float() / 255
    full = RealESRGAN(weights=str(path)).infer(x)
    tiled = RealESRGAN(weights=str(path), tile=8, tile_pad=19).infer(x)
    coarse = RealESRGAN(weights=str(path), tile=8, tile_pad=2).infer(x)
    assert full.shape == (1, 3, 84, 120) and full.std() > 1e-3
    assert (tiled - full).abs().max() < 1e-4
    assert (coarse - full).abs().max() > 1e-4


def test_srvgg_with_zero_last_conv_is_nearest_upsampling(tmp_path):
    """SRVGGNetCompact adds the nearest-upsampled input to its learned residual;
    with the last conv zeroed the residual is 0, so the output is each input
    pixel repeated 4 x 4. Saved under 'params' as realesr-general-x4v3.pth is;
    denoise_strength 1 = these weights alone (no wdn blend)."""
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_feat=8, num_conv=2)
    last = f"body.{len(net.body) - 1}"
    sd = net.state_dict()
    sd[f"{last}.weight"].zero_()
    sd[f"{last}.bias"].zero_()
    path = _save(tmp_path, sd, "params")
    img = _images((7, 5))[0]
    out = RealESRGAN(model="realesr-general-x4v3", weights=str(path), denoise_strength=1).restore_batch([img])[0]
    assert np.array_equal(out, img.repeat(4, axis=0).repeat(4, axis=1))


def test_version_has_weights_sha256(tmp_path):
    path = _save(tmp_path, _tiny_rrdb().state_dict())
    v = RealESRGAN(weights=str(path)).version()
    assert hashlib.sha256(path.read_bytes()).hexdigest() in v and "RealESRGAN_x4plus" in v


def test_missing_weights_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TAIR_BENCH_WEIGHTS", str(tmp_path / "w"))
    r = RealESRGAN()
    (msg,) = r.preflight()
    assert str(tmp_path / "w" / "RealESRGAN_x4plus.pth") in msg
    assert "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth" in msg
    with pytest.raises(WeightsMissing):
        r.load()
    msg, wdn = RealESRGAN(model="realesr-general-x4v3").preflight()  # + the wdn twin (default strength 0.5)
    assert "releases/download/v0.2.5.0/realesr-general-x4v3.pth" in msg
    assert "releases/download/v0.2.5.0/realesr-general-wdn-x4v3.pth" in wdn


def test_bad_settings_are_refused():
    with pytest.raises(AdapterError, match="did you mean 'RealESRGAN_x4plus'"):
        RealESRGAN(model="RealESRGAN_x4")
    with pytest.raises(AdapterError, match="fp16 needs a CUDA"):
        RealESRGAN(fp16=True)
    with pytest.raises(AdapterError, match="x4"):
        RealESRGAN(scale=2)


# -- tiling helper ----------------------------------------------------------------------


def _box3_up2(x: np.ndarray) -> np.ndarray:
    """3x3 box sum with zero padding (receptive radius 1), then nearest x2."""
    p = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)])
    h, w = x.shape[-2:]
    s = sum(p[..., i:i + h, j:j + w] for i in range(3) for j in range(3))
    return s.repeat(2, axis=-2).repeat(2, axis=-1)


def test_tile_cores_partition_the_image():
    tiles = list(tile_grid(10, 7, 4, 3))
    assert len(tiles) == 3 * 2
    cover = np.zeros((10, 7), int)
    for t in tiles:
        y0, y1, x0, x1 = t.core
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()
    assert tiles[0].padded == (0, 7, 0, 7) and tiles[-1].padded == (5, 10, 1, 7)


def test_run_tiled_matches_untiled_for_pad_at_least_the_radius():
    """Radius 1 model: tile_pad 1 gives identical results; tile_pad 0 zero-pads
    inside the image at tile seams, so the seam sums differ."""
    x = np.arange(2 * 11 * 9, dtype=np.float64).reshape(2, 11, 9)
    full = _box3_up2(x)
    assert np.array_equal(run_tiled(_box3_up2, x, 2, 4, 1), full)
    assert not np.array_equal(run_tiled(_box3_up2, x, 2, 4, 0), full)
    assert np.array_equal(run_tiled(_box3_up2, x, 2, 0, 1), full)  # tile 0: one call


def test_run_tiled_works_on_torch_tensors():
    x = torch.arange(30.0).reshape(1, 1, 5, 6)
    def up(t):
        return torch.nn.functional.interpolate(t, scale_factor=3, mode="nearest")

    assert torch.equal(run_tiled(up, x, 3, 2, 0), up(x))
