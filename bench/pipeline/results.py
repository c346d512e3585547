"""The one place a results document is finished, for ``bench run`` and ``bench merge`` alike.

Both build the document's sections their own way (a run from its stage outputs,
:func:`bench.pipeline.aggregate.aggregate`; a merge by re-pooling the shards' per-image
data, :mod:`bench.scaleout.merge`), then :func:`finish_results` derives what follows from
the results themselves (headroom, bootstrap intervals) and puts the keys in schema order.
"""

from __future__ import annotations

from typing import Any

from bench.pipeline.intervals import DEFAULT_LEVEL, DEFAULT_RESAMPLES, DEFAULT_SEED, add_confidence_intervals
from bench.records import HQ_ROW, LQ_ROW
from bench.textmetrics.headroom import headroom_section

#: the keys that open a results document, in this order (the rest follow as built)
FIRST_KEYS = ("schema", "tair_bench_version", "protocol_version", "git_commit", "suite", "data", "degradation",
              "spotter", "rows", "metrics", "results")


def finish_results(doc: dict[str, Any], per_image: list[dict], details: list[dict], *,
                   n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED, baseline: str = LQ_ROW,
                   level: float = DEFAULT_LEVEL) -> dict[str, Any]:
    """``doc`` with its headroom and bootstrap intervals (re)computed from ``results``,
    ``per_image`` and ``details``, keys in schema order."""
    doc["headroom"] = headroom_section(doc["results"], doc["rows"], LQ_ROW, HQ_ROW)
    add_confidence_intervals(doc, per_image, details, n_resamples=n_resamples, seed=seed, baseline=baseline,
                             level=level)
    _no_comparisons_for_incomplete_rows(doc)
    return {**{k: doc[k] for k in FIRST_KEYS if k in doc}, **{k: v for k, v in doc.items() if k not in FIRST_KEYS}}


def _no_comparisons_for_incomplete_rows(doc: dict[str, Any]) -> None:
    """A row scored on fewer images than the run (``--allow-missing``) is not compared with the
    reference rows, which are over every image: its headroom is undefined (with the reason)
    and it gets no paired difference to the baseline row; its own intervals stay."""
    for row, counts in (doc.get("rows_incomplete") or {}).items():
        why = (f"undefined: row '{row}' is scored on {counts['n_images']} of {counts['n_expected']} images, "
               "the reference rows on all of them")
        if row in doc.get("headroom", {}):
            doc["headroom"][row] = {k: v for m in doc["headroom"][row] if not m.endswith("_reason")
                                    for k, v in ((m, None), (f"{m}_reason", why))}
        intervals = doc.get("intervals", {})
        if intervals.get("differences", {}).pop(row, None) is not None:
            intervals.setdefault("skipped", {})[f"differences.{row}"] = why
