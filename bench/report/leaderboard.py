"""Leaderboard: rank the restorers of several runs, per benchmark, as HTML, Markdown and CSV.

``bench leaderboard RUN_DIR... -o OUT``. Runs are grouped by benchmark
(:mod:`bench.pipeline.benchmark`: data, degradation, spotter, text protocol, metric
definitions -- not the restorers), so runs of different restorer lists on one benchmark
are ranked in one table. Two runs of one suite name on different benchmarks are refused
with one line per differing key path; runs of different suites on different benchmarks
(e.g. one per degradation level) get a section each and a bar chart compares them.

Rows: a row's identity is its name and its ``restorers.<name>`` entry (adapter,
version, config, prompt). Rows with one name but different identities are all ranked,
each labelled with its run folder; one identity seen in several runs (a rerun) is
ranked once, from the first run given, and its "run" column names the other runs too.
Each entry keeps its provenance (run folder, git commit, tair-bench and restorer versions).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from bench.errors import BenchError
from bench.io.cache import canonical_json
from bench.io.images import write_text
from bench.pipeline.benchmark import benchmark_of, differences
from bench.report.gate import incomplete_lines, incomplete_rows, load_results, refuse_incomplete
from bench.report.plots import grouped_bars

#: columns besides the headline, shown when any run has them
COLUMNS = ("det_hmean", "e2e_none_hmean", "e2e_none_ws_hmean", "rec_cer", "confidently_wrong_rate", "psnr",
           "ssim", "lpips")


class LeaderboardError(BenchError):
    """Runs that cannot be ranked together, or no runs."""

@dataclass
class Run:
    path: Path
    doc: dict


@dataclass
class Entry:
    """One restorer of one run."""

    rank: int
    restorer: str
    run: Run
    values: dict[str, Optional[float]]
    interval: Optional[tuple[float, float]]
    headroom: Optional[float]
    label: str = ""
    also_in: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The row name as shown: labelled with its run when another row has the same name,
        and with ``(n of N)`` images when it is incomplete (``--allow-incomplete``)."""
        short = incomplete_rows(self.run.doc).get(self.restorer)
        return (self.label or self.restorer) + (f" ({short['n_images']} of {short['n_expected']})" if short else "")

    @property
    def identity(self) -> str:
        """Name and ``restorers.<name>`` entry (without where it ran): equal for a rerun."""
        entry = (self.run.doc.get("restorers") or {}).get(self.restorer) or {}
        return canonical_json([self.restorer, {k: v for k, v in entry.items() if k != "environment"}])

    @property
    def provenance(self) -> dict:
        d = self.run.doc
        return {"run": "; ".join((str(self.run.path), *self.also_in)), "git_commit": d.get("git_commit"),
                "tair_bench": d.get("tair_bench_version"),
                "restorer": (d.get("restorers") or {}).get(self.restorer, {}).get("version"),
                "spotter": (d.get("spotter") or {}).get("version"), "started": (d.get("run") or {}).get("started")}


def check_same_benchmark(runs: list[Run]) -> None:
    """Refuse runs that measure different benchmarks, one line per differing key path."""
    first = runs[0]
    for other in runs[1:]:
        comparison = differences(first.doc, other.doc)
        if not comparison.comparable:
            raise LeaderboardError(
                f"cannot rank together runs of different benchmarks ({first.path} vs {other.path}):\n  "
                + "\n  ".join(comparison.lines) + "\n-- rank them in separate leaderboards")


def _num(v) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def rank(runs: list[Run]) -> tuple[str, list[Entry]]:
    """Entries of one suite, best headline first (ties by restorer name and run)."""
    check_same_benchmark(runs)
    headline = (runs[0].doc.get("text_eval") or {}).get("headline") or "e2e_none_hmean"
    raw = []
    for run in runs:
        d = run.doc
        refs = set(d.get("reference_rows", []))
        for row in d["rows"]:
            if row in refs:
                continue
            vals = {m: _num(d["results"].get(row, {}).get(m)) for m in (headline, *COLUMNS)}
            ci = (d.get("intervals") or {}).get("rows", {}).get(row, {}).get(headline, {})
            interval = (ci["low"], ci["high"]) if ci.get("low") is not None else None
            raw.append(Entry(0, row, run, vals, interval,
                             _num((d.get("headroom") or {}).get(row, {}).get(headline))))
    raw = _label(_once(raw))
    raw.sort(key=lambda e: (-(e.values[headline] if e.values[headline] is not None else -math.inf),
                            e.name, str(e.run.path)))
    for k, e in enumerate(raw):  # competition ranking: equal headline values share a rank
        e.rank = raw[k - 1].rank if k and e.values[headline] == raw[k - 1].values[headline] else k + 1
    return headline, raw


def _once(entries: list[Entry]) -> list[Entry]:
    """One entry per row identity (the first run's); the others' run folders noted on it."""
    kept: dict[str, Entry] = {}
    for e in entries:
        if e.identity in kept:
            kept[e.identity].also_in += (str(e.run.path),)
        else:
            kept[e.identity] = e
    return list(kept.values())


def _label(entries: list[Entry]) -> list[Entry]:
    """Label rows that share a name (different identities) with their run folder."""
    names = [e.restorer for e in entries]
    for e in entries:
        if names.count(e.restorer) > 1:
            e.label = f"{e.restorer} [{e.run.path}]"
    return entries


