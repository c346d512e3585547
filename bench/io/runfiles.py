"""results.json, per_image.csv and text_details.jsonl: aggregation and writing.

Schema ``tair-bench-results/1`` (documented field by field in docs/results.md,
"Results"). Everything under the top-level key ``run`` (timestamps, durations,
cache statistics) varies between otherwise identical runs; everything else is
a deterministic function of the suite, the data and the code versions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from bench.errors import BenchError
from bench.io.images import atomic_write_bytes

SCHEMA = "tair-bench-results/1"
VOLATILE_KEYS = ("run",)


def finite_or_none(value: Any) -> Optional[float]:
    """A float for a finite number, else None (a CSV NaN, None, a string)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def mean_or_none(values: list[Optional[float]]) -> tuple[Optional[float], int]:
    """Mean of the finite values and how many there were (None if none)."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def stable(results: dict) -> dict:
    """The part of a results document that must be identical across reruns."""
    return {k: v for k, v in results.items() if k not in VOLATILE_KEYS}


def _clean(obj: Any) -> Any:
    """Make values JSON-safe: NaN/inf become None (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(path: Path, doc: dict) -> None:
    atomic_write_bytes(path, (json.dumps(_clean(doc), indent=2, sort_keys=False) + "\n").encode("utf-8"))


def write_per_image_csv(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values(["image_id", "row_order"]).drop(columns=["row_order"])
    atomic_write_bytes(path, frame.to_csv(index=False, float_format="%.6g").encode("utf-8"))


def read_results(path: Path, what: str = "results file", error: type[BenchError] = BenchError) -> dict:
    """The results document in ``path`` (``results.json`` or a run folder holding one),
    checked to be a tair-bench results file; problems raise ``error`` naming the file."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} {p}: no such file -- expected the results.json written by 'bench run'") from None
    except ValueError as exc:
        raise error(f"{what} {p}: not valid JSON ({exc}) -- re-run 'bench run' to rewrite it") from None
    if not isinstance(doc, dict) or "results" not in doc or "rows" not in doc:
        raise error(f"{what} {p}: missing 'results' or 'rows' -- not a tair-bench results file")
    return doc


def read_per_image_csv(path: Path) -> list[dict]:
    """The records of ``per_image.csv`` (:func:`write_per_image_csv`): ids and row names
    as strings, empty cells as ``None``."""
    import pandas as pd

    frame = pd.read_csv(path, dtype={"image_id": str, "row": str, "image": str})
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
            for rec in frame.to_dict(orient="records")]


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file written by :func:`write_jsonl`."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, records: list[dict]) -> None:
    blob = "".join(json.dumps(_clean(r), sort_keys=True) + "\n" for r in records)
    atomic_write_bytes(path, blob.encode("utf-8"))


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{100 * v:.1f}" if pct else f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def format_table(doc: dict, columns: list[tuple[str, str, bool]]) -> str:
    """A fixed-width text table of ``doc["results"]``: (key, header, as_percent)."""
    rows = doc["rows"]
    header = ["row"] + [h for _, h, _ in columns]
    body = []
    for row in rows:
        vals = doc["results"].get(row, {})
        body.append([row] + [_fmt(vals.get(k), pct) for k, _, pct in columns])
    widths = [max(len(str(r[i])) for r in [header] + body) for i in range(len(header))]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)  # noqa: E731
                                    for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(header), line(["-" * w for w in widths])] + [line(r) for r in body]
    return "\n".join(out)


#: short table headers of the text metrics (others use their name); ``True`` = shown as percent. Image
#: metrics declare their own (``ImageMetric.header``): :func:`bench.report.columns.table_headers`
TEXT_HEADERS: dict[str, tuple[str, bool]] = {
    "det_hmean": ("det-F1%", True), "e2e_none_hmean": ("E2E-F1%", True), "e2e_full_hmean": ("E2E-full%", True),
    "crop_word_accuracy": ("crop-acc%", True), "confidently_wrong_rate": ("conf-wrong%", True),
    "phantom_per_image": ("phantom/img", False),
    "read_words_per_image": ("words/img", False), "read_mean_confidence": ("read-conf", False),
    "read_lq_agreement": ("LQ-agree%", True),
}
#: text columns of an annotated run, and the text statistics shown instead when no row has text P/R/H
TEXT_COLUMNS = ("det_hmean", "e2e_none_hmean", "e2e_full_hmean", "crop_word_accuracy", "confidently_wrong_rate",
                "phantom_per_image")
STAT_COLUMNS = ("read_words_per_image", "read_mean_confidence", "read_lq_agreement")


def has_text_scores(doc: dict) -> bool:
    """Whether any row has a text P/R/H value (False: no annotated image, or no cared GT)."""
    return any(v.get("det_hmean") is not None for v in doc["results"].values())


def summary_columns(doc: dict, headers: Mapping[str, tuple[str, bool]]) -> list[tuple[str, str, bool]]:
    """The columns of the run summary: the suite's own image metrics that could run (in
    suite order), then the text metrics; with no text P/R/H in any row (nothing to
    measure), the text statistics instead (``read_*``). ``headers``: metric -> (header,
    as percent), names as headers where absent; the report layer passes the image
    metrics' own (:func:`bench.report.columns.summary_columns`)."""
    results = doc["results"].values()
    present = lambda k: any(k in v for v in results)  # noqa: E731
    image = [m for m, meta in doc.get("metrics", {}).items()
             if meta.get("kind") == "image" and meta.get("available", True) and present(m)]
    text = TEXT_COLUMNS if has_text_scores(doc) else STAT_COLUMNS
    keys = image + [k for k in text if present(k)]
    return [(k, *headers.get(k, (k, False))) for k in keys]
