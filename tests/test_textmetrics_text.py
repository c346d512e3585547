"""TESTR text rules: prediction clean-up, word spotting on/off, lexicon, recognition scores."""

from __future__ import annotations

import pytest

from bench.records import Detection, TextInstance
from bench.textmetrics import TextEvalConfig, evaluate_image, recognition_scores, vocabulary_from_texts
from bench.textmetrics.lexicon import snap_words
from bench.textmetrics.normalize import (
    as_testr_reads,
    correct_e2e,
    word_spotting_cares,
    word_spotting_gt_text,
)

BOX = ((0, 0), (100, 0), (100, 20), (0, 20))
CFG = TextEvalConfig()


def one(gt_text, pred_text, cfg=CFG, vocabulary=None):
    """Evaluate one GT word and one detection on the same box."""
    return evaluate_image([TextInstance(BOX, gt_text)], [Detection(BOX, pred_text, 0.9)], cfg, vocabulary)


def test_hello_bang_vs_upper_hello_both_modes():
    """GT 'Hello!' vs 'HELLO'. Word spotting on: GT normalizes to 'Hello' ('!' -> space,
    stripped), upper-cased equal: correct. Off: the GT's last character '!' may be
    dropped: 'HELLO' == 'HELLO', correct."""
    res = one("Hello!", "HELLO")
    assert res.counts["e2e_none_ws"].matched == 1
    assert res.counts["e2e_none"].matched == 1


def test_prediction_is_not_normalized_in_word_spotting():
    """GT 'Hello!' vs prediction 'Hello!'. On: normalized GT 'HELLO' != prediction
    'HELLO!' (only the GT is normalized): wrong. Off: identical strings: correct."""
    res = one("Hello!", "Hello!")
    assert res.counts["e2e_none_ws"].matched == 0 and res.counts["e2e_none_ws"].n_gt == 1
    assert res.counts["e2e_none"].matched == 1


def test_gt_with_digits_is_dont_care_in_word_spotting():
    """GT '2024' has digits: don't care when word spotting is on (GT = 0, and the
    detection on it is ignored: Det = 0). Off: it counts (GT = 1) and '2024' is right."""
    res = one("2024", "2024")
    assert (res.counts["e2e_none_ws"].n_gt, res.counts["e2e_none_ws"].n_det) == (0, 0)
    assert (res.counts["e2e_none"].n_gt, res.counts["e2e_none"].matched) == (1, 1)
    assert res.counts["det"].n_gt == 1  # detection-only uses '###' alone


def test_gt_its_and_short_or_spaced_words():
    """'it's' -> drop the final 's -> 'it', 2 characters < 3: don't care in word
    spotting. "don't" -> 'don t' has a space: don't care. 'AT&T' has '&': don't care.
    '-well-' -> 'well' counts; 'Ωmega' (Greek) counts; 'a×b' (× excluded) does not.
    Off: 'IT'S' only forgives one special character at either end, so 'ITS' is wrong."""
    assert word_spotting_gt_text("it's") == "it" and not word_spotting_cares("it's")
    assert not word_spotting_cares("don't") and not word_spotting_cares("AT&T")
    assert word_spotting_cares("-well-") and word_spotting_gt_text("-well-") == "well"
    assert word_spotting_cares("Ωmega") and not word_spotting_cares("a×bc")
    res = one("it's", "ITS")
    assert res.counts["e2e_none_ws"].n_gt == 0
    assert res.counts["e2e_none"].matched == 0
    assert one("it's", "IT'S").counts["e2e_none"].matched == 1


def test_word_spotting_off_special_character_rules():
    """Off mode drops one special character from the GT's start, end or both, never
    more, and never from the prediction: '(HELLO)' ~ 'HELLO' right; '..HI' ~ 'HI'
    wrong (two characters); 'HELLO' ~ 'HELLO!' wrong (prediction is not trimmed);
    an empty GT only equals an empty prediction."""
    assert correct_e2e("(Hello)", "HELLO")
    assert correct_e2e("hello.", "Hello")
    assert not correct_e2e("..Hi", "HI")
    assert not correct_e2e("HELLO", "HELLO!")
    assert correct_e2e("", "") and not correct_e2e("", "A")


def test_testr_text_file_artefacts():
    """TESTR writes '<id>: <coords>,<score>,####<word>' lines and reads them back:
    the word is cut at its first ': ' and first ',####', stripped, and loses
    surrounding double quotes (with \\" unescaped). A trailing ': ' is stripped
    first, so 'AB: ' becomes 'AB:'."""
    assert as_testr_reads("AB: CD") == "AB"
    assert as_testr_reads("AB,####CD") == "AB"
    assert as_testr_reads("  AB  ") == "AB"
    assert as_testr_reads('"AB"') == "AB"
    assert as_testr_reads('"A\\"B"') == 'A"B'
    assert as_testr_reads("AB: ") == "AB:"