def _group_of(groups: dict[str, list[Run]], run: Run) -> Optional[str]:
    """The group measuring the run's benchmark; a group of the same suite name on another
    benchmark is refused (:func:`check_same_benchmark`)."""
    for title, runs in groups.items():
        if differences(runs[0].doc, run.doc).comparable:
            return title
    for runs in groups.values():
        if runs[0].doc["suite"]["name"] == run.doc["suite"]["name"]:
            check_same_benchmark([runs[0], run])
    return None


def _title(groups: dict[str, list[Run]], run: Run) -> str:
    name = run.doc["suite"]["name"]
    return name if name not in groups else f"{name} ({benchmark_of(run.doc)['hash'][:12]})"


def load_runs(paths: list[Path]) -> dict[str, list[Run]]:
    """Runs grouped by benchmark, in the order given; a group is titled by its first run's suite."""
    if not paths:
        raise LeaderboardError("no run folders given")
    groups: dict[str, list[Run]] = {}
    for p in paths:
        run = Run(Path(p), load_results(Path(p), "run"))
        title = _group_of(groups, run)
        if title is None:
            groups[_title(groups, run)] = [run]
        else:
            groups[title].append(run)
    return groups


def _fmt(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.2f}" if abs(v) >= 10 else f"{v:.3f}"


def _short(text, limit: int = 48) -> str:
    """Long version strings (hashes) cut for the tables; the CSV keeps them whole."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table(headline: str, entries: list[Entry]) -> tuple[list[str], list[list[str]]]:
    cols = [c for c in COLUMNS if c != headline and any(e.values.get(c) is not None for e in entries)]
    header = ["rank", "restorer", headline, "95% CI", "headroom", *cols, "run", "git commit", "restorer version"]
    body = []
    for e in entries:
        p = e.provenance
        ci = f"[{_fmt(e.interval[0])}, {_fmt(e.interval[1])}]" if e.interval else "n/a"
        body.append([str(e.rank), e.name, _fmt(e.values[headline]), ci, _fmt(e.headroom),
                     *[_fmt(e.values.get(c)) for c in cols], p["run"], str(p["git_commit"]), _short(p["restorer"])])
    return header, body


def _markdown(tables: dict[str, tuple[list[str], list[list[str]]]]) -> str:
    out = ["# tair-bench leaderboard", ""]
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    for suite, (header, body) in tables.items():
        out += [f"## {esc(suite)}", "", "| " + " | ".join(map(esc, header)) + " |",
                "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(map(esc, r)) + " |" for r in body]
        out.append("")
    return "\n".join(out)


def write_leaderboard(paths: list[Path], out: Path, allow_incomplete: bool = False) -> dict[str, Path]:
    """Write leaderboard.html/.md/.csv (and a bar chart for several suites) into ``out``.

    A row scored on fewer images than its run has (``bench run --allow-missing``) is
    refused, naming the row and the run, unless ``allow_incomplete``: then it is ranked
    and shown as ``NAME (n of N)``."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    groups = load_runs(paths)
    if not allow_incomplete:
        refuse_incomplete([line for runs in groups.values() for run in runs
                           for line in incomplete_lines(run.doc, str(run.path))], LeaderboardError)
    ranked = {suite: rank(runs) for suite, runs in groups.items()}
    tables = {suite: _table(h, entries) for suite, (h, entries) in ranked.items()}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"md": out / "leaderboard.md", "csv": out / "leaderboard.csv", "html": out / "leaderboard.html"}
    write_text(files["md"], _markdown(tables))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["suite", "rank", "restorer", "headline", "value", "ci_low", "ci_high", "headroom",
                *COLUMNS, "run", "git_commit", "tair_bench", "restorer_version", "suite_hash",
                "benchmark_hash"])
    for suite, (h, entries) in ranked.items():
        for e in entries:
            p = e.provenance
            w.writerow([suite, e.rank, e.name, h, e.values[h], *(e.interval or (None, None)), e.headroom,
                        *[e.values.get(c) for c in COLUMNS], p["run"], p["git_commit"], p["tair_bench"],
                        p["restorer"], e.run.doc["suite"]["hash"], benchmark_of(e.run.doc)["hash"]])
    write_text(files["csv"], buf.getvalue())
    chart = _chart(ranked, out)
    env = Environment(loader=PackageLoader("bench.report", "templates"), autoescape=select_autoescape(default=True))
    html = env.get_template("leaderboard.html.j2").render(tables=tables, chart=chart, groups=groups)
    write_text(files["html"], html)
    if chart:
        files["chart"] = out / chart
    return files


def _chart(ranked: dict[str, tuple[str, list[Entry]]], out: Path) -> Optional[str]:
    """Grouped bars of the headline, one group per suite, when there are several suites."""
    if len(ranked) < 2:
        return None

    suites = list(ranked)
    names = sorted({e.name for _, entries in ranked.values() for e in entries})
    series = {}
    for name in names:
        series[name] = [next((e.values[h] for e in entries if e.name == name), None)
                        for h, entries in (ranked[s] for s in suites)]
    headlines = sorted({h for h, _ in ranked.values()})
    p = grouped_bars(suites, series, " / ".join(headlines), "headline per suite (level)", out / "levels.png")
    return p.name if p else None
