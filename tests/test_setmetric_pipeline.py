"""A set-level metric (FID) inside a run, with a stand-in feature extractor
(channel means; real Inception weights are not available here and the value is
labelled STAND-IN in its definition): features are cached by image content, so
the HQ reference statistics are computed once and reused by the next run, and
the value equals the Frechet distance computed by hand from the features."""

from __future__ import annotations

import numpy as np
import pytest

from bench.imagemetrics.fid import feature_stats, frechet_distance
from bench.io.cache import Cache
from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite

from .conftest import write_suite


def test_fid_features_cached_and_value_by_hand(tmp_path, tiny_set, blob_spotter, fid_standin):
    suite = load_suite(_suite(tmp_path, tiny_set))
    opts = dict(cache_dir=tmp_path / "c", quiet=True)
    first, _ = run_suite(suite, RunOptions(out_dir=tmp_path / "o1", **opts))
    second, _ = run_suite(suite, RunOptions(out_dir=tmp_path / "o2", **opts))
    info1, info2 = first["metrics"]["fid"]["info"], second["metrics"]["fid"]["info"]
    assert info1["features_computed"] > 0
    assert info2 == {"features_computed": 0, "features_from_cache": info1["features_computed"]}
    assert "STAND-IN" in first["metrics"]["fid"]["definition"]
    # by hand: channel means of the cached images, Frechet distance of unsharp vs HQ
    cache = Cache(tmp_path / "c")
    import pandas as pd

    rows = pd.read_csv(tmp_path / "o1" / "per_image.csv")
    feats = lambda row: np.stack([cache.get_image(h).reshape(-1, 3).mean(0) / 255.0  # noqa: E731
                                  for h in rows[rows.row == row].sort_values("image_id").image])
    expected = frechet_distance(*feature_stats(feats("unsharp")), *feature_stats(feats("HQ")))
    # the extractor runs in float32 (torch), the hand computation in float64: the means
    # (~0.5) carry ~3e-8 float32 error, so an FID this small (~2.5e-6, a few 1e-3 apart in
    # mean) is exact only to ~1e-10 absolute; rel 1e-4 alone is too tight here
    assert first["results"]["unsharp"]["fid"] == pytest.approx(expected, rel=1e-4, abs=2e-9)
    assert first["results"]["unsharp"]["fid"] == second["results"]["unsharp"]["fid"]


def _suite(tmp_path, data):
    p = write_suite(tmp_path, data, name="fid.yaml")
    p.write_text(p.read_text().replace("[psnr]", "[psnr, fid]"))
    return p
