"""TESTR protocol: geometry, matching and counting (docs/protocol.md).

Each test builds rectangles by hand; the docstring says which pairs must match and why.
"""

from __future__ import annotations

import json

import pytest

from bench.records import Detection, TextInstance
from bench.textmetrics import ImageTextResult, TextEvalConfig, evaluate_image, pool
from bench.textmetrics.geometry import detection_polygon, gt_polygon, iou

CFG = TextEvalConfig()


def rect(x0, y0, x1, y1):
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def gt(box, text="HOUSE"):
    return TextInstance(rect(*box), text)


def det(box, text="HOUSE", score=0.9):
    return Detection(rect(*box), text, score)


def test_iou_exactly_half_does_not_match():
    """GT 1000x1, detection its left 500x1: inter 500, union 1000, IoU = 0.5 exactly.
    TESTR needs IoU strictly > 0.5, so nothing matches: M = 0, GT = 1, Det = 1."""
    assert iou(gt_polygon(rect(0, 0, 1000, 1)), gt_polygon(rect(0, 0, 500, 1))) == 0.5
    res = evaluate_image([gt((0, 0, 1000, 1))], [det((0, 0, 500, 1))], CFG)
    assert (res.counts["det"].matched, res.counts["det"].n_gt, res.counts["det"].n_det) == (0, 1, 1)
    assert res.counts["e2e_none"].matched == 0


def test_iou_just_above_half_matches():
    """Detection 501x1 inside the 1000x1 GT: IoU = 501 / 1000 = 0.501 > 0.5, a match;
    same word, so it also counts end to end."""
    res = evaluate_image([gt((0, 0, 1000, 1))], [det((0, 0, 501, 1))], CFG)
    assert res.counts["det"].matched == 1
    assert res.counts["e2e_none"].matched == 1
    assert res.pairs[0].iou == pytest.approx(0.501)


def test_one_detection_two_gt_greedy_gt_order_decides():
    """GT0 = [0,20]x[0,20] 'HELLO', GT1 = [0,20]x[2,22] 'WORLD', one detection
    [0,20]x[2,21] reading 'WORLD'. IoU with GT0 = 360/420 = 0.857, with GT1 =
    380/400 = 0.95. Greedy walks GTs in order: GT0 takes the detection although GT1
    fits better, so the word is wrong (E2E M = 0) and GT1 is missed. Listing GT1
    first gives E2E M = 1."""
    g0, g1 = gt((0, 0, 20, 20), "HELLO"), gt((0, 2, 20, 22), "WORLD")
    d = [det((0, 2, 20, 21), "WORLD")]
    res = evaluate_image([g0, g1], d, CFG)
    assert res.counts["det"].matched == 1 and res.pairs[0].gt_index == 0
    assert res.counts["e2e_none"].matched == 0
    assert evaluate_image([g1, g0], d, CFG).counts["e2e_none"].matched == 1


def test_bipartite_finds_more_pairs_than_greedy():
    """GT0 = [0,10]x[0,10], GT1 = [0,10]x[4,14]; det0 = [0,10]x[2,12] (IoU 0.667 with
    both), det1 = GT0 exactly (IoU 1 with GT0, 60/140 = 0.43 with GT1). Greedy: GT0
    takes det0, GT1 has nothing left above 0.5: 1 match. Bipartite: GT0-det1 and
    GT1-det0: 2 matches."""
    gts = [gt((0, 0, 10, 10)), gt((0, 4, 10, 14))]
    dets = [det((0, 2, 10, 12)), det((0, 0, 10, 10))]
    assert evaluate_image(gts, dets, CFG).counts["det"].matched == 1
    assert evaluate_image(gts, dets, TextEvalConfig(matching="bipartite")).counts["det"].matched == 2


