"""Exact definitions of every key :func:`bench.textmetrics.pool` returns.

The runner copies :data:`TEXT_METRIC_DEFINITIONS` and :data:`TEXT_METRIC_HIGHER_IS_BETTER`
into results.json; the report quotes them. Keys missing from the second dict are counts
with no better direction.
"""

from __future__ import annotations

_MODE_TEXT = {
    "det": "detection only (TESTR 'DETECTION_ONLY'): a pair is a GT/detection pair with "
    "IoU > iou_threshold; don't care = GT '###'",
    "e2e_none": "end-to-end, no lexicon, word spotting off (TESTR E2E as for CTW1500/ICDAR2015, "
    "'E2E None'): don't care = GT '###'; a pair counts iff, upper-cased, the evaluated "
    "prediction equals the GT or the GT without one of !?.:,*\"()·[]/' at its start, end or both",
    "e2e_none_ws": "end-to-end, no lexicon, word spotting on (TESTR as for Total-Text): don't care = "
    "GT '###' or a GT that after normalization (drop final 's, strip '-', !?.:,*\"()·[]/' -> space, "
    "strip) has a space, < 3 characters or a character outside Latin/Greek letters and '-'; a pair "
    "counts iff upper-cased normalized GT == upper-cased prediction",
    "e2e_full": "as e2e_none, with each raw prediction first snapped to the closest word (Levenshtein, "
    "upper-cased, first in sorted order on ties) of the data set vocabulary ('full' lexicon): the non-'###' "
    "GT words, each read as the GT words below (in testr compat stripped, as TESTR strips its lexicon lines). "
    "Known, deliberate difference from TESTR: of words with one upper-cased form (Straße, STRASSE) we return "
    "the first in sorted order, where TESTR's pair list returns its last line's spelling; that depends on the "
    "lexicon file's line order, and a vocabulary has none, so we keep an order-free rule",
    "e2e_full_ws": "as e2e_none_ws, with the 'full' lexicon snapping of e2e_full",
}
_COMMON = (
    "Detections: score > prefilter_score, invalid polygons dropped, in testr compat int() coordinates "
    "and TESTR's text-file artefacts; a detection whose intersection with a don't-care GT over its own "
    "area is > dont_care_area is ignored. Pairs: greedy in GT order then detection order (IoU alone; "
    "a wrong word still uses up its GT). Sums are pooled over all images before dividing. GT words: in testr "
    "compat read as TESTR's GT reader reads them (cut at ',####', stripped, surrounding double quotes removed "
    "with \\\\ and \\\" unescaped; a line break: no official reading, don't care), '###' decided on that reading; "
    "a GT polygon the official validator refuses (self-intersecting, zero area, < 3 points) is don't care; "
    "in testr compat GT coordinates are rounded to float32, as the official polygon_from_points stores them."
)


def _mode_entries() -> tuple[dict[str, str], dict[str, bool]]:
    defs: dict[str, str] = {}
    better: dict[str, bool] = {}
    for mode, text in _MODE_TEXT.items():
        base = f"[{mode}] {text}. {_COMMON}"
        defs[f"{mode}_matched"] = f"M: number of counted pairs, summed over images. {base}"
        defs[f"{mode}_n_gt"] = f"GT: number of cared GT words, summed over images. {base}"
        defs[f"{mode}_n_det"] = f"Det: number of cared (non-ignored) detections, summed over images. {base}"
        nothing = f"Null if GT = 0 (nothing to measure; the reason is in {mode}_reason)"
        defs[f"{mode}_precision"] = f"P = M / Det (0 if Det = 0). {nothing}. {base}"
        defs[f"{mode}_recall"] = f"R = M / GT. {nothing}. {base}"
        defs[f"{mode}_hmean"] = (f"H = 2PR / (P + R) (0 if P + R = 0); pooled, never a mean of per-image values. "
                                 f"{nothing}. {base}")
        better.update({f"{mode}_{k}": True for k in ("precision", "recall", "hmean", "matched")})
    return defs, better


_defs, _better = _mode_entries()

_WORD_READ = ("a word read is a detection kept by the evaluator (score > prefilter_score, valid polygon, testr "
              "int() coordinates) whose evaluated word is not empty; every image of the row, annotated or not")
_READ_DEFS = {
    "read_n_images": "Number of images of the row the read_* statistics are over.",
    "read_words_per_image": f"Words read summed over the row's images / read_n_images; {_WORD_READ}.",
    "read_mean_confidence": f"Mean detection score of all words read (null if none); {_WORD_READ}.",
    "read_lq_agreement": "Word-level F1 of multiset agreement with the LQ row's readings: per image A = the "
    "row's words, B = the LQ row's, upper-cased; pooled over the images both rows have, "
    "2 * sum |A & B| / (sum |A| + sum |B|) with & the multiset intersection. 1 = reads the same words as "
    "the LQ input, 0 = none in common; measures change, not correctness. Null for the LQ row itself and "
    f"when neither row reads a word (reason in read_lq_agreement_reason); {_WORD_READ}.",
}

TEXT_METRIC_DEFINITIONS: dict[str, str] = {
    "n_images": "Number of images pooled.",
    **_defs,
    "e2e_none_pairs": "Number of GT/detection pairs made on IoU in mode e2e_none (right or wrong word), summed.",
    "confidently_wrong": "Pairs of e2e_none whose word is wrong and whose detection score >= confident_threshold, summed.",
    "confidently_wrong_rate": "confidently_wrong / e2e_none_pairs (null if no pairs): the share of located "
    "words read wrongly with high confidence.",
    "rec_n": "Number of det-mode pairs (cared GT, IoU > iou_threshold) used for the rec_* scores.",
    "rec_word_accuracy": "Over det-mode pairs: share where the upper-cased evaluated prediction equals the "
    "upper-cased GT word exactly (no punctuation allowance). Null if rec_n = 0.",
    "rec_cer": "Over det-mode pairs, upper-cased: sum of Levenshtein distances / sum of GT lengths "
    "(can exceed 1). Null if there are no GT characters.",
    "rec_one_minus_ned": "Over det-mode pairs, upper-cased: mean of 1 - Levenshtein / max(len(gt), len(pred)) "
    "(1 for two empty words). Null if rec_n = 0.",
    "phantom_total": "Phantom detections summed over images: on the restored image, after the pre-filter, "
    "IoU > iou_threshold with no GT (### included), covering no ### region (intersection / own area > "
    "dont_care_area) and IoU > iou_threshold with no detection on the HQ image.",
    "phantom_n_images": "Number of images with HQ detections, over which phantom_per_image is averaged.",
    "phantom_per_image": "phantom_total / phantom_n_images (null if 0).",
    "headroom": "(f_restored - f_lq) / (f_hq - f_lq) for a pooled higher-is-better score f; 0 = as good as "
    "the degraded input, 1 = as good as the clean image; undefined (null) when f_hq == f_lq.",
    **{k: f"Text statistic (describes the readings; no ground truth, not an accuracy). {v}"
       for k, v in _READ_DEFS.items()},
}

TEXT_METRIC_HIGHER_IS_BETTER: dict[str, bool] = {
    **_better,
    "confidently_wrong": False,
    "confidently_wrong_rate": False,
    "rec_word_accuracy": True,
    "rec_cer": False,
    "rec_one_minus_ned": True,
    "phantom_total": False,
    "phantom_per_image": False,
    "headroom": True,
}
