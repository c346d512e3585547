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


def diff_markup(gt: str, pred: str, case_sensitive: bool = False) -> tuple[Markup, Markup]:
    """``(gt_html, pred_html)``: characters not shared by the two words wrapped in
    ``<mark>`` (class ``del`` in the GT: missing from the reading; class ``ins``
    in the reading: wrong or extra). Case is ignored for the comparison by default,
    as the E2E protocol upper-cases both words."""
    a, b = (gt, pred) if case_sensitive else (gt.upper(), pred.upper())
    gt_parts: list[Markup] = []
    pred_parts: list[Markup] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        g, p = gt[i1:i2], pred[j1:j2]
        if tag == "equal":
            gt_parts.append(escape(g))
            pred_parts.append(escape(p))
        else:
            gt_parts.append(_span(g, "del"))
            pred_parts.append(_span(p, "ins"))
    return (Markup("").join(gt_parts) or word_html(""), Markup("").join(pred_parts) or word_html(""))


def word_html(text: str) -> Markup:
    """An untrusted word as escaped HTML (empty word shown as a visible marker)."""
    return escape(text) if text else Markup('<span class="empty">(empty)</span>')
