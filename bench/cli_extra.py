"""Secondary commands: weights and data management.

Kept apart from :mod:`bench.cli` so each command group stays small.
"""

from __future__ import annotations

import argparse


def _cmd_weights(args) -> int:
    from . import weights

    if args.action == "fetch":
        for line in weights.fetch(args.names or None, offline=args.offline):
            print(line)
        return 0
    rows = weights.verify(args.names or None)
    bad = 0
    for name, status, detail in rows:
        print(f"{name:<24} {status:<10} {detail}")
        bad += status not in ("ok", "recorded")
    return 1 if bad else 0


def add_extra_commands(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("weights", help="fetch or verify model weights for metrics and restorers")
    w.add_argument("action", choices=["fetch", "verify"])
    w.add_argument("names", nargs="*", help="weight names (default: all in the manifest)")
    w.add_argument("--weights-dir", help="weights folder (sets $TAIR_BENCH_WEIGHTS)")
    w.add_argument("--offline", action="store_true", help="refuse to download")


    from .data.cli import add_data_command
    from .report.cli import add_report_commands

    add_data_command(sub)
    add_report_commands(sub)


def _extra_commands() -> dict:
    from .data.cli import DATA_COMMANDS
    from .report.cli import REPORT_COMMANDS

    return {"weights": _cmd_weights, **DATA_COMMANDS, **REPORT_COMMANDS}
