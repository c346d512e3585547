"""Recognition on GT crops inside a run, against hand-known answers."""

from __future__ import annotations

import pytest

from bench.components import SPOTTERS
from bench.data import open_dataset
from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite

from .conftest import write_suite


def test_empty_reads_give_zero_accuracy_and_cer_one(tmp_path, tiny_set):
    """A recognizer that reads every GT crop as "" has word accuracy 0, CER exactly 1
    (each word costs its own length in insertions) and 1-NED 0; crop_n counts every
    cared (non-###) GT word of the set, for every row."""
    if "blind" not in SPOTTERS:
        SPOTTERS.add("blind", "tests.fakes:BlindReader", "test")
    p = write_suite(tmp_path, tiny_set)
    p.write_text(p.read_text().replace("name: blob", "name: blind"))
    suite = load_suite(p)
    doc, _ = run_suite(suite, RunOptions(out_dir=tmp_path / "o", cache_dir=tmp_path / "c", quiet=True))
    n_words = sum(1 for s in open_dataset(suite.dataset, suite.degradation) for i in s.instances if not i.dont_care)
    for row in doc["rows"]:
        r = doc["results"][row]
        assert r["crop_n"] == n_words > 0
        assert (r["crop_word_accuracy"], r["crop_cer"], r["crop_one_minus_ned"]) == (0.0, pytest.approx(1.0), 0.0)
    assert doc["metrics"]["crop_cer"]["available"] and doc["metrics"]["crop_cer"]["higher_is_better"] is False


def test_spotter_without_recognizer_is_reported_unavailable(tmp_path, tiny_set, blob_spotter):
    doc, _ = run_suite(load_suite(write_suite(tmp_path, tiny_set)),
                       RunOptions(out_dir=tmp_path / "o", cache_dir=tmp_path / "c", quiet=True))
    entry = doc["metrics"]["crop_word_accuracy"]
    assert entry["available"] is False and "no separate recognizer" in entry["reason"]
    assert doc["results"]["LQ"]["crop_word_accuracy"] is None  # null, never a made-up number


def test_crop_metrics_survive_a_sharded_run(tmp_path, tiny_set):
    """Shards keep the per-image (GT, read) pairs, so merging re-pools the crop
    metrics and they equal the unsharded run's (here all reads are empty: CER 1)."""
    from bench.scaleout.merge import merge_runs
    from bench.scaleout.shard import ShardSpec

    if "blind" not in SPOTTERS:
        SPOTTERS.add("blind", "tests.fakes:BlindReader", "test")
    p = write_suite(tmp_path, tiny_set)
    p.write_text(p.read_text().replace("name: blob", "name: blind"))
    suite = load_suite(p)
    whole, _ = run_suite(suite, RunOptions(out_dir=tmp_path / "whole", cache_dir=tmp_path / "c", quiet=True))
    for k in range(2):
        run_suite(suite, RunOptions(out_dir=tmp_path / f"s{k}", cache_dir=tmp_path / "c", quiet=True,
                                    shard=ShardSpec(k, 2)))
    merged, _ = merge_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "merged")
    for row in whole["rows"]:
        for key in ("crop_n", "crop_word_accuracy", "crop_cer", "crop_one_minus_ned"):
            assert merged["results"][row][key] == whole["results"][row][key]
    assert merged["metrics"]["crop_cer"]["available"]
