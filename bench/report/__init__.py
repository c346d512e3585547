"""HTML report of a run folder: tables with confidence intervals, plots, a gallery of
the images where rows differ most, and a hallucination section.

Public API: :func:`write_report` (called at the end of every run and by
``bench report``) and :func:`write_ground_truth` (lets the report draw GT polygons
without re-opening the data set).
"""

from .build import write_report
from .rundata import write_ground_truth

__all__ = ["write_report", "write_ground_truth"]
