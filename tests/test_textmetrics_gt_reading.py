"""Ground truth read as TESTR's official GT reader reads it (``compat: testr``), in every mode.

Each test builds one image by hand and works the official answer out in its docstring
from ``upstream/TAIR/testr/adet/evaluation/``: ``rrc_evaluation_funcs.py:200-202`` (the
word is ``line.strip().split(',####')[1].strip()``), :227-230 (surrounding double quotes
removed, ``\\\\`` and ``\\"`` unescaped), :344-347 (lines split at ``\\n``, ``\\r``
deleted), ``text_eval_script.py:293`` (don't care iff the word *as read* is ``###``),
:143-161 (``transcription_match``; an empty GT raises ``IndexError`` at ``transGt[0]``,
caught at :388-391 as "wrong") and :179-220 (``include_in_dictionary``: fewer than 3
characters is don't care). The GT file line for a word ``w`` is ``<coords>,####w``.
``clean`` mode keeps every word as given. The same rules, run through the real official
functions, are in ``tests/conformance/test_testr_gt_reading.py``.
"""

from __future__ import annotations

from bench.records import Detection, TextInstance
from bench.textmetrics import TextEvalConfig, evaluate_image, pool
from bench.textmetrics.gtcheck import gt_text_counts
from bench.textmetrics.normalize import as_testr_reads_gt, gt_reading

BOX = ((0, 0), (100, 0), (100, 20), (0, 20))
TESTR, CLEAN = TextEvalConfig(compat="testr"), TextEvalConfig(compat="clean")
MODES = ("det", "e2e_none", "e2e_none_ws", "e2e_full", "e2e_full_ws")


def counts(gt_text: str, pred: str, cfg: TextEvalConfig, vocabulary=frozenset({"OPEN", "SHOP"})) -> dict:
    """``{mode: (M, GT, Det)}`` for one GT word and one detection on the same box."""
    res = evaluate_image([TextInstance(BOX, gt_text)], [Detection(BOX, pred, 0.9)], cfg, vocabulary)
    return {m: (res.counts[m].matched, res.counts[m].n_gt, res.counts[m].n_det) for m in MODES}


def test_quoted_word_loses_its_quotes_and_escapes():
    """GT ``"A\\"B"`` (quoted, an escaped quote inside). Official: the line
    ``<c>,####"A\\"B"`` gives ptr[1] = ``"A\\"B"``, the quote regex matches, group(1) =
    ``A\\"B`` and ``\\"`` -> ``"``: the word is ``A"B``. Prediction ``A"B``: det 1/1/1;
    word spotting off: equal upper-cased, M = 1; word spotting on: ``"`` becomes a space,
    ``A B`` has a space, don't care (GT 0, the detection on it ignored, Det 0).
    Clean keeps ``"A\\"B"``: with word spotting off ``"`` may be dropped at both ends,
    leaving ``A\\"B`` != ``A"B``: M = 0."""
    assert as_testr_reads_gt('"A\\"B"') == 'A"B'
    got = counts('"A\\"B"', 'A"B', TESTR)
    assert got["det"] == (1, 1, 1) and got["e2e_none"] == (1, 1, 1) and got["e2e_none_ws"] == (0, 0, 0)
    assert counts('"A\\"B"', 'A"B', CLEAN)["e2e_none"] == (0, 1, 1)


def test_backslashes_unescape_before_quotes_and_only_when_quoted():
    """A quoted ``C:`` followed by four backslashes: each backslash pair becomes one
    (``replace("\\\\\\\\", "\\\\")`` runs first), so the word is ``C:`` and two backslashes.
    Unquoted, the same four backslashes stay (the quote regex did not match, nothing is
    unescaped).
    Quotes padded inside stay padded: ``" OPEN "`` reads `` OPEN `` (only the part inside
    the quotes is kept, unstripped), which is not ``OPEN`` with word spotting off (a
    space is not a special character): M = 0."""
    assert as_testr_reads_gt('"C:\\\\\\\\"') == "C:\\\\"
    assert as_testr_reads_gt("C:\\\\\\\\") == "C:\\\\\\\\"
    assert as_testr_reads_gt('" OPEN "') == " OPEN "
    assert counts('" OPEN "', "OPEN", TESTR)["e2e_none"] == (0, 1, 1)


def test_quoted_dont_care_is_dont_care_in_every_mode():
    """GT ``"###"``: read as ``###``, and don't care is decided on the word as read
    (``text_eval_script.py:293``), so it is don't care in det and every E2E mode: GT 0,
    and the detection lying on it (its whole area inside) is ignored: Det 0. Clean keeps
    ``"###"`` (not ``###``): a cared word, found in det (1/1/1)."""
    got = counts('"###"', "OPEN", TESTR)
    assert all(got[m] == (0, 0, 0) for m in MODES), got
    assert counts('"###"', "OPEN", CLEAN)["det"] == (1, 1, 1)


