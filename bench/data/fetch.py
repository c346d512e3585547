"""``bench data fetch NAME`` / ``bench data verify NAME``: local copies of data sets.

fetch (hub data sets): ``datasets.load_dataset(hub id)``, then every split is
written as parquet into a local folder (default ``~/.cache/tair-bench/data/<name>``,
or ``$TAIR_BENCH_DATA/<name>``) with ``manifest.json``: source, file count,
the Arrow schema and the sha256 and row count of each file, recorded at fetch
time. verify checks a copy against its manifest (count, schema, checksums).

Real-Text and SA-Text full have no hub source: fetch says where to get them and
verify checks their layout (annotation file parses, image folders present, every
annotated id has its image files).

Nothing here touches the network when ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE``
is set: fetch then stops with a message instead.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from bench.io.hashing import file_sha256

from ..errors import DataError
from ..registry import did_you_mean
from .annotations import find_image, load_annotation_json

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = "tair-bench-data-manifest/1"
TAIR_README = "https://github.com/cvlab-kaist/TAIR (README, 'Dataset')"


@dataclass(frozen=True)
class DataSource:
    """A data set ``bench data`` knows: a hub id, or a manual layout to check."""

    name: str
    hub_id: Optional[str] = None
    annotations: Optional[str] = None  # manual layouts: annotation file
    folders: tuple = field(default_factory=tuple)  # manual layouts: image folders
    where: str = ""  # manual layouts: where to get the files


SOURCES = {
    "satext-test": DataSource("satext-test", hub_id="Min-Jaewon/SA-Text-test"),
    "satext-full": DataSource("satext-full", annotations="restoration_dataset.json", folders=("images",),
                              where=f"the SA-Text download link in {TAIR_README}; unpack so the folder "
                                    f"holds images/ and restoration_dataset.json"),
    "realtext": DataSource("realtext", annotations="real_benchmark_dataset.json", folders=("HQ", "LQ"),
                           where=f"the Real-Text download link in {TAIR_README}; unpack so the folder "
                                 f"holds HQ/, LQ/ and real_benchmark_dataset.json"),
}


def data_root() -> Path:
    """Where fetched data sets live: ``$TAIR_BENCH_DATA`` or ``~/.cache/tair-bench/data``."""
    return Path(os.environ.get("TAIR_BENCH_DATA", Path.home() / ".cache" / "tair-bench" / "data"))


def default_dir(name: str) -> Path:
    return data_root() / name


def hub_offline() -> bool:
    """True when the Hugging Face libraries are told not to use the network."""
    return any(os.environ.get(v, "0").lower() not in ("0", "", "false", "no", "off")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def source(name: str) -> DataSource:
    if name not in SOURCES:
        raise DataError(f"unknown data set '{name}'{did_you_mean(name, SOURCES)}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def local_copy(hub_id: str) -> Optional[Path]:
    """The fetched folder of ``hub_id`` in the default location, if there is one."""
    for src in SOURCES.values():
        if src.hub_id == hub_id:
            path = default_dir(src.name)
            if (path / MANIFEST).is_file():
                return path
    return None


def parquet_schema(path: Path) -> dict:
    """Column name -> Arrow type string of a parquet file (reads the footer only)."""
    import pyarrow.parquet as pq

    return {f.name: str(f.type) for f in pq.read_schema(path)}


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def fetch(name: str, dest: Optional[Path] = None) -> list[str]:
    """Download a hub data set into ``dest`` as parquet + manifest; report lines."""
    src = source(name)
    dest = Path(dest) if dest else default_dir(name)
    if src.hub_id is None:
        return [f"{name} has no hub source: download it from {src.where}.",
                f"Put it at {dest} (the suites' default) or set dataset.path in the suite, then run "
                f"`python -m bench data verify {name} --path <folder>`."]
    if hub_offline():
        raise DataError(f"cannot fetch {src.hub_id}: offline (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set); run "
                        f"`python -m bench data fetch {name}` on a machine with internet and copy {dest} here")
    import datasets

    try:
        loaded = datasets.load_dataset(src.hub_id)
    except Exception as exc:  # network, auth, missing repo: one readable message
        raise DataError(f"cannot fetch {src.hub_id} ({type(exc).__name__}: {exc}); check the network "
                        f"connection, or copy a fetched {dest} from another machine") from None
    splits = loaded if isinstance(loaded, dict) else {"test": loaded}
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for split, ds in sorted(splits.items()):
        path = dest / f"{split}-00000-of-00001.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        ds.to_parquet(str(tmp))
        tmp.replace(path)
        files.append({"path": path.name, "split": split, "rows": _parquet_rows(path),
                      "bytes": path.stat().st_size, "sha256": file_sha256(path)})
    manifest = {"schema": MANIFEST_SCHEMA, "name": name, "source": src.hub_id,
                "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "datasets_version": datasets.__version__, "n_files": len(files),
                "columns": parquet_schema(dest / files[0]["path"]) if files else {}, "files": files}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    rows = sum(f["rows"] for f in files)
    return [f"fetched {src.hub_id}: {len(files)} file(s), {rows} rows -> {dest}",
            f"manifest: {dest / MANIFEST}"]


def verify(name: str, path: Optional[Path] = None) -> tuple[bool, list[str]]:
    """Check a local copy; returns (ok, report lines)."""
    src = source(name)
    path = Path(path) if path else default_dir(name)
    if not path.is_dir():
        return False, [f"{name}: {path} not found; run `python -m bench data fetch {name}` "
                       f"or pass --path to the local copy"]
    return _verify_hub(name, path) if src.hub_id else _verify_layout(src, path)


def _verify_hub(name: str, path: Path) -> tuple[bool, list[str]]:
    mpath = path / MANIFEST
    if not mpath.is_file():
        return False, [f"{path}: no {MANIFEST}; it is written by `python -m bench data fetch {name}` "
                       f"(a copy made another way cannot be verified)"]
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files = manifest["files"]
        columns = manifest["columns"]
    except (ValueError, KeyError, TypeError) as exc:
        return False, [f"{mpath}: unreadable manifest ({exc}); fetch again"]
    lines, ok = [], True
    present = sorted(p.name for p in path.glob("*.parquet"))
    if len(present) != manifest.get("n_files", len(files)):
        ok = False
        lines.append(f"file count: {len(present)} parquet file(s), manifest says {manifest.get('n_files')}")
    for extra in sorted(set(present) - {f["path"] for f in files}):
        ok = False
        lines.append(f"{extra}: not in the manifest")
    for entry in files:
        fpath = path / entry["path"]
        if not fpath.is_file():
            ok = False
            lines.append(f"{entry['path']}: MISSING")
            continue
        digest = file_sha256(fpath)
        if digest != entry["sha256"]:
            ok = False
            lines.append(f"{entry['path']}: CHECKSUM MISMATCH (sha256 {digest[:12]}..., manifest "
                         f"{entry['sha256'][:12]}...): the file changed since fetch; fetch again")
            continue
        try:
            schema = parquet_schema(fpath)
        except Exception as exc:
            ok = False
            lines.append(f"{entry['path']}: not a readable parquet file ({exc})")
            continue
        if schema != columns:
            ok = False
            diff = sorted(set(schema.items()) ^ set(columns.items()))
            lines.append(f"{entry['path']}: SCHEMA differs from the manifest: {diff}")
            continue
        lines.append(f"{entry['path']}: ok ({entry['rows']} rows, sha256 {digest[:12]}...)")
    lines.append(f"{name} at {path}: {'OK' if ok else 'PROBLEMS FOUND'} (source {manifest.get('source')}, "
                 f"fetched {manifest.get('fetched')})")
    return ok, lines


def _verify_layout(src: DataSource, path: Path) -> tuple[bool, list[str]]:
    lines, ok = [], True
    for folder in src.folders:
        if not (path / folder).is_dir():
            ok = False
            lines.append(f"{path / folder}: folder missing")
    ann = path / str(src.annotations)
    try:
        doc = load_annotation_json(ann)
    except DataError as exc:
        return False, lines + [str(exc), f"{src.name} at {path}: PROBLEMS FOUND; get it from {src.where}"]
    missing = []
    for rid in doc:
        for folder in src.folders:
            if isinstance(find_image(path, folder, str(rid)), str):
                missing.append(f"{folder}/{rid}")
    if doc.duplicates:
        lines.append(f"{ann.name}: {len(doc.duplicates)} duplicate id(s): {', '.join(doc.duplicates[:5])}")
    if missing:
        ok = False
        lines.append(f"{len(missing)} annotated image(s) missing: {', '.join(missing[:10])}"
                     + (" ..." if len(missing) > 10 else ""))
    lines.append(f"{ann.name}: {len(doc)} records; folders: {', '.join(src.folders)}")
    lines.append(f"{src.name} at {path}: {'OK (layout)' if ok else 'PROBLEMS FOUND'}"
                 + ("" if ok else f"; get it from {src.where}"))
    return ok, lines
