"""The ``torch`` degradation backend by hand, and the backend choice in the API and suites.

Agreement with Real-ESRGAN's own code is tested in
``tests/conformance/test_degrade_torch.py``; here each operation is checked against
values worked out by hand from its definition.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from bench.degrade import BACKENDS, DEFAULT_BACKEND, degrade_image, ops, torch_jpeg, torch_ops
from bench.errors import BenchError, DataError, SuiteError
from bench.pipeline.stages.degrade import _degrade_config
from bench.suite import DegradationSpec, Names, load_suite


def gray(value: float, h: int, w: int) -> torch.Tensor:
    return torch.full((1, 3, h, w), value, dtype=torch.float32)


def scene(seed: int, size: int = 128) -> np.ndarray:
    """A small uint8 RGB test image with gradients, edges and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack([xx, yy, 0.5 + 0.5 * np.sin(9 * xx * yy)], axis=-1) * 255
    img[size // 4: size // 2, size // 4: 3 * size // 4] = rng.integers(0, 256, 3)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- resize

def test_stage_one_resize_maps_pixels_with_the_scale_factor():
    """A ramp f(x) = x / 16 over 10 columns, bilinear, scale 0.75 -> 7 columns.

    With ``scale_factor`` torch reads output column i at source x = (i + 0.5) / 0.75 - 0.5
    (0.1667, 1.5, ..., 8.1667); with an explicit size of 7 it uses the size ratio 10 / 7:
    x = (i + 0.5) * 10 / 7 - 0.5 (0.2143, 1.6429, ...). Bilinear on a ramp returns x itself.
    Stage one of feed_data uses the first, later stages (and OpenCV, always) the second.
    """
    ramp = (torch.arange(10, dtype=torch.float32) / 16).repeat(1, 3, 4, 1)
    by_factor = torch_ops.resize_by(ramp, 0.75, "bilinear")[0, 0, 0] * 16
    by_size = torch_ops.resize_to(ramp, 3, 7, "bilinear")[0, 0, 0] * 16
    np.testing.assert_allclose(by_factor, [(i + 0.5) / 0.75 - 0.5 for i in range(7)], atol=1e-5)
    np.testing.assert_allclose(by_size, [(i + 0.5) * 10 / 7 - 0.5 for i in range(7)], atol=1e-5)


def test_area_is_torch_adaptive_pooling():
    """torch ``area``: output i averages source pixels floor(i n / m) .. ceil((i + 1) n / m) - 1.
    Enlarging [0.2, 0.6] to 3 gives [0.2, mean(0.2, 0.6), 0.6]; enlarging to 4 repeats
    pixels ([0.2, 0.2, 0.6, 0.6]), where OpenCV's INTER_AREA would interpolate bilinearly."""
    row = torch.tensor([0.2, 0.6]).repeat(1, 3, 1, 1)
    np.testing.assert_allclose(torch_ops.resize_to(row, 1, 3, "area")[0, 0, 0], [0.2, 0.4, 0.6], atol=1e-7)
    np.testing.assert_allclose(torch_ops.resize_to(row, 1, 4, "area")[0, 0, 0], [0.2, 0.2, 0.6, 0.6], atol=1e-7)


# ----------------------------------------------------------------------------- JPEG

@pytest.mark.parametrize("quality,factor", [(30.0, 5000 / 30 / 100), (49.99, 5000 / 49.99 / 100), (50.0, 1.0),
                                            (75.0, 0.5), (95.0, 0.1)])
def test_quality_factor(quality, factor):
    """5000 / q / 100 below 50, (200 - 2 q) / 100 from 50, with no rounding."""
    assert float(torch_jpeg.quality_factor(torch.tensor(quality))) == pytest.approx(factor, rel=1e-6)


@pytest.mark.parametrize("quality,expected", [(40.0, 100.5), (75.0, 101.0), (30.0, 128 - 80 / 3)])
def test_flat_gray_keeps_only_a_quantized_dc(quality, expected):
    """Flat gray 101: Y = 101, Cb = Cr = 128, so only the luma DC is nonzero:
    F(0,0) = 1/4 * (1/sqrt 2)^2 * 64 * (101 - 128) = -216. Quality 40: step 16 * 1.25 = 20,
    round(-10.8) = -11, back -220 / 8 = -27.5 -> 100.5. Quality 75: step 8, -27 exactly -> 101.
    Quality 30: step 16 * 5/3, round(-8.1) = -8 -> 128 - 8 * 80/3 / 8 = 101.33. No 8-bit
    rounding anywhere, so 100.5 stays 100.5."""
    out = torch_jpeg.jpeg(gray(101 / 255, 16, 16), quality) * 255
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-3)


