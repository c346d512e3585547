"""Build the HTML report of one run folder.

``write_report(run_dir)`` writes ``report.html`` and a sibling ``report_assets/``
folder (plots, gallery images) into the run folder. The page loads nothing from
the network and runs no JavaScript; zoom is plain HTML/CSS (``:target``). Jinja2
autoescaping is on, so every string from results (OCR readings included) is
escaped; the only raw HTML is the ``Markup`` built by :mod:`.textdiff`.
"""

from __future__ import annotations

import copy
import math
import shutil
from pathlib import Path
from typing import Optional

from bench.io.images import write_text
from bench.io.runfiles import STAT_COLUMNS, has_text_scores
from bench.pipeline.intervals import add_confidence_intervals

from . import plots
from .gallery import DET_COLORS, READ_COLOR, build_gallery, build_read_gallery, wants_read_gallery
from .rundata import RunData, load_run
from .textdiff import diff_markup

REPORT_FILE = "report.html"
ASSETS_DIR = "report_assets"
#: pooled text metrics of the main table (others are in the full table), in this order
MAIN_TEXT_METRICS = ("det_hmean", "e2e_none_hmean", "e2e_none_ws_hmean", "e2e_full_hmean", "rec_word_accuracy",
                     "rec_cer", "confidently_wrong_rate", "phantom_per_image")
MAX_WRONG_WORDS = 60  # per restorer in the hallucination section


