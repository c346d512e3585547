"""Lexicon snapping of predicted words (TESTR's ``LexiconMatcher.find_match_word``).

Source: ``testr/adet/evaluation/lexicon_procesor.py`` in cvlab-kaist/TAIR (PROTOCOL.md,
"Lexicon"). The upper-cased prediction is compared with every upper-cased lexicon
word by plain Levenshtein distance; the first word with the smallest distance wins
(TESTR keeps a word only if its distance is strictly smaller than the best so far,
starting from 100). Two variants:

* ``"totaltext"`` (Total-Text / CTW1500): always replace the prediction.
* ``"icdar15"`` (ICDAR2015 weak/strong lexicons): replace when the distance is
  ``< 2.5``, otherwise drop the detection.

tair-bench's ``full`` lexicon is the data set's vocabulary. A ``frozenset`` has no
order, so "first" is taken in ``sorted()`` order of the original words, which makes
ties deterministic. The replacement is the lexicon word as written (TESTR's pair
list maps the upper-cased word back to its original spelling).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from bench.records import DONT_CARE

LEXICON_VARIANTS = ("totaltext", "icdar15")
#: ICDAR2015 acceptance threshold on the edit distance (strictly smaller).
ICDAR15_MAX_DISTANCE = 2.5
#: TESTR's initial "best distance": words this far or farther are never chosen.
_TESTR_DIST_INIT = 100


def vocabulary_from_texts(texts: Iterable[str]) -> frozenset[str]:
    """Data set vocabulary for the ``full`` lexicon: every GT word except ``###`` and ''."""
    return frozenset(t for t in texts if t and t != DONT_CARE)


@lru_cache(maxsize=8)
def _prepared(vocabulary: frozenset[str]) -> tuple[list[str], list[str]]:
    words = sorted(vocabulary)
    return words, [w.upper() for w in words]


def snap_words(
    texts: Sequence[str], vocabulary: frozenset[str], variant: str = "totaltext"
) -> list[str | None]:
    """Snap each text to the vocabulary; ``None`` means "drop this detection".

    With an empty vocabulary TESTR's matcher returns ``''`` for the always-replace
    variant and drops the detection for ``icdar15``; we do the same.
    """
    if variant not in LEXICON_VARIANTS:
        raise ValueError(f"lexicon variant must be one of {LEXICON_VARIANTS}, got {variant!r}")
    if not texts:
        return []
    words, upper = _prepared(vocabulary)
    if not words:
        return ["" if variant == "totaltext" else None for _ in texts]
    dist = cdist([t.upper() for t in texts], upper, scorer=Levenshtein.distance, workers=1)
    out: list[str | None] = []
    for row in np.asarray(dist):
        best = int(np.argmin(row))  # argmin returns the first minimum: "first on ties"
        d = int(row[best])
        word = words[best] if d < _TESTR_DIST_INIT else ""
        if variant == "icdar15" and not d < ICDAR15_MAX_DISTANCE:
            out.append(None)
        else:
            out.append(word)
    return out
