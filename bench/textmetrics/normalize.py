"""Text rules of TESTR's evaluator: prediction clean-up, GT normalization, correctness.

Sources (docs/protocol.md): cvlab-kaist/TAIR
``testr/adet/evaluation/text_evaluation.py`` (``to_eval_format``: score > 0.1,
``int()`` coordinates, ``de_ascii``, the ``"<id>: <coords>,<score>,####<text>"`` text
file), ``rrc_evaluation_funcs.py`` (``get_tl_line_values``: ``split(',####')``,
strip, the double-quote regex) and ``text_eval_script.py`` (``include_in_dictionary``,
``include_in_dictionary_transcription``, ``transcription_match``).
"""

from __future__ import annotations

import re

#: Characters TESTR's ``transcription_match`` may drop from the GT's first/last
#: position (``SPECIAL_CHARACTERS`` in ``default_evaluation_params``).
SPECIAL_CHARACTERS = "!?.:,*\"()·[]/'"
#: Characters turned into spaces when normalizing GT for word spotting.
_WS_SPECIAL = "'!?.:,*\"()·[]/"
#: Explicitly forbidden in word-spotting GT (× and ÷ lie inside the Latin range).
_WS_NOT_ALLOWED = "×÷·"
#: Allowed code point ranges for word-spotting GT: a-z, A-Z, U+00C0-01BF,
#: U+01C4-027F, U+0386-03FF, and the hyphen.
_WS_RANGES = ((0x61, 0x7A), (0x41, 0x5A), (0xC0, 0x1BF), (0x1C4, 0x27F), (0x386, 0x3FF), (0x2D, 0x2D))
#: Shortest GT word that counts in word-spotting mode (``MIN_LENGTH_CARE_WORD``).
MIN_LENGTH_CARE_WORD = 3

_QUOTED = re.compile(r'^\s*"(.*)"\s*$')


def strip_non_ascii(text: str) -> str:
    """Delete every character with code >= 128 (TESTR's ``de_ascii``)."""
    return "".join(c for c in text if ord(c) < 128)


def as_testr_reads(text: str) -> str:
    """Reproduce what TESTR's text-file round trip does to a predicted word.

    Steps, in TESTR's order: delete characters with code >= 128; the line is
    stripped (the word's end); the line is split at ``": "`` (the word is cut at its
    first ``": "``); split at ``",####"`` (cut at its first ``",####"``); the line is
    stripped again when read back (the word's start and end); a word wrapped in
    double quotes loses them, with ``\\\\`` -> ``\\`` and ``\\"`` -> ``"`` unescaped.

    A line break inside a word makes TESTR's parser fail; our choice is to keep the
    text before the first line break (it is what lands on the detection's line).
    """
    text = strip_non_ascii(text)
    text = re.split(r"[\r\n]", text, maxsplit=1)[0]
    text = text.rstrip()
    text = text.split(": ", 1)[0].rstrip()
    text = text.split(",####", 1)[0].strip()
    m = _QUOTED.match(text)
    if m is not None:
        text = m.group(1).replace("\\\\", "\\").replace('\\"', '"')
    return text


def as_testr_reads_gt(text: str) -> str | None:
    """A GT word as the official GT reader returns it, or ``None`` when it has none.

    The GT file line is ``x1,y1,...,xn,yn,####<text>``. Read, in the official order
    (``upstream/TAIR/testr/adet/evaluation/``):

    1. ``rrc_evaluation_funcs.py:344-347``: the file is split at ``"\\n"`` (``CRLF`` is
       false, ``text_eval_script.py:36``), then ``"\\r"`` is deleted from each line and
       empty lines are skipped. A line break inside the word therefore leaves the text
       before it on the GT line, and turns a non-empty rest into a line of its own, which
       ``get_tl_line_values_gt`` cannot parse (no ``,####``: ``IndexError`` at :202) and
       the whole evaluation aborts: no official answer, we return ``None`` (the caller
       makes the instance don't care). A rest that is empty once ``"\\r"`` is deleted is
       harmless.
    2. ``rrc_evaluation_funcs.py:200-202``: ``line.strip().split(',####')[1].strip()``.
       The coordinates hold no ``#``, so the first ``,####`` is the one before the word:
       the word is cut at its own first ``,####`` and stripped of whitespace at both ends
       (the line's ``strip()`` only reaches the word's end, and the second one covers both).
    3. :227-230: if the result matches ``^\\s*"(.*)"\\s*$`` the quotes are removed and
       ``\\\\`` -> ``\\`` then ``\\"`` -> ``"`` unescaped (in that order; nothing is
       unescaped in an unquoted word).

    Don't care is decided on the result (``text_eval_script.py:293``: ``== "###"``), so
    ``"###"`` (quoted) is don't care, and so is ``###,####x`` (cut to ``###``).
    """
    return gt_reading(text)[0]


