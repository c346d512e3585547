"""Tests of bench.degrade: kernels, operations, presets, determinism, severity order."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from bench.degrade import (
    DEGRADE_VERSION,
    PRESETS,
    degradation_plan,
    degrade_image,
    image_rng,
    kernels,
    ops,
    preset_definition,
)
from bench.errors import BenchError, DataError


def scene(i: int, size: int = 512) -> np.ndarray:
    """A deterministic text-like test image: a colour gradient, boxes and words."""
    rng = np.random.default_rng(1000 + i)
    yy, xx = np.mgrid[0:size, 0:size] / size
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    img = (c0 * (1 - xx[..., None]) + c1 * yy[..., None]).clip(0, 255).astype(np.uint8)
    for _ in range(4):
        x, y = rng.integers(0, max(1, size - 64), 2)
        cv2.rectangle(img, (int(x), int(y)), (int(x) + 60, int(y) + 40), rng.integers(0, 256, 3).tolist(), -1)
    for k in range(6):
        word = "".join(chr(c) for c in rng.integers(65, 91, 5))
        cv2.putText(img, word, (10 + 20 * k, 60 + 70 * k), cv2.FONT_HERSHEY_SIMPLEX,
                    1.0 + rng.random(), rng.integers(0, 256, 3).tolist(), 2, cv2.LINE_AA)
    return np.ascontiguousarray(img)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (peak 255)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


# ----------------------------------------------------------------------------- kernels

ALL_KERNELS = [
    kernels.gaussian_kernel(7, 1.0, 1.0),
    kernels.gaussian_kernel(21, 3.0, 0.5, 0.7),
    kernels.generalized_gaussian_kernel(11, 1.5, 0.8, -1.0, 0.5),
    kernels.generalized_gaussian_kernel(13, 2.0, 2.0, 0.0, 4.0),
    kernels.plateau_kernel(15, 1.2, 2.5, 2.0, 1.0),
    kernels.plateau_kernel(9, 0.2, 0.2, 0.0, 2.0),
    kernels.sinc_kernel(7, math.pi / 3),
    kernels.sinc_kernel(21, math.pi / 5),
]


@pytest.mark.parametrize("k", ALL_KERNELS, ids=range(len(ALL_KERNELS)))
def test_every_kernel_sums_to_one(k):
    """A blur must preserve mean brightness, so every kernel is normalized to sum 1."""
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert k.sum() == pytest.approx(1.0, abs=1e-12)


def test_random_kernels_sum_to_one_for_every_type_and_size():
    """Each type forced in turn, each odd size 7..21: sum 1, peak at the centre for non-sinc."""
    rng = np.random.default_rng(0)
    for kind in kernels.KERNEL_TYPES:
        for size in range(7, 22, 2):
            k, info = kernels.random_mixed_kernel(rng, size, ((kind, 1.0),), (0.2, 3.0), (0.5, 4.0), (1.0, 2.0))
            assert info["type"] == kind and k.shape == (size, size)
            assert k.sum() == pytest.approx(1.0, abs=1e-12)
            assert k[size // 2, size // 2] == pytest.approx(k.max())


def test_isotropic_gaussian_equals_closed_form():
    """exp(-(x^2 + y^2) / (2 sigma^2)) on offsets -3..3, divided by its sum."""
    sigma, ax = 1.3, np.arange(-3, 4)
    x, y = np.meshgrid(ax, ax)
    expected = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    np.testing.assert_allclose(kernels.gaussian_kernel(7, sigma, sigma), expected / expected.sum(), atol=1e-15)


def test_anisotropic_gaussian_without_rotation_is_separable():
    """theta = 0: k = g_y(row) * g_x(col), the outer product of two 1-D Gaussians."""
    ax = np.arange(-5, 6)
    gx, gy = np.exp(-(ax**2) / (2 * 2.5**2)), np.exp(-(ax**2) / (2 * 0.7**2))
    expected = np.outer(gy / gy.sum(), gx / gx.sum())
    k = kernels.gaussian_kernel(11, 2.5, 0.7, 0.0)
    np.testing.assert_allclose(k, expected, atol=1e-15)
    assert np.linalg.matrix_rank(k, tol=1e-12) == 1


def test_rotation_by_a_right_angle_transposes():
    """Rotating by pi/2 swaps the x and y axes, so the kernel is the transpose."""
    k0 = kernels.gaussian_kernel(9, 2.0, 0.6, 0.0)
    np.testing.assert_allclose(kernels.gaussian_kernel(9, 2.0, 0.6, math.pi / 2), k0.T, atol=1e-12)


def test_generalized_gaussian_with_beta_one_is_the_gaussian():
    """(x^T S^-1 x)^1: the generalized kernel reduces to the ordinary Gaussian."""
    np.testing.assert_allclose(
        kernels.generalized_gaussian_kernel(9, 1.7, 0.9, 0.4, 1.0), kernels.gaussian_kernel(9, 1.7, 0.9, 0.4)
    )


def test_sinc_kernel_is_symmetric_and_matches_jinc():
    """Radial, so symmetric under flips and transpose; its ratio to the centre is
    2 J1(w r) / (w r), since k(0) = w^2 / (4 pi) and k(r) = w J1(w r) / (2 pi r)."""
    from scipy.special import j1

    w = math.pi / 2
    k = kernels.sinc_kernel(13, w)
    for variant in (k.T, k[::-1], k[:, ::-1], k[::-1, ::-1]):
        np.testing.assert_allclose(variant, k, atol=1e-15)
    assert k[6, 9] / k[6, 6] == pytest.approx(2 * j1(w * 3) / (w * 3))


# ----------------------------------------------------------------------------- operations

def test_blur_identity_and_constant():
    """A centred delta kernel changes nothing; any sum-1 kernel keeps a flat image flat."""
    img = scene(0, 64).astype(np.float32) / 255
    delta = np.zeros((7, 7))
    delta[3, 3] = 1
    np.testing.assert_array_equal(ops.blur(img, delta), img)
    flat = np.full((40, 40, 3), 0.25, np.float32)
    np.testing.assert_allclose(ops.blur(flat, kernels.sinc_kernel(21, 1.0)), flat, atol=1e-6)


def test_gaussian_noise_level_and_gray():
    """sigma = 10 (0..255 units) on mid-gray: std ~ 10/255; gray noise is equal in all channels."""
    img = np.full((256, 256, 3), 0.5, np.float32)
    out = ops.add_gaussian_noise(img, 10.0, False, np.random.default_rng(0))
    assert (out - img).std() * 255 == pytest.approx(10.0, rel=0.02)
    gray = ops.add_gaussian_noise(img, 10.0, True, np.random.default_rng(0))
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])


def test_poisson_noise_gray_is_shared_and_zero_on_black():
    """Poisson(0) = 0, so a black image gets no shot noise; gray noise is one field."""
    black = np.zeros((32, 32, 3), np.float32)
    np.testing.assert_array_equal(ops.add_poisson_noise(black, 3.0, False, np.random.default_rng(0)), black)
    img = np.full((64, 64, 3), 0.5, np.float32)
    gray = ops.add_poisson_noise(img, 1.0, True, np.random.default_rng(0))
    assert np.array_equal(gray[..., 0], gray[..., 2]) and gray.std() > 0


def test_jpeg_keeps_rgb_channel_order():
    """Pure red must come back red (a BGR/RGB mix-up would turn it blue)."""
    red = np.zeros((32, 32, 3), np.float32)
    red[..., 0] = 1
    out = ops.jpeg(red, 90)
    assert out[..., 0].mean() > 0.9 and out[..., 2].mean() < 0.1


def test_thread_count_does_not_change_output():
    """OpenCV's parallel loops must not change pixels: 1 thread vs 2 threads."""
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        a = degrade_image(scene(1), "level3", 3, "t", backend="cv2")
        cv2.setNumThreads(2)
        b = degrade_image(scene(1), "level3", 3, "t", backend="cv2")
    finally:
        cv2.setNumThreads(before)
    assert a.tobytes() == b.tobytes()


