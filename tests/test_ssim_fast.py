"""Our SSIM and PSNR (bench.imagemetrics.ssim_exact / psnr_exact) against pyiqa 0.1.16 itself.

pyiqa stays the reference: every expected value here is computed by pyiqa on the
same float64 tensors the project used to hand it (``uint8 / 255.0``). The
equality bound is 1e-6 absolute (seen: ~1e-10 for SSIM, ~1e-12 for PSNR).

Sizes: 200 random SSIM pairs, odd and even, 192 of them 64-112 px a side (pyiqa's
float64 conv2d takes seconds per megapixel on a CPU and unfolds ~120 float64
copies of the image, so it cannot be the reference at 2048x2048 in CI), plus
8 pairs with one side 1000-2048 px; strip boundaries are exercised by forcing tiny
strips. Contents: noise, smooth, near-identical, constant and black/white
extremes (where the contrast-structure term goes negative and pyiqa clips it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.errors import BenchError
from bench.imagemetrics import create_metric, ssim_exact
from bench.imagemetrics.luma import luma_255_rounded
from bench.imagemetrics.psnr_exact import psnr_luma, psnr_rgb
from bench.imagemetrics.ssim_exact import ssim

torch = pytest.importorskip("torch")
pyiqa = pytest.importorskip("pyiqa")

TOL = 1e-6
_PYIQA: dict = {}


def pyiqa_metric(name: str, **opts):
    key = (name, tuple(sorted(opts.items())))
    if key not in _PYIQA:
        _PYIQA[key] = pyiqa.create_metric(name, device="cpu", **opts)
    return _PYIQA[key]


def nchw(img: np.ndarray):
    """What bench.imagemetrics.base.to_tensor hands pyiqa: float64 uint8/255, (1, 3, H, W)."""
    return torch.from_numpy(img.astype(np.float64) / 255.0).permute(2, 0, 1)[None].contiguous()


def pyiqa_value(name: str, pred: np.ndarray, ref: np.ndarray, **opts) -> float:
    with torch.no_grad():
        return float(pyiqa_metric(name, **opts)(nchw(pred), nchw(ref)))


def make_pair(rng: np.random.Generator, h: int, w: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A (prediction, reference) pair of one content kind."""
    import cv2

    ref = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if kind == "noise":
        return rng.integers(0, 256, (h, w, 3), dtype=np.uint8), ref
    if kind == "smooth":
        ref = cv2.GaussianBlur(ref, (0, 0), float(rng.uniform(0.8, 5.0)))
        return np.clip(ref.astype(int) + rng.integers(-25, 26, ref.shape), 0, 255).astype(np.uint8), ref
    if kind == "close":
        return np.clip(ref.astype(int) + rng.integers(-2, 3, ref.shape), 0, 255).astype(np.uint8), ref
    if kind == "constant":
        return np.full_like(ref, int(rng.integers(0, 256))), ref
    # extremes: white vs a black image with a few bright lines (cs < 0 somewhere, clipped by pyiqa)
    pred = np.zeros_like(ref)
    pred[:: int(rng.integers(3, 9))] = 250
    return pred, np.full_like(ref, 255)


KINDS = ("noise", "smooth", "close", "constant", "extreme")


def random_cases(n_small: int, seed: int = 0) -> list[tuple[int, int, str]]:
    """``n_small`` random sizes 64..112 px a side, then 8 pairs with one side 1000-2048 px."""
    rng = np.random.default_rng(seed)
    cases = [(int(rng.integers(64, 113)), int(rng.integers(64, 113)), KINDS[i % len(KINDS)]) for i in range(n_small)]
    # one side long: 2048 px included, odd lengths included
    cases += [(2048, 64, "smooth"), (64, 2048, "noise"), (1999, 65, "close"), (67, 1537, "smooth"),
              (1031, 64, "extreme"), (65, 1283, "constant"), (2047, 64, "noise"), (64, 2045, "smooth")]
    return cases


SSIM_CASES = random_cases(192)
assert len(SSIM_CASES) == 200


def test_ssimc_equals_pyiqa_on_200_random_pairs():
    """pyiqa 'ssimc' (RGB, what TAIR reports): 200 pairs, sizes 64..2048 px, all content kinds."""
    rng = np.random.default_rng(1)
    worst = 0.0
    for h, w, kind in SSIM_CASES:
        pred, ref = make_pair(rng, h, w, kind)
        diff = abs(ssim(pred, ref) - pyiqa_value("ssimc", pred, ref))
        assert diff <= TOL, (h, w, kind, diff)
        worst = max(worst, diff)
    assert worst <= TOL


