"""Our GT reading and GT polygon rules against TESTR's real evaluator (upstream/TAIR/testr/adet/evaluation).

The official files are imported by path and run: ``rrc_evaluation_funcs.py`` as it is
(it needs only shapely), ``text_eval_script.py`` with two imports stubbed:
``adet.evaluation`` (the package, pointed at the real ``rrc_evaluation_funcs`` module
loaded here) and ``rapidfuzz.string_metric``, a module of rapidfuzz < 3 whose
``levenshtein`` is rapidfuzz 3's ``Levenshtein.distance`` (the evaluator only asks
whether it is 0). ``evaluate_method`` imports the real ``Polygon`` package (Polygon3,
a dev dependency) for its IoU, as TESTR does.

Three comparisons:

1. the word the official file reader returns for a GT line, against
   :func:`~bench.textmetrics.normalize.as_testr_reads_gt` (``None`` where it raises);
2. which GT polygons the official validator refuses, against
   :func:`~bench.textmetrics.gtcheck.check_polygons` (refused = no official answer, or
   ``counter_clockwise``, which we accept: orientation changes no area);
3. the official det-only and E2E (word spotting off and on) P/R/H on GT and detection
   files with messy words and the polygons it accepts (outside the image, duplicated,
   repeated vertices, tiny), against :func:`evaluate_image` + :func:`pool` on the same data.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bench.records import Detection, TextInstance
from bench.textmetrics import TextEvalConfig, evaluate_image, pool
from bench.textmetrics.gtcheck import check_polygons
from bench.textmetrics.normalize import as_testr_reads_gt

EVAL_DIR = "testr/adet/evaluation"
#: the official results strings (text_eval_script.py:460-461)
RESULT = re.compile(r"precision: (\S+), recall: (\S+), hmean: (\S+)")
#: GT words that exercise every reading rule (quotes, escapes, ',####', padding, blank, '###')
TRICKY = ['"OPEN"', '"###"', "###", "SHOP,####OPEN", "  OPEN  ", "   ", "", '"A\\"B"', '"C:\\\\"', "OPEN",
          "Open!", "2024", "it's", '" OPEN "', "###,####x", "A\rB", "OPEN\n", "SHOP"]
PREDICTIONS = ["OPEN", "open", "SHOP", "", "A\"B", "AB", "2024", "IT'S", "OPEN!", "X"]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def official(upstream, monkeypatch):
    """``(rrc_evaluation_funcs, text_eval_script)``: the real modules, unrelated imports stubbed."""
    import rapidfuzz
    from rapidfuzz.distance import Levenshtein

    root = upstream("TAIR") / EVAL_DIR
    monkeypatch.setattr(sys, "path", list(sys.path))  # rrc_evaluation_funcs appends './'
    rrc = _load(root / "rrc_evaluation_funcs.py", "official_rrc_evaluation_funcs")
    adet = types.ModuleType("adet")
    evaluation = types.ModuleType("adet.evaluation")
    evaluation.rrc_evaluation_funcs = rrc
    adet.evaluation = evaluation
    string_metric = types.ModuleType("rapidfuzz.string_metric")
    string_metric.levenshtein = Levenshtein.distance
    for name, mod in (("adet", adet), ("adet.evaluation", evaluation), ("rapidfuzz.string_metric", string_metric)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(rapidfuzz, "string_metric", string_metric, raising=False)
    script = _load(root / "text_eval_script.py", "official_text_eval_script")
    return rrc, script


def _line(points, text: str) -> str:
    return ",".join(str(int(v)) for p in points for v in p) + ",####" + text


def _official_word(rrc, text: str):
    """The word the official GT file reader returns for one GT line, or None if it raises."""
    content = _line(((0, 0), (0, 20), (100, 20), (100, 0)), text)
    try:
        _points, _conf, words = rrc.get_tl_line_values_from_file_contents(content, False, False, True, False)
    except (AssertionError, IndexError, ValueError):
        return None
    assert len(words) == 1, (text, words)
    return words[0]


def test_gt_words_read_as_the_official_reader_reads_them(official):
    """The tricky words above, and 400 random strings over the characters that matter
    (space, tab, CR, LF, quote, backslash, comma, '#', a letter): our reading equals the
    official one, and None exactly where the official reader raises (a line break with
    a non-empty rest)."""
    rrc, _ = official
    rng = np.random.default_rng(0)
    alphabet = list(' \t\r\n"\\,#A')
    randoms = ["".join(rng.choice(alphabet, size=rng.integers(0, 12))) for _ in range(400)]
    for text in TRICKY + randoms + ['"', '""', '"###', '\\"x\\"', ",####", "####", "#####", "x\n\r", "x\n\t"]:
        assert as_testr_reads_gt(text) == _official_word(rrc, text), repr(text)


def test_polygons_refused_by_the_official_validator(official):
    """validate_clockwise_points raises exactly for the polygons we say have no official
    answer, plus the counter-clockwise ones (shapely is_ccw), which we accept and count."""
    rrc, _ = official
    polygons = {
        "clockwise": [(0, 0), (0, 20), (100, 20), (100, 0)],
        "counter_clockwise": [(0, 0), (100, 0), (100, 20), (0, 20)],
        "bowtie": [(0, 0), (10, 10), (10, 0), (0, 10)],
        "collinear": [(0, 0), (5, 5), (9, 9)],
        "two_points": [(0, 0), (5, 5)],
        "repeated_vertex": [(0, 0), (0, 0), (0, 20), (100, 20), (100, 0)],
        "closed": [(0, 0), (0, 20), (100, 20), (100, 0), (0, 0)],
        "outside": [(-50, -5), (-50, 30), (900, 30), (900, -5)],
        "tiny": [(0, 0), (0, 0.5), (0.5, 0.5), (0.5, 0)],
        "spike": [(0, 0), (0, 20), (50, 20), (50, 40), (50, 20), (100, 20), (100, 0)],
    }
    checks = dict(zip(polygons, check_polygons(list(polygons.values()), (200, 100))))
    for name, pts in polygons.items():
        flat = [float(v) for p in pts for v in p]
        try:
            rrc.validate_clockwise_points(flat)
            refused = False
        except AssertionError:
            refused = True
        ours = bool(checks[name].no_answer) or "counter_clockwise" in checks[name].kept
        assert refused == ours, (name, checks[name])
    assert checks["bowtie"].no_answer == "self_intersecting" and checks["spike"].no_answer == "self_intersecting"
    assert checks["collinear"].no_answer == "zero_area" and checks["two_points"].no_answer == "too_few_points"
    assert "repeated_vertex" in checks["closed"].kept and "outside_partly" in checks["outside"].kept
    assert "tiny_area" in checks["tiny"].kept


def _box(x0, y0, x1, y1):
    """An axis-aligned box in the order the official validator accepts (not shapely-ccw)."""
    return ((x0, y0), (x0, y1), (x1, y1), (x1, y0))


def _messy_set(seed: int, n_images: int):
    """Images of GT words (tricky texts; boxes partly outside, duplicated, tiny, with a
    repeated vertex) and detections near them (jittered, some missing, some extra, half
    of the words read right)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n_images):
        gts, dets = [], []
        for k in range(int(rng.integers(1, 6))):
            x0, y0 = int(rng.integers(-30, 150)), int(rng.integers(-10, 80)) + 40 * k
            w, h = int(rng.integers(20, 90)), int(rng.integers(10, 30))
            poly = _box(x0, y0, x0 + w, y0 + h)
            kind = rng.integers(0, 8)
            if kind == 0:  # a tiny word
                poly = _box(x0, y0, x0 + 1, y0 + 1)
            elif kind == 1:  # a repeated vertex
                poly = (poly[0],) + poly
            text = str(rng.choice(TRICKY))
            gts.append(TextInstance(poly, text))
            if kind == 2:  # a duplicate GT
                gts.append(TextInstance(poly, text))
            if rng.random() < 0.8:  # half of them read the word right (as the official reader reads it)
                dx, dy = int(rng.integers(-4, 5)), int(rng.integers(-3, 4))
                word = as_testr_reads_gt(text) if rng.random() < 0.5 else None
                dets.append(Detection(_box(x0 + dx, y0 + dy, x0 + w + dx, y0 + h + dy),
                                      str(rng.choice(PREDICTIONS)) if word is None else word, 0.9))
        if rng.random() < 0.5:
            dets.append(Detection(_box(300, 300, 340, 320), str(rng.choice(PREDICTIONS)), 0.9))
        images.append((gts, dets))
    return images


