"""``bench list [KIND]``: every component a suite can name, and whether it can run here.

Each line is ``name  status  summary``; the status is ``ok`` (available now) or
``needs`` followed by what is missing and the fix: an extra that is not
installed, model weights not on disk, an argument a suite must give, or, for a
driver of an upstream repository, its checkout and environment (``args.repo``
and ``python:``, which ``bench doctor SUITE`` checks). Availability is read
cheaply: the component's module is imported and its preflight run with default
arguments; nothing is loaded or downloaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from bench.components import DATASETS, PROMPT_SOURCES, RESTORERS, SPOTTERS
from bench.degrade import PRESETS
from bench.errors import BenchError
from bench.imagemetrics import create_metric, list_metrics
from bench.registry import did_you_mean
from bench.textmetrics import TEXT_METRIC_DEFINITIONS
from bench.upstream import PINNED_COMMITS

#: what ``bench list`` can show, in order: kind -> (title, where a suite names it)
KINDS: dict[str, tuple[str, str]] = {
    "restorers": ("restorers", "suite key restorers[].adapter"),
    "spotters": ("spotters", "suite key spotter.name"),
    "datasets": ("data sets", "suite key dataset.kind"),
    "degradations": ("degradations", "suite keys degradation.kind, .preset, .backend"),
    "metrics": ("image metrics", "suite key metrics.image"),
    "text-metrics": ("text metrics", "suite key metrics.text.headline; every results.json has all of them"),
    "prompt-sources": ("prompt sources", "suite key restorers[].prompt.source"),
}


def parse_kind(text: str) -> str:
    """A ``KIND`` argument: a name of :data:`KINDS`, also in the singular (``restorer``)."""
    import argparse


    for kind in KINDS:
        if text in (kind, kind.rstrip("s"), kind.replace("-", "_"), kind.rstrip("s").replace("-", "_")):
            return kind
    raise argparse.ArgumentTypeError(f"unknown kind '{text}'{did_you_mean(text, KINDS)} "
                                     f"(choose from {', '.join(KINDS)})")


@dataclass(frozen=True)
class Row:
    """One listed component: ``status`` is ``ok`` or ``needs``; ``note`` says what and the fix."""

    name: str
    summary: str
    status: str = "ok"
    note: str = ""


def _first_line(text: str | None) -> str:
    """A docstring's first line, without reStructuredText literals' backquotes."""
    line = (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""
    return line.replace("``", "")


def _needs(problems: list[str]) -> tuple[str, str]:
    if not problems:
        return "ok", ""
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return "needs", problems[0] + more


def _component_status(registry, name: str, build: Callable) -> tuple[str, str]:
    """Import the class, then preflight a default instance (repository drivers: what to set)."""

    try:
        cls = registry.load(name)
    except BenchError as exc:
        return "needs", str(exc)
    except Exception as exc:  # a broken plugin is listed with its reason, not fatal
        return "needs", f"cannot import {registry.get(name).target}: {exc}"
    if getattr(cls, "accepts_python", False):
        pinned = PINNED_COMMITS.get(getattr(cls, "upstream", "") or "")
        url = getattr(cls, "repo_url", "") or (f"https://{pinned[0]}" if pinned else "")
        code = f"a checkout of {url}" if url else "your command (args.command)"
        return "needs", (f"{code} and its environment: set args.repo and python: in the suite "
                         f"(`bench doctor SUITE` checks both)")
    try:
        return _needs(list(build(cls).preflight()))
    except (BenchError, TypeError) as exc:
        return "needs", f"arguments in the suite ({exc})"


def restorer_rows() -> list[Row]:
    return [Row(e.name, e.summary, *_component_status(RESTORERS, e.name, lambda cls: cls()))
            for e in RESTORERS.entries()]


def spotter_rows() -> list[Row]:
    return [Row(e.name, e.summary, *_component_status(SPOTTERS, e.name, lambda cls: cls()))
            for e in SPOTTERS.entries()]


def dataset_rows() -> list[Row]:
    rows = []
    for e in DATASETS.entries():
        try:
            DATASETS.load(e.name)
            rows.append(Row(e.name, e.summary))
        except BenchError as exc:
            rows.append(Row(e.name, e.summary, "needs", str(exc)))
    return rows


def degradation_rows() -> list[Row]:
    rows = [Row("provided", "kind: provided -- the data set's own LQ images (level: 1, 2 or 3 for SA-Text)")]
    rows += [Row(name, f"kind: preset -- {getattr(PRESETS[name], 'summary', '')}") for name in sorted(PRESETS)]
    try:
        from bench.degrade import BACKEND_SUMMARIES
    except ImportError:  # a tree without selectable backends
        BACKEND_SUMMARIES = {}
    rows += [Row(name, f"degradation.backend (presets) -- {text}") for name, text in BACKEND_SUMMARIES.items()]
    return rows


def metric_rows() -> list[Row]:
    rows = []
    for name, mode, summary in list_metrics():
        try:
            status, note = _needs(list(create_metric(name).preflight()))
        except BenchError as exc:
            status, note = "needs", str(exc)
        rows.append(Row(name, f"[{mode}] {summary}", status, note))
    return rows


def text_metric_rows() -> list[Row]:
    def summary(definition: str) -> str:
        """The formula, then the mode in its own words (``[det] detection only (...)``)."""
        m = re.search(r"\[(?P<mode>[a-z0-9_]+)\] (?P<mode_text>[^(:]*)", definition)
        head = (definition[:m.start()] if m else definition).split(". ")[0].strip().rstrip(".")
        if m:
            head += f" -- {m['mode_text'].split('. ')[0].strip().rstrip(',.')}"
        return head if len(head) <= 150 else head[:147] + "..."

    return [Row(name, summary(text)) for name, text in sorted(TEXT_METRIC_DEFINITIONS.items())]


def prompt_source_rows() -> list[Row]:
    return [Row(e.name, e.summary) for e in PROMPT_SOURCES.entries()]


ROWS: dict[str, Callable[[], list[Row]]] = {
    "restorers": restorer_rows, "spotters": spotter_rows, "datasets": dataset_rows,
    "degradations": degradation_rows, "metrics": metric_rows, "text-metrics": text_metric_rows,
    "prompt-sources": prompt_source_rows,
}


def format_rows(kind: str, rows: list[Row]) -> str:
    """``title:  (hint)`` then one aligned line per row; a status column for the kinds
    whose members can be unavailable (restorers, spotters, data sets, image metrics)."""
    title, hint = KINDS[kind]
    width = max([len(r.name) for r in rows] + [8])
    with_status = kind in ("restorers", "spotters", "datasets", "metrics")
    lines = [f"{title}:  ({hint})"]
    for r in rows:
        status = f"{r.status:<6} " if with_status else ""
        note = f" -- {r.note}" if r.note else ""
        lines.append(f"  {r.name:<{width}}  {status}{r.summary}{note}")
    return "\n".join(lines)