@pytest.mark.parametrize("color_space", ["yiq", "ycbcr"])
def test_ssim_y_equals_pyiqa(color_space):
    """pyiqa 'ssim' (Y, rounded to integers), both Y definitions pyiqa offers."""
    rng = np.random.default_rng(2)
    for h, w, kind in random_cases(12, seed=3)[:12] + [(1025, 67, "smooth")]:
        pred, ref = make_pair(rng, h, w, kind)
        want = pyiqa_value("ssim", pred, ref, color_space=color_space)
        assert abs(ssim(pred, ref, "y", color_space) - want) <= TOL, (h, w, kind)


@pytest.mark.parametrize("channel", ["rgb", "y"])
def test_ssim_downsample_equals_pyiqa(channel):
    """downsample=True: f = round(min side / 256) block means first (f = 2 and 3 here, odd sizes)."""
    rng = np.random.default_rng(4)
    for h, w, kind in [(385, 401, "smooth"), (641, 643, "close")]:
        pred, ref = make_pair(rng, h, w, kind)
        assert ssim_exact.ssim_downsample_factor(h, w) in (2, 3)
        want = pyiqa_value("ssim", pred, ref, test_y_channel=channel == "y", downsample=True)
        assert abs(ssim(pred, ref, channel, "yiq", downsample=True) - want) <= TOL


def test_strips_give_the_whole_image_map(monkeypatch):
    """Many small strips (each with its 10-row halo) sum to the one-strip value and match pyiqa."""
    rng = np.random.default_rng(5)
    pred, ref = make_pair(rng, 203, 131, "smooth")
    whole = ssim(pred, ref)
    monkeypatch.setattr(ssim_exact, "STRIP_ELEMENTS", 131 * 3 * 17)
    monkeypatch.setattr(ssim_exact, "MIN_STRIP_ROWS", 7)  # 7 output rows per strip: 28 strips, the last partial
    assert ssim(pred, ref) == pytest.approx(whole, abs=1e-12)
    assert abs(ssim(pred, ref) - pyiqa_value("ssimc", pred, ref)) <= TOL


def test_same_bits_at_any_opencv_thread_count():
    """The value does not depend on OpenCV's thread count (a Ray task runs with OpenCV's
    default, a local worker with one thread): no step may split a reduction over threads
    (cv2.sumElems did, 3e-15 apart at 512 px)."""
    import cv2

    rng = np.random.default_rng(11)
    pairs = [make_pair(rng, 512, 512, "smooth"), make_pair(rng, 360, 641, "noise")]
    before = cv2.getNumThreads()
    try:
        values = {}
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            values[threads] = [ssim(p, r, ch) for p, r in pairs for ch in ("rgb", "y")]
    finally:
        cv2.setNumThreads(before)
    assert values[2] == values[1] and values[4] == values[1]


def test_window_is_pyiqas():
    """The 2-D window is exactly pyiqa's fspecial (float32 values); the separable one is within 1e-9
    of it and keeps its sum."""
    from pyiqa.matlab_utils import fspecial

    theirs = fspecial(11, 1.5, 1)[0, 0].double().numpy()
    assert np.array_equal(ssim_exact.pyiqa_window(), theirs)
    u = ssim_exact.separable_window()
    assert np.abs(np.outer(u, u) - theirs).max() < 1e-9
    assert u.sum() ** 2 == pytest.approx(theirs.sum(), abs=1e-15)


def test_rgb_rounding_gives_back_uint8():
    """pyiqa rounds x * 255; for x = v / 255.0 that is v, for every uint8 v (so RGB needs no conversion)."""
    v = np.arange(256, dtype=np.float64)
    assert np.array_equal(np.round(torch.from_numpy(v / 255.0 * 255.0).numpy()), v)


def _fused_round(rgb, color_space: str) -> float:
    """Y x 255 rounded as a fused multiply-add kernel computes Y: ``fma(b, w2, fma(g, w1, r w0))``
    (each fused operation rounded once; exact ``Fraction`` arithmetic stands in for the hardware)."""
    from fractions import Fraction

    w = np.float32([0.299, 0.587, 0.114] if color_space == "yiq" else [65.481, 128.553, 24.966]).astype(np.float64)
    x0, x1, x2 = (int(c) / 255.0 for c in rgb)
    t = float(Fraction(x1) * Fraction(w[1]) + Fraction(x0 * w[0]))
    y = float(Fraction(x2) * Fraction(w[2]) + Fraction(t))
    if color_space == "ycbcr":
        y = (y + 16.0) / 255.0
    return float(np.round(y * 255.0))