def _zip(path: Path, files: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return str(path)


def _official_scores(script, images, tmp_path: Path, word_spotting: bool) -> dict[str, tuple[float, ...]]:
    gt = {f"{i}.txt": "\n".join(_line(g.polygon, g.text) for g in gts) for i, (gts, _) in enumerate(images)}
    det = {f"{i}.txt": "\n".join(_line(d.polygon, d.text) for d in dets) for i, (_, dets) in enumerate(images)}
    params = script.default_evaluation_params()
    params["WORD_SPOTTING"] = word_spotting
    gt_zip, det_zip = _zip(tmp_path / "gt.zip", gt), _zip(tmp_path / "det.zip", det)
    script.validate_data(gt_zip, det_zip, params)  # the official validator accepts every file
    res = script.evaluate_method(gt_zip, det_zip, params)
    return {k: tuple(float(v) for v in RESULT.search(res[k]).groups()) for k in ("det_only_method", "e2e_method")}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pooled_scores_equal_the_official_evaluator_on_messy_ground_truth(official, tmp_path, seed):
    """24 images of tricky GT words on polygons the official code accepts and evaluates
    unclipped: our det, e2e_none and e2e_none_ws P/R/H (testr compat) equal the official
    det-only and E2E results with word spotting off and on. (Line breaks are left out of
    the texts, as the official reader splits them into lines; a trailing one is harmless.)"""
    _, script = official
    images = _messy_set(seed, 24)
    assert not any("\n" in g.text.rstrip("\n") for gts, _ in images for g in gts)
    ours = pool(evaluate_image(g, d, TextEvalConfig(compat="testr")) for g, d in images)
    assert ours["det_n_gt"] > 0 and ours["e2e_none_ws_n_gt"] > 0, "the set must have cared words in every mode"
    off = _official_scores(script, images, tmp_path, word_spotting=False)
    on = _official_scores(script, images, tmp_path, word_spotting=True)
    for mode, official_prh in (("det", off["det_only_method"]), ("e2e_none", off["e2e_method"]),
                               ("e2e_none_ws", on["e2e_method"])):
        got = (ours[f"{mode}_precision"], ours[f"{mode}_recall"], ours[f"{mode}_hmean"])
        assert got == pytest.approx(official_prh, abs=1e-12), (mode, got, official_prh)


def test_official_evaluation_aborts_on_what_has_no_official_answer(official, tmp_path):
    """A GT file with a self-intersecting polygon, a counter-clockwise one or a word with
    a line break makes the official validate_data raise (the whole evaluation stops): we
    keep those images instead (don't care, or for counter-clockwise: evaluated)."""
    _, script = official
    params = script.default_evaluation_params()
    det = _zip(tmp_path / "det.zip", {"0.txt": _line(_box(0, 0, 10, 10), "OPEN")})
    for line in (_line(((0, 0), (10, 10), (10, 0), (0, 10)), "OPEN"),
                 _line(((0, 0), (100, 0), (100, 20), (0, 20)), "OPEN"),
                 _line(_box(0, 0, 10, 10), "OP\nEN")):
        gt = _zip(tmp_path / "gt.zip", {"0.txt": line})
        with pytest.raises(Exception, match="Line in sample not valid"):  # validate_lines_in_file_gt:109
            script.validate_data(gt, det, params)


def _float_line(points, text: str) -> str:
    return ",".join(repr(float(v)) for p in points for v in p) + ",####" + text


def test_fractional_gt_coordinates_are_measured_in_float32_as_officially(official, tmp_path):
    """The official evaluator stores GT coordinates in a float32 array
    (``polygon_from_points``, text_eval_script.py:74-85). Worked by hand: the detection is
    the box (0,0)-(10,10), area 100; GT A is (0,0)-(10,5.000000001): in float64 its IoU is
    50.00000001/100 > 0.5, a match, but float32(5.000000001) == 5.0, so officially the IoU
    is exactly 0.5, not above the threshold: no match (det recall 0). GT B, (0,0)-(10,5.01),
    keeps IoU 0.501 > 0.5 in float32 too: a match. Random fractional boxes near the
    threshold agree on top of that."""
    _, script = official
    rng = np.random.default_rng(7)
    cases = [([TextInstance(_box(0, 0, 10, 5.000000001), "OPEN")], [Detection(_box(0, 0, 10, 10), "OPEN", 0.9)]),
             ([TextInstance(_box(0, 0, 10, 5.01), "SHOP")], [Detection(_box(0, 0, 10, 10), "SHOP", 0.9)])]
    for _ in range(40):
        h = 5.0 + float(rng.choice([1e-9, -1e-9, 3e-8, 1e-3, -1e-3]))
        cases.append(([TextInstance(_box(0.25, 0, 10.25, h), "WORD")], [Detection(_box(0, 0, 10, 10), "WORD", 0.9)]))
    per_image = [pool([evaluate_image(g, d, TextEvalConfig(compat="testr"))]) for g, d in cases]
    assert per_image[0]["det_recall"] == 0.0 and per_image[1]["det_recall"] == 1.0
    gt = {f"{i}.txt": _float_line(g[0].polygon, g[0].text) for i, (g, _) in enumerate(cases)}
    det = {f"{i}.txt": _line(d[0].polygon, d[0].text) for i, (_, d) in enumerate(cases)}
    gt_zip, det_zip = _zip(tmp_path / "gt.zip", gt), _zip(tmp_path / "det.zip", det)
    params = script.default_evaluation_params()
    params["WORD_SPOTTING"] = False
    res = script.evaluate_method(gt_zip, det_zip, params)
    for i, ours in enumerate(per_image):  # per image: the official per-sample E2E recall
        assert ours["e2e_none_recall"] == res["per_sample"][str(i)]["recall"], (i, cases[i][0][0].polygon)
    ours_all = pool(evaluate_image(g, d, TextEvalConfig(compat="testr")) for g, d in cases)
    official = {k: tuple(float(v) for v in RESULT.search(res[k]).groups()) for k in ("det_only_method", "e2e_method")}
    for mode, key in (("det", "det_only_method"), ("e2e_none", "e2e_method")):
        got = (ours_all[f"{mode}_precision"], ours_all[f"{mode}_recall"], ours_all[f"{mode}_hmean"])
        assert got == pytest.approx(official[key], abs=1e-12), (mode, got, official[key])
