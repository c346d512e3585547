"""Read a finished run folder back: results.json, per_image.csv, text_details.jsonl,
ground truth polygons, cached detections and images.

Everything beyond results.json is optional: a report of a run whose cache was
deleted still renders, and says what is missing and why (``RunData.notes``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from bench.io.cache import Cache
from bench.io.images import atomic_write_bytes
from bench.io.runfiles import read_jsonl, read_per_image_csv, read_results
from bench.pipeline.stages.spot import STAGE as SPOT_STAGE
from bench.pipeline.stages.spot import spot_key

from ..errors import BenchError

GROUND_TRUTH_FILE = "ground_truth.jsonl"


class ReportError(BenchError):
    """A run folder cannot be reported on (no results.json, unreadable file)."""

@dataclass
class RunData:
    """One run folder, loaded."""

    run_dir: Path
    doc: dict
    per_image: list[dict] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)
    cache_root: Optional[Path] = None
    notes: list[str] = field(default_factory=list)

    def image_path(self, image_hash: str) -> Optional[Path]:
        """The cached PNG of an image hash, or None if the cache does not hold it."""
        if self.cache_root is None or not image_hash:
            return None
        p = self.cache_root / "images" / image_hash[:2] / f"{image_hash}.png"
        return p if p.exists() else None

    def detections(self, image_hash: str, image_id: str) -> Optional[list[dict]]:
        """The spotter's detections for one image from the spot cache (None if absent)."""
        if self.cache_root is None:
            return None
        sp = self.doc.get("spotter", {})
        try:
            record = Cache(self.cache_root).get(SPOT_STAGE, spot_key(sp.get("version"), sp.get("config"),
                                                                     image_hash, image_id))
            return record["detections"] if record is not None else None
        except (OSError, ValueError, KeyError, TypeError):
            return None


def load_run(run_dir: Path, cache_root: Optional[Path] = None) -> RunData:
    """Load a run folder; ``cache_root`` overrides the cache recorded in results.json."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: not a folder -- pass the output folder of 'bench run' (it holds results.json)")
    doc = read_results(run_dir / "results.json", error=ReportError)
    data = RunData(run_dir=run_dir, doc=doc)
    for name, attr, reader in (("per_image.csv", "per_image", read_per_image_csv),
                               ("text_details.jsonl", "details", read_jsonl)):
        p = run_dir / name
        if p.exists() and p.stat().st_size:
            try:
                setattr(data, attr, reader(p))
            except (OSError, ValueError) as exc:
                data.notes.append(f"{name} could not be read ({exc}); sections that need it are left out")
        else:
            data.notes.append(f"{name} not found in {run_dir}; sections that need it are left out")
    recorded = doc.get("run", {}).get("cache", {}).get("root")
    root = Path(cache_root) if cache_root else (Path(recorded) if recorded else None)
    if root is None:
        data.notes.append("no cache folder recorded: images and detections are not shown")
    elif not (root / "images").is_dir():
        data.notes.append(f"the stage cache {root} is gone (or was a throw-away --no-cache folder): images "
                          f"and detections are not shown; re-run 'bench run' with a cache, or pass "
                          f"--cache-dir to 'bench report'")
        root = None
    data.cache_root = root
    return data


# -- ground truth --------------------------------------------------------------------------------

def write_ground_truth(out_dir: Path, items) -> Path:
    """Write ``ground_truth.jsonl`` (image id, GT words and polygons) next to results.json,
    so the report can draw GT polygons without re-opening the data set.
    ``items``: the run's :class:`bench.records.ImageItem` list."""

    lines = [json.dumps({"image_id": it.id, "size": list(it.size),
                         "instances": [{"text": i.text, "polygon": [list(p) for p in i.polygon]}
                                       for i in it.instances]}, sort_keys=True) for it in items]
    path = Path(out_dir) / GROUND_TRUTH_FILE
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def load_ground_truth(data: RunData, wanted: set[str]) -> tuple[dict[str, list[dict]], Optional[str]]:
    """GT words of the ``wanted`` image ids: ``({id: [{text, polygon}]}, note or None)``.

    From ``ground_truth.jsonl`` when the run wrote one, else by re-opening the data set
    named in results.json (stopping once every wanted image was seen)."""
    p = data.run_dir / GROUND_TRUTH_FILE
    if p.exists():
        recs = read_jsonl(p)
        return {r["image_id"]: r["instances"] for r in recs if r["image_id"] in wanted}, None
    suite_path = data.doc.get("suite", {}).get("path")
    if not wanted:
        return {}, None
    try:
        from ..data import open_dataset
        from ..suite import load_suite

        suite = load_suite(suite_path)
        out: dict[str, list[dict]] = {}
        for sample in open_dataset(suite.dataset, suite.degradation):
            if sample.id in wanted:
                out[sample.id] = [{"text": i.text, "polygon": [list(q) for q in i.polygon]} for i in sample.instances]
                if len(out) == len(wanted):
                    break
        return out, None
    except (BenchError, OSError, TypeError) as exc:
        return {}, (f"GT polygons not drawn: no {GROUND_TRUTH_FILE} in the run folder and the data set could "
                    f"not be re-opened ({exc})")
