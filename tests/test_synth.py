"""Tests of the synthetic SA-Text-schema generator and the bundled quickstart set."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon as ShapelyPolygon

from bench.synth import (
    COLUMNS,
    DEFAULT_SEED,
    bicubic_degrade,
    make_dataset,
    make_scene,
    sa_text_features,
)

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = REPO / "data" / "quickstart" / "test-00000-of-00001.parquet"
QUICKSTART_COUNT = 24


@pytest.fixture
def offline_datasets(monkeypatch, tmp_path):
    """``datasets`` in offline mode with a private cache; returns a loader function."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)

    def load(path: Path):
        return datasets.load_dataset("parquet", data_files=str(path),
                                     cache_dir=str(tmp_path / "hf_cache"))["train"]
    return load


@pytest.fixture(scope="module")
def scenes():
    """The first 12 scenes of the default set: covers every periodic rule once."""
    return [make_scene(DEFAULT_SEED, i) for i in range(12)]


def _check_rows(ds, n: int) -> None:
    """Every row has PIL images of the right sizes and aligned, well-shaped labels."""
    assert len(ds) == n
    assert ds.column_names == list(COLUMNS)
    for i, row in enumerate(ds):
        assert row["id"] == f"synth_{i:04d}"
        assert row["hq_img"].size == (512, 512) and row["hq_img"].mode == "RGB"
        for lv in (1, 2, 3):
            assert row[f"lq_img_lv{lv}"].size == (128, 128)
        k = len(row["text"])
        assert k >= 1 and len(row["bbox"]) == k and len(row["poly"]) == k
        assert all(isinstance(t, str) and t for t in row["text"])
        assert np.asarray(row["bbox"]).shape == (k, 2, 2)
        assert np.asarray(row["poly"]).shape == (k, 16, 2)


def test_schema_round_trip(tmp_path, offline_datasets):
    """A tiny set written by make_dataset reads back through `datasets` with the
    SA-Text-test feature types (Image, list of str, list of 2x2 / 16x2 int32) and
    decoded PIL images, exactly as the real parquet does."""
    out = make_dataset(3, seed=123, out_path=tmp_path / "s.parquet", degrade=bicubic_degrade)
    ds = offline_datasets(out)
    assert ds.features == sa_text_features()
    assert ds.features["poly"].feature.shape == (16, 2)
    assert ds.features["poly"].feature.dtype == "int32"
    assert ds.features["bbox"].feature.shape == (2, 2)
    _check_rows(ds, 3)


def test_generation_is_deterministic(tmp_path):
    """Two generations with the same seed give byte-identical files, and a scene
    depends only on (seed, index): not on which scenes were made before it."""
    a = make_dataset(2, seed=5, out_path=tmp_path / "a.parquet", degrade=bicubic_degrade)
    b = make_dataset(2, seed=5, out_path=tmp_path / "b.parquet", degrade=bicubic_degrade)
    assert a.read_bytes() == b.read_bytes()
    alone = make_scene(5, 1)
    assert np.array_equal(alone.image, make_scene(5, 1).image)
    assert not np.array_equal(alone.image, make_scene(6, 1).image)


def test_polygons_are_valid_and_inside(scenes):
    """Each polygon has 16 int32 points inside the image, is a valid shape with
    non-zero area, follows the SA-Text order (top edge left->right, then bottom edge
    right->left, top above bottom), and its bbox encloses it."""
    for scene in scenes:
        h, w = scene.image.shape[:2]
        for it in scene.items:
            p = it.poly
            assert p.shape == (16, 2) and p.dtype == np.int32
            assert p.min() >= 0 and p[:, 0].max() < w and p[:, 1].max() < h
            shape = ShapelyPolygon(p)
            assert shape.is_valid and shape.area > 0
            assert np.all(np.diff(p[:8, 0]) >= 0) and np.all(np.diff(p[8:, 0]) <= 0)
            assert p[:8, 1].mean() < p[8:, 1].mean()
            assert np.all(it.bbox[0] <= p.min(axis=0)) and np.all(it.bbox[1] >= p.max(axis=0))


def test_polygons_contain_their_ink(scenes):
    """Over 90% of each instance's ink pixels (its own rendering mask, alpha > 0.5)
    fall inside its polygon: the label really covers the word it names."""
    for scene in scenes:
        h, w = scene.image.shape[:2]
        for it in scene.items:
            inside = np.zeros((h, w), np.uint8)
            cv2.fillPoly(inside, [it.poly], 1)
            ink = it.mask > 0.5
            assert ink.sum() > 0, (scene.id, it.text)
            frac = inside[ink].mean()
            assert frac > 0.9, (scene.id, it.text, frac)


def test_words_do_not_overlap(scenes):
    """No two instances of an image share any area."""
    for scene in scenes:
        shapes = [ShapelyPolygon(it.poly) for it in scene.items]
        for a, b in itertools.combinations(shapes, 2):
            assert a.intersection(b).area == 0, scene.id


def test_content_covers_the_protocol_cases(scenes):
    """The set exercises what the evaluator cares about: don't-care '###' items,
    a non-ASCII word, rotation, perspective, low contrast, and legible sizes."""
    items = [it for s in scenes for it in s.items]
    texts = [it.text for it in items]
    assert "###" in texts
    assert any(any(ord(c) > 126 for c in t) for t in texts)
    words = [it for it in items if it.text != "###"]
    assert any(abs(it.style["angle"]) > 10 for it in words)
    assert any(it.style["keystone"] != (0.0, 0.0) for it in words)
    assert any(it.style["low_contrast"] for it in words)
    assert all(it.style["cap"] >= 28 * 0.999 for it in words)
    assert all(1 <= sum(it.text != "###" for it in s.items) <= 6 for s in scenes)


def test_checked_in_quickstart_set(offline_datasets):
    """The bundled set (tools/make_quickstart_data.py) exists, is a few MB, and loads
    with the expected count, images and labels, including '###' and non-ASCII text."""
    assert QUICKSTART.is_file(), "run: python tools/make_quickstart_data.py"
    assert QUICKSTART.stat().st_size < 10_000_000
    ds = offline_datasets(QUICKSTART)
    _check_rows(ds, QUICKSTART_COUNT)
    texts = [t for row in ds["text"] for t in row]
    assert "###" in texts
    assert any(any(ord(c) > 126 for c in t) for t in texts)
