"""``bench export``: the LQ inputs a restorer receives, a manifest, and the benchmark hash of
a later run of the same suite and limit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import bench
from bench.cli import main
from bench.data import open_dataset
from bench.degrade import degrade_image
from bench.io.cache import Cache
from bench.io.images import read_image
from bench.pipeline.stages.degrade import degrade_stage
from bench.progress import Progress
from bench.prompts import format_words
from bench.records import DONT_CARE
from bench.scaleout.executors import make_executor
from bench.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "suites" / "quickstart.yaml")
#: a cheap run: one restorer, one image metric (the same overrides for the export: metrics
#: are part of the benchmark definition)
CHEAP = ["restorers=[{name: bicubic, adapter: bicubic}]", "metrics.image=[psnr]"]


def _set(overrides: list[str]) -> list[str]:
    return [arg for o in overrides for arg in ("--set", o)]


@pytest.fixture(scope="module")
def export3(tmp_path_factory):
    """The quickstart's first 3 images exported through the CLI, with a cache of their own."""
    root = tmp_path_factory.mktemp("export3")
    out, cache = root / "out", root / "cache"
    assert main(["export", QUICKSTART, str(out), "--limit", "3", "--cache-dir", str(cache), "--quiet",
                 "--workers", "0"]) == 0
    return out, cache, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _samples(limit: int) -> tuple:
    suite = load_suite(QUICKSTART)
    suite = replace(suite, dataset=replace(suite.dataset, limit=limit))
    return suite, list(open_dataset(suite.dataset, suite.degradation))


def test_export_writes_the_degraded_lq_and_its_sizes(export3):
    out, _, manifest = export3
    suite, samples = _samples(3)
    spec = suite.degradation
    assert [e["id"] for e in manifest["images"]] == [s.id for s in samples] and manifest["n_images"] == 3
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{s.id}.png" for s in samples] + ["manifest.json"])
    for entry, sample in zip(manifest["images"], samples):
        png = read_image(out / entry["file"])
        expected = degrade_image(sample.hq, spec.preset, spec.seed, sample.id, spec.scale, backend=spec.backend,
                                 usm_sharpen=spec.usm_sharpen)
        np.testing.assert_array_equal(png, expected)  # pixel for pixel, not the upsampled LQ
        h, w = sample.hq.shape[:2]
        assert entry["output_size"] == [w, h] and entry["scale"] == spec.scale == 4
        assert entry["input_size"] == [png.shape[1], png.shape[0]] == [w // 4, h // 4]


def test_export_prompts_none_and_oracle(export3):
    _, _, manifest = export3
    _, samples = _samples(3)
    for entry, sample in zip(manifest["images"], samples):
        words = [t.text for t in sample.instances if t.text != DONT_CARE]
        assert words, "the quickstart images have words"
        prompts = entry["prompts"]
        assert prompts["none"] == {"prompt": None, "contains_ground_truth": False}
        assert prompts["oracle"]["prompt"] == format_words(words) == \
            "A photo with the text: " + ", ".join(f'"{w}"' for w in words)
        assert prompts["oracle"]["contains_ground_truth"] is True
    sources = manifest["prompt_sources"]
    assert sources["oracle"]["contains_ground_truth"] is True
    assert {k for k, v in sources.items() if not v["exported"]} == {"spotted", "caption"}
    assert all("model" in sources[k]["reason"] for k in ("spotted", "caption"))


def test_export_records_go_to_the_run_cache(export3):
    """The degrade records the export made are the ones a run finds: nothing is computed again."""
    _, cache_dir, _ = export3
    suite, samples = _samples(3)
    cache = Cache(cache_dir)
    executor = make_executor("local", 0)
    try:
        items = degrade_stage(iter(samples), suite.degradation, cache, executor, Progress(quiet=True))
    finally:
        executor.close()
    assert cache.stats()["degrade"] == {"cached": 3, "computed": 0}
    assert len(items) == 3


def test_export_benchmark_hash_and_pixels_equal_a_run(tmp_path, monkeypatch):
    """A run of the same suite (same --set) and limit, in a cache of its own: the same benchmark
    hash, and the PNGs are the LQ images its cache holds for those ids."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "exp"
    assert main(["export", QUICKSTART, str(out), "--limit", "2", "--cache-dir", str(tmp_path / "c1"),
                 "--quiet", "--workers", "0", *_set(CHEAP)]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    doc = bench.evaluate(QUICKSTART, overrides=CHEAP, limit=2, out_dir=tmp_path / "run",
                         cache_dir=tmp_path / "c2", workers=0)
    assert manifest["benchmark"]["hash"] == doc["benchmark"]["hash"]
    assert manifest["benchmark"]["definition"] == doc["benchmark"]["definition"]
    run_cache = Cache(tmp_path / "c2")
    lq = doc["inputs"]["images"]
    assert sorted(lq) == sorted(e["id"] for e in manifest["images"])
    for entry in manifest["images"]:
        np.testing.assert_array_equal(read_image(out / entry["file"]), run_cache.get_image(lq[entry["id"]]["lq"]))


def test_export_hash_follows_the_metrics(tmp_path):
    """Metrics are part of the benchmark: other metrics, another hash (the limit too)."""
    hashes = []
    for i, (limit, metrics) in enumerate([(2, "[psnr]"), (2, "[psnr, ssim]"), (1, "[psnr]")]):
        out = tmp_path / f"e{i}"
        assert main(["export", QUICKSTART, str(out), "--limit", str(limit), "--cache-dir", str(tmp_path / "c"),
                     "--quiet", "--workers", "0", "--set", f"metrics.image={metrics}"]) == 0
        hashes.append(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["benchmark"]["hash"])
    assert len(set(hashes)) == 3 and all(hashes)


def test_export_refuses_a_non_empty_folder_and_prints_the_score_line(tmp_path, capsys):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["export", QUICKSTART, str(out), "--limit", "1", "--cache-dir", str(tmp_path / "c"), "--quiet",
            "--workers", "0", "--set", "metrics.image=[psnr]"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"error: {out}: folder exists and is not empty" in err and "--force" in err
    assert not (out / "manifest.json").exists()
    assert main([*args, "--force"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert (out / "keep.txt").read_text() == "mine" and (out / "manifest.json").is_file()
    assert lines[-1].startswith("score the outputs (one <id>.png per image, at its output_size")
    assert lines[-1].endswith(f"python -m bench run {QUICKSTART} --set 'metrics.image=[psnr]' --limit 1 "
                              f"--cache-dir {tmp_path / 'c'} --outputs NAME=OUTPUT_DIR")


def test_export_a_file_as_folder_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["export", QUICKSTART, str(target), "--limit", "1", "--quiet"]) == 2
    assert f"{target}: exists and is not a folder" in capsys.readouterr().err
