"""Text *statistics* of what the spotter reads, for sets without ground truth.

No annotation means no accuracy: these numbers describe the readings, they do not
grade them (docs/metrics.md, "Text statistics"). They are computed for every image of a row,
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

import math
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


def read_records(dets: Sequence[Detection], cfg: TextEvalConfig) -> list[dict]:
    """The words read in one image (the same rule as :func:`words_read`, in detection
    order) as ``text_details.jsonl`` keeps them: ``{"text": evaluated word, "score",
    "polygon": the spotter's polygon as given, [[x, y], ...]}``."""
    return [{"text": p.text, "score": p.score, "polygon": [[float(x), float(y)] for x, y in dets[p.index].polygon]}
            for p in prepare_detections(dets, cfg) if p.text]


def agreement_counts(row_words: Sequence[str], ref_words: Sequence[str]) -> tuple[int, int, int]:
    """``(|A & B|, |A|, |B|)`` of the upper-cased multisets of one image's words."""
    a, b = Counter(w.upper() for w in row_words), Counter(w.upper() for w in ref_words)
    return sum((a & b).values()), sum(a.values()), sum(b.values())


#: per (image, row) counts the statistics are pooled from (per_image.csv columns, so
#: ``bench merge`` re-pools shards exactly); the two ``read_lq_*`` are absent for the LQ row
COUNT_KEYS = ("read_words", "read_confidence_sum", "read_lq_common", "read_lq_words")


def reading_counts(per_row: Mapping[str, Mapping[str, Sequence[Detection]]], cfg: TextEvalConfig,
                   reference: str = LQ_ROW) -> dict[str, dict[str, dict]]:
    """``{row: {image_id: counts}}`` from ``{row: {image_id: detections}}``: words read, the
    sum of their scores and, against the ``reference`` row on the same image, ``|A & B|``
    (``read_lq_common``) and ``|A| + |B|`` (``read_lq_words``)."""
    words = {row: {iid: words_read(d, cfg) for iid, d in images.items()} for row, images in per_row.items()}
    ref = words.get(reference, {})
    out: dict[str, dict[str, dict]] = {}
    for row, images in words.items():
        out[row] = {}
        for iid, ws in images.items():
            entry = {"read_words": len(ws), "read_confidence_sum": math.fsum(sc for _, sc in ws)}
            if row != reference and iid in ref:
                inter, a, b = agreement_counts([w for w, _ in ws], [w for w, _ in ref[iid]])
                entry.update(read_lq_common=inter, read_lq_words=a + b)
            out[row][iid] = entry
    return out


def statistics_from_counts(per_row: Mapping[str, Sequence[Mapping]], has_reference: bool,
                           reference: str = LQ_ROW) -> dict[str, dict]:
    """``{row: {read_*: value}}`` from each row's per-image :data:`COUNT_KEYS` records (in
    any order: the sums are exact). A null ``read_lq_agreement`` comes with its reason."""
    out: dict[str, dict] = {}
    for row, recs in per_row.items():
        n = len(recs)
        words = sum(int(r["read_words"]) for r in recs)
        entry: dict = {"read_n_images": n,
                       "read_words_per_image": words / n if n else None,
                       "read_mean_confidence": math.fsum(r["read_confidence_sum"] for r in recs) / words
                       if words else None}
        common = [r for r in recs if r.get("read_lq_words") is not None]
        total = sum(int(r["read_lq_words"]) for r in common)
        entry["read_lq_agreement"] = 2 * sum(int(r["read_lq_common"]) for r in common) / total if total else None
        if entry["read_lq_agreement"] is None:
            entry["read_lq_agreement_reason"] = (NO_LQ_REASON if not has_reference else
                                                 SAME_ROW_REASON if row == reference else NO_WORDS_REASON)
        out[row] = entry
    return out


def reading_statistics(per_row: Mapping[str, Mapping[str, Sequence[Detection]]], cfg: TextEvalConfig,
                       reference: str = LQ_ROW) -> dict[str, dict]:
    """``{row: {read_*: value, ...}}`` from ``{row: {image_id: detections}}`` (module doc)."""
    counts = reading_counts(per_row, cfg, reference)
    return statistics_from_counts({row: list(c.values()) for row, c in counts.items()}, reference in per_row,
                                  reference)
