"""``bench merge``: combine the results of shard runs into the results of the whole run.

Each shard (``bench run --shard K/N``) writes results.json (with its ``shard``
section), per_image.jsonl (full-precision per-image values and each image's
position in the data set), per_image.csv and text_details.jsonl. Merging:

* checks the shards belong together: same suite (``suite.hash``), same
  ``tair_bench_version`` and ``protocol_version``, same seeds (degradation,
  bootstrap), same shard count and data set size, and exactly one run of each
  shard ``0..N-1`` -- the error names the key and both values, or the missing
  or repeated shards;
* re-pools every text metric from the per-image counts (``text_details.jsonl``
  through :meth:`ImageTextResult.from_dict` and :func:`bench.textmetrics.pool`;
  F1 values are never averaged);
* re-averages per-image image metrics over all images, in data set order (the
  sums then equal the unsharded run's bit for bit); from per_image.csv only when
  per_image.jsonl is absent (6 significant digits: noted in ``run.merge.notes``);
* recomputes set-level metrics (FID) from the per-image features in the shared
  cache, or records them unavailable with the reason;
* recomputes headroom, ``inputs`` (its digest is over all images) and the
  bootstrap intervals (:func:`bench.pipeline.intervals.add_confidence_intervals`).

The merged results.json equals an unsharded run's in its stable part, except
``metrics.<set metric>.info`` (cache statistics: how many features were computed
vs read from the cache). It has no ``shard`` section; ``run.merge`` lists the
shards merged.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from bench import imagemetrics
from bench.errors import BenchError
from bench.io.cache import Cache, is_url
from bench.io.provenance import inputs_digest
from bench.io.runfiles import (
    mean_or_none,
    read_jsonl,
    read_per_image_csv,
    read_results,
    write_json,
    write_jsonl,
    write_per_image_csv,
)
from bench.pipeline.aggregate import rows_incomplete
from bench.pipeline.benchmark import section_for_document
from bench.pipeline.datachecks import merge_gt_checks, reading_from_per_image
from bench.pipeline.results import finish_results
from bench.pipeline.stages.score_images import FEATURES, MetricState, feature_key, set_metric_images, set_metric_values
from bench.records import ImageItem
from bench.textmetrics import crop_scores, pool
from bench.textmetrics.results import ImageTextResult

#: (key path in results.json, what it is) that must be equal across shards
MUST_MATCH = (
    (("suite", "hash"), "suite hash"),
    (("tair_bench_version",), "tair_bench_version"),
    (("protocol_version",), "protocol_version"),
    (("degradation", "seed"), "degradation seed"),
    (("intervals", "seed"), "bootstrap seed"),
    (("intervals", "n_resamples"), "bootstrap resamples"),
    (("shard", "count"), "shard count"),
    (("shard", "n_images_all_shards"), "data set size"),
    (("rows",), "rows"),
    (("spotter", "version"), "spotter version"),
)


class MergeError(BenchError):
    """Shards that cannot be merged (the message names the difference)."""


@dataclass
class ShardRun:
    """One shard's output folder, loaded."""

    run_dir: Path
    doc: dict
    per_image: list[dict]
    details: list[dict]
    exact: bool  # per-image values from per_image.jsonl (full precision)

    @property
    def label(self) -> str:
        s = self.doc.get("shard", {})
        return f"{self.run_dir} (shard {s.get('index')}/{s.get('count')})"


def _read_csv(path: Path, doc: dict) -> list[dict]:
    """per_image.csv records, with positions from the shard's input order."""
    order = {r: i for i, r in enumerate(doc["rows"])}
    positions = {img: i for i, img in enumerate(doc["inputs"]["images"])}
    return [{**rec, "row_order": order[rec["row"]], "position": positions[rec["image_id"]]}
            for rec in read_per_image_csv(path)]


