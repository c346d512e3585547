"""Reading precomputed spotting results (bench/spotters/predictions.py).

A valid file gives its entries back per image id, filtered by min_score; every
kind of malformed entry is rejected with a message naming the file, the image id
and the entry index, and saying what is wrong.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from bench.errors import SpotterError
from bench.records import Detection
from bench.spotters.predictions import FORMAT, PredictionsSpotter

SQUARE = [[0, 0], [10, 0], [10, 5], [0, 5]]


def write(tmp_path, doc, name="preds.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def doc_with(entry):
    return {"format": FORMAT, "images": {"img1": [{"polygon": SQUARE, "text": "ok", "score": 0.9}, entry]}}


def test_valid_file(tmp_path):
    """Entries come back in file order as Detections; 'low' (0.2) is below
    min_score 0.5; an image with an empty list has no detections."""
    doc = {
        "format": FORMAT,
        "meta": {"model": "TESTR"},
        "images": {
            "a": [
                {"polygon": SQUARE, "text": "Main", "score": 0.97, "extra": 1},
                {"polygon": [[0, 0], [4, 0], [2, 3]], "text": "low", "score": 0.2},
                {"polygon": [[1.5, 2], [9, 2], [9, 8], [1.5, 8]], "text": "1492", "score": 1},
            ],
            "b": [],
        },
    }
    path = write(tmp_path, doc)
    s = PredictionsSpotter(min_score=0.5, path=str(path))
    assert s.preflight() == []
    assert s.spot(None, "a") == [
        Detection(((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0)), "Main", 0.97),
        Detection(((1.5, 2.0), (9.0, 2.0), (9.0, 8.0), (1.5, 8.0)), "1492", 1.0),
    ]
    assert s.spot(None, "b") == []
    assert s.image_ids() == ["a", "b"]
    assert f"sha256={hashlib.sha256(path.read_bytes()).hexdigest()}" in s.version()


def test_missing_image_id(tmp_path):
    path = write(tmp_path, {"format": FORMAT, "images": {"a": []}})
    with pytest.raises(SpotterError, match=r"preds.json: no predictions for image id 'zz'.*missing: empty"):
        PredictionsSpotter(path=str(path)).spot(None, "zz")
    assert PredictionsSpotter(path=str(path), missing="empty").spot(None, "zz") == []
    with pytest.raises(SpotterError, match="needs the image id"):
        PredictionsSpotter(path=str(path)).spot(None, None)
    with pytest.raises(SpotterError, match="'missing' must be one of"):
        PredictionsSpotter(path=str(path), missing="skip")


def test_version_changes_with_file(tmp_path):
    path = write(tmp_path, {"format": FORMAT, "images": {}})
    v1 = PredictionsSpotter(path=str(path)).version()
    write(tmp_path, {"format": FORMAT, "images": {"a": []}})
    assert PredictionsSpotter(path=str(path)).version() != v1


def test_missing_file_and_unset_path(tmp_path):
    assert "argument 'path' is not set" in PredictionsSpotter().preflight()[0]
    gone = tmp_path / "nope.json"
    assert f"file {gone} does not exist" in PredictionsSpotter(path=str(gone)).preflight()[0]
    with pytest.raises(SpotterError, match="does not exist"):
        PredictionsSpotter(path=str(gone)).load()


@pytest.mark.parametrize(
    "doc, message",
    [
        ("{not json", r"preds.json: not valid UTF-8 JSON"),
        ([1, 2], r"preds.json: expected a JSON object"),
        ({"format": "other/1", "images": {}}, r"preds.json: 'format' must be 'tair-bench-predictions/1', got 'other/1'"),
        ({"format": FORMAT, "images": {}, "imgs": {}}, r"unknown top-level key\(s\) \['imgs'\]"),
        ({"format": FORMAT, "images": []}, r"'images' must be an object"),
        ({"format": FORMAT, "images": {"img1": {}}}, r"images\['img1'\] must be a list of detections, got dict"),
    ],
)
def test_malformed_document(tmp_path, doc, message):
    path = write(tmp_path, doc)
    with pytest.raises(SpotterError, match=message):
        PredictionsSpotter(path=str(path)).load()


@pytest.mark.parametrize(
    "entry, message",
    [
        ("Main", r"expected an object with polygon, text and score, got str"),
        ({"polygon": SQUARE, "score": 0.5}, r"missing key 'text'"),
        ({"text": "a", "score": 0.5}, r"missing key 'polygon'"),
        ({"polygon": SQUARE, "text": "a"}, r"missing key 'score'"),
        ({"polygon": [[0, 0], [1, 1]], "text": "a", "score": 0.5}, r"'polygon' needs at least 3 points, got 2"),
        ({"polygon": [0, 0, 1, 0, 1, 1], "text": "a", "score": 0.5}, r"'polygon' must be a list of \[x, y\] pairs"),
        ({"polygon": [[0, 0], [1, 0, 2], [1, 1]], "text": "a", "score": 0.5}, r"'polygon' must be a list of \[x, y\] pairs"),
        ({"polygon": [[0, 0], [1, "2"], [1, 1]], "text": "a", "score": 0.5}, r"point 1 of 'polygon' is \[1, '2'\]; coordinates must be finite"),
        ({"polygon": [[0, 0], [float("nan"), 0], [1, 1]], "text": "a", "score": 0.5}, r"point 1 of 'polygon' is \[nan, 0\]"),
        ({"polygon": [[0, 0], [float("inf"), 0], [1, 1]], "text": "a", "score": 0.5}, r"point 1 of 'polygon' is \[inf, 0\]"),
        ({"polygon": SQUARE, "text": 7, "score": 0.5}, r"'text' must be a string, got int"),
        ({"polygon": SQUARE, "text": "a", "score": 1.5}, r"'score' must be a number in \[0, 1\], got 1.5"),
        ({"polygon": SQUARE, "text": "a", "score": -0.1}, r"'score' must be a number in \[0, 1\], got -0.1"),
        ({"polygon": SQUARE, "text": "a", "score": "0.9"}, r"'score' must be a number in \[0, 1\], got '0.9'"),
        ({"polygon": SQUARE, "text": "a", "score": True}, r"'score' must be a number in \[0, 1\], got True"),
    ],
)
def test_malformed_entry_names_file_image_and_index(tmp_path, entry, message):
    """The bad entry is index 1 of image 'img1' (index 0 is valid)."""
    path = write(tmp_path, doc_with(entry))
    with pytest.raises(SpotterError, match=r"preds.json: images\['img1'\]\[1\]: " + message):
        PredictionsSpotter(path=str(path)).load()
    assert "images['img1'][1]" in PredictionsSpotter(path=str(path)).preflight()[0]
