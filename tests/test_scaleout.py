"""Scale-out without Ray: shards, ``bench merge`` and the cache over fsspec URLs.

The reference is always an unsharded run of the same suite on the tiny synthetic
set (fast fake spotter, PSNR, plus a fake set-level metric standing in for FID):
shards merged must give the same results.json (stable part) and the same
per-image files; merging must refuse shards that do not belong together.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.imagemetrics.base import ImageMetric
from bench.io.runfiles import stable
from bench.pipeline.runner import RunOptions, run_suite
from bench.scaleout.merge import MergeError, merge_runs
from bench.scaleout.shard import ShardSpec, shard_of
from bench.suite import load_suite

from .conftest import write_suite


class MeanRgbDistance(ImageMetric):
    """A set-level metric like FID (features per image, one score per set), but cheap:
    the squared distance between the two sets' mean RGB plus the difference of their
    total variances. Its float sums depend on image order, which the merge must keep."""

    name = "meanrgb"
    mode = "set"
    higher_is_better = False
    definition = "test metric: |mean_rgb(pred) - mean_rgb(ref)|^2 + |sum var(pred) - sum var(ref)|"

    def features(self, images):
        return np.stack([im.reshape(-1, 3).mean(axis=0) for im in images]).astype(np.float64)

    def from_features(self, pred, ref):
        return float(((pred.mean(0) - ref.mean(0)) ** 2).sum() + abs(pred.var(0).sum() - ref.var(0).sum()))


@pytest.fixture()
def set_metric(monkeypatch):
    """Register :class:`MeanRgbDistance` as image metric 'meanrgb' for one test."""
    from bench import imagemetrics
    from bench.registry import Entry

    target = "tests.test_scaleout:MeanRgbDistance"
    monkeypatch.setitem(imagemetrics._METRICS, "meanrgb", (target, "set", "test set metric", {}))
    monkeypatch.setitem(imagemetrics._REGISTRY._entries, "meanrgb", Entry("meanrgb", target, "test", None))
    return "meanrgb"


def _run(suite_path, out: Path, cache, **kw):
    return run_suite(load_suite(suite_path), RunOptions(out_dir=out, cache_dir=cache, quiet=True, **kw))


def _stable_on_disk(run_dir: Path) -> dict:
    return stable(json.loads((run_dir / "results.json").read_text()))


@pytest.fixture()
def sharded(tmp_path, tiny_set, blob_spotter, set_metric):
    """An unsharded run and shards 0/2 and 1/2, all over one shared cache."""
    suite = write_suite(tmp_path, tiny_set, extra="", name="s.yaml")
    text = suite.read_text().replace("image: [psnr]", "image: [psnr, meanrgb]")
    suite.write_text(text)
    cache = tmp_path / "cache"
    _run(suite, tmp_path / "full", cache)
    for k in (0, 1):
        _run(suite, tmp_path / f"shard{k}", cache, shard=ShardSpec(k, 2))
    return tmp_path, suite, cache


def test_shard_spec_parses_and_partitions():
    """Every id falls in exactly one shard, always the same one; bad specs are user errors."""
    from bench.errors import BenchError

    ids = [f"img_{i}" for i in range(200)]
    for n in (1, 2, 8):
        owners = [[k for k in range(n) if ShardSpec(k, n).contains(i)] for i in ids]
        assert all(len(o) == 1 for o in owners)
        assert [o[0] for o in owners] == [shard_of(i, n) for i in ids]
    assert ShardSpec.parse("3/8") == ShardSpec(3, 8)
    for bad in ("8/8", "-1/2", "x", "1/0"):
        with pytest.raises(BenchError, match="--shard"):
            ShardSpec.parse(bad)


def test_merged_shards_equal_unsharded_run(sharded):
    """0/2 + 1/2 merged == the unsharded run: results.json (stable part, incl. the
    bootstrap intervals, inputs.digest and the set-level metric recomputed from the
    shared cache) and byte-identical per_image.csv and text_details.jsonl."""
    tmp_path, _, _ = sharded
    s0, s1 = _stable_on_disk(tmp_path / "shard0"), _stable_on_disk(tmp_path / "shard1")
    assert s0["shard"]["count"] == 2 and s0["data"]["n_images"] + s1["data"]["n_images"] == 3
    doc, _ = merge_runs([tmp_path / "shard1", tmp_path / "shard0"], tmp_path / "merged")
    full, merged = _stable_on_disk(tmp_path / "full"), _stable_on_disk(tmp_path / "merged")
    assert "shard" not in merged
    # only the set metric's cache statistics differ (a cold run computed the features)
    for d in (full, merged):
        d["metrics"]["meanrgb"].pop("info")
    assert merged == full
    assert full["results"]["unsharp"]["meanrgb"] is not None
    for name in ("per_image.csv", "text_details.jsonl"):
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
    assert [s["index"] for s in doc["run"]["merge"]["shards"]] == [0, 1]


def test_merge_without_the_cache_marks_set_metric_unavailable(sharded):
    """With the shared cache gone, FID-like metrics cannot be recomputed: recorded as
    unavailable with the reason; everything per-image still merges."""
    tmp_path, _, cache = sharded
    shutil.rmtree(cache)
    doc, _ = merge_runs([tmp_path / "shard0", tmp_path / "shard1"], tmp_path / "merged")
    assert doc["metrics"]["meanrgb"]["available"] is False
    assert "not reachable" in doc["metrics"]["meanrgb"]["reason"]
    assert doc["results"]["unsharp"]["meanrgb"] is None
    assert doc["results"]["unsharp"]["psnr"] == _stable_on_disk(tmp_path / "full")["results"]["unsharp"]["psnr"]


def _edited_copy(src: Path, dst: Path, edit) -> Path:
    shutil.copytree(src, dst)
    doc = json.loads((dst / "results.json").read_text())
    edit(doc)
    (dst / "results.json").write_text(json.dumps(doc))
    return dst


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["suite"].update(hash="0" * 64), "suite hash"),
    (lambda d: d.update(tair_bench_version="0.0.0"), "tair_bench_version"),
    (lambda d: d.update(protocol_version="0"), "protocol_version"),
    (lambda d: d["degradation"].update(seed=99), "degradation seed"),
    (lambda d: d["intervals"].update(seed=99), "bootstrap seed"),
])
def test_merge_refuses_shards_that_differ(sharded, edit, message):
    """A shard from another suite, version or seed is refused; the error names the key."""
    tmp_path, _, _ = sharded
    odd = _edited_copy(tmp_path / "shard1", tmp_path / "odd", edit)
    with pytest.raises(MergeError, match=message):
        merge_runs([tmp_path / "shard0", odd], tmp_path / "merged")


def test_merge_refuses_missing_repeated_and_unsharded_runs(sharded):
    """Missing shards, a shard given twice and a plain (unsharded) run are each named."""
    tmp_path, _, _ = sharded
    with pytest.raises(MergeError, match=r"missing shard\(s\) 1/2"):
        merge_runs([tmp_path / "shard0"], tmp_path / "m1")
    twice = _edited_copy(tmp_path / "shard0", tmp_path / "again", lambda d: None)
    with pytest.raises(MergeError, match="shard 0/2 given twice"):
        merge_runs([tmp_path / "shard0", twice, tmp_path / "shard1"], tmp_path / "m2")
    with pytest.raises(MergeError, match="not a shard run"):
        merge_runs([tmp_path / "full", tmp_path / "shard1"], tmp_path / "m3")


def test_cli_run_shards_and_merge(tmp_path, tiny_set, blob_spotter):
    """`bench run --shard K/N` and `bench merge` from the command line; a bad spec is one line."""
    from bench.cli import main

    suite = write_suite(tmp_path, tiny_set)
    cache = str(tmp_path / "c")
    for k in (0, 1):
        assert main(["run", str(suite), "--quiet", "--cache-dir", cache, "--out", str(tmp_path / f"s{k}"),
                     "--shard", f"{k}/2"]) == 0
    assert main(["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "-o", str(tmp_path / "m")]) == 0
    assert _stable_on_disk(tmp_path / "m")["data"]["n_images"] == 3
    assert main(["run", str(suite), "--shard", "2/2"]) == 2


def test_cache_over_fsspec_urls(tmp_path):
    """memory:// and file:// caches store and return images and records; a write leaves
    no temp key behind; the object-store path (one PUT, no rename) works too."""
    from bench.io.cache import Cache

    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    for root in ("memory://tairtest/cache", f"file://{tmp_path}/fcache"):
        cache = Cache(root)
        h = cache.put_image(img)
        cache.put("spot", "ab" + "0" * 62, {"x": 1})
        assert np.array_equal(Cache(root).get_image(h), img) and cache.has_image(h)
        assert cache.get("spot", "ab" + "0" * 62) == {"x": 1} and cache.get("spot", "cd" + "0" * 62) is None
        assert cache.stats() == {"spot": {"cached": 1, "computed": 1}}
    assert not [p for p in (tmp_path / "fcache").rglob("*") if p.name.endswith(".tmp")]
    store = Cache("memory://tairtest/objstore")._store
    store.rename = False  # as for s3:// or gs://
    store.write("stages/x/ab/k.json", b"{}")
    assert store.read("stages/x/ab/k.json") == b"{}"


def test_run_over_file_url_cache_equals_local_cache(tmp_path, tiny_set, blob_spotter):
    """A run whose cache is an fsspec URL (file://, as s3:// would be), with 2 worker
    processes sharing it, gives the results of a run over a plain folder."""
    suite = write_suite(tmp_path, tiny_set)
    local, _ = _run(suite, tmp_path / "a", tmp_path / "plain")
    remote, _ = _run(suite, tmp_path / "b", f"file://{tmp_path}/url_cache", workers=2)
    assert stable(remote) == stable(local)
    assert (tmp_path / "url_cache" / "stages" / "spot").is_dir()


def test_crashed_shard_resumes_from_shared_cache(tmp_path, tiny_set, blob_spotter, monkeypatch):
    """Shard 0/2 is killed in the spot stage after two images; re-running the same shard
    computes only the rest (degrade and restore all cached) and equals a clean shard run."""
    from tests import fakes

    suite = write_suite(tmp_path, tiny_set)
    clean, _ = _run(suite, tmp_path / "clean", tmp_path / "c_clean", shard=ShardSpec(0, 2))
    real_spot, calls = fakes.BlobSpotter.spot, {"n": 0}

    def crashing(self, image, image_id=None):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt  # like a node lost or a Slurm time limit between two images
        return real_spot(self, image, image_id)

    monkeypatch.setattr(fakes.BlobSpotter, "spot", crashing)
    with pytest.raises(KeyboardInterrupt):
        _run(suite, tmp_path / "resumed", tmp_path / "shared", shard=ShardSpec(0, 2))
    monkeypatch.setattr(fakes.BlobSpotter, "spot", real_spot)
    resumed, _ = _run(suite, tmp_path / "resumed", tmp_path / "shared", shard=ShardSpec(0, 2))
    stages = resumed["run"]["cache"]["stages"]
    assert stages["degrade"]["computed"] == 0 and stages["restore"]["computed"] == 0
    assert stages["spot"]["cached"] == 2
    assert stable(resumed) == stable(clean)