def load_shard(run_dir: Path) -> ShardRun:
    """Read one shard folder; a clear error for anything missing."""
    run_dir = Path(run_dir)
    path = run_dir / "results.json"
    doc = read_results(path, "shard results", MergeError)
    if "shard" not in doc:
        raise MergeError(f"{path}: not a shard run (no 'shard' section) -- run with --shard K/N to make shards")
    details_path = run_dir / "text_details.jsonl"
    if not details_path.exists():
        raise MergeError(f"{details_path}: not found -- re-run this shard (same command) to rewrite it")
    exact = (run_dir / "per_image.jsonl").exists()
    if exact:
        per_image = read_jsonl(run_dir / "per_image.jsonl")
    elif (run_dir / "per_image.csv").exists():
        per_image = _read_csv(run_dir / "per_image.csv", doc)
    else:
        raise MergeError(f"{run_dir}: neither per_image.jsonl nor per_image.csv -- re-run this shard to rewrite them")
    return ShardRun(run_dir, doc, per_image, read_jsonl(details_path), exact)


def _get(doc: dict, keys: tuple) -> Any:
    for k in keys:
        doc = doc.get(k) if isinstance(doc, dict) else None
    return doc


def _template(shards: list[ShardRun]) -> ShardRun:
    """The shard whose document the merged one starts from: the first with images."""
    return next((s for s in shards if s.doc["data"]["n_images"]), shards[0])


def check_shards(shards: list[ShardRun]) -> None:
    """Refuse shards that do not form one complete run (see :data:`MUST_MATCH`)."""
    if not shards:
        raise MergeError("nothing to merge: pass the shard output folders")
    first = _template(shards)
    for other in shards:
        for keys, what in MUST_MATCH:
            if keys == ("rows",) and not other.doc["data"]["n_images"]:
                continue  # an empty shard has no HQ/LQ rows
            a, b = _get(first.doc, keys), _get(other.doc, keys)
            if a != b:
                raise MergeError(f"cannot merge: {what} ({'.'.join(keys)}) differs: {first.label} has {a!r}, "
                                 f"{other.label} has {b!r}")
    count = first.doc["shard"]["count"]
    seen: dict[int, ShardRun] = {}
    for s in shards:
        k = s.doc["shard"]["index"]
        if k in seen:
            raise MergeError(f"cannot merge: shard {k}/{count} given twice: {seen[k].run_dir} and {s.run_dir}")
        seen[k] = s
    missing = [f"{k}/{count}" for k in range(count) if k not in seen]
    if missing:
        raise MergeError(f"cannot merge: missing shard(s) {', '.join(missing)} (have "
                         f"{', '.join(f'{k}/{count}' for k in sorted(seen))})")
    ids: dict[str, Path] = {}
    for s in shards:
        for img in s.doc["inputs"]["images"]:
            if img in ids:
                raise MergeError(f"cannot merge: image '{img}' is in two shards: {ids[img]} and {s.run_dir}")
            ids[img] = s.run_dir


def _open_cache(shards: list[ShardRun], cache_dir: Optional[str]):
    """The shared cache (``--cache-dir``, else the one the shards recorded) or a reason why not."""
    root = cache_dir or _get(shards[0].doc, ("run", "cache", "root"))
    if not root:
        return None, "no cache recorded in the shards' results.json; pass --cache-dir"
    if not is_url(str(root)) and not (Path(root) / "stages").is_dir():
        return None, f"the cache {root} is not reachable from here; pass --cache-dir"
    return Cache(str(root) if is_url(str(root)) else Path(root)), None


def _set_metric(name: str, meta: dict, items: list, rows: list[str], cache) -> tuple[Optional[dict], Optional[str]]:
    """Recompute one set-level metric from cached features: (values per row, None) or (None, reason)."""
    state = MetricState(name=name, metric=imagemetrics.create_metric(name))  # through the module, as preflight
    if state.version != hashlib.sha256(str(meta.get("definition")).encode()).hexdigest()[:16]:
        return None, f"metric '{name}': its definition in this tair-bench differs from the shards'"
    records = {h: cache.get(FEATURES, feature_key(state, h)) for h in set_metric_images(items, rows)}
    missing = [h for h, rec in records.items() if rec is None]
    if missing:
        return None, f"features of {len(missing)} image(s) for '{name}' are not in the cache {cache.root}"
    feats = {h: np.asarray(rec["features"], dtype=np.float64) for h, rec in records.items()}
    return set_metric_values(state, items, rows, feats), None


