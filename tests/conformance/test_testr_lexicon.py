"""Our ``full`` lexicon against TESTR's real ``LexiconMatcher`` (``adet/evaluation/lexicon_procesor.py``).

The official file is imported by path and its class run as TESTR runs it for the full
lexicon: data set ``totaltext`` (always replace), lexicon type 1 (generic), unweighted
edit distance. Two imports are stubbed: ``editdistance`` (its ``eval`` by rapidfuzz's
plain Levenshtein distance, the same distance) and ``numba`` (only the weighted
distance and its character map use it; neither is reached with ``weighted_ed=False``
and no labels). The matcher reads its lexicon and pair list from relative paths
(``_get_lexicon_path``), which each case writes in a temporary working directory and the
matcher reads as UTF-8 (``Straße``):

* lexicon: one GT word a line, as given (padding included);
* pair list: ``<WORD UPPER-CASED> <word>`` for the word stripped, with the word's
  padding around the whole line (TESTR strips each pair line, :138; a padded spelling
  *inside* a pair line would break its half-split parsing, :140-146).

Against :func:`~bench.textmetrics.lexicon.snap_words` on the same GT words.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from bench.textmetrics.lexicon import snap_words

#: the file in each snapshot that carries it
MATCHER_FILES = {"TAIR": "testr/adet/evaluation/lexicon_procesor.py", "TESTR": "adet/evaluation/lexicon_procesor.py"}
#: whitespace the padding draws from (str.strip strips each; none ends a line for readlines)
PADDING = " \t\x0b\x0c\x1c\x85\xa0\u2028\u3000"


def _stub_imports(monkeypatch) -> None:
    """``editdistance`` and ``numba`` stand-ins, enough for the unweighted path."""
    from rapidfuzz.distance import Levenshtein

    editdistance = types.ModuleType("editdistance")
    editdistance.eval = Levenshtein.distance
    numba = types.ModuleType("numba")
    numba.njit = lambda fn: fn
    core = types.ModuleType("numba.core")
    core.types = types.SimpleNamespace(string=str, int64=int)
    typed = types.ModuleType("numba.typed")
    typed.Dict = types.SimpleNamespace(empty=lambda key_type, value_type: {})
    for name, mod in (("editdistance", editdistance), ("numba", numba), ("numba.core", core),
                      ("numba.typed", typed)):
        monkeypatch.setitem(sys.modules, name, mod)


@pytest.fixture(params=sorted(MATCHER_FILES))
def matcher_class(request, upstream, monkeypatch):
    """The real ``LexiconMatcher`` class of one snapshot, its files read as UTF-8."""
    _stub_imports(monkeypatch)
    path = upstream(request.param) / MATCHER_FILES[request.param]
    spec = importlib.util.spec_from_file_location(f"official_lexicon_procesor_{request.param}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.open = functools.partial(open, encoding="utf-8")
    return module.LexiconMatcher


def _pair_line(word: str) -> str:
    """The module doc's pair line for one GT word (not blank once stripped)."""
    head, tail = word[:len(word) - len(word.lstrip())], word[len(word.rstrip()):]
    return f"{head}{word.strip().upper()} {word.strip()}{tail}"


def official_words(matcher_class, workdir: Path, monkeypatch, words: list[str], predictions: list[str]) -> list:
    """What the real matcher returns for each prediction, lexicon and pair list in ``words``' order."""
    lexicon_path, pairs_path = matcher_class._get_lexicon_path("totaltext")[:2]
    for path, lines in ((lexicon_path, words), (pairs_path, [_pair_line(w) for w in words])):
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    monkeypatch.chdir(workdir)
    matcher = matcher_class("totaltext", 1, True, [], weighted_ed=False)
    return [matcher.find_match_word(p) for p in predictions]


def test_padded_gt_word_snaps_as_testr_reads_it(matcher_class, tmp_path, monkeypatch):
    """GT words CAT and 'COT ': TESTR strips the lexicon line (:151), so COT is 0 edits
    from the lexicon word COT and snaps to it; reading 'COT ' as given would tie CAT and
    'COT ' at 1 edit and pick CAT, first in sorted order."""
    words = ["CAT", "COT "]
    assert official_words(matcher_class, tmp_path, monkeypatch, words, ["COT"]) == ["COT"]
    assert snap_words(["COT"], frozenset(words)) == ["COT"]


def _random_vocabulary(rng: np.random.Generator) -> list[str]:
    """1-6 GT words over C, O, T, A in both cases and inner spaces, padded with
    :data:`PADDING`; no word blank once stripped, no two with one upper-cased form
    (that difference has its own test)."""
    words: dict[str, str] = {}
    for _ in range(rng.integers(1, 7)):
        core = "".join(rng.choice(list("COTAcota "), size=rng.integers(1, 6))).strip()
        pad = ["".join(rng.choice(list(PADDING), size=rng.integers(0, 3))) for _ in range(2)]
        if core and core.upper() not in words:
            words[core.upper()] = pad[0] + core + pad[1]
    return list(words.values())


def test_random_padded_vocabularies_agree(matcher_class, tmp_path, monkeypatch):
    """200 random padded vocabularies, 10 random predictions each (empty included): the
    real matcher and ours return the same word. The files list the words in sorted
    order of the stripped words: TESTR takes the first line on ties, we the first in
    sorted order (a vocabulary has no order of its own)."""
    rng = np.random.default_rng(28)
    for case in range(200):
        words = sorted(_random_vocabulary(rng), key=str.strip)
        preds = ["".join(rng.choice(list("COTAcota"), size=rng.integers(0, 6))) for _ in range(10)]
        workdir = tmp_path / str(case)
        got = official_words(matcher_class, workdir, monkeypatch, words, preds)
        assert snap_words(preds, frozenset(words)) == got, (words, preds)


def test_same_upper_form_depends_on_file_order_in_testr_not_here(matcher_class, tmp_path, monkeypatch):
    """Straße and STRASSE are one pair-list key, STRASSE; the last pair line gives its
    spelling (:147), so TESTR answers STRASSE with Straße listed first and Straße the
    other way round. Our vocabulary has no order: always STRASSE, first in sorted order
    ('T' < 't'). The documented, deliberate difference."""
    answers = {}
    for i, order in enumerate((["Straße", "STRASSE"], ["STRASSE", "Straße"])):
        workdir = tmp_path / str(i)
        answers[order[-1]] = official_words(matcher_class, workdir, monkeypatch, order, ["strasse"])[0]
        assert snap_words(["strasse"], frozenset(order)) == ["STRASSE"]
    assert answers == {"STRASSE": "STRASSE", "Straße": "Straße"}
