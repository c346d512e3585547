"""SA-Text test set (and anything in its parquet schema, like the bundled set).

Schema (data card of ``Min-Jaewon/SA-Text-test``, PROTOCOL.md): ``id``,
``hq_img`` (512x512), ``lq_img_lv1..3`` (x4 smaller, provided degradations),
``text`` (list of str), ``bbox`` (list of 2x2 int), ``poly`` (list of 16x2 int,
absolute pixels). Loaded through Hugging Face ``datasets``: from the hub id in
``dataset.source`` (online, or from the local HF cache when offline), or from
local parquet files in ``dataset.path`` (a file or a folder searched
recursively). Both go through the same row decoding, so results are identical.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from ..errors import DataError
from ..imageio import decode_image, to_rgb_array
from ..records import Sample
from .base import DatasetSource, SkippedRecord, build_instances

HUB_ID = "Min-Jaewon/SA-Text-test"


def parquet_files(path: str) -> list[str]:
    """The parquet files at ``path`` (a file, or a folder searched recursively)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    return sorted(str(f) for f in p.rglob("*.parquet"))


def _image(value, where: str):
    """Decode a ``datasets`` Image value (PIL image, or {bytes, path} dict)."""
    if value is None:
        raise DataError(f"{where}: image is missing")
    if isinstance(value, dict):
        if value.get("bytes"):
            return decode_image(value["bytes"], where)
        raise DataError(f"{where}: image has no bytes")
    try:
        return to_rgb_array(value)
    except (AttributeError, OSError, ValueError) as exc:
        raise DataError(f"{where}: not a readable image ({exc})") from None


class SATextTest(DatasetSource):
    """Loader for the SA-Text-test parquet schema."""

    def preflight(self) -> list[str]:
        if self.spec.path is not None:
            if not os.path.exists(self.spec.path):
                return [f"data set path {self.spec.path} does not exist: set dataset.path to the folder "
                        f"with the parquet files, or run `python -m bench data fetch satext-test`"]
            if not parquet_files(self.spec.path):
                return [f"no .parquet files under {self.spec.path}: point dataset.path at the SA-Text-test "
                        f"parquet files (run `python -m bench data fetch satext-test` to get them)"]
            return []
        if _hub_offline() and not _in_hf_cache(self.spec.source or HUB_ID):
            return [f"{self.spec.source} not found offline: run `python -m bench data fetch satext-test` on a "
                    f"machine with internet, or set dataset.path to local parquet files"]
        return []

    def describe(self) -> dict:
        d = super().describe()
        if self.spec.path is not None:
            d["files"] = [os.path.relpath(f, self.spec.path) for f in parquet_files(self.spec.path)]
        d["lq_field"] = self._lq_field()
        return d

    def _lq_field(self) -> str | None:
        if self.degradation.kind == "provided":
            return f"lq_img_lv{self.degradation.level}"
        return None

    def _load(self):
        import datasets

        datasets.logging.set_verbosity_error()
        datasets.disable_progress_bars()
        if self.spec.path is not None:
            files = parquet_files(self.spec.path)
            return datasets.load_dataset("parquet", data_files={self.spec.split: files}, split=self.spec.split)
        return datasets.load_dataset(self.spec.source, split=self.spec.split)

    def _records(self) -> Iterator[Sample]:
        ds = self._load()
        where = self.spec.path or self.spec.source
        lq_field = self._lq_field()
        missing = [c for c in ("id", "hq_img", "text", "poly") + ((lq_field,) if lq_field else ())
                   if c not in ds.column_names]
        if missing:
            raise DataError(f"{where}: column(s) {', '.join(missing)} missing; found {', '.join(ds.column_names)}")
        for i in range(len(ds)):
            try:
                row = ds[i]
            except Exception as exc:  # a corrupt row must not stop the others
                yield SkippedRecord(f"row {i}", str(where), "row", f"cannot be decoded ({exc})")
                continue
            rid = str(row.get("id") if row.get("id") is not None else f"row {i}")
            try:
                hq = _image(row["hq_img"], f"{where}: record '{rid}': hq_img")
                lq = _image(row[lq_field], f"{where}: record '{rid}': {lq_field}") if lq_field else None
            except DataError as exc:
                yield SkippedRecord(rid, str(where), "image", str(exc).split(": ")[-1])
                continue
            inst = build_instances(rid, str(where), row.get("text"), row.get("poly"), (hq.shape[1], hq.shape[0]))
            if isinstance(inst, SkippedRecord):
                yield inst
                continue
            yield Sample(id=rid, hq=hq, lq=lq, instances=inst, has_annotations=True, source=str(where))


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false") or \
        os.environ.get("HF_DATASETS_OFFLINE", "0") not in ("0", "", "false")


def _in_hf_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import scan_cache_dir

        return any(r.repo_id == repo_id for r in scan_cache_dir().repos)
    except Exception:
        return False
