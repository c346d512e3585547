"""Data set loaders. Each yields :class:`bench.records.Sample` records, one at a
time (streaming), and lists the records it had to skip with the reason."""

from __future__ import annotations

from ..components import DATASETS
from ..suite import DatasetSpec, DegradationSpec
from .base import DatasetSource


def open_dataset(spec: DatasetSpec, degradation: DegradationSpec) -> DatasetSource:
    """Instantiate the loader named by ``spec.kind``."""
    cls = DATASETS.load(spec.kind)
    return cls(spec, degradation)
