"""Per-image text-spotting evaluation, TESTR protocol (docs/protocol.md).

Source: ``testr/adet/evaluation/{text_evaluation.py,text_eval_script.py,
lexicon_procesor.py}`` in cvlab-kaist/TAIR. One call evaluates every mode at once:

* ``det``: don't care = GT ``###``; every pair counts.
* ``e2e_none`` / ``e2e_full`` (word spotting off): don't care = ``###``; a pair counts
  iff :func:`~bench.textmetrics.normalize.correct_e2e`.
* ``e2e_none_ws`` / ``e2e_full_ws`` (word spotting on): don't care = ``###`` or a GT
  failing :func:`~bench.textmetrics.normalize.word_spotting_cares`; a pair counts iff
  :func:`~bench.textmetrics.normalize.correct_word_spotting` on the normalized GT.

In every mode, detections covering a don't-care GT are ignored, pairs are made on
IoU alone (greedy, GT order), then the word decides: a wrong word still uses up its
GT. ``full`` snaps raw words to the vocabulary *before* the text clean-up, as TESTR
does (its lexicon runs when predictions are produced).

Ground truth, in every mode: in ``testr`` compat each GT word is first read as the
official GT reader reads it (:func:`~bench.textmetrics.normalize.as_testr_reads_gt`:
stripped, cut at ``,####``, quotes removed) and ``###`` is decided on that reading;
``clean`` keeps the words as given. A GT with no official answer (a polygon the official
validator refuses, :func:`~bench.textmetrics.gtcheck.no_official_answer`, or a word
with a line break in testr compat) is don't care. An empty GT word is cared where the
official code cares for it: in ``det`` and word spotting off (it only matches an empty
prediction there); word spotting makes it don't care (shorter than 3 characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.records import DONT_CARE, Detection, TextInstance
from bench.textmetrics.config import TextEvalConfig
from bench.textmetrics.geometry import overlap_matrices
from bench.textmetrics.gtcheck import no_official_answer
from bench.textmetrics.hallucination import is_confidently_wrong, phantom_detections
from bench.textmetrics.lexicon import snap_words
from bench.textmetrics.matching import ignored_detections, match
from bench.textmetrics.normalize import (
    correct_e2e,
    correct_word_spotting,
    gt_text,
    prediction_text,
    word_spotting_cares,
    word_spotting_gt_text,
)
from bench.textmetrics.prepare import gt_geometries, prepare_detections
from bench.textmetrics.results import Counts, ImageTextResult, MatchedPair, WrongWord

# (mode, lexicon, word spotting) for every E2E mode.
_E2E_MODES = (("e2e_none", "none", False), ("e2e_none_ws", "none", True),
              ("e2e_full", "full", False), ("e2e_full_ws", "full", True))


def _run_mode(iou, own, gt_dc, subset, cfg):
    """Pairs (gt, column in ``subset``) and cared-detection count for one mode."""
    sub_iou, sub_own = iou[:, subset], own[:, subset]
    ignored = ignored_detections(sub_own, gt_dc, cfg.dont_care_area)
    gt_care = [not dc for dc in gt_dc]
    det_care = [not ig for ig in ignored]
    pairs = match(sub_iou, gt_care, det_care, cfg.iou_threshold, cfg.matching)
    return pairs, sum(gt_care), sum(det_care)


@dataclass(frozen=True)
class _GroundTruth:
    """The GT of one image as every mode sees it (module doc, "Ground truth")."""

    words: list[str]           # each GT word as read in the compat mode
    dont_care: list[bool]      # det and word spotting off
    ws_dont_care: list[bool]   # word spotting on
    ws_words: list[str]        # word-spotting-normalized words (as read where don't care)


def _read_ground_truth(gt: list[TextInstance], compat: str) -> _GroundTruth:
    read = [gt_text(g.text, compat) for g in gt]
    words = [g.text if r is None else r for g, r in zip(gt, read)]
    dont_care = [r is None or r == DONT_CARE or bool(g.no_official_answer or no_official_answer(g.polygon))
                 for g, r in zip(gt, read)]
    ws_dont_care = [dc or not word_spotting_cares(w) for dc, w in zip(dont_care, words)]
    ws_words = [w if dc else word_spotting_gt_text(w) for w, dc in zip(words, ws_dont_care)]
    return _GroundTruth(words, dont_care, ws_dont_care, ws_words)


def _lexicon_texts(prepared, cfg: TextEvalConfig, vocabulary) -> dict[str, list[str | None]]:
    """Per lexicon, each prepared detection's evaluated word (``None``: dropped by it)."""
    texts: dict[str, list[str | None]] = {"none": [p.text for p in prepared]}
    if vocabulary is not None:
        snapped = snap_words([p.raw_text for p in prepared], vocabulary, cfg.lexicon_variant, cfg.compat)
        texts["full"] = [None if s is None else prediction_text(s, cfg.compat) for s in snapped]
    return texts


