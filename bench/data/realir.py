"""RealIR: any folder of real low-quality images, with no reference.

RealIR (Sun et al., arXiv 2412.00878) is not publicly released, so this loader
takes any folder of real degraded images (RealIR-Bench, own photos, ...). Each
image becomes ``Sample(hq=None, lq=image)``: the suite uses ``degradation:
{kind: provided}``, restorers upscale by ``degradation.scale``, and
full-reference metrics are "not applicable" (the scorer skips items without HQ).

Options (``dataset.options``):

* ``annotations``: an optional JSON file in the SA-Text instance schema, keyed by
  image id (the path relative to ``dataset.path`` without extension, e.g.
  ``street/0001``), with coordinates in pixels **of the LQ image**; they are
  multiplied by ``degradation.scale`` into the frame of the restored images.
  Only annotated images have ``has_annotations=True``; text F1 is computed on those.
  Every image, annotated or not, gets the text statistics of its readings
  (:mod:`bench.textmetrics.readstats`); with no annotation at all text P/R/H are null.
* ``recursive`` (bool, default true): also look in sub-folders.
* ``tair_filter``: as for SA-Text full.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional, Union

from ..errors import DataError
from ..records import Sample
from .annotations import (
    IMAGE_EXTENSIONS,
    TAIR_FILTER_RULE,
    AnnotationDoc,
    load_annotation_json,
    parse_instances,
    read_image_file,
    resolve_inside,
)
from .base import DatasetSource, SkippedRecord, check_options


class RealIR(DatasetSource):
    """A folder of real LQ images (no HQ), optionally with text annotations."""

    @classmethod
    def option_types(cls) -> dict[str, type]:
        return {"annotations": str, "recursive": bool, "tair_filter": bool}

    def __init__(self, spec, degradation):
        super().__init__(spec, degradation)
        self._doc: Optional[AnnotationDoc] = None
        self.counts: dict[str, int] = {}

    @property
    def annotation_file(self) -> Optional[Path]:
        name = self.spec.options.get("annotations")
        return self.root / name if name else None

    def image_files(self) -> list[Path]:
        """Image files under the root, sorted by relative path (the evaluation order)."""
        recursive = self.spec.options.get("recursive", True)
        files = self.root.rglob("*") if recursive else self.root.glob("*")
        return sorted((f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS and not f.is_dir()),
                      key=lambda f: f.relative_to(self.root).as_posix())

    def image_id(self, path: Path) -> str:
        return path.relative_to(self.root).with_suffix("").as_posix()

    def preflight(self) -> list[str]:
        problems = check_options(self.spec.options, self.option_types())
        if self.degradation.kind != "provided":
            problems.append("degradation.kind: preset needs HQ images and RealIR has none; "
                            "use degradation: {kind: provided} (the images are already degraded)")
        if self.spec.path is None or not self.root.is_dir():
            return problems + [f"RealIR image folder not found at {self.spec.path}: set dataset.path to a "
                               f"folder of real low-quality images (see docs/datasets.md)"]
        if not self.image_files():
            problems.append(f"{self.root}: no image files ({', '.join(IMAGE_EXTENSIONS)}); "
                            f"set dataset.path to a folder of real low-quality images")
        if self.annotation_file is not None:
            try:
                self._annotations()
            except DataError as exc:
                problems.append(str(exc))
        return problems

    def describe(self) -> dict:
        d = super().describe()
        d.update(reference="none: full-reference metrics are not applicable",
                 lq_source="the images in dataset.path (real degradations)",
                 annotations=str(self.annotation_file) if self.annotation_file else None,
                 annotation_frame=f"LQ pixels x degradation.scale ({self.degradation.scale})",
                 tair_filter={"enabled": bool(self.spec.options.get("tair_filter", False)),
                              "rule": TAIR_FILTER_RULE},
                 counts=dict(self.counts))
        return d

    def _annotations(self) -> AnnotationDoc:
        if self._doc is None:
            assert self.annotation_file is not None
            self._doc = load_annotation_json(self.annotation_file)
        return self._doc

    def _records(self) -> Iterator[Union[Sample, SkippedRecord]]:
        if self.degradation.kind != "provided":
            raise DataError("RealIR: degradation.kind must be 'provided' (the images have no HQ reference)")
        doc = self._annotations() if self.annotation_file is not None else None
        ann_where = str(self.annotation_file)
        files = self.image_files()
        self.counts = {"images": len(files), "annotated": 0, "tair_filtered": 0}
        if doc is not None:
            ids = {self.image_id(f) for f in files}
            for rid in doc.duplicates:
                yield SkippedRecord(rid, ann_where, "id", "duplicate id in the annotation file (first kept)",
                                    "duplicate_id")
            for rid in doc:
                if rid not in ids:
                    yield SkippedRecord(rid, ann_where, "image", f"image file missing: no image '{rid}' "
                                        f"with extension {'/'.join(IMAGE_EXTENSIONS)} under {self.root}", "image")
        for path in files:
            yield self._record(path, doc, ann_where)

    def _record(self, path: Path, doc: Optional[AnnotationDoc], ann_where: str) -> Union[Sample, SkippedRecord]:
        rid = self.image_id(path)
        if resolve_inside(self.root, path.relative_to(self.root).as_posix()) is None:
            return SkippedRecord(rid, str(self.root), "image", f"{path} links outside the data root", "image")
        lq = read_image_file(path, rid, str(self.root), "image")
        if isinstance(lq, SkippedRecord):
            return lq
        if doc is None or rid not in doc:
            return Sample(id=rid, hq=None, lq=lq, instances=[], has_annotations=False, source=str(path))
        inst = parse_instances(rid, ann_where, doc[rid], bool(self.spec.options.get("tair_filter", False)),
                               scale=self.degradation.scale, counts=self.counts)
        if isinstance(inst, SkippedRecord):
            return inst
        self.counts["annotated"] += 1
        return Sample(id=rid, hq=None, lq=lq, instances=inst, has_annotations=True, source=str(path))