# ----------------------------------------------------------------------------- API

def test_image_rng_depends_only_on_seed_and_id():
    a, b = image_rng(7, "x").random(4), image_rng(7, "x").random(4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, image_rng(7, "y").random(4))
    assert not np.array_equal(a, image_rng(8, "x").random(4))


def test_same_inputs_give_identical_bytes_and_global_rng_is_untouched():
    hq = scene(2)
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a = degrade_image(hq, "level2", 0, "img-2")
    b = degrade_image(hq.copy(), "level2", 0, "img-2")
    assert a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_different_id_or_seed_gives_different_output():
    hq = scene(3)
    a = degrade_image(hq, "level2", 0, "a")
    assert not np.array_equal(a, degrade_image(hq, "level2", 0, "b"))
    assert not np.array_equal(a, degrade_image(hq, "level2", 1, "a"))


def test_call_order_does_not_matter():
    """Degrading A then B equals degrading B then A."""
    ha, hb = scene(4), scene(5)
    a1, b1 = degrade_image(ha, "level3", 9, "A"), degrade_image(hb, "level3", 9, "B")
    b2, a2 = degrade_image(hb, "level3", 9, "B"), degrade_image(ha, "level3", 9, "A")
    assert a1.tobytes() == a2.tobytes() and b1.tobytes() == b2.tobytes()


