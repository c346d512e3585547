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


def recognition_scores(pairs: Sequence[tuple[str, str]], case_sensitive: bool = False) -> dict[str, float | None | int]:
    """Word accuracy, CER and 1-NED of ``(gt, pred)`` pairs (see module doc)."""
    if not case_sensitive:
        pairs = [(g.upper(), p.upper()) for g, p in pairs]
    n = len(pairs)
    if n == 0:
        return {"word_accuracy": None, "cer": None, "one_minus_ned": None, "n": 0}
    dists = [Levenshtein.distance(g, p) for g, p in pairs]
    gt_chars = sum(len(g) for g, _ in pairs)
    ned_terms = [1.0 - d / max(len(g), len(p)) if max(len(g), len(p)) else 1.0 for d, (g, p) in zip(dists, pairs)]
    return {
        "word_accuracy": sum(g == p for g, p in pairs) / n,
        "cer": sum(dists) / gt_chars if gt_chars else None,
        "one_minus_ned": math.fsum(ned_terms) / n,  # fsum: independent of pair order
        "n": n,
    }
