"""Paired bootstrap confidence intervals over images.

Method (the report and results.json quote :data:`METHOD`): draw ``n_resamples``
resamples of the evaluated images with replacement (numpy ``default_rng(seed)``,
PCG64; images in sorted id order, so the draw does not depend on input order).
The *same* resampled image indices are used for every row, so a row's difference
to the baseline row is a paired difference. For each resample:

* a per-image metric (``kind: image``, e.g. PSNR) is the mean of the resampled
  per-image values (missing values skipped, as in the point estimate);
* a pooled text metric (``kind: text``, e.g. ``e2e_none_hmean``) is re-pooled from
  the resampled images' integer counts exactly as :func:`bench.textmetrics.pool`
  does (sums first, then P/R/H), never a mean of per-image F1.

Intervals are 95% percentile intervals (``numpy.percentile``, linear). A
difference is "significant" when its interval excludes 0. Set-level metrics
(e.g. FID) have no per-image values and get no interval.

The re-pooling is vectorised: per image a small vector of sufficient statistics
(counts, edit distances), an integer weight matrix ``W`` (resamples x images,
how often each image was drawn) and ``W @ stats`` gives every resample's sums.
Which statistics and which formulas: the metric table
(:data:`bench.textmetrics.table.TEXT_METRICS`), the one ``pool`` uses; every pooled
spotting metric but the counts gets an interval.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from bench.io.runfiles import finite_or_none
from bench.records import HQ_ROW, LQ_ROW, REFERENCE_ROWS
from bench.textmetrics.headroom import HEADROOM_METRICS
from bench.textmetrics.results import ImageTextResult, modes_of
from bench.textmetrics.statistics import result_statistics
from bench.textmetrics.table import SPOTTING, TextMetric, metrics_of

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
METHOD = ("paired percentile bootstrap over images: {n} resamples with replacement (numpy default_rng, "
          "seed {seed}); the same resampled images for every row; per-image metrics re-averaged, pooled "
          "text metrics re-pooled from per-image counts; {level:.0%} percentile interval; a difference to "
          "'{baseline}' is significant when its interval excludes 0")


def resample_weights(n_images: int, n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``(n_resamples, n_images)`` int matrix: how often each image is in each resample."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_images, size=(n_resamples, n_images))
    weights = np.zeros((n_resamples, n_images), dtype=np.int64)
    np.add.at(weights, (np.arange(n_resamples)[:, None], idx), 1)
    return weights


# -- per-image metrics ---------------------------------------------------------------------------

def _image_means(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Resampled means of per-image values (NaN = missing, skipped); NaN if none left."""
    valid = ~np.isnan(values)
    num = (weights * np.where(valid, values, 0.0)).sum(axis=1)
    den = (weights * valid).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


# -- pooled text metrics -------------------------------------------------------------------------

def _interval_metrics(modes: tuple[str, ...]) -> tuple[TextMetric, ...]:
    """The table's pooled spotting metrics that get an interval: all but the counts."""
    return tuple(m for m in metrics_of(SPOTTING, modes) if m.formula is not None)


def _stat_names(modes: tuple[str, ...]) -> list[str]:
    """The columns of the stats matrix: the statistics those metrics take, in the order
    :func:`result_statistics` declares them."""
    needed = {s for m in _interval_metrics(modes) for s in m.stats}
    return [n for n in result_statistics([], modes) if n in needed]


def text_stats(detail: dict, modes: tuple[str, ...]) -> list[float]:
    """Sufficient statistics of one image's text result (a ``text_details`` record),
    in the order of :func:`_stat_names`."""
    stats = result_statistics([ImageTextResult.from_dict(detail)], modes)
    return [stats[n] for n in _stat_names(modes)]


def text_formulas(modes: tuple[str, ...]) -> dict[str, Callable[[dict], np.ndarray]]:
    """Pooled text metric name -> function of the summed statistics: the table's
    formulas, the same ``pool`` uses; NaN = undefined, left out of the interval."""
    return {m.name: m.value for m in _interval_metrics(modes)}


def pooled_resamples(weights: np.ndarray, stats: np.ndarray, valid: np.ndarray, modes: tuple[str, ...],
                     names: list[str]) -> dict[str, np.ndarray]:
    """Every pooled text metric in ``names`` for every resample (images not ``valid`` weigh 0)."""
    w = weights * valid
    sums = w @ stats  # (B, k); counts are small integers held exactly in float64
    by_name = dict(zip(_stat_names(modes), sums.T))
    formulas = text_formulas(modes)
    return {n: formulas[n](by_name) for n in names if n in formulas}


# -- the public entry point ----------------------------------------------------------------------

