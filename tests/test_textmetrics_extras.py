"""Hallucination measures, headroom, rectified crops and the metric definitions."""

from __future__ import annotations

import numpy as np
import pytest

from bench.records import Detection, TextInstance
from bench.textmetrics import (
    TEXT_METRIC_DEFINITIONS,
    TEXT_METRIC_HIGHER_IS_BETTER,
    TextEvalConfig,
    evaluate_image,
    headroom,
    phantom_detections,
    pool,
    rectified_crop,
)

CFG = TextEvalConfig()


def rect(x0, y0, x1, y1):
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def test_phantom_detections():
    """GT word at A=[0,100]x[0,20], '###' at B=[0,100]x[40,60]. On the HQ image the
    spotter also found C=[200,300]x[0,20] (real but unannotated text). Restored-image
    detections: on A (explained by GT), inside B (covers a '###' region), on C
    (explained by HQ), at D=[200,300]x[100,120] (explained by nothing: a phantom),
    and one at D with score 0.05 (removed by the 0.1 pre-filter). Only D counts."""
    gt = [TextInstance(rect(0, 0, 100, 20), "SHOP"), TextInstance(rect(0, 40, 100, 60), "###")]
    hq = [Detection(rect(200, 0, 300, 20), "OPEN", 0.9)]
    phantom = Detection(rect(200, 100, 300, 120), "EXIT", 0.95)
    restored = [Detection(rect(0, 0, 100, 20), "SHOP", 0.9), Detection(rect(10, 45, 90, 55), "X", 0.9),
                Detection(rect(200, 0, 300, 20), "OPEN", 0.9), phantom,
                Detection(rect(200, 100, 300, 120), "EXIT", 0.05)]
    assert phantom_detections(restored, gt, hq, CFG) == [phantom]
    res = evaluate_image(gt, restored, CFG, hq_dets=hq)
    assert res.n_phantom == 1
    m = pool([res, evaluate_image(gt, [], CFG, hq_dets=hq)])
    assert (m["phantom_total"], m["phantom_n_images"], m["phantom_per_image"]) == (1, 2, 0.5)


def test_confidently_wrong_rate():
    """Two GT words, both located (IoU 1). 'HOUSF' with score 0.95 >= 0.9 is
    confidently wrong; 'SHOQ' with score 0.5 is wrong but not confident. Rate over the
    two E2E pairs = 1/2. At exactly the threshold (0.9) a wrong word counts (>=)."""
    gt = [TextInstance(rect(0, 0, 100, 20), "HOUSE"), TextInstance(rect(0, 40, 100, 60), "SHOP")]
    dets = [Detection(rect(0, 0, 100, 20), "HOUSF", 0.95), Detection(rect(0, 40, 100, 60), "SHOQ", 0.5)]
    res = evaluate_image(gt, dets, CFG)
    assert [w.confidently_wrong for w in res.wrong_words] == [True, False]
    m = pool([res])
    assert (m["e2e_none_pairs"], m["confidently_wrong"], m["confidently_wrong_rate"]) == (2, 1, 0.5)
    at = evaluate_image(gt[:1], [Detection(rect(0, 0, 100, 20), "HOUSF", 0.9)], CFG)
    assert at.confidently_wrong == 1


def test_headroom():
    """LQ 0.4, HQ 0.8, restored 0.6: half the gap closed -> 0.5. Restored 0.3 is worse
    than LQ -> -0.25. HQ == LQ: no gap, undefined -> None."""
    assert headroom(0.6, 0.4, 0.8) == pytest.approx(0.5)
    assert headroom(0.3, 0.4, 0.8) == pytest.approx(-0.25)
    assert headroom(0.6, 0.5, 0.5) is None
    assert headroom(None, 0.4, 0.8) is None


def test_rectified_crop_axis_aligned_equals_slice():
    """An axis-aligned 4-point box [10,40]x[5,15] warps with an identity-like transform:
    the 30x10 crop equals the array slice."""
    img = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    crop = rectified_crop(img, rect(10, 5, 40, 15))
    assert crop.shape == (10, 30, 3)
    np.testing.assert_array_equal(crop, img[5:15, 10:40])


def test_rectified_crop_many_points_long_side_horizontal():
    """A 16-point polygon of a vertical strip [20,30]x[0,40] goes through the min-area
    rectangle; the long side (40 px) becomes the crop's width: shape 10x40."""
    img = np.zeros((50, 50, 3), dtype=np.uint8)
    ys = np.linspace(0, 40, 8)
    pts = [(30.0, y) for y in ys] + [(20.0, y) for y in ys[::-1]]
    assert rectified_crop(img, pts).shape == (10, 40, 3)


def test_every_pooled_key_is_defined():
    """pool() with all optional parts present returns only keys documented in
    TEXT_METRIC_DEFINITIONS; every higher-is-better entry names a defined key."""
    res = evaluate_image([TextInstance(rect(0, 0, 10, 10), "ABC")], [], CFG,
                         vocabulary=frozenset({"ABC"}), hq_dets=[])
    keys = set(pool([res]))
    assert keys <= set(TEXT_METRIC_DEFINITIONS), keys - set(TEXT_METRIC_DEFINITIONS)
    assert set(TEXT_METRIC_HIGHER_IS_BETTER) <= set(TEXT_METRIC_DEFINITIONS)