def test_hashes_inside_the_word_cut_it():
    """GT ``SHOP,####OPEN``: the line ``<c>,####SHOP,####OPEN`` splits into
    ``[<c>, 'SHOP', 'OPEN']`` and ptr[1] = ``SHOP``. Prediction ``SHOP``: M = 1 in every
    E2E mode (``SHOP`` is a cared word-spotting word). Clean compares with
    ``SHOP,####OPEN``: M = 0 with word spotting off. A word cut to ``###``
    (``###,####x``) is don't care."""
    assert as_testr_reads_gt("SHOP,####OPEN") == "SHOP"
    got = counts("SHOP,####OPEN", "SHOP", TESTR)
    assert all(got[m] == (1, 1, 1) for m in MODES), got
    assert counts("SHOP,####OPEN", "SHOP", CLEAN)["e2e_none"] == (0, 1, 1)
    assert counts("###,####x", "OPEN", TESTR)["det"] == (0, 0, 0)


def test_whitespace_padding_is_stripped():
    """GT ``'  OPEN \\t'``: ``line.strip()`` drops the end, ``ptr[1].strip()`` the start:
    ``OPEN``. Prediction ``OPEN``: M = 1 with word spotting off. Clean keeps the spaces:
    ``'  OPEN \\t'`` != ``OPEN`` and a space is no special character: M = 0."""
    assert as_testr_reads_gt("  OPEN \t") == "OPEN"
    assert counts("  OPEN \t", "OPEN", TESTR)["e2e_none"] == (1, 1, 1)
    assert counts("  OPEN \t", "OPEN", CLEAN)["e2e_none"] == (0, 1, 1)


def test_empty_and_whitespace_only_words():
    """GT ``""`` and GT ``"   "`` both read as ``""`` (strip). Not ``###``, so cared in det
    and with word spotting off. Det: the pair counts, 1/1/1. Word spotting off:
    ``transcription_match("", "OPEN")`` is not equal, then ``transGt[0]`` raises
    ``IndexError``, caught as wrong: M = 0, GT 1; against an empty prediction the first
    comparison ``"" == ""`` is True: M = 1. Word spotting on: ``include_in_dictionary("")``
    fails the length test (0 < 3): don't care, GT 0 and the detection on it ignored."""
    for text in ("", "   "):
        assert as_testr_reads_gt(text) == ""
        got = counts(text, "OPEN", TESTR)
        assert got["det"] == (1, 1, 1) and got["e2e_none"] == (0, 1, 1) and got["e2e_full"] == (0, 1, 1)
        assert got["e2e_none_ws"] == (0, 0, 0) and got["e2e_full_ws"] == (0, 0, 0)
        assert counts(text, "", TESTR)["e2e_none"] == (1, 1, 1)


def test_line_breaks():
    """The GT file is split at ``\\n`` and ``\\r`` is deleted from each line. ``A\\rB``
    reads ``AB``. ``OPEN\\n`` leaves an empty line, skipped: ``OPEN``. ``OP\\nEN`` leaves
    ``EN`` as a line of its own, which has no ``,####``: ``ptr[1]`` raises and the whole
    evaluation aborts. No official answer: don't care in every mode (testr); clean keeps
    the word as given (a cared word that ``OPEN`` does not match)."""
    assert as_testr_reads_gt("A\rB") == "AB" and as_testr_reads_gt("OPEN\n") == "OPEN"
    assert as_testr_reads_gt("OP\nEN") is None
    got = counts("OP\nEN", "OPEN", TESTR)
    assert all(got[m] == (0, 0, 0) for m in MODES), got
    assert counts("OP\nEN", "OPEN", CLEAN)["e2e_none"] == (0, 1, 1)


def test_matched_pairs_and_wrong_words_show_the_word_as_read():
    """Recognition scores and wrong words compare the word the evaluator compared:
    GT ``"SHOP"`` read ``SHOP``; prediction ``SHIP`` is a wrong word ``SHOP`` -> ``SHIP``."""
    res = evaluate_image([TextInstance(BOX, '"SHOP"')], [Detection(BOX, "SHIP", 0.95)], TESTR)
    assert res.pairs[0].gt_text == "SHOP" and res.wrong_words[0].gt_text == "SHOP"
    assert pool([res])["rec_word_accuracy"] == 0.0


def test_reading_steps_are_counted():
    """``gt_reading`` names what the reader changed; ``gt_text_counts`` sums it over words
    (testr compat only: clean changes nothing and counts nothing)."""
    assert gt_reading(' "###" ') == ("###", ("whitespace_stripped", "quotes_removed"))
    assert gt_reading("AB,####CD") == ("AB", ("cut_at_hashes",))
    c = gt_text_counts(['"###"', "  A", "x,####y", "", "a\nb", "OK"], "testr")
    assert (c["words"], c["quotes_removed"], c["whitespace_stripped"], c["cut_at_hashes"], c["empty"],
            c["line_break"], c["dont_care_after_reading"]) == (6, 1, 1, 1, 1, 1, 1)
    assert gt_text_counts(['"###"'], "clean")["dont_care_after_reading"] == 0
