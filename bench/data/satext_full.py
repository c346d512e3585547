"""SA-Text full layout: ``images/<img_id>.jpg`` + ``restoration_dataset.json``.

This is the layout of TAIR's training set (cvlab-kaist/TAIR README). It has HQ
images only, so a suite must degrade them with a preset (``degradation: {kind:
preset, ...}``); ``kind: provided`` is a preflight error.

Options (``dataset.options``):

* ``tair_filter`` (bool, default false): TAIR's alphabet filter -- words that are
  not printable ASCII (32-126) or longer than 25 characters become don't-care.
  Recorded in ``describe()`` so results say whether it was on.
* ``annotations`` / ``images``: file and folder names inside ``dataset.path``.

:class:`AnnotatedFolder` holds what SA-Text full and Real-Text share: the root
folder, the annotation file (parsed once, validated per record) and preflight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np

from ..errors import DataError
from ..records import Sample
from .annotations import (
    TAIR_FILTER_RULE,
    AnnotationDoc,
    find_image,
    load_annotation_json,
    parse_instances,
    read_image_file,
)
from .base import DatasetSource, SkippedRecord, check_options

FETCH_HINT = "see `python -m bench data fetch {name}` for where to get it"


class AnnotatedFolder(DatasetSource):
    """A data root with one SA-Text-schema annotation file and image folders."""

    #: name used in messages and by ``bench data fetch``
    NAME = ""
    TITLE = ""
    DEFAULT_ANNOTATIONS = ""
    #: option name -> default folder name
    FOLDERS: dict[str, str] = {}
    #: the degradation kind this layout needs ("preset" or "provided")
    NEEDS_DEGRADATION = "preset"

    def __init__(self, spec, degradation):
        super().__init__(spec, degradation)
        self._doc: Optional[AnnotationDoc] = None
        self.counts: dict[str, int] = {}

    # ----------------------------------------------------------------- options
    @classmethod
    def option_types(cls) -> dict[str, type]:
        return {"tair_filter": bool, "annotations": str, **{k: str for k in cls.FOLDERS}}

    @property
    def annotation_file(self) -> Path:
        return self.root / self.spec.options.get("annotations", self.DEFAULT_ANNOTATIONS)

    def folder(self, key: str) -> str:
        return str(self.spec.options.get(key, self.FOLDERS[key]))

    @property
    def tair_filter(self) -> bool:
        return bool(self.spec.options.get("tair_filter", False))

    # ---------------------------------------------------------------- checks
    def _degradation_problem(self) -> Optional[str]:
        if self.degradation.kind == self.NEEDS_DEGRADATION:
            return None
        if self.NEEDS_DEGRADATION == "preset":
            return (f"degradation.kind: provided: {self.TITLE} has no provided LQ images; "
                    f"use degradation: {{kind: preset, preset: level2}} (or level1/level3)")
        return (f"degradation.kind: preset: {self.TITLE} holds real LQ/HQ pairs; "
                f"use degradation: {{kind: provided}} so its own LQ images are evaluated")

    def preflight(self) -> list[str]:
        problems = check_options(self.spec.options, self.option_types())
        deg = self._degradation_problem()
        if deg:
            problems.append(deg)
        hint = FETCH_HINT.format(name=self.NAME)
        if self.spec.path is None:
            return problems + [f"{self.TITLE} has no hub source ({self.spec.source}): set dataset.path "
                               f"to its folder; {hint}"]
        if not self.root.is_dir():
            return problems + [f"{self.TITLE} not found at {self.root}: set dataset.path to its folder; {hint}"]
        if not self.annotation_file.is_file():
            problems.append(f"{self.annotation_file}: annotation file not found; {hint}")
        else:
            try:
                self._annotations()
            except DataError as exc:
                problems.append(str(exc))
        for key in self.FOLDERS:
            if not (self.root / self.folder(key)).is_dir():
                problems.append(f"{self.root / self.folder(key)}: image folder not found; {hint}")
        return problems

    def describe(self) -> dict:
        d = super().describe()
        d["annotations"] = str(self.annotation_file)
        d["tair_filter"] = {"enabled": self.tair_filter, "rule": TAIR_FILTER_RULE}
        d["counts"] = dict(self.counts)
        return d

    def _annotations(self) -> AnnotationDoc:
        if self._doc is None:
            self._doc = load_annotation_json(self.annotation_file)
        return self._doc

    # --------------------------------------------------------------- records
    def _image(self, key: str, rid: str, where: str) -> Union[np.ndarray, SkippedRecord]:
        found = find_image(self.root, self.folder(key), rid)
        if isinstance(found, str):
            return SkippedRecord(rid, where, key, found, "image")
        return read_image_file(found, rid, where, key)

    def _records(self) -> Iterator[Union[Sample, SkippedRecord]]:
        problem = self._degradation_problem()
        if problem:
            raise DataError(f"{self.TITLE}: {problem}")
        doc = self._annotations()
        where = str(self.annotation_file)
        self.counts = {"records": len(doc), "tair_filtered": 0}
        for rid in doc.duplicates:
            yield SkippedRecord(rid, where, "id", "duplicate id in the annotation file (first kept)", "duplicate_id")
        for rid, entry in doc.items():
            yield self._record(str(rid), entry, where)

    def _record(self, rid: str, entry, where: str) -> Union[Sample, SkippedRecord]:
        raise NotImplementedError


class SATextFull(AnnotatedFolder):
    """SA-Text full: HQ images and instances; LQ made by a degradation preset."""

    NAME = "satext-full"
    TITLE = "SA-Text full"
    DEFAULT_ANNOTATIONS = "restoration_dataset.json"
    FOLDERS = {"images": "images"}
    NEEDS_DEGRADATION = "preset"

    def _record(self, rid: str, entry, where: str) -> Union[Sample, SkippedRecord]:
        hq = self._image("images", rid, where)
        if isinstance(hq, SkippedRecord):
            return hq
        inst = parse_instances(rid, where, entry, self.tair_filter, counts=self.counts)
        if isinstance(inst, SkippedRecord):
            return inst
        return Sample(id=rid, hq=hq, lq=None, instances=inst, has_annotations=True, source=where)