def test_same_output_in_a_fresh_process():
    """A new interpreter (fresh import, fresh OpenCV state) gives the same bytes."""
    code = (
        "import hashlib, sys; sys.path.insert(0, 'tests'); from test_degrade import scene; "
        "from bench.degrade import degrade_image; "
        "print(hashlib.sha256(degrade_image(scene(6), 'level1', 5, 'p').tobytes()).hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = hashlib.sha256(degrade_image(scene(6), "level1", 5, "p").tobytes()).hexdigest()
    assert out.stdout.strip() == here


@pytest.mark.parametrize("shape,scale,expected", [
    ((512, 512, 3), 4, (128, 128, 3)),
    ((512, 512, 3), 2, (256, 256, 3)),
    ((256, 512, 3), 4, (64, 128, 3)),
])
def test_output_shape_and_dtype(shape, scale, expected):
    hq = scene(7)[: shape[0], : shape[1]]
    for preset in PRESETS:
        lq = degrade_image(np.ascontiguousarray(hq), preset, 0, "s", scale=scale)
        assert lq.shape == expected and lq.dtype == np.uint8


def test_errors_speak_the_users_language():
    with pytest.raises(BenchError, match="did you mean 'level1'"):
        degrade_image(scene(0, 64), "levle1", 0, "x")
    with pytest.raises(BenchError, match="did you mean"):
        preset_definition("realesgan")
    with pytest.raises(DataError, match="not divisible by scale 4"):
        degrade_image(np.zeros((66, 64, 3), np.uint8), "level1", 0, "odd")
    with pytest.raises(DataError, match="uint8 RGB"):
        degrade_image(np.zeros((64, 64), np.uint8), "level1", 0, "gray")


# ----------------------------------------------------------------------------- presets

def test_realesrgan_preset_is_the_published_table():
    """Values of Real-ESRGAN's x4plus training options (Real-ESRGAN options/train_realesrgan_x4plus.yml)."""
    d = preset_definition("realesrgan")
    f, s = d["first"], d["second"]
    assert d["published"] and d["final_sinc_prob"] == 0.8
    assert f["blur"]["sigma"] == [0.2, 3.0] and s["blur"]["sigma"] == [0.2, 1.5]
    assert f["blur"]["kernel_sizes"] == [7, 9, 11, 13, 15, 17, 19, 21]
    assert dict(f["blur"]["kernel_probs"]) == {"iso": 0.45, "aniso": 0.25, "generalized_iso": 0.12,
                                               "generalized_aniso": 0.03, "plateau_iso": 0.12,
                                               "plateau_aniso": 0.03}
    assert f["blur"]["sinc_prob"] == s["blur"]["sinc_prob"] == 0.1
    assert f["blur"]["betag"] == [0.5, 4.0] and f["blur"]["betap"] == [1.0, 2.0]
    assert f["blur_prob"] == 1.0 and s["blur_prob"] == 0.8
    assert f["resize_probs"] == [0.2, 0.7, 0.1] and s["resize_probs"] == [0.3, 0.4, 0.3]
    assert f["resize_range"] == [0.15, 1.5] and s["resize_range"] == [0.3, 1.2]
    assert f["gaussian_sigma"] == [1, 30] and s["gaussian_sigma"] == [1, 25]
    assert f["poisson_scale"] == [0.05, 3.0] and s["poisson_scale"] == [0.05, 2.5]
    assert f["gaussian_noise_prob"] == s["gaussian_noise_prob"] == 0.5
    assert f["gray_noise_prob"] == s["gray_noise_prob"] == 0.4
    assert f["jpeg_quality"] == s["jpeg_quality"] == [30, 95]
    json.loads(json.dumps(d))
    assert d["degrade_version"] == DEGRADE_VERSION


def test_level3_is_realesrgan_and_gives_the_same_image():
    """Severity 1 leaves every published value in place (presets.py, the rule)."""
    strip = {"name": "x", "summary": "x", "published": False}
    assert dataclasses.replace(PRESETS["level3"], **strip) == dataclasses.replace(PRESETS["realesrgan"], **strip)
    hq = scene(8, 256)
    assert np.array_equal(degrade_image(hq, "level3", 1, "q"), degrade_image(hq, "realesrgan", 1, "q"))


def test_levels_are_monotone_in_every_severity_parameter():
    """Higher level: wider blur/noise ranges, wider resize range, lower JPEG floor,
    higher sinc / second-blur / final-sinc probabilities; mild ends shared (overlap)."""
    l1, l2, l3 = (preset_definition(f"level{i}") for i in (1, 2, 3))
    for order in ("first", "second"):
        a, b, c = l1[order], l2[order], l3[order]
        for key in ("gaussian_sigma", "poisson_scale"):
            assert a[key][0] == b[key][0] == c[key][0] and a[key][1] < b[key][1] < c[key][1]
        assert a["blur"]["sigma"][1] < b["blur"]["sigma"][1] < c["blur"]["sigma"][1]
        assert a["blur"]["sinc_prob"] < b["blur"]["sinc_prob"] < c["blur"]["sinc_prob"]
        assert a["resize_range"][0] > b["resize_range"][0] > c["resize_range"][0]
        assert a["resize_range"][1] < b["resize_range"][1] < c["resize_range"][1]
        assert a["jpeg_quality"][0] > b["jpeg_quality"][0] > c["jpeg_quality"][0]
        assert a["jpeg_quality"][1] == c["jpeg_quality"][1] == 95
    assert l1["second"]["blur_prob"] < l2["second"]["blur_prob"] < l3["second"]["blur_prob"]
    assert l1["final_sinc_prob"] < l2["final_sinc_prob"] < l3["final_sinc_prob"]
    assert all("never published" in PRESETS[f"level{i}"].summary for i in (1, 2, 3))


def test_levels_share_random_numbers_so_draws_are_ordered_per_image():
    """Same (seed, id): each level maps the same uniforms, so per image the JPEG
    quality never rises and the noise level never falls from level1 to level3."""
    for i in range(20):
        p1, p3 = (degradation_plan(f"level{k}", 0, f"id{i}") for k in (1, 3))
        for order in ("first", "second"):
            assert p1[order]["jpeg_quality"] >= p3[order]["jpeg_quality"]
            assert p1[order]["noise"] == p3[order]["noise"]
            assert p1[order]["noise_level"] <= p3[order]["noise_level"]


def test_psnr_decreases_from_level1_to_level3():
    """Mean PSNR of the bicubic-upsampled LQ against the HQ over 10 images."""
    means = {}
    for level in ("level1", "level2", "level3"):
        scores = []
        for i in range(10):
            hq = scene(i)
            lq = degrade_image(hq, level, 2024, f"img{i}")
            up = cv2.resize(lq, (hq.shape[1], hq.shape[0]), interpolation=cv2.INTER_CUBIC)
            scores.append(psnr(up, hq))
        means[level] = np.mean(scores)
    assert means["level1"] > means["level2"] > means["level3"], means
