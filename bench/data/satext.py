"""SA-Text test set (and anything in its parquet schema, like the bundled set).

Schema (Hugging Face data card of ``Min-Jaewon/SA-Text-test``): ``id``,
``hq_img`` (512x512), ``lq_img_lv1..3`` (x4 smaller, provided degradations),
``text`` (list of str), ``bbox`` (list of 2x2 int), ``poly`` (list of 16x2 int,
absolute pixels). Loaded through Hugging Face ``datasets``: from the hub id in
``dataset.source`` (online, or from the local HF cache when offline), or from
local parquet files in ``dataset.path`` (a file or a folder searched
recursively). Both go through the same row decoding, so results are identical.

Each record is validated on its own (a bad one is skipped and listed, the others are
scored): its id, its images, and with ``degradation: provided`` the size of the chosen
``lq_img_lv<N>``, which must be exactly HQ size / ``degradation.scale`` (a restorer's
x scale output is compared with the HQ image). Messages name the record id and field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from bench.io.images import decode_image, to_rgb_array

from ..errors import DataError
from ..records import Sample
from .base import DatasetSource, SkippedRecord, build_instances
from .fetch import local_copy

HUB_ID = "Min-Jaewon/SA-Text-test"
#: record id shown for a record whose ``id`` field is empty
NO_ID = "(no id)"


def parquet_files(path: str) -> list[str]:
    """The parquet files at ``path`` (a file, or a folder searched recursively)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    return sorted(str(f) for f in p.rglob("*.parquet"))


def _image(value, where: str):
    """Decode a ``datasets`` Image value (PIL image, or {bytes, path} dict); the reason
    (without any object's repr) when it cannot be used."""
    if value is None:
        return "image is missing"
    if isinstance(value, dict):
        if value.get("bytes"):
            try:
                return decode_image(value["bytes"], where)
            except DataError as exc:
                return str(exc).removeprefix(f"{where}: ")
        return "image has no bytes"
    try:
        return to_rgb_array(value)
    except (AttributeError, OSError, ValueError) as exc:
        return f"not a readable image ({type(exc).__name__})"