def _drop_unmerged(doc: dict, merged_keys: dict[str, set], notes: list[str]) -> None:
    """A result this module has no merge rule for must not keep one shard's value:
    it becomes None (metric marked unavailable) and is named in the notes."""
    left = sorted({k for row, keys in merged_keys.items() for k, v in doc["results"][row].items()
                   if k not in keys and v is not None})
    for row in merged_keys:
        for k in left:
            if k in doc["results"][row]:
                doc["results"][row][k] = None
    for k in left:
        if k in doc["metrics"]:
            doc["metrics"][k].update(available=False, reason="no per-image data to merge shards with")
    if left:
        notes.append(f"not recomputed when merging (no per-image data): {', '.join(left)}")


def _merge_rows(doc: dict, rows: list[str], details: list[dict], per_image: list[dict]) -> dict[str, set]:
    """Each row's text metrics, crop recognition, text statistics and per-image metric means,
    re-pooled from the shards' per-image data into ``doc``; returns the keys set per row."""
    merged_keys: dict[str, set] = {}
    for row in rows:
        pooled = pool(ImageTextResult.from_dict(d) for d in details if d["row"] == row and d.get("annotated", True))
        doc["results"][row].update(pooled)
        merged_keys[row] = set(pooled)
        crop_pairs = [d["crop_pairs"] for d in details if d["row"] == row and "crop_pairs" in d]
        if crop_pairs:  # recognition on GT crops: re-pooled from the per-image (GT, read) pairs
            crop = crop_scores([p for pairs in crop_pairs for p in pairs])
            doc["results"][row].update(crop)
            merged_keys[row] |= set(crop)
        if "read_n_images" in doc["results"][row]:  # text statistics: re-pooled from per-image counts
            reading = reading_from_per_image(rows, per_image)[row]
            doc["results"][row].pop("read_lq_agreement_reason", None)
            doc["results"][row].update(reading)
            merged_keys[row] |= set(reading)
        for name in doc["n_images_per_metric"].get(row, {}):
            value, n = mean_or_none([r.get(name) for r in per_image if r["row"] == row and name in r])
            doc["results"][row][name] = value
            doc["n_images_per_metric"][row][name] = n
            merged_keys[row].add(name)
    return merged_keys


def _merge_set_metrics(doc: dict, shards: list[ShardRun], cache_dir: Optional[str], items: list[ImageItem],
                       rows: list[str], merged_keys: dict[str, set]):
    """Set-level metrics (FID) recomputed from the cached features of all shards' images;
    returns the cache they were read from (``None`` when none was needed or it could not open)."""
    cache, cache_reason = None, None
    for name, meta in doc["metrics"].items():
        if meta.get("kind") != "image" or meta.get("mode") != "set" or not meta.get("available"):
            continue
        if cache is None and cache_reason is None:
            cache, cache_reason = _open_cache(shards, cache_dir)
        values, reason = _set_metric(name, meta, items, rows, cache) if cache is not None else (None, cache_reason)
        for row in rows:
            if row in doc["results"] and name in doc["results"][row]:
                doc["results"][row][name] = values.get(row) if values else None
                merged_keys[row].add(name)
        if reason:
            meta.update(available=False, reason=f"not recomputed when merging shards: {reason}")
        if "info" in meta:
            meta["info"] = {"features_computed": 0, "features_from_cache": len(
                {h for it in items if it.hq is not None for h in it.outputs.values()})}
    return cache


