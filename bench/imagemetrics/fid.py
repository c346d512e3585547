"""FID (Heusel et al. 2017): Fréchet distance between Inception feature Gaussians.

Set-level: the runner collects :meth:`Fid.features` over all restored images and
all references, then calls :meth:`Fid.from_features`. Features are cached per image
by the score stage, keyed by the images' content (never by a data-set name;
a name can hide changed files), so reference statistics are reused across runs. Inputs must be lossless (the harness stores
PNG): JPEG round trips move FID noticeably (clean-fid README).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.io.weights import MANIFEST, require, sha256_of

from .base import ImageMetric, check_image, to_tensor
from .inception import RESIZE_MODE, InceptionFeatures


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` with ``scipy.linalg.sqrtm``.

    As in pytorch-fid: if the product is near-singular (non-finite root), ``eps``
    is added to both diagonals; a tiny imaginary part from rounding is dropped,
    a large one is an error.
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise BenchError(f"FID: statistics do not match: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise BenchError(f"FID: matrix square root has a large imaginary part ({np.max(np.abs(covmean.imag)):.3g})")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, ``rowvar=False``) covariance of ``(N, D)`` features."""
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise BenchError(f"FID needs at least 2 images per set, got features of shape {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


class Fid(ImageMetric):
    """FID between the restored set and the reference set, lower is better.

    ``extractor`` (tests only) replaces the Inception network with any callable
    mapping a float ``(N, 3, H, W)`` tensor in [0, 1] to ``(N, D)`` features;
    ``extractor_id`` then names it, and it enters the cache key and definition,
    so a stand-in value can never pass for a real FID.
    """

    name = "fid"
    summary = "FID, pytorch-fid Inception features (set level)"
    header = "FID"
    tolerance = 1.0
    mode = "set"
    higher_is_better = False
    weights = ("inception_fid",)

    def __init__(self, batch_size: int = 16, extractor: Callable[[Any], Any] | None = None,
                 extractor_id: str | None = None, **options: Any):
        super().__init__(batch_size=batch_size, **options)
        if extractor is not None and not extractor_id:
            raise BenchError("metric 'fid': an injected extractor needs an extractor_id naming it")
        self.batch_size = int(batch_size)
        self.extractor = extractor
        self.injected = extractor is not None
        self.extractor_id = extractor_id or "pytorch-fid-inception-v3-pool3"
        self.weights_sha = "none (injected extractor)" if extractor is not None else None

    @property
    def definition(self) -> str:  # type: ignore[override]
        net = (f"Inception-v3 pool3 2048-d features, pytorch-fid weights {MANIFEST['inception_fid'].filename}"
               if not self.injected else f"STAND-IN extractor '{self.extractor_id}' (not a real FID)")
        return (f"FID = ||mu_p - mu_r||^2 + Tr(S_p + S_r - 2 sqrtm(S_p S_r)) (scipy.linalg.sqrtm, float64, "
                f"unbiased covariances) between restored and reference sets; {net}; uint8/255 RGB, resize "
                f"{RESIZE_MODE}, then 2x-1; lossless (PNG) inputs. Depends on set size: compare equal-sized sets only.")

    def preflight(self) -> list[str]:
        return [] if self.injected else super().preflight()

    def _load(self, device: str) -> None:
        if self.extractor is None:
            path = require("inception_fid", "metric 'fid'")
            self.extractor = InceptionFeatures(path, device)
            self.weights_sha = sha256_of(path)

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        for i, img in enumerate(images):
            check_image(img, f"metric 'fid': image {i}")
        if not self.loaded:
            self.load(self.device)
        chunks = []
        for start in range(0, len(images), self.batch_size):
            batch = list(images[start:start + self.batch_size])
            if len({im.shape for im in batch}) == 1:
                chunks.append(np.asarray(self.extractor(to_tensor(batch, self.device)).cpu(), np.float64))
            else:  # mixed sizes: one at a time (each is resized to 299 anyway)
                chunks.extend(np.asarray(self.extractor(to_tensor([im], self.device)).cpu(), np.float64) for im in batch)
        return np.concatenate(chunks) if chunks else np.zeros((0, 0))

    def from_features(self, pred_feats: np.ndarray, ref_feats: np.ndarray) -> float:
        return frechet_distance(*feature_stats(pred_feats), *feature_stats(ref_feats))
