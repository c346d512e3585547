"""PSNR, SSIM, PSNR-Y and text_psnr against hand-computed values, pyiqa and torchmetrics;
the registry's names, directions and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.errors import BenchError
from bench.imagemetrics import create_metric, list_metrics
from bench.records import TextInstance

torch = pytest.importorskip("torch")
pyiqa = pytest.importorskip("pyiqa")


def rand_img(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def nchw(img: np.ndarray, dtype=torch.float64):
    return torch.from_numpy(img).permute(2, 0, 1)[None].to(dtype) / 255.0


def test_psnr_hand_computed():
    """Every pixel off by 1/255: MSE = (1/255)^2, so PSNR = 20 log10(255) = 48.1308 dB,
    less pyiqa's 1e-8 added to the MSE: 10 log10(1 / ((1/255)^2 + 1e-8))."""
    ref = np.full((4, 4, 3), 100, np.uint8)
    pred = ref + 1
    got = create_metric("psnr").score_batch([pred], [ref])[0]
    assert got == pytest.approx(10 * math.log10(1 / ((1 / 255) ** 2 + 1e-8)), abs=1e-9)
    assert got == pytest.approx(20 * math.log10(255), abs=3e-3)
    assert create_metric("psnr").score_batch([ref], [ref])[0] == pytest.approx(80.0)  # the documented cap


def test_psnr_ssim_match_pyiqa_exactly():
    """Same pyiqa metrics called directly on float64 tensors: equal to 1e-6 (in fact ~1e-12)."""
    refs = [rand_img(1), rand_img(2)]
    preds = [np.clip(r.astype(int) + np.random.default_rng(3).integers(-15, 16, r.shape), 0, 255).astype(np.uint8)
             for r in refs]
    ours_p = create_metric("psnr").score_batch(preds, refs)
    ours_s = create_metric("ssim").score_batch(preds, refs)
    P = pyiqa.create_metric("psnr", test_y_channel=False, device="cpu")
    S = pyiqa.create_metric("ssimc", device="cpu")
    for p, r, op, os_ in zip(preds, refs, ours_p, ours_s):
        assert op == pytest.approx(P(nchw(p), nchw(r)).item(), abs=1e-6)
        assert os_ == pytest.approx(S(nchw(p), nchw(r)).item(), abs=1e-6)
        # TAIR fed float32: differs only by float32 rounding, micro-dB
        assert op == pytest.approx(P(nchw(p, torch.float32), nchw(r, torch.float32)).item(), abs=1e-4)


def test_psnr_matches_torchmetrics():
    """torchmetrics PSNR(data_range=1) has no eps; mapping ours back through pyiqa's
    1e-8 gives the same number. Relative 1e-7, because torchmetrics takes log(10) in float32."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    ref = rand_img(4)
    pred = np.clip(ref.astype(int) + np.random.default_rng(5).integers(-20, 21, ref.shape), 0, 255).astype(np.uint8)
    tm = peak_signal_noise_ratio(nchw(pred), nchw(ref), data_range=1.0).item()
    ours = create_metric("psnr").score_batch([pred], [ref])[0]
    assert ours == pytest.approx(10 * math.log10(1 / (10 ** (-tm / 10) + 1e-8)), rel=1e-7)


def test_ssim_vs_torchmetrics():
    """Same 11x11 Gaussian (sigma 1.5) window and constants. Two differences:
    torchmetrics 1.9 reflect-pads and averages the SSIM map over the whole image, pyiqa
    averages only the 'valid' positions (5 px in from each border); and pyiqa clips the
    contrast-structure term at 0. With that term positive everywhere (pred = 0.9 ref + 10)
    and torchmetrics' map cropped by 5 px, the two agree to 1e-6."""
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    ref = rand_img(6)
    pred = np.clip(np.round(ref * 0.9 + 10), 0, 255).astype(np.uint8)
    ours = create_metric("ssim").score_batch([pred], [ref])[0]
    whole, full_map = tm_ssim(nchw(pred), nchw(ref), data_range=1.0, return_full_image=True)
    assert ours == pytest.approx(full_map[..., 5:-5, 5:-5].mean().item(), abs=1e-6)
    assert abs(ours - whole.item()) > 1e-6  # the border handling is a real difference