@pytest.mark.parametrize("color_space", ["yiq", "ycbcr"])
def test_rounded_luma_equals_pyiqa_on_exact_ties(color_space):
    """Colours whose exact Y x 255 ends in .5 are where float rounding could flip the integer:
    found here exhaustively (float32 coefficients x uint8 are exact in float64), then compared
    with pyiqa's to_y_channel, embedded among random colours. (An exhaustive comparison of all
    2^24 colours was also run once: no difference off these ties.)

    On a tie, pyiqa's value depends on its CPU kernel: plain multiplies and adds give ours;
    fused multiply-adds (torch 2.14 on an AVX-512 machine) round 5 of the 39 yiq ties the
    other way (none of the 3 ycbcr ones). So: ours equals pyiqa exactly on every colour where
    the two arithmetics agree, and where they differ pyiqa gives one of the two."""
    from pyiqa.utils.color_util import to_y_channel

    c = np.float32([0.299, 0.587, 0.114] if color_space == "yiq" else [65.481, 128.553, 24.966]).astype(np.float64)
    v = np.arange(256, dtype=np.float64)
    ties = []
    for r in range(256):
        s = c[0] * r + c[1] * v[:, None] + c[2] * v[None, :]
        if color_space == "ycbcr":
            s = 16.0 + s / 255.0
        g, b = np.nonzero(np.abs(s - np.floor(s) - 0.5) < 1e-9)
        ties += [(r, gg, bb) for gg, bb in zip(g, b)]
    assert ties  # there are exact ties for both spaces
    img = np.random.default_rng(6).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    flat = img.reshape(-1, 3)
    flat[:: max(1, len(flat) // len(ties))][:len(ties)] = np.array(ties, dtype=np.uint8)
    theirs = to_y_channel(nchw(img), 255, color_space)[0, 0].numpy()
    ours = luma_255_rounded(img, color_space)
    fused = np.array([_fused_round(p, color_space) for p in img.reshape(-1, 3)]).reshape(ours.shape)
    ambiguous = fused != ours
    assert int(ambiguous.sum()) == (5 if color_space == "yiq" else 0)
    assert np.array_equal(ours[~ambiguous], theirs[~ambiguous])
    assert np.all((theirs[ambiguous] == ours[ambiguous]) | (theirs[ambiguous] == fused[ambiguous]))


def test_psnr_equals_pyiqa():
    """pyiqa 'psnr' on RGB and on Y (yiq, ycbcr): 38 pairs incl. long sides, and identical images."""
    rng = np.random.default_rng(7)
    cases = random_cases(30, seed=8)
    for h, w, kind in cases:
        pred, ref = make_pair(rng, h, w, kind)
        assert abs(psnr_rgb(pred, ref) - pyiqa_value("psnr", pred, ref, test_y_channel=False)) <= TOL
        for space in ("yiq", "ycbcr"):
            want = pyiqa_value("psnr", pred, ref, test_y_channel=True, color_space=space)
            assert abs(psnr_luma(pred, ref, space) - want) <= TOL, (h, w, kind, space)
    same = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    assert psnr_rgb(same, same) == pytest.approx(pyiqa_value("psnr", same, same, test_y_channel=False), abs=TOL)


def _quickstart_pairs(n: int):
    """(bicubic-upsampled LQ level 2, HQ) of the first ``n`` bundled quickstart images."""
    import pyarrow.parquet as pq

    from bench.io.images import bicubic_resize, decode_image

    path = Path(__file__).resolve().parent.parent / "data" / "quickstart" / "test-00000-of-00001.parquet"
    table = pq.read_table(path, columns=["id", "hq_img", "lq_img_lv2"]).slice(0, n).to_pylist()
    for row in table:
        hq = decode_image(row["hq_img"]["bytes"], row["id"])
        lq = decode_image(row["lq_img_lv2"]["bytes"], row["id"])
        yield row["id"], bicubic_resize(lq, (hq.shape[1], hq.shape[0])), hq


def test_metrics_equal_pyiqa_on_quickstart_images():
    """The registered 'ssim' and 'psnr' metrics on real bundled images (512 px) vs pyiqa."""
    s, p = create_metric("ssim"), create_metric("psnr")
    n = 0
    for image_id, pred, ref in _quickstart_pairs(2):
        assert abs(s.score_batch([pred], [ref])[0] - pyiqa_value("ssimc", pred, ref)) <= TOL, image_id
        assert abs(p.score_batch([pred], [ref])[0] - pyiqa_value("psnr", pred, ref, test_y_channel=False)) <= TOL
        n += 1
    assert n == 2


def test_too_small_is_a_clear_error():
    img = np.zeros((10, 40, 3), np.uint8)
    with pytest.raises(BenchError, match="40x10 image is smaller than the 11x11 window"):
        ssim(img, img)
    with pytest.raises(BenchError, match="prediction is 40x10 but reference is 40x12"):
        create_metric("ssim").score_batch([img], [np.zeros((12, 40, 3), np.uint8)])


def test_no_torch_needed():
    """psnr and ssim run in a process that never imports torch (a memory and start-up saving)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from bench.imagemetrics import create_metric; "
            "a = np.zeros((32, 32, 3), np.uint8); b = a + 3; "
            "[create_metric(n).score_batch([a], [b]) for n in ('psnr', 'psnr_y', 'ssim', 'ssim_y')]; "
            "print('torch' in sys.modules, 'pyiqa' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["False", "False"]
