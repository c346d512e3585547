"""The ``bench data`` command: ``fetch NAME [--path P]`` and ``verify NAME [--path P]``.

The CLI wires it with ``add_data_command(subparsers)`` and dispatches through
:data:`DATA_COMMANDS`; errors are :class:`bench.errors.BenchError`, printed by
the CLI without a traceback.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_data_command(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` sub-command to an argparse sub-parser set."""
    from .fetch import SOURCES

    p = sub.add_parser("data", help="fetch or verify benchmark data sets (local copies with a manifest)")
    p.add_argument("action", choices=["fetch", "verify"])
    p.add_argument("name", choices=sorted(SOURCES), help="data set name")
    p.add_argument("--path", help="local folder (default: $TAIR_BENCH_DATA/<name> or ~/.cache/tair-bench/data/<name>)")
    p.add_argument("--offline", action="store_true", help="never touch the network (sets HF_HUB_OFFLINE=1)")


def _cmd_data(args) -> int:
    from . import fetch as f

    if getattr(args, "offline", False):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    path = Path(args.path).expanduser() if args.path else None
    if args.action == "fetch":
        for line in f.fetch(args.name, path):
            print(line)
        return 0
    ok, lines = f.verify(args.name, path)
    for line in lines:
        print(line)
    return 0 if ok else 1


DATA_COMMANDS = {"data": _cmd_data}
