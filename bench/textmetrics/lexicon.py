"""Lexicon snapping of predicted words (TESTR's ``LexiconMatcher.find_match_word``).

Source: TESTR ``adet/evaluation/lexicon_procesor.py`` (also ``testr/`` in
cvlab-kaist/TAIR). The upper-cased prediction is compared with every upper-cased
lexicon word by plain Levenshtein distance; the first word with the smallest distance
wins (TESTR keeps a word only if its distance is strictly smaller than the best so far,
starting from 100, :82-91). Two variants:

* ``"totaltext"`` (Total-Text / CTW1500): always replace the prediction.
* ``"icdar15"`` (ICDAR2015 weak/strong lexicons): replace when the distance is
  ``< 2.5``, otherwise drop the detection.

tair-bench's ``full`` lexicon is the data set's vocabulary: its GT words, each read as
the evaluator reads the GT (:func:`lexicon_words`). In ``testr`` compat that is the
official GT reader's word, stripped of whitespace at both ends; TESTR strips every
lexicon and pair-list line too (:135-153), so a padded GT word ``'COT '`` is the
lexicon word ``COT``. A ``frozenset`` has no order, so "first" is taken in ``sorted()``
order of the words as read, which makes ties deterministic. The replacement is the
lexicon word as written (TESTR's pair list maps the upper-cased word back to a spelling).

Known difference: two words with one upper-cased form (``Straße`` / ``STRASSE``) are one
key of TESTR's pair list, whose *last* line gives the spelling (:147), so TESTR's answer
depends on the file's order. A vocabulary has no order; we return the first of them in
``sorted()`` order (here ``STRASSE``), the same answer for every order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from bench.records import DONT_CARE
from bench.textmetrics.normalize import gt_text

LEXICON_VARIANTS = ("totaltext", "icdar15")
#: ICDAR2015 acceptance threshold on the edit distance (strictly smaller).
ICDAR15_MAX_DISTANCE = 2.5
#: TESTR's initial "best distance": words this far or farther are never chosen.
_TESTR_DIST_INIT = 100


def vocabulary_from_texts(texts: Iterable[str]) -> frozenset[str]:
    """Data set vocabulary for the ``full`` lexicon: every GT word except ``###`` and ''.

    The words stay as given; :func:`lexicon_words` reads them as the evaluator reads
    the GT (in one place, so a word is never read twice)."""
    return frozenset(t for t in texts if t and t != DONT_CARE)


@lru_cache(maxsize=8)
def lexicon_words(vocabulary: frozenset[str], compat: str = "testr") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The lexicon built from GT words as given: ``(words, upper-cased words)``, sorted.

    Each word is read as the evaluator reads the GT in ``compat``
    (:func:`~bench.textmetrics.normalize.gt_text`; ``testr``: stripped, cut at ``,####``,
    quotes removed). Words with no reading, empty or ``###`` once read are no words.
    """
    read = (gt_text(w, compat) for w in vocabulary)
    words = tuple(sorted({w for w in read if w and w != DONT_CARE}))
    return words, tuple(w.upper() for w in words)


def snap_words(
    texts: Sequence[str], vocabulary: frozenset[str], variant: str = "totaltext", compat: str = "testr"
) -> list[str | None]:
    """Snap each text to the vocabulary (GT words as given, read in ``compat`` by
    :func:`lexicon_words`); ``None`` means "drop this detection".

    With an empty vocabulary TESTR's matcher returns ``''`` for the always-replace
    variant and drops the detection for ``icdar15``; we do the same.
    """
    if variant not in LEXICON_VARIANTS:
        raise ValueError(f"lexicon variant must be one of {LEXICON_VARIANTS}, got {variant!r}")
    if not texts:
        return []
    words, upper = lexicon_words(vocabulary, compat)
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
