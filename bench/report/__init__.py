"""HTML report of a run folder: tables with confidence intervals, plots, a gallery of
the images where rows differ most, and a hallucination section.

Public API: :func:`write_report` (``bench report``), :func:`write_ground_truth`
(lets the report draw GT polygons without re-opening the data set) and
:func:`finish_run` (both, at the end of ``bench run``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .build import write_report
from .rundata import write_ground_truth

__all__ = ["write_report", "write_ground_truth", "finish_run"]


def finish_run(out_dir: Path, items: list, cache: Any, progress: Any) -> None:
    """A run's finisher (:attr:`bench.pipeline.runner.RunOptions.finishers`): ground truth
    and the HTML report, written while the cached images are still there (images are
    shown only for a local cache folder; an fsspec cache is not read by the report)."""
    write_ground_truth(out_dir, items)
    progress.say(f"report: {write_report(out_dir, cache.local_root)}")
