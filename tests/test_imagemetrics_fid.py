"""Fréchet distance against its closed form, the content-keyed reference-statistics
cache, and the FID metric's set-level flow with a small injected stand-in extractor
(per-channel means; its values are not FID and the definition says so)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.errors import BenchError
from bench.imagemetrics import create_metric
from bench.imagemetrics.fid import feature_stats, frechet_distance

torch = pytest.importorskip("torch")


def test_frechet_diagonal_closed_form():
    """Diagonal covariances commute, so sqrtm(S1 S2) = diag(sqrt(s1 s2)) and
    FID = ||mu1 - mu2||^2 + sum(s1 + s2 - 2 sqrt(s1 s2)) = (9 + 0 + 16) + (1 + 0 + 4) = 30."""
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([3.0, 1.0, -2.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = (9 + 0 + 16) + sum(a + b - 2 * math.sqrt(a * b) for a, b in zip(s1, s2))  # 25 + 1 + 0 + 4
    assert expected == 30
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(30.0, abs=1e-9)


def test_frechet_rotated_and_identical():
    """A common rotation leaves the distance unchanged; identical Gaussians give 0."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    s1, s2 = np.diag([1.0, 2.0, 3.0, 4.0]), np.diag([2.0, 2.0, 1.0, 5.0])
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    base = frechet_distance(mu1, s1, mu2, s2)
    assert frechet_distance(q @ mu1, q @ s1 @ q.T, q @ mu2, q @ s2 @ q.T) == pytest.approx(base, rel=1e-8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_shape_mismatch():
    with pytest.raises(BenchError, match="do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def channel_means(x):
    """Stand-in extractor: (N, 3, H, W) -> (N, 3) per-channel means."""
    return x.mean(dim=(2, 3))


def imgs(seed, n=4, h=16, w=20):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_injected_extractor_flow_and_labels():
    m = create_metric("fid", extractor=channel_means, extractor_id="channel-means-test")
    assert m.preflight() == []
    assert "STAND-IN" in m.definition and "not a real FID" in m.definition
    a, b = imgs(1), imgs(2)
    fa, fb = m.features(a), m.features(b)
    assert fa.shape == (4, 3)
    assert np.allclose(fa[0], a[0].reshape(-1, 3).mean(0) / 255.0)
    assert m.from_features(fa, fb) == pytest.approx(frechet_distance(*feature_stats(fa), *feature_stats(fb)))
    with pytest.raises(BenchError, match="extractor_id"):
        create_metric("fid", extractor=channel_means)


def test_stats_need_two_images():
    with pytest.raises(BenchError, match="at least 2 images"):
        feature_stats(np.zeros((1, 3)))