def test_luma_table_is_used_transposed_as_diffjpeg_does():
    """A cosine of amplitude 10 along the columns (horizontal frequency 1) has the single
    DCT coefficient 4 sqrt(2) * 10 = 56.57. DiffJPEG divides the coefficient of vertical
    frequency u, horizontal v by the Annex K luminance entry (v, u): here (1, 0) = 12,
    so at quality 50 round(4.71) = 5 -> 60 -> amplitude 60 / (4 sqrt 2) = 10.607. The same
    cosine along the rows meets entry (0, 1) = 11: round(5.14) = 5 -> 55 -> 9.723.
    (A file-writing encoder would swap the two.)"""
    c = np.cos((2 * (np.arange(16) % 8) + 1) * np.pi / 16)
    along_columns = np.tile(c, (16, 1))
    for pattern, expected in ((along_columns, 60 / (4 * math.sqrt(2))), (along_columns.T, 55 / (4 * math.sqrt(2)))):
        img = torch.from_numpy(np.repeat((128 + 10 * pattern)[None, None] / 255, 3, axis=1)).float()
        out = torch_jpeg.jpeg(img, 50.0)[0, 0].double().numpy() * 255 - 128
        amplitude = (out * pattern).sum() / (pattern * pattern).sum()
        assert amplitude == pytest.approx(expected, abs=1e-4)


def test_jpeg_pads_with_zeros_and_crops_back():
    """A 20x24 image is coded as 32x32 with black padding and cropped back to 20x24."""
    out = torch_jpeg.jpeg(gray(0.5, 20, 24), 90.0)
    assert out.shape == (1, 3, 20, 24)
    with pytest.raises(ValueError, match="quality"):
        torch_jpeg.jpeg(gray(0.5, 8, 8), 100.0)


# ----------------------------------------------------------------------------- noise

@pytest.mark.parametrize("is_gray", [False, True])
def test_gaussian_noise_is_the_cv2_backends_field(is_gray):
    """Same stream, same call: the torch backend adds exactly the noise field the cv2
    backend adds (channel-first instead of channel-last), here on mid-gray without clipping."""
    img = gray(0.5, 32, 40)
    ours = torch_ops.add_gaussian_noise(img, 5.0, is_gray, np.random.default_rng(3))[0].permute(1, 2, 0).numpy()
    theirs = ops.add_gaussian_noise(np.full((32, 40, 3), 0.5, np.float32), 5.0, is_gray, np.random.default_rng(3))
    np.testing.assert_allclose(ours, theirs, atol=1e-7)
    if is_gray:
        assert np.array_equal(ours[..., 0], ours[..., 2])


def test_poisson_photon_count_from_distinct_levels():
    """Black and white only: 2 distinct levels -> n = 2 photons per unit. A white pixel
    becomes 1 + (k / 2 - 1) = k / 2 for k ~ Poisson(2), clamped: 0, 0.5 or 1; black stays 0."""
    img = torch.zeros(1, 3, 32, 32)
    img[..., :, 16:] = 1
    out = torch_ops.add_poisson_noise(img, 1.0, False, np.random.default_rng(0))
    assert torch.all(out[..., :16] == 0)
    assert set(out[..., 16:].unique().tolist()) == {0.0, 0.5, 1.0}


# ----------------------------------------------------------------------------- API

def test_torch_is_the_default_and_cv2_differs():
    hq = scene(1)
    assert DEFAULT_BACKEND == "torch" and set(BACKENDS) == {"torch", "cv2"}
    default = degrade_image(hq, "level2", 0, "a")
    assert np.array_equal(default, degrade_image(hq, "level2", 0, "a", backend="torch"))
    assert not np.array_equal(default, degrade_image(hq, "level2", 0, "a", backend="cv2"))


