"""The folder adapter: outputs computed elsewhere, looked up by image id."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from bench.errors import AdapterError
from tair_bench_adapters.folder import FolderRestorer


def _save(path, w, h, value=0):
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(path)


def test_all_problems_in_one_error(tmp_path):
    """Two missing ids and two wrong sizes are all listed in a single error,
    with the names tried and the sizes found vs expected."""
    _save(tmp_path / "ok.png", 8, 8)
    _save(tmp_path / "small.png", 4, 4)
    _save(tmp_path / "wide.png", 16, 8)
    r = FolderRestorer(path=str(tmp_path))
    with pytest.raises(AdapterError) as err:
        r.check_all(["ok", "small", "gone1", "wide", "gone2"], target_size=(8, 8))
    msg = str(err.value)
    assert "2 missing and 2 mis-sized" in msg
    for part in ("gone1 (tried gone1.png)", "gone2", "small.png: 4x4, expected 8x8", "wide.png: 16x8"):
        assert part in msg
    assert "ok.png" not in msg


def test_restore_returns_files_by_id_and_ignores_input(tmp_path):
    """Each id's file comes back (the input image is not used); ids are required."""
    _save(tmp_path / "a.png", 4, 4, 10)
    _save(tmp_path / "b.png", 4, 4, 20)
    r = FolderRestorer(path=str(tmp_path))
    dummy = [np.zeros((1, 1, 3), np.uint8)] * 2
    outs = r.restore_batch(dummy, ids=["b", "a"])
    assert [int(o[0, 0, 0]) for o in outs] == [20, 10]
    with pytest.raises(AdapterError, match="ids="):
        r.restore_batch(dummy)


def test_pattern_and_extensions(tmp_path):
    """A pattern places the id; with extensions, each is tried in order, and ids
    containing dots keep them."""
    _save(tmp_path / "out_x.1.jpg", 4, 4)
    r = FolderRestorer(path=str(tmp_path), pattern="out_{id}.png", extensions=[".png", "jpg"])
    assert r.find("x.1") == tmp_path / "out_x.1.jpg"
    assert [p.name for p in r.candidates("y")] == ["out_y.png", "out_y.jpg"]


def test_preflight_and_version(tmp_path):
    """A missing folder is a preflight message; changing a file changes version()."""
    assert "does not exist" in FolderRestorer(path=str(tmp_path / "none")).preflight()[0]
    _save(tmp_path / "a.png", 4, 4)
    r = FolderRestorer(path=str(tmp_path))
    assert r.preflight() == []
    v1 = r.version()
    _save(tmp_path / "a.png", 5, 5)
    os.utime(tmp_path / "a.png", ns=(1, 1))  # size differs anyway; also move mtime
    assert r.version() != v1
    assert FolderRestorer(path=str(tmp_path), content_hash=True).version() != r.version()
