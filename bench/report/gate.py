"""Regression gate: compare a results file with a committed baseline.

``bench gate RESULTS --baseline BASELINE.json [--tolerances FILE] [--require-rows]`` compares
the rows and metrics the two files share. It exits 0 when no gated metric got worse by more
than its tolerance, 1 on a regression (or, with ``--require-rows``, when a baseline row is
missing from the current run) and 2 on a usage error: a missing file, or files of different
benchmarks (:mod:`bench.pipeline.benchmark`; the message lists each differing key path).
The suite hash may differ: a run of other restorers on the same benchmark is compared on
the rows both have, and the baseline rows it lacks are listed. LQ images that the runs
degraded themselves may differ in a few pixels between CPUs: those are compared, with a
note (:func:`generated_lq_note`).

Tolerances are absolute, per metric, matched by name or ``fnmatch`` pattern (first
match in file order, then the defaults: each image metric's own, declared on its
class, and :data:`TEXT_TOLERANCES`). Metrics no pattern matches (counts such as
``det_matched``) are not gated. With ``require_significance`` a drop beyond the
tolerance fails only if it is also significant: the baseline value lies outside
the current run's 95% bootstrap interval (``results.json`` ``intervals``).

Tolerance file (YAML or JSON)::

    tolerances: {psnr: 0.2, "*_hmean": 0.03}   # merged over the defaults
    rows: [realesrgan]                         # optional: gate only these rows
    require_significance: false
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Optional, Sequence

from bench.errors import BenchError
from bench.imagemetrics import describe_metrics
from bench.io.runfiles import read_results
from bench.pipeline.benchmark import Comparison, differences

#: absolute tolerances of the text metrics: name or fnmatch pattern -> allowed worsening (image
#: metrics declare theirs: ``ImageMetric.tolerance``)
TEXT_TOLERANCES: dict[str, float] = {
    "*_hmean": 0.02, "*_precision": 0.02, "*_recall": 0.02,
    "rec_word_accuracy": 0.02, "rec_cer": 0.02, "rec_one_minus_ned": 0.02,
    "confidently_wrong_rate": 0.02, "phantom_per_image": 0.1,
}


def default_tolerances() -> dict[str, float]:
    """Every gated image metric's own tolerance (plugins included), then the text metrics'."""
    image = {i.name: i.tolerance for i in describe_metrics() if i.tolerance is not None}
    return {**image, **TEXT_TOLERANCES}


class GateUsageError(BenchError):
    """The gate cannot compare the two files (exit status 2)."""


@dataclass(frozen=True)
class Tolerances:
    """What the gate checks and how much worsening it accepts."""

    per_metric: dict[str, float] = field(default_factory=default_tolerances)
    rows: Optional[tuple[str, ...]] = None
    require_significance: bool = False

    def tolerance(self, metric: str) -> Optional[float]:
        """The tolerance of a metric (exact name first, then patterns), None = not gated."""
        if metric in self.per_metric:
            return self.per_metric[metric]
        return next((t for p, t in self.per_metric.items() if fnmatchcase(metric, p)), None)


def load_tolerances(path: Optional[Path]) -> Tolerances:
    """Read a tolerance file (see module doc); ``None`` gives the defaults."""
    if path is None:
        return Tolerances()
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise GateUsageError(f"{path}: no such tolerance file") from None
    except yaml.YAMLError as exc:
        raise GateUsageError(f"{path}: not valid YAML/JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise GateUsageError(f"{path}: expected a mapping with 'tolerances', 'rows', 'require_significance'")
    unknown = set(raw) - {"tolerances", "rows", "require_significance"}
    if unknown:
        raise GateUsageError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: tolerances, rows, "
                             f"require_significance")
    given = raw.get("tolerances") or {}
    if not isinstance(given, dict):
        raise GateUsageError(f"{path}: tolerances: expected a mapping metric -> number")
    for k, v in given.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise GateUsageError(f"{path}: tolerances.{k}: expected a non-negative number, got {v!r}")
    rows = raw.get("rows")
    if rows is not None and (not isinstance(rows, list) or not all(isinstance(r, str) for r in rows)):
        raise GateUsageError(f"{path}: rows: expected a list of row names")
    sig = raw.get("require_significance", False)
    if not isinstance(sig, bool):
        raise GateUsageError(f"{path}: require_significance: expected true or false")
    merged = {str(k): float(v) for k, v in given.items()}
    merged.update({k: v for k, v in default_tolerances().items() if k not in merged})
    return Tolerances(merged, tuple(rows) if rows is not None else None, sig)


def load_results(path: Path, what: str) -> dict:
    """A results document from ``results.json`` or a run folder holding one."""
    return read_results(path, what, GateUsageError)


def incomplete_rows(doc: dict) -> dict[str, dict]:
    """Rows scored on fewer images than the run has (``bench run --allow-missing``):
    ``{row: {"n_images": n, "n_expected": N}}`` from ``rows_incomplete`` (older files: none)."""
    return {r: v for r, v in (doc.get("rows_incomplete") or {}).items() if r in doc.get("rows", [])}


def incomplete_lines(doc: dict, where: str, rows: Optional[Sequence[str]] = None) -> list[str]:
    """One line per incomplete row of ``doc`` (of ``rows``, when given), naming the row and the run."""
    return [f"row '{r}' of {where} is incomplete: scored on {v['n_images']} of {v['n_expected']} images "
            f"(bench run --allow-missing)" for r, v in incomplete_rows(doc).items() if rows is None or r in rows]


def refuse_incomplete(lines: list[str], error: Optional[type] = None) -> None:
    """Raise (``error``, default :class:`GateUsageError`) listing ``lines``, if any: an incomplete
    row's means are over other images than a complete row's, so it is refused unless asked."""
    if lines:
        raise (error or GateUsageError)("\n".join(lines) + "\n-- its numbers are not comparable with complete "
                                        "rows; pass --allow-incomplete to use it anyway")


def incompatibility(current: dict, baseline: dict) -> Comparison:
    """How the two results' benchmarks differ (:func:`bench.pipeline.benchmark.differences`);
    the suite hash may differ (other restorers), the benchmark may not."""
    return differences(current, baseline)


def generated_lq_note(current: dict, baseline: dict) -> Optional[str]:
    """A note when the inputs differ only in LQ images that the runs degraded themselves.

    Same suite hash (so the same degradation definition and seeds), the same image ids and
    HQ images, but some LQ images not bit-identical: the degradation's floating-point
    arithmetic differs between CPUs (e.g. torch kernels with and without fused multiply-adds
    round a pixel's x.5 the other way). That is no reason to refuse the comparison, so the
    metrics are gated within their tolerances and the note says how many LQ images differ.
    Provided LQ images (``degradation: provided``) are data and must match; None then, or
    when anything else differs."""
    cur, base = (current.get("inputs") or {}).get("images"), (baseline.get("inputs") or {}).get("images")
    if not cur or not base or set(cur) != set(base) or any(cur[k].get("hq") != base[k].get("hq") for k in cur):
        return None
    if ((current.get("suite") or {}).get("definition") or {}).get("degradation", {}).get("kind") != "preset":
        return None
    differ = sorted(k for k in cur if cur[k].get("lq") != base[k].get("lq"))
    if not differ:
        return None
    return (f"{len(differ)} of {len(cur)} generated LQ images differ from the baseline's ({', '.join(differ[:5])}"
            f"{', ...' if len(differ) > 5 else ''}): same suite, same HQ images, so floating-point differences "
            f"of the degradation on this machine; metrics compared within their tolerances")


@dataclass
class Check:
    """One gated (row, metric) comparison."""

    metric: str
    row: str
    baseline: Optional[float]
    current: Optional[float]
    tolerance: float
    higher_is_better: bool
    verdict: str = "ok"  # ok / improved / regression / missing / within-ci
    note: str = ""

    @property
    def delta(self) -> Optional[float]:
        return None if self.baseline is None or self.current is None else self.current - self.baseline

    @property
    def failed(self) -> bool:
        return self.verdict in ("regression", "missing")


def _num(v) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def check_comparable(current: dict, baseline: dict, names: tuple[str, str] = ("current", "baseline")) -> Comparison:
    """The benchmark comparison; raises :class:`GateUsageError` listing the differing key
    paths (``current vs baseline``) when the files measure different benchmarks."""
    comparison = incompatibility(current, baseline)
    if not comparison.comparable:
        raise GateUsageError(f"cannot compare {names[0]} with {names[1]}: different benchmarks "
                             f"(values: current vs baseline)\n  " + "\n  ".join(comparison.lines))
    return comparison


def missing_rows(current: dict, baseline: dict, tol: Tolerances) -> list[str]:
    """Rows of the baseline (those the tolerances gate) that the current run does not have."""
    have = set(current.get("rows", []))
    return [r for r in baseline.get("rows", []) if r not in have and (tol.rows is None or r in tol.rows)]


def compare(current: dict, baseline: dict, tol: Tolerances) -> list[Check]:
    """Every gated (row, metric) of the rows both files have, checked against the current results
    (the caller checks first that both measure one benchmark: :func:`check_comparable`)."""
    metrics = baseline.get("metrics", {})
    ci = current.get("intervals", {}).get("rows", {})
    shared = set(current.get("rows", []))
    out = []
    for row in baseline.get("rows", []):
        if (tol.rows is not None and row not in tol.rows) or row not in shared:
            continue
        for metric, meta in metrics.items():
            t, better = tol.tolerance(metric), meta.get("higher_is_better")
            base = _num(baseline["results"].get(row, {}).get(metric))
            if t is None or better is None or base is None:
                continue
            cur = _num(current["results"].get(row, {}).get(metric))
            c = Check(metric, row, base, cur, t, bool(better))
            if cur is None:
                c.verdict = "missing"
                c.note = "row missing" if row not in current["results"] else "now null"
            else:
                worse_by = (base - cur) if better else (cur - base)
                if worse_by > t + 1e-12:
                    c.verdict = "regression"
                    interval = ci.get(row, {}).get(metric, {})
                    if tol.require_significance and interval.get("low") is not None:
                        if interval["low"] <= base <= interval["high"]:
                            c.verdict, c.note = "within-ci", "baseline inside the current 95% interval"
                    elif tol.require_significance:
                        c.note = "no interval in the current results: judged on the tolerance alone"
                elif -worse_by > t + 1e-12:
                    c.verdict = "improved"
            out.append(c)
    return out


def _f(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def format_checks(checks: list[Check], show_all: bool = False) -> str:
    """A fixed-width table: failures first, then improvements, then (with ``show_all``) the rest."""
    order = {"regression": 0, "missing": 1, "within-ci": 2, "improved": 3, "ok": 4}
    shown = sorted((c for c in checks if show_all or c.verdict != "ok"),
                   key=lambda c: (order[c.verdict], c.metric, c.row))
    header = ["metric", "row", "baseline", "current", "delta", "tolerance", "verdict"]
    body = [[c.metric, c.row, _f(c.baseline), _f(c.current), "n/a" if c.delta is None else f"{c.delta:+.4f}",
             f"{c.tolerance:g}", c.verdict.upper() if c.failed else c.verdict + (f" ({c.note})" if c.note else "")]
            for c in shown]
    if not body:
        return ""
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(checks: list[Check], required_missing: tuple[str, ...] = ()) -> str:
    """One sentence per failure naming the metric, the row and how far it moved (and the
    baseline rows missing from the run, when they are required)."""
    failed = [c for c in checks if c.failed]
    if required_missing:
        return "\n".join([f"gate: FAIL: {len(required_missing)} baseline row(s) missing (--require-rows): "
                          f"{', '.join(required_missing)}", *summary(checks).splitlines()[1:]])
    if not failed:
        improved = sum(c.verdict == "improved" for c in checks)
        extra = f"; {improved} improved beyond tolerance (consider updating the baseline)" if improved else ""
        return f"gate: PASS ({len(checks)} checks){extra}"
    lines = [f"gate: FAIL: {len(failed)} regression(s) in {len(checks)} checks"]
    for c in failed:
        if c.verdict == "missing":
            lines.append(f"  {c.metric} of {c.row}: {c.note} (baseline {c.baseline:.4f})")
        else:
            word = "fell" if c.higher_is_better else "rose"
            lines.append(f"  {c.metric} of {c.row} {word} by {abs(c.delta):.4f} ({c.baseline:.4f} -> "
                         f"{c.current:.4f}; tolerance {c.tolerance:g}, "
                         f"{'higher' if c.higher_is_better else 'lower'} is better)")
    return "\n".join(lines)


def _notes(comparison: Comparison, current: dict, baseline: dict) -> list[str]:
    """The comparison's notes, the generated-LQ one with its image count and ids."""
    notes = dict(comparison.notes)
    if "digests.lq" in notes:
        notes["digests.lq"] = generated_lq_note(current, baseline) or notes["digests.lq"]
    return [f"note: {n}" for n in notes.values()]


def rows_line(missing: list[str], required: bool) -> str:
    """The baseline rows this run lacks, and whether that fails the gate."""
    if not missing:
        return ""
    what = "FAIL (--require-rows)" if required else "not compared; --require-rows makes this a failure"
    return f"rows of the baseline missing from this run: {', '.join(missing)} ({what})"


def run_gate(results: Path, baseline: Path, tolerances: Optional[Path] = None,
             show_all: bool = False, require_rows: bool = False,
             allow_incomplete: bool = False) -> tuple[int, str]:
    """The gate as a function: ``(exit status, text to print)``; usage errors raise, also
    for an incomplete row (:func:`incomplete_rows`) of either file that the gate would
    compare, unless ``allow_incomplete`` (then each is noted)."""
    tol = load_tolerances(tolerances)
    current, base = load_results(results, "results"), load_results(baseline, "baseline")
    comparison = check_comparable(current, base, (str(results), str(baseline)))
    gated = [r for r in current.get("rows", []) if r in base.get("rows", []) and (tol.rows is None or r in tol.rows)]
    incomplete = incomplete_lines(current, str(results), gated) + incomplete_lines(base, str(baseline), gated)
    if not allow_incomplete:
        refuse_incomplete(incomplete)
    checks = compare(current, base, tol)
    if not checks:
        raise GateUsageError(f"nothing to gate: no row of {results} shares a metric with a value and a "
                             f"tolerance with {baseline}")
    missing = missing_rows(current, base, tol)
    required = tuple(missing) if require_rows else ()
    text = "\n\n".join(t for t in (*_notes(comparison, current, base), "\n".join(incomplete),
                                     format_checks(checks, show_all),
                                     rows_line(missing, require_rows), summary(checks, required)) if t)
    return (1 if any(c.failed for c in checks) or required else 0), text
