"""Property tests (hypothesis) of the pooled text metrics."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.records import Detection, TextInstance
from bench.textmetrics import TextEvalConfig, evaluate_image, pool

SETTINGS = settings(max_examples=40, deadline=None)
RATIOS = [k for mode in ("det", "e2e_none", "e2e_none_ws", "e2e_full", "e2e_full_ws")
          for k in (f"{mode}_precision", f"{mode}_recall", f"{mode}_hmean")]


@st.composite
def boxes(draw):
    x0, y0 = draw(st.integers(0, 200)), draw(st.integers(0, 200))
    w, h = draw(st.integers(1, 60)), draw(st.integers(1, 30))
    return ((x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h))


words = st.text(alphabet="ABCDEFGHabcdefgh", min_size=3, max_size=8)
gt_lists = st.lists(st.builds(TextInstance, boxes(), st.one_of(words, st.just("###"), st.just("A1"))), max_size=5)
det_lists = st.lists(st.builds(Detection, boxes(), words, st.floats(0.0, 1.0)), max_size=5)
images = st.lists(st.tuples(gt_lists, det_lists), min_size=1, max_size=4)
VOCAB = frozenset({"ABC", "abcd", "HEAD", "face"})
DEFAULT = TextEvalConfig()


def _evaluate(imgs, cfg=DEFAULT):
    return [evaluate_image(g, d, cfg, vocabulary=VOCAB) for g, d in imgs]


@SETTINGS
@given(images, st.randoms(use_true_random=False))
def test_metrics_do_not_depend_on_image_order(imgs, rnd: random.Random):
    """Pooling sums integers over images, so shuffling the images changes nothing."""
    results = _evaluate(imgs)
    shuffled = results[:]
    rnd.shuffle(shuffled)
    assert pool(shuffled) == pool(results)


@SETTINGS
@given(images, st.sampled_from(["greedy", "bipartite"]))
def test_ratios_lie_in_unit_interval(imgs, matching):
    """P, R and H are ratios of counts with M <= Det and M <= GT: always in [0, 1];
    None exactly when the mode has no cared GT word (nothing to measure)."""
    m = pool(_evaluate(imgs, TextEvalConfig(matching=matching)))
    for key in RATIOS:
        mode = key.rsplit("_", 1)[0]
        if m[f"{mode}_n_gt"] == 0:
            assert m[key] is None and m[f"{mode}_reason"]
        else:
            assert 0.0 <= m[key] <= 1.0


@SETTINGS
@given(st.lists(st.lists(st.builds(TextInstance, boxes(), words), min_size=1, max_size=5), min_size=1, max_size=3),
       st.sampled_from(["testr", "clean"]))
def test_perfect_predictions_score_one(gt_per_image, compat):
    """Detections equal to the GT (same polygon, same word, score 1) score 1.0 in every
    mode without lexicon: GT i pairs with detection i (IoU 1, first free in order)
    and the words are equal; letter-only words of >= 3 characters all count."""
    cfg = TextEvalConfig(compat=compat)
    results = [evaluate_image(g, [Detection(t.polygon, t.text, 1.0) for t in g], cfg) for g in gt_per_image]
    m = pool(results)
    for mode in ("det", "e2e_none", "e2e_none_ws"):
        assert (m[f"{mode}_precision"], m[f"{mode}_recall"], m[f"{mode}_hmean"]) == (1.0, 1.0, 1.0)
