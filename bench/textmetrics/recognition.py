"""Recognition scores over (GT word, predicted word) pairs.

Definitions (ours; edit distance = Levenshtein with unit costs, rapidfuzz):

* ``word_accuracy``: share of pairs whose words are identical.
* ``cer``: sum of edit distances / sum of GT lengths (can exceed 1).
* ``one_minus_ned``: mean over pairs of ``1 - dist / max(len(gt), len(pred))``;
  a pair of two empty words scores 1.
* ``n``: number of pairs.

Case-insensitive by default: both words are upper-cased first (as TESTR compares).
Undefined values (no pairs, or no GT characters for ``cer``) are ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from .formulas import recognition_from_sums


def recognition_sums(pairs: Sequence[tuple[str, str]], case_sensitive: bool = False) -> dict[str, float]:
    """The additive statistics the scores are made of: ``n`` pairs, ``correct``
    (identical words), ``dist`` (sum of edit distances), ``gt_chars`` (sum of GT
    lengths), ``ned_sum`` (sum of ``1 - NED`` terms). Sums over images add up, so the
    bootstrap and ``bench merge`` re-pool them exactly."""
    if not case_sensitive:
        pairs = [(g.upper(), p.upper()) for g, p in pairs]
    dists = [Levenshtein.distance(g, p) for g, p in pairs]
    ned_terms = [1.0 - d / max(len(g), len(p)) if max(len(g), len(p)) else 1.0 for d, (g, p) in zip(dists, pairs)]
    return {"n": len(pairs), "correct": sum(g == p for g, p in pairs), "dist": sum(dists),
            "gt_chars": sum(len(g) for g, _ in pairs),
            "ned_sum": math.fsum(ned_terms)}  # fsum: independent of pair order


def recognition_scores(pairs: Sequence[tuple[str, str]], case_sensitive: bool = False) -> dict[str, float | None | int]:
    """Word accuracy, CER and 1-NED of ``(gt, pred)`` pairs (see module doc)."""
    sums = recognition_sums(pairs, case_sensitive)
    scores = {k: float(v) for k, v in recognition_from_sums(sums).items()}
    return {**{k: None if math.isnan(v) else v for k, v in scores.items()}, "n": sums["n"]}
