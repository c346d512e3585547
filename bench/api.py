"""The Python API: run a suite and read its results without the command line.

:func:`evaluate` is ``bench run`` as a function (same arguments, same files written,
the results document returned); :func:`results_table` is the run summary as a
:class:`pandas.DataFrame`. ``bench`` re-exports both (``bench.evaluate``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from bench.errors import BenchError
from bench.io.runfiles import write_json
from bench.pipeline.runner import RunOptions, default_out_dir, run_suite
from bench.report import finish_run
from bench.report.columns import summary_columns
from bench.suite import Suite, load_suite, suite_from_dict

if TYPE_CHECKING:
    import pandas as pd

#: the adapter that reads each folder of ``evaluate(outputs=...)``
OUTPUTS_ADAPTER = "folder"


def evaluate(suite: str | Path | Mapping[str, Any], *, outputs: Optional[Mapping[str, str | Path]] = None,
             allow_missing: bool = False, overrides: Optional[Sequence[str]] = None, limit: Optional[int] = None,
             out_dir: Optional[str | Path] = None, cache_dir: Optional[str | Path] = None, workers: int = 0,
             quiet: bool = True) -> dict:
    """Run ``suite`` (a suite file, or a mapping validated exactly like one, its relative
    paths against the current folder) and return its results document (results.json).

    ``overrides`` are ``--set`` ``KEY=VALUE`` strings; ``outputs`` ({row name: folder of
    ``<image id>.png``}) scores those folders instead of the suite's restorers (the
    ``HQ`` and ``LQ`` rows stay; a relative folder is against the current folder), every
    problem of every folder reported at once before any compute; ``allow_missing`` scores
    a folder on the ids it has (``rows_incomplete`` in the results); ``limit``, ``out_dir``, ``cache_dir``, ``workers`` and
    ``quiet`` are ``bench run``'s ``--limit``, ``--out``, ``--cache-dir``, ``--workers``
    and ``--quiet``; ``workers=0`` runs everything in this process."""
    if allow_missing and outputs is None:
        raise BenchError("evaluate: allow_missing: only with outputs= (in a suite: the folder restorer's "
                         "args.allow_missing: true)")
    given = [*(overrides or ()), *outputs_override(outputs, allow_missing)]
    spec = _load(suite, given)
    opts = RunOptions(out_dir=Path(out_dir) if out_dir else default_out_dir(spec), cache_dir=cache_dir,
                      limit=_positive(limit, "limit"), workers=_workers(workers), quiet=quiet,
                      finishers=(finish_run,))
    doc, path = run_suite(spec, opts)
    return record_overrides(doc, path, given)


def record_overrides(doc: dict, path: Path, overrides: Sequence[str]) -> dict:
    """``doc`` with ``suite.overrides`` (the ``--set`` given, in order), rewritten to ``path``.

    ``suite.definition`` already is the validated suite after the overrides, and
    ``suite.hash`` its hash; this records how it differs from the file."""
    if not overrides:
        return doc
    doc["suite"]["overrides"] = list(overrides)
    write_json(Path(path), doc)
    return doc


def results_table(doc: Mapping[str, Any]) -> "pd.DataFrame":
    """The run summary of a results document as a table: one row per result row (``HQ``,
    ``LQ``, each restorer), per headline metric its value and ``<metric>_low`` /
    ``<metric>_high``, the bounds of its bootstrap interval (``doc["intervals"]``; level
    in ``attrs["interval_level"]``). ``attrs["headers"]``: metric -> the summary's header."""
    import pandas as pd  # heavy, and only tables need it

    columns = summary_columns(doc)
    bounds = doc.get("intervals", {}).get("rows", {})
    table = pd.DataFrame([_table_row(doc["results"].get(row, {}), bounds.get(row, {}), columns)
                          for row in doc["rows"]], index=pd.Index(doc["rows"], name="row"))
    table.attrs["headers"] = {key: header for key, header, _ in columns}
    table.attrs["interval_level"] = doc.get("intervals", {}).get("level")
    return table


def _table_row(values: Mapping[str, Any], bounds: Mapping[str, Any], columns: list) -> dict:
    """One row of :func:`results_table`: value, low and high per column (None where absent)."""
    row: dict[str, Any] = {}
    for key, _, _ in columns:
        interval = bounds.get(key) or {}
        row.update({key: values.get(key), f"{key}_low": interval.get("low"), f"{key}_high": interval.get("high")})
    return row


def _load(suite: str | Path | Mapping[str, Any], overrides: Sequence[str]) -> Suite:
    if isinstance(suite, Mapping):
        return suite_from_dict(dict(suite), overrides)
    if isinstance(suite, (str, Path)):
        return load_suite(suite, overrides=overrides)
    raise BenchError(f"evaluate: suite: expected a suite file path or a mapping, got {type(suite).__name__}")


def outputs_override(outputs: Optional[Mapping[str, str | Path]], allow_missing: bool = False) -> list[str]:
    """``outputs`` as one ``restorers=[...]`` override: a ``folder`` restorer per row, so it
    is validated and recorded like any. A relative folder is made absolute against the
    current folder here (the user typed it there; a ``path`` written in a suite file is
    relative to that file instead). ``allow_missing`` goes into each folder's args."""
    if outputs is None:
        return []
    if not isinstance(outputs, Mapping) or not outputs:
        raise BenchError("evaluate: outputs: expected a non-empty mapping {row name: folder of outputs}")
    extra = {"allow_missing": True} if allow_missing else {}
    rows = [{"name": str(name), "adapter": OUTPUTS_ADAPTER,
             "args": {"path": str(Path(folder).expanduser().resolve()), **extra}}
            for name, folder in outputs.items()]
    return [f"restorers={json.dumps(rows)}"]  # JSON is YAML


def _positive(value: Optional[int], name: str) -> Optional[int]:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise BenchError(f"evaluate: {name}: expected a positive integer, got {value!r}")
    return value


def _workers(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BenchError(f"evaluate: workers: expected 0 (everything in this process) or a positive integer, "
                         f"got {value!r}")
    return value


_outputs_override = outputs_override  # the older private name (tests/test_api.py)
