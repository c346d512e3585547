"""End-to-end pipeline behaviour on a tiny synthetic set with a fake spotter:
caching, resume after a crash, worker-count independence, output checks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.errors import AdapterError
from bench.io.runfiles import stable
from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite

from .conftest import write_suite


def run(suite_path, tmp_path, name, **kw):
    opts = RunOptions(out_dir=tmp_path / f"out_{name}", cache_dir=kw.pop("cache", tmp_path / f"cache_{name}"),
                      quiet=True, **kw)
    doc, path = run_suite(load_suite(suite_path), opts)
    return doc, path


def test_run_writes_results_with_reference_rows(tmp_path, tiny_set, blob_spotter):
    doc, path = run(write_suite(tmp_path, tiny_set), tmp_path, "a")
    assert doc["rows"] == ["HQ", "LQ", "bicubic", "unsharp"]
    assert doc["data"]["n_images"] == 3
    # bicubic restorer == LQ row (same pixels), so every metric is identical
    assert doc["results"]["bicubic"]["psnr"] == doc["results"]["LQ"]["psnr"]
    assert doc["results"]["HQ"].get("psnr") is None  # FR metric not applicable to the reference itself
    assert doc["metrics"]["psnr"]["higher_is_better"] is True and doc["metrics"]["psnr"]["available"]
    on_disk = json.loads(path.read_text())
    assert stable(on_disk)["results"]["unsharp"]["psnr"] == pytest.approx(doc["results"]["unsharp"]["psnr"])
    assert (path.parent / "per_image.csv").read_text().startswith("image_id,row,")


def test_second_run_recomputes_nothing(tmp_path, tiny_set, blob_spotter):
    suite = write_suite(tmp_path, tiny_set)
    first, _ = run(suite, tmp_path, "a", cache=tmp_path / "c")
    second, _ = run(suite, tmp_path, "b", cache=tmp_path / "c")
    assert all(v["computed"] == 0 for v in second["run"]["cache"]["stages"].values())
    assert stable(first) == stable(second)


def test_crash_midway_then_rerun_equals_uninterrupted(tmp_path, tiny_set, blob_spotter, monkeypatch):
    """A crash in the spot stage after two images; the re-run resumes (only the rest is
    computed) and its results equal those of a run that was never interrupted."""
    from tests import fakes

    suite = write_suite(tmp_path, tiny_set)
    clean, _ = run(suite, tmp_path, "clean")
    real_spot, calls = fakes.BlobSpotter.spot, {"n": 0}

    def crashing(self, image, image_id=None):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt  # like Ctrl-C / a kill between two images
        return real_spot(self, image, image_id)

    monkeypatch.setattr(fakes.BlobSpotter, "spot", crashing)
    with pytest.raises(KeyboardInterrupt):
        run(suite, tmp_path, "resumed", cache=tmp_path / "shared")
    monkeypatch.setattr(fakes.BlobSpotter, "spot", real_spot)
    resumed, _ = run(suite, tmp_path, "resumed", cache=tmp_path / "shared")
    stages = resumed["run"]["cache"]["stages"]
    assert stages["degrade"]["computed"] == 0 and stages["restore"]["computed"] == 0
    assert stages["spot"]["cached"] == 2
    assert stable(resumed)["results"] == stable(clean)["results"]
    assert {k: v for k, v in stable(resumed).items() if k != "git_commit"} == \
        {k: v for k, v in stable(clean).items() if k != "git_commit"}


def test_results_do_not_depend_on_worker_count(tmp_path, tiny_set, blob_spotter):
    suite = write_suite(tmp_path, tiny_set)
    one, _ = run(suite, tmp_path, "w1", workers=1)
    two, _ = run(suite, tmp_path, "w2", workers=2)
    assert stable(one) == stable(two)


def test_wrong_output_size_is_a_clear_error(tmp_path, tiny_set, blob_spotter):
    from bench.components import RESTORERS

    RESTORERS.add("wrongsize", "tests.fakes:WrongSizeRestorer", "test")
    suite = write_suite(tmp_path, tiny_set, restorers="  - {adapter: wrongsize}")
    with pytest.raises(AdapterError, match=r"restorer 'wrongsize', image '\w+': output is 511x512, expected 512x512"):
        run(suite, tmp_path, "bad")


def test_limit_and_no_cache(tmp_path, tiny_set, blob_spotter):
    doc, _ = run(write_suite(tmp_path, tiny_set), tmp_path, "lim", limit=1, use_cache=False)
    assert doc["data"]["n_images"] == 1
    from pathlib import Path

    assert doc["run"]["cache"]["stages"]["degrade"] == {"cached": 0, "computed": 1}
    assert not Path(doc["run"]["cache"]["root"]).exists()  # the throw-away cache is removed


def test_validate_cli_misspelled_key_one_line(tmp_path):
    """`bench validate` on a typo prints one line (file, key path, suggestion) and exits non-zero."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\ndataset: {kind: satext-test, path: d}\n"
                   "degradation: {kind: provided, levle: 2}\nrestorers: [{adapter: bicubic}]\n")
    proc = subprocess.run([sys.executable, "-m", "bench", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"error: {bad}: degradation.levle: unknown key -- did you mean 'level'?"]