@pytest.mark.parametrize("space,weight", [("yiq", 0.299), ("ycbcr", 65.481 / 255)])
def test_psnr_y_hand_computed(space, weight):
    """Red raised by 1/255 only: the luma moves by (R weight)/255, so
    PSNR_Y = 10 log10(1 / ((w/255)^2 + 1e-8)) with w = 0.299 (YIQ) or 65.481/255 (BT.601)."""
    ref = np.full((8, 8, 3), 90, np.uint8)
    pred = ref.copy()
    pred[..., 0] += 1
    got = create_metric("psnr_y", color_space=space).score_batch([pred], [ref])[0]
    assert got == pytest.approx(10 * math.log10(1 / ((weight / 255) ** 2 + 1e-8)), abs=1e-6)
    assert space in create_metric("psnr_y", color_space=space).definition


def test_batch_order_and_mixed_sizes():
    """Scores come back in input order when sizes differ (grouped internally)."""
    refs = [rand_img(7, 32, 40), rand_img(8, 24, 24), rand_img(9, 32, 40)]
    preds = [np.clip(r.astype(int) + k, 0, 255).astype(np.uint8) for k, r in zip((1, 4, 16), refs)]
    m = create_metric("psnr", batch_size=1)
    assert m.score_batch(preds, refs) == pytest.approx([m.score_batch([p], [r])[0] for p, r in zip(preds, refs)])


def test_size_mismatch_is_clear():
    with pytest.raises(BenchError, match="prediction is 64x48 but reference is 32x48"):
        create_metric("psnr").score_batch([rand_img(1)], [rand_img(2, 48, 32)])
    with pytest.raises(BenchError, match="needs the reference"):
        create_metric("ssim").score_batch([rand_img(1)], None)


def test_registry():
    names = [n for n, _, _ in list_metrics()]
    for n in ("psnr", "ssim", "psnr_y", "lpips", "dists", "niqe", "musiq", "maniqa", "clipiqa", "fid",
              "text_psnr", "text_lpips", "ms_ssim", "fsim", "vif", "gmsd"):
        assert n in names
    with pytest.raises(BenchError, match="did you mean 'ssim'"):
        create_metric("sssim")


def test_directions_agree_with_pyiqa():
    """Each pyiqa-backed metric's higher_is_better is the negation of pyiqa's lower_better."""
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    pyiqa_name = {"psnr": "psnr", "psnr_y": "psnry", "ssim": "ssimc", "lpips": "lpips", "dists": "dists",
                  "niqe": "niqe", "musiq": "musiq", "maniqa": "maniqa", "clipiqa": "clipiqa", "fid": "fid",
                  "ms_ssim": "ms_ssim", "fsim": "fsim", "vif": "vif", "gmsd": "gmsd", "nlpd": "nlpd",
                  "mad": "mad", "vsi": "vsi", "cw_ssim": "cw_ssim", "piqe": "piqe"}
    for ours, theirs in pyiqa_name.items():
        assert create_metric(ours).higher_is_better == (not DEFAULT_CONFIGS[theirs].get("lower_better", False)), ours


def test_generic_pyiqa_metric_runs():
    """gmsd of an image with itself is 0 (no gradient deviation); lower is better."""
    img = rand_img(10, 64, 64)
    m = create_metric("gmsd")
    assert m.mode == "fr" and not m.higher_is_better
    assert m.score_batch([img], [img])[0] == pytest.approx(0.0, abs=1e-6)


# -- text_psnr ------------------------------------------------------------------------------

def _box(x0, y0, x1, y1, text="WORD"):
    return TextInstance(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), text)


def test_text_psnr_ignores_error_outside_text():
    """Error only outside the word box: the text region is perfect (80 dB, the 1e-8 cap)
    while whole-image PSNR is low. Error inside: MSE over the box's pixels only."""
    ref = np.full((40, 60, 3), 128, np.uint8)
    pred = ref.copy()
    pred[:, 40:] = 0  # outside the box x in [5, 30]
    words = [[_box(5, 10, 30, 20)]]
    tp = create_metric("text_psnr")
    assert tp.score_batch([pred], [ref], words)[0] == pytest.approx(80.0)
    assert create_metric("psnr").score_batch([pred], [ref])[0] < 15

    pred2 = ref.copy()
    pred2[10:21, 5:31] += 10  # exactly the filled box (fillPoly includes edge pixels)
    pred2[0, 0] += 100  # outside: ignored
    expected = 10 * math.log10(1 / ((10 / 255) ** 2 + 1e-8))
    assert tp.score_batch([pred2], [ref], words)[0] == pytest.approx(expected, abs=1e-9)


def test_text_psnr_not_applicable():
    """No GT words, or only '###' words: None, with the reason."""
    img = rand_img(11)
    tp = create_metric("text_psnr")
    assert tp.score_batch([img, img], [img, img], [[], [_box(1, 1, 9, 9, "###")]]) == [None, None]
    assert tp.last_reasons == ["no cared GT text polygon in this image"] * 2
