"""Commands ``report``, ``gate`` and ``leaderboard``.

``add_commands(subparsers)`` adds the parsers and binds each to its handler
(``handler(args) -> exit status``). Handlers raise
:class:`bench.errors.BenchError` for usage errors, which the CLI turns into exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.report.build import write_report
from bench.report.gate import run_gate
from bench.report.leaderboard import write_leaderboard


def _cmd_report(args) -> int:
    path = write_report(Path(args.run_dir), Path(args.cache_dir) if args.cache_dir else None,
                        Path(args.out) if args.out else None, gallery_size=args.gallery)
    print(f"report: {path}")
    return 0


def _cmd_gate(args) -> int:
    status, text = run_gate(Path(args.results), Path(args.baseline),
                            Path(args.tolerances) if args.tolerances else None, show_all=args.all,
                            require_rows=args.require_rows, allow_incomplete=args.allow_incomplete)
    print(text)
    return status


def _cmd_leaderboard(args) -> int:
    files = write_leaderboard([Path(p) for p in args.runs], Path(args.out), allow_incomplete=args.allow_incomplete)
    for kind, path in files.items():
        print(f"{kind}: {path}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the report, gate and leaderboard sub-commands to ``bench``'s parser."""
    r = sub.add_parser("report", help="write an HTML report of a run folder")
    r.add_argument("run_dir", help="output folder of 'bench run' (holds results.json)")
    r.add_argument("--cache-dir", help="stage cache holding the images (default: the one recorded in results.json)")
    r.add_argument("--out", help="report file (default: RUN_DIR/report.html; assets go next to it)")
    r.add_argument("--gallery", type=int, default=4, help="number of gallery images (default 4)")
    r.set_defaults(handler=_cmd_report)

    g = sub.add_parser("gate", help="compare results with a baseline; exit 1 on a regression, 2 on a usage error")
    g.add_argument("results", help="results.json (or its run folder)")
    g.add_argument("--baseline", required=True, help="baseline results.json (e.g. suites/baselines/quickstart.json)")
    g.add_argument("--tolerances", help="YAML/JSON tolerance file (see bench/report/gate.py)")
    g.add_argument("--all", action="store_true", help="list every check, not only the ones that moved")
    g.add_argument("--require-rows", action="store_true",
                   help="fail (exit 1) when a row of the baseline is missing from the results")
    g.add_argument("--allow-incomplete", action="store_true",
                   help="compare rows scored on fewer images than their run (bench run --allow-missing); noted")
    g.set_defaults(handler=_cmd_gate)

    b = sub.add_parser("leaderboard", help="rank restorers of several runs per suite (HTML, Markdown, CSV)")
    b.add_argument("runs", nargs="+", help="run folders (or results.json files)")
    b.add_argument("-o", "--out", required=True, help="output folder")
    b.add_argument("--allow-incomplete", action="store_true",
                   help="rank rows scored on fewer images than their run (shown as 'NAME (n of N)')")
    b.set_defaults(handler=_cmd_leaderboard)

