"""Data-set level text metrics from per-image results (definitions: :mod:`.definitions`).

TESTR pools: it sums matches, cared GT and cared detections over all images, then
computes R = M / GT, P = M / Det, H = 2PR / (P + R), a zero denominator giving 0
(``upstream/TAIR/testr/adet/evaluation/text_eval_script.py:451-453``,
``methodRecall``/``methodPrecision``/``methodHmean``). Per-image values are never averaged.

One deliberate difference: with no cared GT word in a mode (GT = 0: no annotated image,
or every word don't care there), the official code prints 0 for P, R and H; there is
nothing to measure, so we report ``None`` for all three and say why in
``<mode>_reason`` (:data:`NO_GT_REASON`, :data:`NO_IMAGES_REASON`). The counts stay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bench.textmetrics.formulas import prh_arrays
from bench.textmetrics.recognition import recognition_scores
from bench.textmetrics.results import Counts, ImageTextResult, modes_of


NO_IMAGES_REASON = "no annotated image: text P/R/H need ground-truth words (see the text statistics read_*)"
NO_GT_REASON = "no cared GT word in this mode (GT = 0): nothing to measure"


def _none_if_nan(x) -> float | None:
    v = float(x)
    return None if math.isnan(v) else v


def prh(c: Counts) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and H-mean of pooled counts (:func:`prh_arrays`): ``None`` for
    all three when there is no cared GT (GT = 0)."""
    p, r, h = prh_arrays(c.matched, c.n_det, c.n_gt)
    return _none_if_nan(p), _none_if_nan(r), _none_if_nan(h)


def pool(results: Iterable[ImageTextResult]) -> dict[str, float | None | int]:
    """Pooled metrics over images; every key is defined in ``TEXT_METRIC_DEFINITIONS``."""
    results = list(results)
    out: dict[str, float | None | int] = {"n_images": len(results)}
    for mode in (modes_of(r.counts for r in results) if results else modes_of([])):
        total = sum((r.counts[mode] for r in results), Counts())
        p, r, h = prh(total)
        out.update({
            f"{mode}_precision": p, f"{mode}_recall": r, f"{mode}_hmean": h,
            f"{mode}_matched": total.matched, f"{mode}_n_gt": total.n_gt, f"{mode}_n_det": total.n_det,
        })
        if h is None:
            out[f"{mode}_reason"] = NO_IMAGES_REASON if not results else NO_GT_REASON
    n_pairs = sum(r.e2e_none_pairs for r in results)
    n_cw = sum(r.confidently_wrong for r in results)
    out["e2e_none_pairs"] = n_pairs
    out["confidently_wrong"] = n_cw
    out["confidently_wrong_rate"] = n_cw / n_pairs if n_pairs else None

    rec_pairs = [(p.gt_text, p.pred_text) for r in results for p in r.pairs if p.correct.get("det")]
    rec = recognition_scores(rec_pairs, case_sensitive=False)
    out.update({"rec_n": rec["n"], "rec_word_accuracy": rec["word_accuracy"],
                "rec_cer": rec["cer"], "rec_one_minus_ned": rec["one_minus_ned"]})

    phantom = [r.n_phantom for r in results if r.n_phantom is not None]
    if phantom:
        out["phantom_total"] = sum(phantom)
        out["phantom_n_images"] = len(phantom)
        out["phantom_per_image"] = sum(phantom) / len(phantom)
    return out
