"""--workers 0 (in this process), 1 and 2 give byte-identical results (times aside), and
the work really runs where the worker count says.

Every per-image stage goes through the executor: degrade, spot, recognize (crops
read by the spotter's recognizer) and score (psnr, ssim, text_psnr values and the
per-image features of a set-level metric). The spotter and the set metric's
feature extractor here are fast stand-ins whose outputs depend on the pixels,
and which note the process id they ran in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench.io.runfiles import stable
from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite

from .conftest import write_suite
from .fakes import BlobSpotter

PIDS_ENV = "TAIR_BENCH_TEST_PIDS"


def _note_pid(stage: str) -> None:
    folder = os.environ.get(PIDS_ENV)
    if folder:
        Path(folder, f"{stage}-{os.getpid()}").touch()


class MeanReader(BlobSpotter):
    """Blob spotter whose recognizer reads a crop as its mean intensity (a pixel-dependent word)."""

    def spot(self, image, image_id=None):
        _note_pid("spot")
        return super().spot(image, image_id)

    def recognize(self, crops):
        _note_pid("recognize")
        return [(f"R{int(np.asarray(c).mean()) // 8}", 0.9) for c in crops]


def channel_means(x):
    """Stand-in set-metric features (module level, so worker processes can unpickle it)."""
    _note_pid("features")
    return x.mean(dim=(2, 3))


@pytest.fixture()
def mean_reader():
    from bench.components import SPOTTERS

    if "meanreader" not in SPOTTERS:
        SPOTTERS.add("meanreader", "tests.test_workers_identical:MeanReader", "test")
    return "meanreader"


def _suite(tmp_path: Path, data: Path) -> Path:
    p = write_suite(tmp_path, data, name="workers.yaml")
    text = p.read_text().replace("name: blob", "name: meanreader").replace("[psnr]", "[psnr, ssim, text_psnr, fid]")
    p.write_text(text)
    return p


def _files(out: Path) -> dict:
    doc = json.loads((out / "results.json").read_text())
    # 'run' holds times and cache counts; git_commit names the checkout (it moves if a commit
    # lands between two runs in a shared tree), neither is a result
    doc = {k: v for k, v in stable(doc).items() if k != "git_commit"}
    return {"results.json": json.dumps(doc, sort_keys=True),
            "per_image.csv": (out / "per_image.csv").read_bytes(),
            "text_details.jsonl": (out / "text_details.jsonl").read_bytes()}


def test_workers_1_and_2_identical(tmp_path, tiny_set, mean_reader, fid_standin, monkeypatch):
    fid_standin(channel_means)  # the stand-in that notes which process extracted features
    suite = load_suite(_suite(tmp_path, tiny_set))
    runs = {}
    pids = {}
    for name, workers, cache in (("w0", 0, "c0"), ("w1", 1, "c1"), ("w2", 2, "c2"), ("w2_warm", 2, "c1")):
        folder = tmp_path / f"pids_{name}"
        folder.mkdir()
        monkeypatch.setenv(PIDS_ENV, str(folder))
        doc, _ = run_suite(suite, RunOptions(out_dir=tmp_path / name, cache_dir=tmp_path / cache, quiet=True,
                                             workers=workers))
        assert doc["run"]["executor"]["workers"] == workers
        runs[name] = _files(tmp_path / name)
        pids[name] = {p.name for p in folder.iterdir()}

    assert runs["w0"] == runs["w1"]  # all cold: byte for byte
    assert runs["w2"] == runs["w1"]
    # warm: the same, but for the set metric's note of how many features came from the cache
    warm, cold = (json.loads(runs[n]["results.json"]) for n in ("w2_warm", "w1"))
    assert warm["metrics"]["fid"].pop("info") == {"features_computed": 0, "features_from_cache": 9}
    assert cold["metrics"]["fid"].pop("info") == {"features_computed": 9, "features_from_cache": 0}
    assert warm == cold
    assert {k: v for k, v in runs["w2_warm"].items() if k != "results.json"} == \
        {k: v for k, v in runs["w1"].items() if k != "results.json"}
    doc = json.loads(runs["w1"]["results.json"])
    for row in ("bicubic", "unsharp"):
        for key in ("psnr", "ssim", "text_psnr", "fid", "crop_word_accuracy"):
            assert doc["results"][row][key] is not None, (row, key)

    me = os.getpid()
    ran_in = {name: {stage: {int(p.split("-")[1]) for p in pids[name] if p.startswith(stage)}
                     for stage in ("spot", "recognize", "features")} for name in ("w0", "w1", "w2")}
    for stage in ("spot", "recognize", "features"):
        assert ran_in["w0"][stage] == {me}, stage  # --workers 0: in this process
        assert len(ran_in["w1"][stage]) == 1 and me not in ran_in["w1"][stage], stage  # one worker process
        assert ran_in["w2"][stage] and me not in ran_in["w2"][stage], stage  # worker processes only
    # spot and recognize share their workers (the spotter stays loaded); score has its own
    assert ran_in["w1"]["recognize"] == ran_in["w1"]["spot"]
    assert ran_in["w1"]["features"].isdisjoint(ran_in["w1"]["spot"])
    assert not pids["w2_warm"]  # everything came from the cache