def test_detection_inside_dont_care_is_dropped_not_counted():
    """A detection entirely inside a '###' region (own-area overlap 1 > 0.5) is ignored:
    Det = 0 and GT = 0 ('###' is not cared), so nothing is a false positive."""
    res = evaluate_image([gt((0, 0, 100, 20), "###")], [det((10, 2, 90, 18), "JUNK")], CFG)
    for mode in ("det", "e2e_none", "e2e_none_ws"):
        assert (res.counts[mode].n_gt, res.counts[mode].n_det, res.counts[mode].matched) == (0, 0, 0)


def test_half_covered_dont_care_still_counts():
    """Detection [0,20]x[0,10] over a '###' region [10,30]x[0,10]: intersection / own
    area = 100 / 200 = 0.5, not > 0.5, so the detection is kept and is a false positive."""
    res = evaluate_image([gt((10, 0, 30, 10), "###")], [det((0, 0, 20, 10))], CFG)
    assert res.counts["det"].n_det == 1 and res.counts["det"].matched == 0


def test_wrong_word_consumes_gt_later_correct_detection_is_false_positive():
    """GT 'HOUSE'. det0 'HOUSF' (IoU 0.9) comes first, det1 'HOUSE' (IoU 1) second.
    Pairs are made on IoU alone: GT takes det0, whose word is wrong. det1 then has no
    GT and is a false positive: E2E M = 0, Det = 2; detection-only M = 1."""
    res = evaluate_image([gt((0, 0, 100, 20))], [det((0, 0, 90, 20), "HOUSF"), det((0, 0, 100, 20), "HOUSE")], CFG)
    assert (res.counts["e2e_none"].matched, res.counts["e2e_none"].n_det) == (0, 2)
    assert res.counts["det"].matched == 1
    assert [w.pred_text for w in res.wrong_words] == ["HOUSF"]


def test_empty_predictions():
    """No detections: M = 0, Det = 0 and GT = 1, so P = R = H = 0 (zero denominators give 0)."""
    m = pool([evaluate_image([gt((0, 0, 10, 10))], [], CFG)])
    assert (m["det_precision"], m["det_recall"], m["det_hmean"], m["det_n_gt"]) == (0.0, 0.0, 0.0, 1)


def test_empty_gt():
    """No GT words (Det = 2, GT = 0): TESTR prints P = R = H = 0 here
    (text_eval_script.py:451-453), but with no cared GT there is nothing to measure, so
    pool reports None for all three with the reason, and keeps the counts. With no image
    at all the reason says there is no annotated image."""
    m = pool([evaluate_image([], [det((0, 0, 10, 10)), det((20, 0, 30, 10))], CFG)])
    assert (m["det_n_det"], m["det_n_gt"], m["det_precision"], m["det_recall"], m["det_hmean"]) == \
        (2, 0, None, None, None)
    assert "GT = 0" in m["det_reason"] and "GT = 0" in m["e2e_none_reason"]
    assert evaluate_image([], [], CFG).counts["e2e_none"].n_gt == 0
    empty = pool([])
    assert empty["n_images"] == 0 and empty["e2e_none_hmean"] is None and "no annotated image" in empty["e2e_none_reason"]


def test_pooled_f1_differs_from_mean_of_per_image_f1():
    """Image A: 1 GT, 1 correct detection (H = 1). Image B: 3 GT, no detection (H = 0).
    The mean of per-image H would be 0.5. Pooled: M = 1, GT = 4, Det = 1 -> P = 1,
    R = 0.25, H = 2*0.25/1.25 = 0.4, which is what TESTR reports."""
    a = evaluate_image([gt((0, 0, 10, 10))], [det((0, 0, 10, 10))], CFG)
    b = evaluate_image([gt((0, 0, 10, 10)), gt((20, 0, 30, 10)), gt((40, 0, 50, 10))], [], CFG)
    m = pool([a, b])
    assert (m["det_precision"], m["det_recall"]) == (1.0, 0.25)
    assert m["det_hmean"] == pytest.approx(0.4)