def _interval(samples: np.ndarray, level: float) -> Optional[tuple[float, float]]:
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return None
    lo, hi = np.percentile(samples, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(lo), float(hi)


def _modes_of(details: list[dict]) -> tuple[str, ...]:
    return modes_of(d["counts"] for d in details if d.get("annotated", True))


def resample_all(doc: dict, per_image: list[dict], details: list[dict], weights: np.ndarray,
                 image_ids: list[str]) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, str]]:
    """``{row: {metric: resampled values}}`` for every metric that has per-image data,
    and ``{metric: reason}`` for metrics left out."""
    index = {i: k for k, i in enumerate(image_ids)}
    rows, metrics = doc["rows"], doc.get("metrics", {})
    skipped: dict[str, str] = {}
    image_names = []
    for name, meta in metrics.items():
        if meta.get("kind") != "image":
            continue
        if not meta.get("available", True):
            skipped[name] = "unavailable"
        elif meta.get("mode") == "set":
            skipped[name] = "set-level metric: no per-image values to resample"
        else:
            image_names.append(name)
    text_names = [n for n, meta in metrics.items() if meta.get("kind") == "text"]
    modes = _modes_of(details)
    formulas = text_formulas(modes)
    out: dict[str, dict[str, np.ndarray]] = {row: {} for row in rows}
    for row in rows:
        recs = [r for r in per_image if r.get("row") == row and str(r.get("image_id")) in index]
        for name in image_names:
            values = np.full(len(image_ids), np.nan)
            for r in recs:
                v = finite_or_none(r.get(name))
                if v is not None:
                    values[index[str(r["image_id"])]] = v
            if not np.isnan(values).all():
                out[row][name] = _image_means(weights, values)
        drecs = [d for d in details if d.get("row") == row and str(d.get("image_id")) in index
                 and d.get("annotated", True)]  # images without GT words (words read only) pool no text
        if drecs and text_names:
            stats = np.zeros((len(image_ids), len(_stat_names(modes))))
            valid = np.zeros(len(image_ids))
            for d in drecs:
                stats[index[str(d["image_id"])]] = text_stats(d, modes)
                valid[index[str(d["image_id"])]] = 1
            out[row].update(pooled_resamples(weights, stats, valid, modes, text_names))
    if any(n not in formulas for n in text_names):
        skipped["text counts"] = "counts and totals (n_*, *_matched, *_n_gt, *_n_det, ...) get no interval"
    return out, skipped


def add_confidence_intervals(doc: dict, per_image: list[dict], details: list[dict],
                             n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                             baseline: str = LQ_ROW, level: float = DEFAULT_LEVEL) -> None:
    """Add ``doc["intervals"]``: per row and metric a percentile interval, and per
    restorer its paired difference to ``baseline`` with a significance flag.

    Deterministic for a given seed (it belongs in the stable part of results.json).
    """
    image_ids = sorted({str(r["image_id"]) for r in per_image} | {str(d["image_id"]) for d in details})
    entry: dict = {"method": METHOD.format(n=n_resamples, seed=seed, level=level, baseline=baseline),
                   "n_resamples": n_resamples, "seed": seed, "level": level, "baseline": baseline,
                   "n_images": len(image_ids), "rows": {}, "differences": {}, "skipped": {}}
    if not image_ids:
        doc["intervals"] = entry
        return
    weights = resample_weights(len(image_ids), n_resamples, seed)
    samples, entry["skipped"] = resample_all(doc, per_image, details, weights, image_ids)
    results = doc.get("results", {})
    for row, per_metric in samples.items():
        entry["rows"][row] = {m: _as_interval(_interval(s, level)) for m, s in per_metric.items()}
    references = set(doc.get("reference_rows", []))
    base = samples.get(baseline)
    if base is not None:
        for row, per_metric in samples.items():
            if row in references or row == baseline:
                continue
            diffs = {}
            for m, s in per_metric.items():
                if m not in base:
                    continue
                ci = _interval(s - base[m], level)
                cur, ref = finite_or_none(results.get(row, {}).get(m)), finite_or_none(results.get(baseline, {}).get(m))
                diffs[m] = {"delta": None if cur is None or ref is None else cur - ref,
                            **_as_interval(ci), "significant": bool(ci and (ci[0] > 0 or ci[1] < 0))}
            entry["differences"][row] = diffs
    entry["headroom"] = _headroom_intervals(samples, doc, level)
    doc["intervals"] = entry


def _headroom_intervals(samples: dict, doc: dict, level: float) -> dict:
    """Interval of each restorer's headroom ``(f - f_LQ) / (f_HQ - f_LQ)``, resample by
    resample (undefined resamples, where f_HQ == f_LQ, are dropped)."""
    lq, hq = samples.get(LQ_ROW, {}), samples.get(HQ_ROW, {})
    out = {}
    for row, per_metric in samples.items():
        if row in REFERENCE_ROWS:
            continue
        entry = {}
        for m in HEADROOM_METRICS:
            if m in per_metric and m in lq and m in hq:
                gap = hq[m] - lq[m]
                with np.errstate(invalid="ignore", divide="ignore"):
                    h = np.where(gap != 0, (per_metric[m] - lq[m]) / np.where(gap != 0, gap, 1), np.nan)
                entry[m] = _as_interval(_interval(h, level))
        out[row] = entry
    return out


def _as_interval(ci: Optional[tuple[float, float]]) -> dict:
    return {"low": ci[0], "high": ci[1]} if ci else {"low": None, "high": None}