def fmt(v) -> str:
    """A number for the page: 3 decimals below 10, 2 below 100, else 1; None -> n/a."""
    if v is None or isinstance(v, bool):
        return "n/a" if v is None else str(v)
    if isinstance(v, int):
        return str(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return "n/a"
    return f"{f:.3f}" if abs(f) < 10 else f"{f:.2f}" if abs(f) < 100 else f"{f:.1f}"


def _columns(doc: dict) -> tuple[list[str], list[str]]:
    """(main table metrics, every text metric with a direction) present in the results."""
    metrics, results = doc.get("metrics", {}), doc["results"]
    present = {m for vals in results.values() for m, v in vals.items() if v is not None}
    image = [m for m, meta in metrics.items() if meta.get("kind") == "image" and meta.get("available", True)
             and m in present]
    # no text score in any row (no annotation): the text statistics of the readings instead
    text = [m for m in MAIN_TEXT_METRICS if m in present] or [m for m in STAT_COLUMNS if m in present]
    full = [m for m, meta in metrics.items() if meta.get("kind") == "text" and m in present]
    return image + text, full


def _best(doc: dict, metric: str) -> set[str]:
    """Restorer rows with the best value of ``metric`` (ties all marked)."""
    better = doc.get("metrics", {}).get(metric, {}).get("higher_is_better")
    if better is None:
        return set()
    refs = set(doc.get("reference_rows", []))
    vals = {r: v for r in doc["rows"] if r not in refs
            and isinstance(v := doc["results"].get(r, {}).get(metric), (int, float)) and math.isfinite(v)}
    if len(vals) < 2:
        return set()
    best = max(vals.values()) if better else min(vals.values())
    return {r for r, v in vals.items() if v == best}


def table(doc: dict, metrics: list[str]) -> dict:
    """Template-ready table: header cells and one list of cells per row."""
    iv = doc.get("intervals", {})
    meta = doc.get("metrics", {})
    header = [{"name": m, "arrow": {True: "↑", False: "↓"}.get(meta.get(m, {}).get("higher_is_better"), ""),
               "title": meta.get(m, {}).get("definition") or ""} for m in metrics]
    best = {m: _best(doc, m) for m in metrics}
    rows = []
    for row in doc["rows"]:
        cells = []
        for m in metrics:
            ci = iv.get("rows", {}).get(row, {}).get(m, {})
            diff = iv.get("differences", {}).get(row, {}).get(m)
            better = meta.get(m, {}).get("higher_is_better")
            sig = ""
            if diff and diff.get("significant") and better is not None and diff.get("delta") is not None:
                sig = "better" if (diff["delta"] > 0) == better else "worse"
            cells.append({"value": fmt(doc["results"].get(row, {}).get(m)), "best": row in best[m],
                          "ci": f"[{fmt(ci['low'])}, {fmt(ci['high'])}]" if ci.get("low") is not None else "",
                          "sig": sig})
        rows.append({"name": row, "reference": row in doc.get("reference_rows", []), "cells": cells})
    return {"header": header, "rows": rows}


def _plots(data: RunData, assets: Path) -> list[dict]:
    doc, out = data.doc, []
    results = doc["results"]
    have = lambda m: any(isinstance(results.get(r, {}).get(m), (int, float)) for r in doc["rows"])  # noqa: E731
    y = doc.get("text_eval", {}).get("headline") or "e2e_none_hmean"
    for x in ("psnr", "lpips"):
        if have(x) and have(y):
            p = plots.fidelity_vs_text(doc, x, y, assets / f"scatter_{x}.png")
            if p:
                out.append({"src": f"{assets.name}/{p.name}", "caption": f"{x} vs {y}, one point per row"})
    for metric, title in (("psnr", "per-image PSNR"), ("e2e_none_hmean", "per-image E2E F1 (e2e_none_hmean)")):
        p = plots.per_image_distribution(data.per_image, doc["rows"], metric, assets / f"dist_{metric}.png", title)
        if p:
            out.append({"src": f"{assets.name}/{p.name}", "caption": f"{title}: distribution over images per row"})
    for k, (metric, better) in enumerate(_strip_metrics(data)):
        p = plots.per_image_strip(data.per_image, doc["rows"], metric, assets / f"strip_{k}.png",
                                  f"per-image {metric}", better)
        if p:
            out.append({"src": f"{assets.name}/{p.name}", "caption": f"per-image {metric}: one point per image and "
                        f"row, grey lines join an image's points", "metric": metric, "kind": "per-image"})
    return out


def _strip_metrics(data: RunData) -> list[tuple[str, Optional[bool]]]:
    """(metric, higher is better) of the per-image strip plots: every available per-image
    image metric with values in per_image.csv (PSNR has its box plot), and the words read
    per image when no row has text scores."""
    doc, out = data.doc, []
    for m, meta in doc.get("metrics", {}).items():
        if (meta.get("kind") == "image" and meta.get("mode") != "set" and meta.get("available", True)
                and m != "psnr" and any(r.get(m) not in (None, "") for r in data.per_image)):
            out.append((m, meta.get("higher_is_better")))
    if not has_text_scores(doc) and any(r.get("read_words") not in (None, "") for r in data.per_image):
        out.append(("read_words", None))
    return out


def degradation_label(deg: dict, data: Optional[dict] = None) -> str:
    """The header's degradation: the preset with seed and scale, or for the data set's own
    LQ images their level only where the data set reads one (``data.lq_field``: SA-Text's
    ``lq_img_lv<level>``; a RealIR folder or real pairs have none, whatever
    ``degradation.level`` says) and never a seed."""
    scale = f"x{deg['scale']}" if deg.get("scale") is not None else None
    if deg.get("kind") == "provided":
        level = deg.get("level") if (data or {}).get("lq_field") else None
        parts = [p for p in ("the data set's own LQ images", f"level {level}" if level not in (None, "") else None,
                             scale) if p]
        return f"provided ({', '.join(parts)})"
    if not deg:
        return "n/a"
    extra = ", ".join(p for p in (f"seed {deg['seed']}" if deg.get("seed") is not None else None, scale) if p)
    name = deg.get("preset") or deg.get("kind") or "n/a"
    return f"{name} ({extra})" if extra else str(name)


def _hallucination(data: RunData) -> dict:
    doc = data.doc
    refs = set(doc.get("reference_rows", []))
    summary = []
    for row in doc["rows"]:
        r = doc["results"].get(row, {})
        head = doc.get("headroom", {}).get(row, {})
        summary.append({"row": row, "reference": row in refs, "cw_rate": fmt(r.get("confidently_wrong_rate")),
                        "cw": fmt(r.get("confidently_wrong")), "pairs": fmt(r.get("e2e_none_pairs")),
                        "phantom": fmt(r.get("phantom_per_image")),
                        "headroom": "" if row in refs else fmt(head.get("e2e_none_hmean")),
                        "headroom_note": head.get("e2e_none_hmean_reason", "")})

    words = {}
    for row in doc["rows"]:
        if row in refs:
            continue
        found = [(str(d["image_id"]), w) for d in data.details if d.get("row") == row for w in d.get("wrong_words", [])]
        found.sort(key=lambda t: (not t[1]["confidently_wrong"], -t[1]["score"], t[0]))
        words[row] = {"total": len(found), "items": [
            {"image_id": i, "gt": g, "pred": p, "score": fmt(w["score"]), "confident": w["confidently_wrong"]}
            for i, w in found[:MAX_WRONG_WORDS] for g, p in [diff_markup(w["gt_text"], w["pred_text"])]]}
    return {"summary": summary, "words": words}


def _provenance(doc: dict) -> list[tuple[str, object]]:
    env, suite = doc.get("environment", {}), doc.get("suite", {})
    return [
        ("suite", f"{suite.get('name')} (hash {str(suite.get('hash'))[:12]}, {suite.get('path')})"),
        ("tair-bench", f"{doc.get('tair_bench_version')} (protocol {doc.get('protocol_version')}, "
                       f"schema {doc.get('schema')}, commit {doc.get('git_commit')})"),
        ("data", doc.get("data", {})), ("degradation", doc.get("degradation", {})),
        ("spotter", doc.get("spotter", {})), ("text evaluation", doc.get("text_eval", {})),
        ("restorers", doc.get("restorers", {})), ("skipped restorers", doc.get("skipped_restorers") or "none"),
        ("device", env.get("device")), ("python / platform", f"{env.get('python')} / {env.get('platform')}"),
        ("packages", env.get("packages", {})), ("inputs digest", doc.get("inputs", {}).get("digest")),
        ("run", {k: v for k, v in doc.get("run", {}).items() if k in ("started", "seconds")}),
    ]


def _with_intervals(data: RunData) -> Optional[str]:
    """Make sure ``data.doc`` has intervals; returns a note when computed here."""
    if "intervals" in data.doc or not (data.per_image or data.details):
        return None

    data.doc = copy.deepcopy(data.doc)
    add_confidence_intervals(data.doc, data.per_image, data.details)
    return "confidence intervals were not in results.json; computed at report time with the default seed"


def render(data: RunData, out_path: Path, gallery_size: int = 4) -> Path:
    """Render the report of a loaded run to ``out_path`` (assets next to it)."""
    from jinja2 import Environment, PackageLoader, select_autoescape


    assets = out_path.parent / ASSETS_DIR
    if assets.exists():
        shutil.rmtree(assets)
    assets.mkdir(parents=True)
    notes = list(data.notes)
    note = _with_intervals(data)
    if note:
        notes.append(note)
    if data.doc.get("results") and not has_text_scores(data.doc):
        reason = next((v.get("det_reason") for v in data.doc["results"].values() if v.get("det_reason")), None)
        notes.append(f"text P/R/H are null ({reason or 'no value'}): the main table shows text statistics of "
                     f"the readings instead (read_*: no ground truth, not accuracies)")
    doc = data.doc
    main, full = _columns(doc)
    gallery, gallery_notes = build_gallery(data, assets, k=gallery_size)
    read_gallery: list = []
    if wants_read_gallery(data):
        read_gallery, read_notes = build_read_gallery(data, assets, k=gallery_size)
        gallery_notes += read_notes
    env = Environment(loader=PackageLoader("bench.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["fmt"] = fmt
    meta = doc.get("metrics", {})
    html = env.get_template("report.html.j2").render(
        doc=doc, notes=notes + gallery_notes, main=table(doc, main), full=table(doc, full),
        definitions=[(m, meta[m].get("definition") or "", meta[m].get("kind")) for m in main + full
                     if m in meta],
        unavailable=[(m, v.get("reason") or "unavailable") for m, v in meta.items() if not v.get("available", True)],
        plots=_plots(data, assets), gallery=gallery, det_colors=DET_COLORS, read_gallery=read_gallery,
        read_color=READ_COLOR, degradation=degradation_label(doc.get("degradation") or {}, doc.get("data")),
        hallucination=_hallucination(data), provenance=_provenance(doc), intervals=doc.get("intervals", {}))
    write_text(out_path, html)
    return out_path


def write_report(run_dir: Path, cache_root: Optional[Path] = None, out: Optional[Path] = None,
                 gallery_size: int = 4) -> Path:
    """Write ``report.html`` (and ``report_assets/``) for a run folder; returns its path.

    ``cache_root`` overrides the stage cache recorded in results.json (images and
    detections are read from it; a missing cache is noted in the report)."""
    data = load_run(Path(run_dir), cache_root)
    return render(data, Path(out) if out else Path(run_dir) / REPORT_FILE, gallery_size)
