"""``bench doctor SUITE``: is everything a suite needs in place, before a long GPU run?

Prints one list -- per component what will run, every missing piece with its fix,
each repository's commit, local changes and pinned-commit comparison -- and exits
0 only when everything can run (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse

from bench.cli.suites import add_set_option
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
    d.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="the device the run will use (auto: cuda when torch sees a GPU); CUDA visibility is "
                        "checked in each restorer's own interpreter")
    d.add_argument("--weights-dir", help="model weights folder (sets $TAIR_BENCH_WEIGHTS)")
    d.add_argument("--offline", action="store_true", help="never touch the network (sets HF_HUB_OFFLINE=1)")
    d.set_defaults(handler=_cmd_doctor)


def _cmd_doctor(args) -> int:
    device = resolve_device(args.device)
    source = SuiteSource(args.suite, tuple(args.set))
    report = check_suite(source, device)
    print(f"bench doctor {source} (device {device})")
    for f in report.findings:
        print(f"{_MARK.get(f.level, f.level)}  {f.component}: {f.message}")
    n_fail, n_warn = len(report.failures), len(report.warnings)
    verdict = "ready: everything can run" if report.ready else "not ready: fix the FAIL lines above"
    print(f"{n_fail} problem(s), {n_warn} warning(s) -- {verdict}")
    return 0 if report.ready else 1
