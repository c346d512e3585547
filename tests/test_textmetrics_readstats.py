"""Text statistics of the readings (no ground truth): words per image, confidence, agreement with LQ."""

from __future__ import annotations

import pytest

from bench.records import Detection
from bench.textmetrics import TextEvalConfig
from bench.textmetrics.readstats import (
    SAME_ROW_REASON,
    agreement_counts,
    reading_statistics,
    words_read,
)

CFG = TextEvalConfig()


def box(i: int):
    return ((0, 20 * i), (50, 20 * i), (50, 20 * i + 15), (0, 20 * i + 15))


def dets(*words_scores):
    return [Detection(box(i), w, s) for i, (w, s) in enumerate(words_scores)]


def test_words_read_are_the_detections_the_evaluator_keeps_with_a_word():
    """The pre-filter (score > 0.1) and an empty evaluated word remove a detection:
    of ('OPEN', .9), ('', .9) and ('SHOP', .1) only OPEN is read."""
    assert words_read(dets(("OPEN", 0.9), ("", 0.9), ("SHOP", 0.1)), CFG) == [("OPEN", 0.9)]


def test_statistics_worked_by_hand():
    """LQ reads a: OPEN .9, SHOP .8; b: X .6. The restorer R reads a: OPEN .9, open .7,
    SHIP .5; b: nothing. Words per image: LQ 3/2, R 3/2. Mean confidence: LQ
    (.9+.8+.6)/3, R (.9+.7+.5)/3. Agreement of R with LQ, upper-cased multisets: on a,
    A = {OPEN x2, SHIP}, B = {OPEN, SHOP}, |A & B| = 1, |A| = 3, |B| = 2; on b, 0, 0, 1;
    pooled 2 * 1 / (3 + 3) = 1/3. The LQ row is its own reference: null with the reason."""
    per_row = {"LQ": {"a": dets(("OPEN", 0.9), ("SHOP", 0.8)), "b": dets(("X", 0.6))},
               "R": {"a": dets(("OPEN", 0.9), ("open", 0.7), ("SHIP", 0.5)), "b": []}}
    stats = reading_statistics(per_row, CFG)
    assert stats["LQ"]["read_words_per_image"] == 1.5 and stats["R"]["read_words_per_image"] == 1.5
    assert stats["LQ"]["read_mean_confidence"] == pytest.approx((0.9 + 0.8 + 0.6) / 3)
    assert stats["R"]["read_mean_confidence"] == pytest.approx((0.9 + 0.7 + 0.5) / 3)
    assert stats["R"]["read_lq_agreement"] == pytest.approx(1 / 3)
    assert stats["LQ"]["read_lq_agreement"] is None and stats["LQ"]["read_lq_agreement_reason"] == SAME_ROW_REASON
    assert agreement_counts(["OPEN", "open", "SHIP"], ["OPEN", "SHOP"]) == (1, 3, 2)


def test_no_words_anywhere_gives_nulls_with_reasons():
    """Nothing read on either row: no mean confidence, and no agreement (0 / 0)."""
    stats = reading_statistics({"LQ": {"a": []}, "R": {"a": []}}, CFG)
    assert stats["R"]["read_words_per_image"] == 0 and stats["R"]["read_mean_confidence"] is None
    assert stats["R"]["read_lq_agreement"] is None and stats["R"]["read_lq_agreement_reason"]
