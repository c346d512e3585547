"""Data-set level text metrics from per-image results (definitions: :mod:`.definitions`).

TESTR pools: it sums matches, cared GT and cared detections over all images, then
computes R = M / GT, P = M / Det, H = 2PR / (P + R), a zero denominator giving 0
(``text_eval_script.py``, ``methodRecall``/``methodPrecision``/``methodHmean``).
Per-image values are never averaged.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.textmetrics.recognition import recognition_scores
from bench.textmetrics.results import MODES_BASE, MODES_FULL, Counts, ImageTextResult


def prh(c: Counts) -> tuple[float, float, float]:
    """Precision, recall and H-mean of pooled counts (0 on zero denominators)."""
    p = c.matched / c.n_det if c.n_det else 0.0
    r = c.matched / c.n_gt if c.n_gt else 0.0
    h = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, h


def _modes(results: list[ImageTextResult]) -> tuple[str, ...]:
    with_full = [all(m in r.counts for m in MODES_FULL) for r in results]
    if any(with_full) and not all(with_full):
        raise ValueError("cannot pool: some images were evaluated with a vocabulary (full lexicon) and some without")
    return MODES_BASE + MODES_FULL if results and all(with_full) else MODES_BASE


def pool(results: Iterable[ImageTextResult]) -> dict[str, float | None | int]:
    """Pooled metrics over images; every key is defined in ``TEXT_METRIC_DEFINITIONS``."""
    results = list(results)
    out: dict[str, float | None | int] = {"n_images": len(results)}
    for mode in _modes(results):
        total = sum((r.counts[mode] for r in results), Counts())
        p, r, h = prh(total)
        out.update({
            f"{mode}_precision": p, f"{mode}_recall": r, f"{mode}_hmean": h,
            f"{mode}_matched": total.matched, f"{mode}_n_gt": total.n_gt, f"{mode}_n_det": total.n_det,
        })
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
