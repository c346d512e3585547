"""Per-image sufficient statistics of the pooled text metrics (the "update" half).

Every statistic is additive: its value over a set of images is the sum of its values
over the images. So one function serves both callers: ``pool`` evaluates it over all
images at once (float sums rounded once, as ``math.fsum`` in ``recognition_sums``),
the bootstrap (:mod:`bench.pipeline.intervals`) over each image alone and sums the
resampled rows with a weight matrix. The metric table (:mod:`bench.textmetrics.table`)
names the statistics each metric's formula takes; the order of the keys here is the
order of the bootstrap's columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.textmetrics.recognition import recognition_sums
from bench.textmetrics.results import Counts, ImageTextResult


def _prefixed(prefix: str, sums: dict) -> dict[str, int | float]:
    return {f"{prefix}{k}": v for k, v in sums.items()}


def result_statistics(results: Sequence[ImageTextResult], modes: Sequence[str]) -> dict[str, int | float]:
    """The statistics of spotter evaluations (:class:`ImageTextResult`), summed over
    ``results``: ``n_images``; per mode ``<mode>:matched``, ``<mode>:n_gt``,
    ``<mode>:n_det``; ``rec_*`` (:func:`recognition_sums` of the det-mode pairs,
    upper-cased); ``e2e_none_pairs``, ``confidently_wrong``; ``phantom`` (phantom
    detections) and ``phantom_valid`` (images with HQ detections, where phantoms are defined)."""
    out: dict[str, int | float] = {"n_images": len(results)}
    for mode in modes:
        total = sum((r.counts[mode] for r in results), Counts())
        out.update({f"{mode}:matched": total.matched, f"{mode}:n_gt": total.n_gt, f"{mode}:n_det": total.n_det})
    det_pairs = [(p.gt_text, p.pred_text) for r in results for p in r.pairs if p.correct.get("det")]
    out.update(_prefixed("rec_", recognition_sums(det_pairs, case_sensitive=False)))
    phantom = [r.n_phantom for r in results if r.n_phantom is not None]
    out.update({"e2e_none_pairs": sum(r.e2e_none_pairs for r in results),
                "confidently_wrong": sum(r.confidently_wrong for r in results),
                "phantom": sum(phantom), "phantom_valid": len(phantom)})
    return out


def crop_statistics(pairs: Sequence[Sequence[str]]) -> dict[str, int | float]:
    """The statistics of recognition on GT crops, summed over (GT word, read word)
    ``pairs``: ``crop_*`` (:func:`recognition_sums`, upper-cased)."""
    return _prefixed("crop_", recognition_sums([(g, r) for g, r in pairs], case_sensitive=False))
