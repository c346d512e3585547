"""A small synthetic run folder for the report, gate and leaderboard tests.

Four images, rows HQ / LQ / good / bad. Each image has two GT words drawn as dark
boxes; the rows' "spotter" output is written by hand: HQ reads everything right,
``good`` misreads one word, ``bad`` misreads more and on image 3 reads markup
(``<script>...``, ``<img onerror=...>``) to check that OCR text is escaped. Text
scores come from the real evaluator (:func:`bench.textmetrics.evaluate_image`), so
results.json, per_image.csv, text_details.jsonl and the cache match what ``bench
run`` writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench import PROTOCOL_VERSION
from bench.io.cache import Cache, stage_key
from bench.io.runfiles import write_json, write_jsonl, write_per_image_csv
from bench.records import Detection, TextInstance
from bench.textmetrics import (
    TEXT_METRIC_DEFINITIONS,
    TEXT_METRIC_HIGHER_IS_BETTER,
    TextEvalConfig,
    evaluate_image,
    headroom,
    pool,
)

XSS_SCRIPT = "<script>document.title='pwned'</script>"
XSS_IMG = "<img src=x onerror=\"document.title='pwned2'\">"
SPOTTER = {"name": "hand", "version": "hand/v1", "config": {"min_score": 0.5}, "min_score": 0.5}
ROWS = ["HQ", "LQ", "good", "bad"]
BOXES = [((20, 20), (110, 20), (110, 60), (20, 60)), ((20, 90), (150, 90), (150, 130), (20, 130))]
WORDS = [("OPEN", "CAFE"), ("EXIT", "PARK"), ("SALE", "STOP"), ("BANK", "TAXI")]
#: row -> per image, the two words it reads (None = not detected)
READS = {
    "HQ": [("OPEN", "CAFE"), ("EXIT", "PARK"), ("SALE", "STOP"), ("BANK", "TAXI")],
    "LQ": [("0PEN", None), ("EXIT", "P4RK"), (None, "ST0P"), ("BANK", None)],
    "good": [("OPEN", "CAFE"), ("EXIT", "PARK"), ("SALE", "STOP"), ("BANK", "TAX1")],
    "bad": [("OPFN", "CAFE"), ("EXIT", "PARK"), (XSS_SCRIPT, XSS_IMG), ("BANK", None)],
}


def _image(k: int, row: str) -> np.ndarray:
    """A 160 x 200 image with two dark word boxes; the noise level depends on the row."""
    rng = np.random.default_rng(k * 10 + ROWS.index(row))
    img = np.full((160, 200, 3), 235, np.uint8)
    for box in BOXES:
        (x0, y0), (x1, y1) = box[0], box[2]
        img[y0:y1, x0:x1] = 40
    noise = {"HQ": 0, "LQ": 40, "good": 10, "bad": 25}[row]
    return np.clip(img.astype(int) + rng.integers(-noise, noise + 1, img.shape), 0, 255).astype(np.uint8)


def make_run(out: Path, cache_root: Path, suite_hash: str = "h" * 64, name: str = "synthetic",
             degradation_seed: int = 0) -> Path:
    """Write a run folder (results.json etc.) and its cache; returns the run folder."""
    cache = Cache(cache_root)
    cfg = TextEvalConfig()
    per_image, details, by_row, psnr = [], [], {r: [] for r in ROWS}, {r: [] for r in ROWS}
    gt_lines = []
    for k, words in enumerate(WORDS):
        image_id = f"img{k}"
        gt = [TextInstance(tuple(map(tuple, map(lambda p: (float(p[0]), float(p[1])), b))), w)
              for b, w in zip(BOXES, words)]
        gt_lines.append({"image_id": image_id, "size": [200, 160],
                         "instances": [{"text": g.text, "polygon": [list(p) for p in g.polygon]} for g in gt]})
        hq_img = _image(k, "HQ")
        for row in ROWS:
            img = _image(k, row)
            h = cache.put_image(img)
            dets = [Detection(g.polygon, t, 0.97) for g, t in zip(gt, READS[row][k]) if t is not None]
            key = stage_key("spot", SPOTTER["version"], SPOTTER["config"], {"image": h, "id": image_id})
            cache.put("spot", key, {"detections": [{"polygon": [list(p) for p in d.polygon], "text": d.text,
                                                    "score": d.score} for d in dets], "seconds": 0.0})
            res = evaluate_image(gt, dets, cfg)
            by_row[row].append(res)
            mse = float(np.mean((img.astype(float) - hq_img) ** 2))
            value = None if row == "HQ" else 10 * np.log10(255 ** 2 / mse)
            psnr[row].append(value)
            p = pool([res])
            per_image.append({"image_id": image_id, "row": row, "row_order": ROWS.index(row), "image": h,
                              "n_gt": p["det_n_gt"], "n_det": p["det_n_det"], "det_hmean": p["det_hmean"],
                              "e2e_none_hmean": p["e2e_none_hmean"], "psnr": value})
            details.append({"image_id": image_id, "row": row, **res.to_dict()})
    results = {}
    for row in ROWS:
        results[row] = dict(pool(by_row[row]))
        vals = [v for v in psnr[row] if v is not None]
        results[row]["psnr"] = float(np.mean(vals)) if vals else None
    metrics = {"psnr": {"kind": "image", "mode": "full-reference", "higher_is_better": True,
                        "definition": "PSNR in dB on RGB uint8, mean over images", "available": True, "reason": None},
               "lpips": {"kind": "image", "mode": "full-reference", "higher_is_better": False, "definition": "LPIPS",
                         "available": False, "reason": "weights missing -- run `bench weights fetch alexnet`"}}
    metrics.update({n: {"kind": "text", "higher_is_better": TEXT_METRIC_HIGHER_IS_BETTER.get(n), "definition": d,
                        "available": True, "reason": None} for n, d in TEXT_METRIC_DEFINITIONS.items()})
    doc = {
        "schema": "tair-bench-results/1", "tair_bench_version": "0.1.0", "protocol_version": PROTOCOL_VERSION,
        "git_commit": "abc123",
        "suite": {"name": name, "hash": suite_hash, "path": "suites/none.yaml",
                  "definition": {"description": "synthetic test suite"}},
        "data": {"kind": "synthetic", "path": "/data/synth", "source": None, "split": "test", "n_images": 4,
                 "skipped_records": []},
        "degradation": {"kind": "preset", "preset": "level2", "seed": degradation_seed, "scale": 4},
        "spotter": SPOTTER, "rows": ROWS, "reference_rows": ["HQ", "LQ"], "metrics": metrics, "results": results,
        "text_eval": {**cfg.to_dict(), "headline": "e2e_none_hmean"},
        "restorers": {"good": {"adapter": "x", "version": "good/v1"}, "bad": {"adapter": "y", "version": "bad/v1"}},
        "skipped_restorers": {},
        "headroom": {r: {"e2e_none_hmean": headroom(results[r]["e2e_none_hmean"], results["LQ"]["e2e_none_hmean"],
                                                    results["HQ"]["e2e_none_hmean"])} for r in ("good", "bad")},
        "environment": {"python": "3", "platform": "test", "device": "cpu", "packages": {"numpy": np.__version__}},
        "inputs": {"digest": "d" * 64, "images": {}},
        "run": {"started": "2024-01-01T00:00:00Z", "seconds": 1.0, "cache": {"root": str(cache_root), "stages": {}}},
    }
    out.mkdir(parents=True, exist_ok=True)
    write_per_image_csv(out / "per_image.csv", per_image)
    write_jsonl(out / "text_details.jsonl", details)
    (out / "ground_truth.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gt_lines), encoding="utf-8")
    from bench.pipeline.intervals import add_confidence_intervals

    add_confidence_intervals(doc, per_image, details)
    write_json(out / "results.json", doc)
    return out
