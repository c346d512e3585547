"""Aggregate per-image scores into the results document, the per-image table
and the per-image text details (wrong words) kept for the report."""

from __future__ import annotations

from typing import Any, Optional

from bench import PROTOCOL_VERSION
from bench.degrade import preset_definition
from bench.io.runfiles import mean_or_none
from bench.pipeline.benchmark import section_for_items
from bench.pipeline.datachecks import data_checks, reading_results, with_reading_counts
from bench.pipeline.preflight import Components
from bench.pipeline.state import RunState, Scores
from bench.records import REFERENCE_ROWS
from bench.suite import Suite
from bench.textmetrics import (
    CROP_HIGHER_IS_BETTER,
    CROP_METRIC_DEFINITIONS,
    TEXT_METRIC_DEFINITIONS,
    TEXT_METRIC_HIGHER_IS_BETTER,
    crop_scores,
    pool,
)
from bench.textmetrics.results import MODES_BASE


def metric_entries(comps: Components, scores: Scores) -> dict:
    """The ``metrics`` section: every metric's direction, definition and status."""
    out = {}
    for state in comps.metrics:
        m = state.metric
        info = scores.metric_info.get(state.name)
        out[state.name] = {
            "kind": "image", "mode": getattr(m, "mode", None),
            "higher_is_better": getattr(m, "higher_is_better", None),
            "definition": getattr(m, "definition", None),
            "available": state.unavailable is None,
            "reason": state.unavailable,
            **({"info": info} if info else {}),
        }
    for name, definition in TEXT_METRIC_DEFINITIONS.items():
        out[name] = {"kind": "text", "higher_is_better": TEXT_METRIC_HIGHER_IS_BETTER.get(name),
                     "definition": definition, "available": True, "reason": None}
    for name, definition in CROP_METRIC_DEFINITIONS.items():
        out[name] = {"kind": "text", "higher_is_better": CROP_HIGHER_IS_BETTER.get(name), "definition": definition,
                     "available": scores.crop_reason is None, "reason": scores.crop_reason}
    return out


def _environment_entry(component) -> dict:
    """``{"environment": ...}`` for a component that runs in its own interpreter (the
    interpreter's path, Python and module versions), else nothing: the run's own
    environment is recorded once at the top of results.json."""
    env = component.environment() if hasattr(component, "environment") else None
    return {"environment": env} if env else {}


def aggregate(suite: Suite, comps: Components, state: RunState, scores: Scores,
              text_cfg: Any) -> tuple[dict, list[dict], list[dict]]:
    """The deterministic sections of results.json, the per-image rows and the text details
    (headroom and intervals follow from these: :func:`bench.pipeline.results.finish_results`)."""
    rows, items = scores.rows, state.items
    results: dict[str, dict] = {row: {} for row in rows}
    n_images: dict[str, dict] = {row: {} for row in rows}
    for row in rows:
        results[row].update(pool(r for _, r in scores.text.get(row, [])))
        for name, per_row in scores.image_values.items():
            if row in per_row:
                value, n = mean_or_none([v for _, v in per_row[row]])
                results[row][name] = value
                n_images[row][name] = n
        for name, per_row in scores.set_values.items():
            if row in per_row:
                results[row][name] = per_row[row]
        if scores.crop_reason is not None:
            results[row].update({k: None for k in CROP_METRIC_DEFINITIONS})  # why: metrics.<k>.reason
        elif row in scores.crop:
            results[row].update(crop_scores([p for pairs in scores.crop[row].values() for p in pairs]))
    for metric in comps.metrics:
        if metric.unavailable:
            for row in rows:
                results[row][metric.name] = None
    reading, read_counts = reading_results(rows, items, state.detections, text_cfg)
    for row, stats in reading.items():
        results[row].update(stats)
    doc = {
        "suite": {"name": suite.name, "hash": suite.content_hash(), "path": suite.path,
                  "definition": suite.to_dict()},
        "data": {**comps.dataset.describe(), "n_images": len(items),
                 "skipped_records": [s.message() for s in comps.dataset.skipped],
                 **data_checks(items, comps.dataset.skipped, text_cfg.compat)},
        "degradation": degradation_entry(suite),
        "spotter": {"name": suite.spotter.name, "version": comps.spotter.version(),
                    "config": comps.spotter.config(), "min_score": suite.spotter.min_score,
                    **_environment_entry(comps.spotter)},
        "text_eval": {**text_cfg.to_dict(), "headline": suite.metrics.text.headline},
        "rows": rows,
        "reference_rows": [r for r in REFERENCE_ROWS if r in rows],
        "restorers": {name: {"adapter": spec.adapter, "version": comps.restorers[name][0].version(),
                             "config": comps.restorers[name][0].config(), "prompt": spec.prompt,
                             **_environment_entry(comps.restorers[name][0])}
                      for spec in suite.restorers for name in [spec.name] if name in comps.restorers},
        "skipped_restorers": dict(comps.skipped_restorers),
        "metrics": metric_entries(comps, scores),
        "results": results,
        "n_images_per_metric": n_images,
        "rows_incomplete": rows_incomplete(rows, items),
    }
    doc["benchmark"] = section_for_items({**doc, "protocol_version": PROTOCOL_VERSION}, items)
    per_image = with_reading_counts(_per_image_rows(rows, items, scores.text, scores.image_values), read_counts)
    return doc, per_image, _text_details(rows, scores, state.restore_records)