#: what :func:`gt_reading` may do to a GT word, in its order
GT_READING_STEPS = ("line_break", "cut_at_hashes", "whitespace_stripped", "quotes_removed")


def gt_reading(text: str) -> tuple[str | None, tuple[str, ...]]:
    """:func:`as_testr_reads_gt` and which of :data:`GT_READING_STEPS` changed the word.

    ``line.rstrip().split(',####')[1].strip()`` is computed as ``split`` then ``strip``:
    the same string, because ``,####`` holds no whitespace, so the ``rstrip`` first cannot
    move the first cut (and a cut-off tail does not matter).
    """
    head, *rest = text.split("\n")
    if any(part.replace("\r", "") for part in rest):
        return None, ("line_break",)
    steps = []
    cut = head.replace("\r", "").split(",####", 1)
    if len(cut) > 1:
        steps.append("cut_at_hashes")
    word = cut[0].strip()
    if word != cut[0]:
        steps.append("whitespace_stripped")
    m = _QUOTED.match(word)
    if m is not None:
        steps.append("quotes_removed")
        word = m.group(1).replace("\\\\", "\\").replace('\\"', '"')
    return word, tuple(steps)


def gt_text(text: str, compat: str) -> str | None:
    """A GT word as the evaluator compares it (``compat``: testr | clean); ``None`` = no
    official reading (don't care). ``clean`` keeps the word as given."""
    if compat == "testr":
        return as_testr_reads_gt(text)
    if compat == "clean":
        return text
    raise ValueError(f"compat must be 'testr' or 'clean', got {compat!r}")


def prediction_text(text: str, compat: str) -> str:
    """Text of a prediction as the evaluator compares it (``compat``: testr | clean).

    ``clean`` keeps the spotter's text unchanged (no ASCII deletion, no file artefacts).
    """
    if compat == "testr":
        return as_testr_reads(text)
    if compat == "clean":
        return text
    raise ValueError(f"compat must be 'testr' or 'clean', got {compat!r}")


def word_spotting_gt_text(text: str) -> str:
    """Normalize a GT word for word spotting (``include_in_dictionary_transcription``).

    Drop a final ``'s``/``'S``, strip ``-`` at both ends, turn each of
    ``'!?.:,*"()·[]/`` into a space, then strip whitespace.
    """
    if text[-2:] in ("'s", "'S"):
        text = text[:-2]
    text = text.strip("-")
    for ch in _WS_SPECIAL:
        text = text.replace(ch, " ")
    return text.strip()


def word_spotting_cares(text: str) -> bool:
    """True if a non-``###`` GT word counts in word-spotting mode (``include_in_dictionary``).

    After :func:`word_spotting_gt_text`, the word must contain no space, have at
    least 3 characters and only letters of the allowed ranges or ``-`` (no digits,
    no ``&``, no ``×÷·``).
    """
    norm = word_spotting_gt_text(text)
    if " " in norm or len(norm) < MIN_LENGTH_CARE_WORD:
        return False
    for ch in norm:
        if ch in _WS_NOT_ALLOWED:
            return False
        code = ord(ch)
        if not any(lo <= code <= hi for lo, hi in _WS_RANGES):
            return False
    return True


def correct_word_spotting(gt_norm: str, pred: str) -> bool:
    """Word spotting on: correct iff the upper-cased normalized GT equals the upper-cased prediction."""
    return gt_norm.upper() == pred.upper()


def correct_e2e(gt: str, pred: str) -> bool:
    """Word spotting off (``transcription_match`` on upper-cased strings).

    Correct iff the prediction equals the GT, or the GT with one special character
    removed from its start, its end, or both. An empty GT only matches an empty
    prediction (TESTR's ``try/except`` turns the ``IndexError`` into "wrong").
    """
    g, d = gt.upper(), pred.upper()
    if g == d:
        return True
    if not g:
        return False
    first, last = g[0] in SPECIAL_CHARACTERS, g[-1] in SPECIAL_CHARACTERS
    if first and g[1:] == d:
        return True
    if last and g[:-1] == d:
        return True
    return first and last and g[1:-1] == d
