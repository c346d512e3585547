"""Text *statistics* of what the spotter reads, for sets without ground truth.

No annotation means no accuracy: these numbers describe the readings, they do not
grade them (README, "Text statistics"). They are computed for every image of a row,
annotated or not, from the same detections the evaluator sees.

A *word read* is a detection the evaluator keeps (:func:`prepare_detections`: score >
``prefilter_score``, a valid polygon, in ``testr`` compat ``int()`` coordinates) whose
evaluated word (:func:`prediction_text`) is not empty. Per row:

* ``read_n_images``: images of the row.
* ``read_words_per_image``: words read, summed over the row's images / ``read_n_images``.
* ``read_mean_confidence``: mean detection score of the words read, over all of them
  (null when there is none).
* ``read_lq_agreement``: how far the row reads what the LQ row reads, as a word-level F1
  of multiset agreement. Per image, ``A`` is the multiset of the row's words and ``B``
  the LQ row's, both upper-cased; ``|A & B|`` the size of their multiset intersection
  (a word found twice in both counts twice). Pooled over the images both rows have:
  ``2 * sum |A & B| / (sum |A| + sum |B|)``. 1 = the same words as on the LQ input,
  0 = none in common. Null for the LQ row itself (its own reference) and when neither
  row reads a word. It measures change, not correctness: a restorer that makes an
  unreadable word readable lowers it, and so does one that invents words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from bench.records import LQ_ROW, Detection
from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.prepare import prepare_detections

STAT_KEYS = ("read_n_images", "read_words_per_image", "read_mean_confidence", "read_lq_agreement")
SAME_ROW_REASON = "the LQ row is the reference of this statistic"
NO_WORDS_REASON = "neither this row nor the LQ row reads a word on their common images"
NO_LQ_REASON = "no LQ row to compare with"


def words_read(dets: Sequence[Detection], cfg: TextEvalConfig) -> list[tuple[str, float]]:
    """(evaluated word, score) of each word read in one image (module doc)."""
    return [(p.text, p.score) for p in prepare_detections(dets, cfg) if p.text]


def agreement_counts(row_words: Sequence[str], ref_words: Sequence[str]) -> tuple[int, int, int]:
    """``(|A & B|, |A|, |B|)`` of the upper-cased multisets of one image's words."""
    a, b = Counter(w.upper() for w in row_words), Counter(w.upper() for w in ref_words)
    return sum((a & b).values()), sum(a.values()), sum(b.values())


def reading_statistics(per_row: Mapping[str, Mapping[str, Sequence[Detection]]], cfg: TextEvalConfig,
                       reference: str = LQ_ROW) -> dict[str, dict]:
    """``{row: {read_*: value, ...}}`` from ``{row: {image_id: detections}}`` (module doc).
    A null ``read_lq_agreement`` comes with ``read_lq_agreement_reason``."""
    words = {row: {iid: words_read(d, cfg) for iid, d in images.items()} for row, images in per_row.items()}
    ref = words.get(reference)
    out: dict[str, dict] = {}
    for row, images in words.items():
        n = len(images)
        scores = [s for ws in images.values() for _, s in ws]
        entry: dict = {"read_n_images": n,
                       "read_words_per_image": len(scores) / n if n else None,
                       "read_mean_confidence": sum(scores) / len(scores) if scores else None}
        if ref is None or row == reference:
            entry["read_lq_agreement"] = None
            entry["read_lq_agreement_reason"] = NO_LQ_REASON if ref is None else SAME_ROW_REASON
        else:
            common = [iid for iid in images if iid in ref]
            inter = n_row = n_ref = 0
            for iid in common:
                i, a, b = agreement_counts([w for w, _ in images[iid]], [w for w, _ in ref[iid]])
                inter, n_row, n_ref = inter + i, n_row + a, n_ref + b
            entry["read_lq_agreement"] = 2 * inter / (n_row + n_ref) if n_row + n_ref else None
            if entry["read_lq_agreement"] is None:
                entry["read_lq_agreement_reason"] = NO_WORDS_REASON
        out[row] = entry
    return out