def rows_incomplete(rows: list[str], items: list) -> dict:
    """``{row: {"n_images": n, "n_expected": N}}`` for each restorer row scored on fewer
    images than the run has (a folder of outputs with ``--allow-missing``); empty when every
    row is complete. ``HQ`` is left out: a no-reference set has no clean image at all."""
    out = {}
    for row in rows:
        if row in REFERENCE_ROWS:
            continue
        n = sum(1 for it in items if row in it.outputs)
        if n < len(items):
            out[row] = {"n_images": n, "n_expected": len(items)}
    return out


def degradation_entry(suite) -> dict:
    d = suite.degradation
    entry = {"kind": d.kind, "scale": d.scale, "seed": d.seed}
    if d.kind == "provided":
        entry.update(level=d.level, note="the data set's own LQ images")
    else:
        entry.update(preset=d.preset, definition=preset_definition(d.preset), backend=d.backend,
                     usm_sharpen=d.usm_sharpen,
                     note="tair-bench's seeded Real-ESRGAN-style pipeline applied to the HQ images")
    return entry


def _per_image_rows(rows, items, text, image_values) -> list[dict]:
    by_key: dict[tuple[str, str], dict] = {}
    order = {r: i for i, r in enumerate(rows)}
    for item in items:
        for row in rows:
            if row in item.outputs:
                by_key[(item.id, row)] = {"image_id": item.id, "row": row, "row_order": order[row],
                                          "image": item.outputs[row]}
    for row, entries in text.items():
        for item, result in entries:
            p = pool([result])
            rec = by_key[(item.id, row)]
            rec.update({"n_gt": p["det_n_gt"], "n_det": p["det_n_det"], "det_hmean": p["det_hmean"],
                        "e2e_none_hmean": p["e2e_none_hmean"], "e2e_none_ws_hmean": p["e2e_none_ws_hmean"],
                        "confidently_wrong": p["confidently_wrong"], "phantom": result.n_phantom,
                        "wrong_words": len(result.wrong_words)})
    for name, per_row in image_values.items():
        for row, entries in per_row.items():
            for item, value in entries:
                by_key[(item.id, row)][name] = value
    return list(by_key.values())


def _text_details(rows: list[str], scores: Scores, restore_records: dict) -> list[dict]:
    """One record per (image, row): matched pairs, wrong words, the prompt a
    restorer was given, the (GT, read) pairs of recognition on GT crops and ``read``,
    the words read (``{text, score, polygon}``, the words the text statistics count).

    An image without annotations gets a record too (``"annotated": false``): its words
    read and zero ``counts`` in the annotated records' modes (no GT word, no scored
    detection), so every reader of text results pools it as adding nothing."""
    prompts = {name: {r["id"]: (r.get("prompt"), r.get("prompt_info")) for r in recs}
               for name, recs in restore_records.items()}
    crop = scores.crop
    read = getattr(scores.text, "read", {})
    out = []
    scored = set()
    for row in rows:
        for item, result in scores.text.get(row, []):
            rec = {"image_id": item.id, "row": row, **result.to_dict()}
            prompt: Optional[tuple] = prompts.get(row, {}).get(item.id)
            if prompt and prompt[0] is not None:
                rec["prompt"], rec["prompt_info"] = prompt
            if crop and item.id in crop.get(row, {}):
                rec["crop_pairs"] = crop[row][item.id]
            if item.id in read.get(row, {}):
                rec["read"] = read[row][item.id]
            out.append(rec)
            scored.add((item.id, row))
    modes = next((tuple(r.counts) for entries in scores.text.values() for _, r in entries), MODES_BASE)
    for row in rows:
        for image_id, words in read.get(row, {}).items():
            if (image_id, row) not in scored:
                rec = {"image_id": image_id, "row": row, "annotated": False,
                       "counts": {m: {"matched": 0, "n_gt": 0, "n_det": 0} for m in modes}, "read": words}
                prompt = prompts.get(row, {}).get(image_id)
                if prompt and prompt[0] is not None:
                    rec["prompt"], rec["prompt_info"] = prompt
                out.append(rec)
    out.sort(key=lambda r: (r["image_id"], rows.index(r["row"])))
    return out