def test_non_ascii_is_deleted_in_testr_mode_only():
    """'Café' loses 'é' in testr mode (TESTR's de_ascii) -> 'Caf'. A zero-width space
    after 'HELLO' is deleted too, so it matches GT 'HELLO' in testr mode but not in
    clean mode, which keeps the text as given."""
    assert as_testr_reads("Café") == "Caf"
    assert one("HELLO", "HELLO\u200b").counts["e2e_none"].matched == 1
    assert one("HELLO", "HELLO\u200b", TextEvalConfig(compat="clean")).counts["e2e_none"].matched == 0
    assert one("HELLO", "HELLO: X", TextEvalConfig(compat="clean")).counts["e2e_none"].matched == 0


def test_full_lexicon_snaps_to_nearest_vocabulary_word():
    """Vocabulary {HORSE, HOUSE, MOUSE}. 'HOUSF' is 1 edit from HOUSE (2 from the
    others): snapped to HOUSE, so E2E full is right where E2E none is wrong. 'XOUSE'
    is 1 edit from both HOUSE and MOUSE: the first in sorted order (HOUSE) wins."""
    vocab = frozenset({"MOUSE", "HOUSE", "HORSE"})
    assert snap_words(["housf", "XOUSE"], vocab) == ["HOUSE", "HOUSE"]
    res = one("HOUSE", "HOUSF", vocabulary=vocab)
    assert res.counts["e2e_none"].matched == 0
    assert res.counts["e2e_full"].matched == 1 and res.counts["e2e_full_ws"].matched == 1
    assert res.pairs[0].pred_text_full == "HOUSE"


def test_icdar15_lexicon_variant_drops_far_words():
    """'ZZZZZ' is 5 edits from every word. Total-Text variant: always replaced (by
    HORSE, first in sorted order), and the detection stays. ICDAR2015 variant: distance
    5 is not < 2.5, so the detection is dropped (Det = 0 in the full modes only)."""
    vocab = frozenset({"MOUSE", "HOUSE", "HORSE"})
    assert snap_words(["ZZZZZ"], vocab, "totaltext") == ["HORSE"]
    assert snap_words(["ZZZZZ", "HOUSX"], vocab, "icdar15") == [None, "HOUSE"]
    res = one("HOUSE", "ZZZZZ", TextEvalConfig(lexicon_variant="icdar15"), vocab)
    assert res.counts["e2e_full"].n_det == 0 and res.counts["e2e_none"].n_det == 1
    assert res.counts["det"].n_det == 1


def test_vocabulary_excludes_dont_care():
    """The 'full' lexicon is the data set's words; '###' and '' are not words."""
    assert vocabulary_from_texts(["A", "###", "", "B", "A"]) == frozenset({"A", "B"})


def test_full_lexicon_reads_padded_gt_words_stripped():
    """Vocabulary {CAT, 'COT '}. TESTR strips every lexicon line, as its GT reader strips
    GT words, so the lexicon word is COT: the prediction COT is 0 edits from it and stays
    COT (read as given, CAT and 'COT ' would tie at 1 edit and CAT, first in sorted
    order, would win). E2E full is then right on the GT 'COT '. Blank and quoted-'###'
    words read as '' and '###': no words, so X snaps to CAT. Clean compat keeps the
    words as given: the tie, CAT."""
    vocab = frozenset({"CAT", "COT "})
    assert snap_words(["COT"], vocab) == ["COT"]
    assert one("COT ", "COT", vocabulary=vocab).counts["e2e_full"].matched == 1
    assert snap_words(["X"], frozenset({"CAT", " ", '"###"'})) == ["CAT"]
    assert snap_words(["COT"], vocab, compat="clean") == ["CAT"]


def test_full_lexicon_same_upper_form_first_in_sorted_order():
    """Straße and STRASSE upper-case alike (STRASSE), both 0 edits from 'strasse': the
    first in sorted order wins, STRASSE ('T' < 't'), whatever order the words came in
    (TESTR's pair list would take its last line's spelling; see the e2e_full definition)."""
    for order in (["Straße", "STRASSE"], ["STRASSE", "Straße"]):
        assert snap_words(["strasse"], vocabulary_from_texts(order)) == ["STRASSE"]


def test_recognition_scores_known_edit_distance():
    """kitten -> sitting: 3 edits (k->s, e->i, +g). With ('abc', 'abc'): word accuracy
    1/2; CER = (3 + 0) / (6 + 3) = 1/3; 1-NED = mean(1 - 3/7, 1) = 1 - 3/14."""
    s = recognition_scores([("kitten", "sitting"), ("abc", "abc")])
    assert s["n"] == 2 and s["word_accuracy"] == 0.5
    assert s["cer"] == pytest.approx(1 / 3)
    assert s["one_minus_ned"] == pytest.approx(1 - 3 / 14)


def test_recognition_scores_case_and_empty():
    """'Hello' vs 'HELLO' is right case-insensitively (the default); case-sensitively it
    is wrong with 4 edits (e, l, l, o), CER 4/5. No pairs: every score is None."""
    assert recognition_scores([("Hello", "HELLO")])["word_accuracy"] == 1.0
    cs = recognition_scores([("Hello", "HELLO")], case_sensitive=True)
    assert cs["word_accuracy"] == 0.0 and cs["cer"] == pytest.approx(4 / 5)
    assert recognition_scores([]) == {"word_accuracy": None, "cer": None, "one_minus_ned": None, "n": 0}