def _e2e_modes(iou, own, truth: _GroundTruth, texts, prepared, cfg: TextEvalConfig, counts: dict,
               correct: dict) -> tuple[list[WrongWord], int, int]:
    """Every E2E mode: fills ``counts[mode]`` and the pairs' marks in ``correct``; returns the
    e2e_none wrong words, its pair count and how many of its pairs are confidently wrong."""
    wrong_words: list[WrongWord] = []
    e2e_none_pairs = confidently_wrong = 0
    for mode, lex, ws in _E2E_MODES:
        if lex not in texts:
            continue
        subset = [i for i, t in enumerate(texts[lex]) if t is not None]
        pairs, n_gt, n_det = _run_mode(iou, own, truth.ws_dont_care if ws else truth.dont_care, subset, cfg)
        matched = 0
        for g, col in pairs:
            d = subset[col]
            word = texts[lex][d]
            ok = correct_word_spotting(truth.ws_words[g], word) if ws else correct_e2e(truth.words[g], word)
            matched += int(ok)
            correct.setdefault((g, d), {})[mode] = ok
            if mode == "e2e_none":
                e2e_none_pairs += 1
                if not ok:
                    cw = is_confidently_wrong(ok, prepared[d].score, cfg)
                    confidently_wrong += int(cw)
                    wrong_words.append(WrongWord(truth.words[g], word, prepared[d].score, cw))
        counts[mode] = Counts(matched, n_gt, n_det)
    return wrong_words, e2e_none_pairs, confidently_wrong


def evaluate_image(
    gt: list[TextInstance],
    dets: list[Detection],
    cfg: TextEvalConfig,
    vocabulary: frozenset[str] | None = None,
    hq_dets: Sequence[Detection] | None = None,
) -> ImageTextResult:
    """Evaluate one image's detections against its GT words, in every mode.

    ``vocabulary`` (GT words as given, read like the GT: :func:`~bench.textmetrics.lexicon.lexicon_words`)
    enables the ``full`` lexicon modes. ``hq_dets`` (the spotter's output
    on the clean image) enables the phantom count (:func:`phantom_detections`).
    """
    prepared = prepare_detections(dets, cfg)
    iou, own = overlap_matrices(gt_geometries(gt, cfg.compat), [p.geometry for p in prepared])
    truth = _read_ground_truth(gt, cfg.compat)
    texts = _lexicon_texts(prepared, cfg, vocabulary)

    counts: dict[str, Counts] = {}
    correct: dict[tuple[int, int], dict[str, bool | None]] = {}

    pairs, n_gt, n_det = _run_mode(iou, own, truth.dont_care, list(range(len(prepared))), cfg)
    counts["det"] = Counts(len(pairs), n_gt, n_det)
    for g, d in pairs:
        correct.setdefault((g, d), {})["det"] = True

    wrong_words, e2e_none_pairs, confidently_wrong = _e2e_modes(iou, own, truth, texts, prepared, cfg, counts,
                                                                correct)
    modes = list(counts)
    matched_pairs = [
        MatchedPair(
            gt_index=g,
            det_index=prepared[d].index,
            gt_text=truth.words[g],
            pred_text=prepared[d].text,
            pred_text_full=texts["full"][d] if "full" in texts else None,
            score=prepared[d].score,
            iou=float(iou[g, d]),
            correct={m: marks.get(m) for m in modes},
        )
        for (g, d), marks in sorted(correct.items())
    ]
    n_phantom = None if hq_dets is None else len(phantom_detections(dets, gt, hq_dets, cfg, truth.dont_care))
    return ImageTextResult(
        counts=counts,
        pairs=matched_pairs,
        wrong_words=wrong_words,
        e2e_none_pairs=e2e_none_pairs,
        confidently_wrong=confidently_wrong,
        n_det_input=len(dets),
        n_det_evaluated=len(prepared),
        n_phantom=n_phantom,
    )
