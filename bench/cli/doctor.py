"""``bench doctor SUITE``: is everything a suite needs in place, before a long GPU run?

Prints one list -- per component what will run, every missing piece with its fix,
each repository's commit, local changes and pinned-commit comparison -- and exits
0 only when everything can run (warnings allowed), 1 otherwise. The verdict, every
FAIL line and every unavailable metric (a warning: the run records it as null) come
from ``bench run``'s own preflight, in its words; ``--set``, ``--outputs``,
``--allow-missing``, ``--limit``, ``--skip-unavailable``, ``--cache-dir`` and ``--out``
mean what they mean there.
"""

from __future__ import annotations

import argparse

from bench.api import outputs_override
from bench.cli.run import _parse_outputs
from bench.cli.suites import add_set_option
from bench.errors import BenchError
from bench.pipeline.doctor import check_suite
from bench.pipeline.runner import resolve_device
from bench.suite.overrides import SuiteSource

#: how each finding level is shown
_MARK = {"ok": "ok  ", "info": "    ", "warn": "WARN", "FAIL": "FAIL"}


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``doctor``."""
    d = sub.add_parser("doctor", help="before a run: check a suite's repositories, environments, weights and "
                                      "data, with the fix for each problem (exit 0 only when all can run)")
    d.add_argument("suite", help="suite YAML file")
    add_set_option(d)
    d.add_argument("--outputs", action="append", metavar="NAME=DIR", default=[],
                   help="as bench run --outputs: check the folder DIR of outputs as row NAME instead of the "
                        "suite's restorers (every missing id, unreadable file and wrong size)")
    d.add_argument("--allow-missing", action="store_true",
                   help="as bench run --allow-missing: a folder may leave ids out (the row marked incomplete)")
    d.add_argument("--limit", type=int, help="as bench run --limit: only the first N images")
    d.add_argument("--skip-unavailable", action="store_true",
                   help="as bench run --skip-unavailable: a restorer that cannot run is a warning (skipped)")
    d.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="the device the run will use (auto: cuda when torch sees a GPU); CUDA visibility is "
                        "checked in each restorer's own interpreter")
    d.add_argument("--cache-dir", help="as bench run --cache-dir: the stage cache the run will write")
    d.add_argument("--out", help="as bench run --out: the results folder the run will write")
    d.add_argument("--weights-dir", help="model weights folder (sets $TAIR_BENCH_WEIGHTS)")
    d.add_argument("--offline", action="store_true", help="never touch the network (sets HF_HUB_OFFLINE=1)")
    d.set_defaults(handler=_cmd_doctor)


def _cmd_doctor(args) -> int:
    if args.limit is not None and args.limit < 1:
        raise BenchError("--limit: expected a positive integer")
    if args.allow_missing and not args.outputs:
        raise BenchError("--allow-missing: only with --outputs (in a suite file: the folder restorer's "
                         "args.allow_missing: true)")
    device = resolve_device(args.device)
    given = [*args.set, *outputs_override(_parse_outputs(args.outputs), args.allow_missing)] \
        if args.outputs else list(args.set)
    source = SuiteSource(args.suite, tuple(given))
    report = check_suite(source, device, args.skip_unavailable, args.limit, args.cache_dir, args.out)
    print(f"bench doctor {source} (device {device})")
    for f in report.findings:
        print(f"{_MARK.get(f.level, f.level)}  {f.line}")
    if report.failures:
        for hint in report.hints:
            print(f"{_MARK['info']}  {hint}")
    n_fail, n_warn = len(report.failures), len(report.warnings)
    verdict = "ready: everything can run" if report.ready else "not ready: fix the FAIL lines above"
    print(f"{n_fail} problem(s), {n_warn} warning(s) -- {verdict}")
    return 0 if report.ready else 1
