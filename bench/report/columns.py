"""The run summary table's columns and their short headers.

Image metrics declare their header on their class (``ImageMetric.header``); the
text metrics' stay in :data:`bench.io.runfiles.TEXT_HEADERS`. The two meet here,
in the layer that reads finished runs, because ``bench.io`` sits below the image
metrics and may not import them.
"""

from __future__ import annotations

from bench.imagemetrics import describe_metrics
from bench.io import runfiles


def table_headers() -> dict[str, tuple[str, bool]]:
    """metric -> (short header, shown as percent): every image metric's own header (plugins
    included; its name where it declares none), then the text metrics'."""
    image = {i.name: (i.header, False) for i in describe_metrics()}
    return {**image, **runfiles.TEXT_HEADERS}


def summary_columns(doc: dict) -> list[tuple[str, str, bool]]:
    """``(key, header, as percent)`` of the columns ``bench run`` prints for ``doc``
    (which metrics: :func:`bench.io.runfiles.summary_columns`)."""
    return runfiles.summary_columns(doc, table_headers())