def test_usm_sharpening_is_optional_and_torch_only():
    hq = scene(2)
    assert not np.array_equal(degrade_image(hq, "level1", 0, "u", usm_sharpen=True), degrade_image(hq, "level1", 0, "u"))
    with pytest.raises(BenchError, match="torch backend only"):
        degrade_image(hq, "level1", 0, "u", backend="cv2", usm_sharpen=True)


def test_unknown_backend_says_did_you_mean():
    with pytest.raises(BenchError, match="did you mean 'torch'"):
        degrade_image(scene(0, 64), "level1", 0, "x", backend="troch")


def test_too_small_for_the_blur_names_the_image_and_the_fix():
    """Real-ESRGAN pads every kernel to 21 and reflects 10 px: an 8x8 image cannot be
    blurred that way; the error names the image, and the cv2 backend handles it."""
    tiny = scene(3, 8)
    with pytest.raises(DataError, match=r"image 'tiny'.*8x8 px.*too small.*backend: cv2"):
        degrade_image(tiny, "level1", 0, "tiny")
    assert degrade_image(tiny, "level1", 0, "tiny", backend="cv2").shape == (2, 2, 3)


def test_thread_count_does_not_change_output():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = degrade_image(scene(4, 256), "level3", 3, "t")
        torch.set_num_threads(2)
        b = degrade_image(scene(4, 256), "level3", 3, "t")
    finally:
        torch.set_num_threads(before)
    assert a.tobytes() == b.tobytes()


def test_same_output_in_a_fresh_process():
    code = ("import hashlib, sys; sys.path.insert(0, 'tests'); from test_degrade_torch import scene; "
            "from bench.degrade import degrade_image; "
            "print(hashlib.sha256(degrade_image(scene(6), 'level2', 5, 'p').tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == hashlib.sha256(degrade_image(scene(6), "level2", 5, "p").tobytes()).hexdigest()


# ----------------------------------------------------------------------------- suites and cache

NAMES = Names(datasets=("satext-test",), presets=("level2",), backends=("torch", "cv2"), restorers=("bicubic",),
              spotters=("rapidocr",), image_metrics=("psnr",), text_metrics=("e2e_none_hmean",),
              prompt_sources=("none",))


def suite(tmp_path, degradation: str):
    text = f"""
    version: 1
    name: t
    dataset: {{kind: satext-test, path: data}}
    degradation: {degradation}
    restorers: [{{adapter: bicubic}}]
    """
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return load_suite(path, names=NAMES)


def test_suite_backend_defaults_to_torch_and_is_validated(tmp_path):
    d = suite(tmp_path, "{kind: preset, preset: level2}").degradation
    assert d.backend == "torch" and d.usm_sharpen is False
    assert suite(tmp_path, "{kind: preset, preset: level2, backend: cv2}").degradation.backend == "cv2"
    assert suite(tmp_path, "{kind: preset, preset: level2, usm_sharpen: true}").degradation.usm_sharpen
    cases = [
        ("{kind: preset, preset: level2, backend: troch}",
         "degradation.backend: unknown degradation backend 'troch' -- did you mean 'torch'?"),
        ("{kind: preset, preset: level2, backend: cv2, usm_sharpen: true}",
         "degradation.usm_sharpen: only the torch backend sharpens"),
        ("{kind: preset, preset: level2, usm_sharpen: yes please}", "degradation.usm_sharpen: expected true or false"),
        ("{kind: provided, level: 2, backend: torch}", "degradation.backend: only used with kind: preset"),
    ]
    for text, message in cases:
        with pytest.raises(SuiteError, match=message.replace("(", r"\(").replace("?", r"\?")):
            suite(tmp_path, text)


def test_backend_and_sharpening_enter_the_degrade_cache_key():
    """Changing the backend or the sharpening changes the LQ, so it must change the key."""
    base = dict(kind="preset", preset="level2", seed=0, scale=4)
    torch_cfg = _degrade_config(DegradationSpec(**base, backend="torch"))[1]
    cv2_cfg = _degrade_config(DegradationSpec(**base, backend="cv2"))[1]
    usm_cfg = _degrade_config(DegradationSpec(**base, backend="torch", usm_sharpen=True))[1]
    assert torch_cfg != cv2_cfg and torch_cfg != usm_cfg and cv2_cfg != usm_cfg
    assert torch_cfg["backend_version"] == f"torch {torch.__version__}"
    assert cv2_cfg["backend_version"].startswith("opencv ")
