"""GT word vs read word, with the differing characters highlighted.

The output is :class:`markupsafe.Markup` built only from escaped pieces: an OCR
transcription is untrusted text (a restorer can hallucinate ``<script>``), so
every character of it goes through :func:`markupsafe.escape` and the only tags
in the result are the ``<mark>`` / ``<span>`` this module writes itself.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from markupsafe import Markup, escape


def _span(text: str, cls: str) -> Markup:
    return Markup('<mark class="{}">{}</mark>').format(cls, text) if text else Markup("")


def _folded(word: str, case_sensitive: bool) -> tuple[str, list[int]]:
    """The compared form of ``word`` and, for each of its characters, the index of
    the original character it came from (upper-casing can change the length:
    ``'ß'.upper() == 'SS'``)."""
    if case_sensitive:
        return word, list(range(len(word)))
    chunks = [c.upper() for c in word]
    return "".join(chunks), [i for i, chunk in enumerate(chunks) for _ in chunk]


def _marked(word: str, shared: list[bool], cls: str) -> Markup:
    """``word`` escaped, with each run of characters not ``shared`` in a ``<mark>``."""
    parts: list[Markup] = []
    start = 0
    for i in range(1, len(word) + 1):
        if i == len(word) or shared[i] != shared[start]:
            piece = word[start:i]
            parts.append(escape(piece) if shared[start] else _span(piece, cls))
            start = i
    return Markup("").join(parts)


def diff_markup(gt: str, pred: str, case_sensitive: bool = False) -> tuple[Markup, Markup]:
    """``(gt_html, pred_html)``: characters not shared by the two words wrapped in
    ``<mark>`` (class ``del`` in the GT: missing from the reading; class ``ins``
    in the reading: wrong or extra). Case is ignored for the comparison by default,
    as the E2E protocol upper-cases both words; a character whose upper case is
    longer (``ß`` -> ``SS``) counts as shared only when all of it is."""
    a, a_owner = _folded(gt, case_sensitive)
    b, b_owner = _folded(pred, case_sensitive)
    a_equal, b_equal = [False] * len(a), [False] * len(b)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            a_equal[i1:i2] = [True] * (i2 - i1)
            b_equal[j1:j2] = [True] * (j2 - j1)

    def shared(word: str, owner: list[int], equal: list[bool]) -> list[bool]:
        flags = [True] * len(word)
        for k, i in enumerate(owner):
            flags[i] = flags[i] and equal[k]
        return flags

    gt_html = _marked(gt, shared(gt, a_owner, a_equal), "del") if gt else word_html("")
    pred_html = _marked(pred, shared(pred, b_owner, b_equal), "ins") if pred else word_html("")
    return gt_html, pred_html


def word_html(text: str) -> Markup:
    """An untrusted word as escaped HTML (empty word shown as a visible marker)."""
    return escape(text) if text else Markup('<span class="empty">(empty)</span>')