def lq_size_problem(hq, lq, scale: int) -> str | None:
    """Why a provided LQ image does not fit its HQ image at ``scale``, or None."""
    h, w = hq.shape[:2]
    lh, lw = lq.shape[:2]
    if w % scale or h % scale:
        return (f"HQ image is {w}x{h}, not a multiple of degradation.scale {scale}, so no LQ size fits; "
                f"crop the HQ image or change degradation.scale")
    if (lw, lh) != (w // scale, h // scale):
        return (f"LQ image is {lw}x{lh} but HQ {w}x{h} / degradation.scale {scale} = {w // scale}x{h // scale}; "
                f"a restorer's x{scale} output would not match the HQ image: fix this record's LQ image "
                f"or set degradation.scale")
    return None


class SATextTest(DatasetSource):
    """Loader for the SA-Text-test parquet schema."""

    def _local_path(self) -> str | None:
        """``dataset.path``, else a copy made by ``bench data fetch`` of ``dataset.source``."""
        if self.spec.path is not None:
            return self.spec.path

        found = local_copy(self.spec.source or HUB_ID)
        return str(found) if found is not None else None

    def preflight(self) -> list[str]:
        path = self._local_path()
        if path is not None:
            if not os.path.exists(path):
                return [f"data set path {path} does not exist: set dataset.path to the folder "
                        f"with the parquet files, or run `python -m bench data fetch satext-test`"]
            files = parquet_files(path)
            if not files:
                return [f"no .parquet files under {path}: point dataset.path at the SA-Text-test "
                        f"parquet files (run `python -m bench data fetch satext-test` to get them)"]
            return self._column_problems(files)
        repo = self.spec.source or HUB_ID
        if _in_hf_cache(repo):
            return []
        # a run never downloads data: the copy comes from `bench data fetch` (or the HF cache)
        return [f"{repo} not found offline (no copy by `bench data fetch`, not in the Hugging Face cache): "
                f"run `python -m bench data fetch satext-test` on a machine with internet, or set "
                f"dataset.path to local parquet files"]

    def _column_problems(self, files: list[str]) -> list[str]:
        """Required columns (and the chosen LQ level) missing from a parquet footer."""
        import pyarrow.parquet as pq

        lq_field = self._lq_field()
        problems = []
        for f in files:
            try:
                names = pq.read_schema(f).names
            except Exception as exc:
                problems.append(f"{f}: not a readable parquet file ({exc}); fetch the data set again")
                continue
            missing = [c for c in ("id", "hq_img", "text", "poly") if c not in names]
            if missing:
                problems.append(f"{f}: column(s) {', '.join(missing)} missing: not the SA-Text-test schema")
            if lq_field and lq_field not in names:
                levels = sorted(c[len("lq_img_lv"):] for c in names if c.startswith("lq_img_lv"))
                problems.append(f"{f}: no column {lq_field} for degradation.level {self.degradation.level} "
                                f"(levels present: {', '.join(levels) or 'none'}); set degradation.level "
                                f"to one of them or use degradation: {{kind: preset}}")
        return problems

    def describe(self) -> dict:
        d = super().describe()
        path = self._local_path()
        if path is not None:
            d["resolved_path"] = path
            d["files"] = [os.path.relpath(f, path) for f in parquet_files(path)]
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
        path = self._local_path()
        try:
            if path is None:  # the Hugging Face cache's copy, read from disk (never the network)
                path = _hf_cache_snapshot(self.spec.source or HUB_ID)
                if path is None:
                    raise OSError("not in the Hugging Face cache")
                files = _split_files(parquet_files(path), self.spec.split)
            else:
                files = parquet_files(path)
            return datasets.load_dataset("parquet", data_files={self.spec.split: files}, split=self.spec.split)
        except (OSError, ValueError, ConnectionError) as exc:
            raise DataError(f"{path or self.spec.source}: cannot load the data set ({type(exc).__name__}: {exc}); "
                            f"run `python -m bench data fetch satext-test` on a machine with internet, or set "
                            f"dataset.path to local parquet files") from None

    def _records(self) -> Iterator[Sample]:
        ds = self._load()
        where = self._local_path() or self.spec.source
        lq_field = self._lq_field()
        missing = [c for c in ("id", "hq_img", "text", "poly") + ((lq_field,) if lq_field else ())
                   if c not in ds.column_names]
        if missing:
            raise DataError(f"{where}: column(s) {', '.join(missing)} missing; found {', '.join(ds.column_names)}")
        import datasets

        for field in ("hq_img",) + ((lq_field,) if lq_field else ()):
            if isinstance(ds.features.get(field), datasets.Image):  # decoded here, so a bad one names its field
                ds = ds.cast_column(field, datasets.Image(decode=False))
        ids = ds.select_columns(["id"])
        for i in range(len(ds)):
            rid = ids[i]["id"]
            if rid is None or str(rid) == "":
                yield SkippedRecord(NO_ID, str(where), "id", f"the record at position {i} of the set has no id "
                                    f"(every record needs one: it keys the cache and the results)", "record")
                continue
            rid = str(rid)
            try:
                row = ds[i]
            except Exception as exc:  # a corrupt row must not stop the others
                yield SkippedRecord(rid, str(where), "(record)", f"cannot be decoded ({type(exc).__name__})", "record")
                continue
            got = {}
            for field in ("hq_img",) + ((lq_field,) if lq_field else ()):
                got[field] = _image(row[field], f"{where}: record '{rid}': {field}")
            bad = [(f, v) for f, v in got.items() if isinstance(v, str)]
            if bad:
                yield SkippedRecord(rid, str(where), bad[0][0], bad[0][1], "image")
                continue
            hq, lq = got["hq_img"], got.get(lq_field) if lq_field else None
            if lq is not None:
                why = lq_size_problem(hq, lq, self.degradation.scale)
                if why:
                    yield SkippedRecord(rid, str(where), lq_field, why, "lq_size")
                    continue
            inst = build_instances(rid, str(where), row.get("text"), row.get("poly"))
            if isinstance(inst, SkippedRecord):
                yield inst
                continue
            yield Sample(id=rid, hq=hq, lq=lq, instances=inst, has_annotations=True, source=str(where))


def _hf_cache_snapshot(repo_id: str) -> str | None:
    """The folder of the Hugging Face cache's snapshot of data set ``repo_id``, or None.
    ``local_files_only``: this never touches the network."""
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(repo_id, repo_type="dataset", local_files_only=True)
    except Exception:
        return None


def _in_hf_cache(repo_id: str) -> bool:
    return _hf_cache_snapshot(repo_id) is not None


def _split_files(files: list[str], split: str) -> list[str]:
    """The parquet files of one split in a hub snapshot (named ``<split>-*.parquet`` or
    under a ``<split>/`` folder); all of them when none is named after a split."""
    named = [f for f in files if os.path.basename(f).startswith(f"{split}-") or f"/{split}/" in f.replace(os.sep, "/")]
    return named or files