def test_int_truncation_of_coordinates_in_testr_mode():
    """GT [0,10]x[0,10]; detection [0,10.9]x[0,5.9]. testr truncates to [0,10]x[0,5]:
    IoU = 50/100 = 0.5, no match. clean keeps floats: inter 59, union 100 + 64.31 - 59
    = 105.31, IoU = 0.56 > 0.5, a match."""
    g, d = [gt((0, 0, 10, 10))], [det((0, 0, 10.9, 5.9))]
    assert evaluate_image(g, d, CFG).counts["det"].matched == 0
    assert evaluate_image(g, d, TextEvalConfig(compat="clean")).counts["det"].matched == 1


def test_invalid_detection_polygons_are_dropped():
    """A bow-tie (self-intersecting), a 2-point and a zero-area polygon are invalid for
    shapely, so TESTR removes them before evaluation: none counts as a detection.
    A triangle of side 0.6 collapses to a point under testr's int() and is dropped
    there, but kept in clean mode."""
    bowtie = Detection(((0, 0), (10, 10), (10, 0), (0, 10)), "A", 0.9)
    two = Detection(((0, 0), (10, 10)), "A", 0.9)
    flat = Detection(((0, 0), (5, 0), (10, 0)), "A", 0.9)
    res = evaluate_image([gt((0, 0, 10, 10))], [bowtie, two, flat], CFG)
    assert (res.n_det_input, res.n_det_evaluated, res.counts["det"].n_det) == (3, 0, 0)
    tiny = [Detection(((0.2, 0.2), (0.8, 0.2), (0.8, 0.8)), "A", 0.9)]
    assert evaluate_image([], tiny, CFG).n_det_evaluated == 0
    assert evaluate_image([], tiny, TextEvalConfig(compat="clean")).n_det_evaluated == 1


def test_invalid_gt_polygon_is_dont_care_with_its_repaired_area():
    """A bow-tie GT (two triangles of area 25 each) makes the official validator abort
    ('polygon has intersection sides'), so it has no official answer: it is don't care
    (GT = 0), and its make_valid repair (area 50) is the don't-care region, so a
    detection lying on the left triangle (its own area all inside) is ignored (Det = 0)."""
    bowtie = TextInstance(((0, 0), (10, 10), (10, 0), (0, 10)), "HOUSE")
    assert detection_polygon(bowtie.polygon) is None
    assert gt_polygon(bowtie.polygon).area == pytest.approx(50.0)
    res = evaluate_image([bowtie], [Detection(((0, 1), (4, 5), (0, 9)), "HOUSE", 0.9)], CFG)
    assert (res.counts["det"].n_gt, res.counts["det"].n_det) == (0, 0)


def test_score_prefilter_is_strict():
    """TESTR keeps score > 0.1: a detection at exactly 0.1 is removed, 0.1001 is kept."""
    g = [gt((0, 0, 10, 10))]
    assert evaluate_image(g, [det((0, 0, 10, 10), score=0.1)], CFG).counts["det"].n_det == 0
    assert evaluate_image(g, [det((0, 0, 10, 10), score=0.1001)], CFG).counts["det"].matched == 1


def test_result_json_roundtrip():
    """to_dict -> JSON -> from_dict gives back an equal result (the cache format)."""
    res = evaluate_image([gt((0, 0, 10, 10), "Hello!")], [det((0, 0, 10, 10), "HELL", 0.95)], CFG,
                         vocabulary=frozenset({"Hello"}), hq_dets=[])
    assert ImageTextResult.from_dict(json.loads(json.dumps(res.to_dict()))) == res


def test_pool_refuses_mixed_lexicon_results():
    """Pooling images evaluated with and without a vocabulary would mix 'full' counts
    over different image sets, so pool raises."""
    a = evaluate_image([], [], CFG, vocabulary=frozenset({"A"}))
    b = evaluate_image([], [], CFG)
    with pytest.raises(ValueError, match="vocabulary"):
        pool([a, b])
