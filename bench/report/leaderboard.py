"""Leaderboard: rank the restorers of several runs, per suite, as HTML, Markdown and CSV.

``bench leaderboard RUN_DIR... -o OUT``. Runs are grouped by suite name; inside a
group every run must share the suite hash, data source (kind, path, source,
split, inputs digest), degradation and protocol version, else the command refuses
and names the difference and the two runs. Each entry keeps its provenance (run
folder, git commit, tair-bench and restorer versions). With several suites (e.g.
one per degradation level) a bar chart compares them.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from bench.errors import BenchError
from bench.report.gate import load_results
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

    @property
    def provenance(self) -> dict:
        d = self.run.doc
        return {"run": str(self.run.path), "git_commit": d.get("git_commit"),
                "tair_bench": d.get("tair_bench_version"),
                "restorer": (d.get("restorers") or {}).get(self.restorer, {}).get("version"),
                "spotter": (d.get("spotter") or {}).get("version"), "started": (d.get("run") or {}).get("started")}


def _identity(doc: dict) -> list[tuple[str, object]]:
    data, inputs = doc.get("data") or {}, doc.get("inputs") or {}
    return [
        ("suite hash", (doc.get("suite") or {}).get("hash")),
        ("protocol version", doc.get("protocol_version")),
        ("data source", {k: data.get(k) for k in ("kind", "path", "source", "split")}),
        ("input images (inputs.digest)", inputs.get("digest")),
        ("degradation", doc.get("degradation")),
    ]


def check_same_benchmark(runs: list[Run]) -> None:
    """Refuse runs of one suite name that differ in what defines the benchmark."""
    first = runs[0]
    for other in runs[1:]:
        for (what, a), (_, b) in zip(_identity(first.doc), _identity(other.doc)):
            if a != b:
                raise LeaderboardError(
                    f"cannot rank together runs of suite '{first.doc['suite']['name']}' with a different {what}: "
                    f"{first.path} has {a!r}, {other.path} has {b!r} -- rank them in separate leaderboards")


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
    raw.sort(key=lambda e: (-(e.values[headline] if e.values[headline] is not None else -math.inf),
                            e.restorer, str(e.run.path)))
    for k, e in enumerate(raw):  # competition ranking: equal headline values share a rank
        e.rank = raw[k - 1].rank if k and e.values[headline] == raw[k - 1].values[headline] else k + 1
    return headline, raw


def load_runs(paths: list[Path]) -> dict[str, list[Run]]:
    """Runs grouped by suite name, in the order given."""
    if not paths:
        raise LeaderboardError("no run folders given")
    groups: dict[str, list[Run]] = {}
    for p in paths:
        doc = load_results(Path(p), "run")
        groups.setdefault(doc["suite"]["name"], []).append(Run(Path(p), doc))
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
        body.append([str(e.rank), e.restorer, _fmt(e.values[headline]), ci, _fmt(e.headroom),
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


def write_leaderboard(paths: list[Path], out: Path) -> dict[str, Path]:
    """Write leaderboard.html/.md/.csv (and a bar chart for several suites) into ``out``."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    groups = load_runs(paths)
    ranked = {suite: rank(runs) for suite, runs in groups.items()}
    tables = {suite: _table(h, entries) for suite, (h, entries) in ranked.items()}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"md": out / "leaderboard.md", "csv": out / "leaderboard.csv", "html": out / "leaderboard.html"}
    files["md"].write_text(_markdown(tables), encoding="utf-8")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["suite", "rank", "restorer", "headline", "value", "ci_low", "ci_high", "headroom",
                *COLUMNS, "run", "git_commit", "tair_bench", "restorer_version", "suite_hash"])
    for suite, (h, entries) in ranked.items():
        for e in entries:
            p = e.provenance
            w.writerow([suite, e.rank, e.restorer, h, e.values[h], *(e.interval or (None, None)), e.headroom,
                        *[e.values.get(c) for c in COLUMNS], p["run"], p["git_commit"], p["tair_bench"],
                        p["restorer"], e.run.doc["suite"]["hash"]])
    files["csv"].write_text(buf.getvalue(), encoding="utf-8")
    chart = _chart(ranked, out)
    env = Environment(loader=PackageLoader("bench.report", "templates"), autoescape=select_autoescape(default=True))
    html = env.get_template("leaderboard.html.j2").render(tables=tables, chart=chart, groups=groups)
    files["html"].write_text(html, encoding="utf-8")
    if chart:
        files["chart"] = out / chart
    return files


def _chart(ranked: dict[str, tuple[str, list[Entry]]], out: Path) -> Optional[str]:
    """Grouped bars of the headline, one group per suite, when there are several suites."""
    if len(ranked) < 2:
        return None

    suites = list(ranked)
    names = sorted({e.restorer for _, entries in ranked.values() for e in entries})
    series = {}
    for name in names:
        series[name] = [next((e.values[h] for e in entries if e.restorer == name), None)
                        for h, entries in (ranked[s] for s in suites)]
    headlines = sorted({h for h, _ in ranked.values()})
    p = grouped_bars(suites, series, " / ".join(headlines), "headline per suite (level)", out / "levels.png")
    return p.name if p else None