def merge_shards(shards: list[ShardRun], cache_dir: Optional[str] = None) -> tuple[dict, list[dict], list[dict]]:
    """The merged results document, per-image records and text details."""
    check_shards(shards)
    t0 = time.time()
    shards = sorted(shards, key=lambda s: s.doc["shard"]["index"])
    doc = json.loads(json.dumps(_template(shards).doc))  # a deep copy as template
    rows: list[str] = doc["rows"]
    per_image = sorted((r for s in shards for r in s.per_image), key=lambda r: (r["position"], r["row_order"]))
    position = {r["image_id"]: r["position"] for r in per_image}
    details = sorted((d for s in shards for d in s.details), key=lambda d: position[d["image_id"]])
    inputs = {img: v for s in shards for img, v in s.doc["inputs"]["images"].items()}
    order = sorted(inputs, key=lambda img: position.get(img, -1))
    items = [ImageItem(id=img, hq=inputs[img]["hq"], lq=inputs[img]["lq"], lq_up="", size=(0, 0)) for img in order]
    by_id = {it.id: it for it in items}
    for r in per_image:
        by_id[r["image_id"]].outputs[r["row"]] = r["image"]

    notes = [] if all(s.exact for s in shards) else [
        "per-image image metrics re-averaged from per_image.csv (6 significant digits): last digits may differ"]
    merged_keys = _merge_rows(doc, rows, details, per_image)
    cache = _merge_set_metrics(doc, shards, cache_dir, items, rows, merged_keys)
    _drop_unmerged(doc, merged_keys, notes)
    doc["data"]["n_images"] = len(items)
    if "gt_checks" in doc["data"]:  # per-image counts: summed over the shards' disjoint images
        doc["data"]["gt_checks"] = merge_gt_checks([s.doc["data"].get("gt_checks") for s in shards])
    doc["inputs"] = inputs_digest(items)
    doc["rows_incomplete"] = rows_incomplete(rows, items)
    # the template shard's benchmark covers its own images: rebuilt over all shards' images
    doc["benchmark"] = section_for_document(doc, {k: v for s in shards
                                                  for k, v in (s.doc.get("benchmark") or {}).get("gt", {}).items()})
    doc.pop("shard", None)
    commits = sorted({str(s.doc.get("git_commit")) for s in shards})
    if len(commits) > 1:
        notes.append(f"shards ran at different git commits: {', '.join(commits)}")
    doc["run"] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
                  "seconds": round(time.time() - t0, 3),
                  "merge": {"shards": [{"dir": str(s.run_dir), "index": s.doc["shard"]["index"],
                                        "n_images": s.doc["data"]["n_images"],
                                        "seconds": _get(s.doc, ("run", "seconds"))} for s in shards],
                            "count": shards[0].doc["shard"]["count"], "notes": notes},
                  "cache": {"root": str(cache.root) if cache is not None else
                            _get(shards[0].doc, ("run", "cache", "root")), "stages": {}}}
    boot = doc["intervals"]
    doc = finish_results(doc, per_image, details, n_resamples=boot["n_resamples"], seed=boot["seed"],
                         baseline=boot["baseline"], level=boot["level"])
    details.sort(key=lambda d: (d["image_id"], rows.index(d["row"])))  # the order 'bench run' writes
    return doc, per_image, details


def _csv_records(per_image: list[dict], shard_csv: Path) -> list[dict]:
    """Per-image records with the columns in the order 'bench run' writes them
    (the shard's per_image.csv header; ``row_order`` is the writer's sort key)."""
    header = shard_csv.read_text(encoding="utf-8").split("\n", 1)[0].split(",") if shard_csv.exists() else []
    columns = header[:2] + ["row_order"] + header[2:]
    columns += [k for r in per_image for k in r if k not in columns and k != "position"]
    columns = list(dict.fromkeys(columns))
    return [{c: r[c] for c in columns if c in r} for r in per_image]


def merge_runs(run_dirs: list[Path], out_dir: Path, cache_dir: Optional[str] = None) -> tuple[dict, Path]:
    """Load, check and merge shard folders; write results.json, per_image.csv and
    text_details.jsonl to ``out_dir``. Returns the document and its path."""
    shards = [load_shard(Path(d)) for d in run_dirs]  # each shard is read once
    doc, per_image, details = merge_shards(shards, cache_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = _template(shards).run_dir
    write_per_image_csv(out_dir / "per_image.csv", _csv_records(per_image, template / "per_image.csv"))
    write_jsonl(out_dir / "text_details.jsonl", details)
    path = out_dir / "results.json"
    write_json(path, doc)
    return doc, path
