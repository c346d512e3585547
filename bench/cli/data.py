"""The ``bench data`` command: ``fetch NAME [--path P]`` and ``verify NAME [--path P]``.

The CLI wires it with ``add_commands(subparsers)``, which binds the handler; errors are :class:`bench.errors.BenchError`, printed by
the CLI without a traceback.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench.data import fetch as f
from bench.data.fetch import SOURCES


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` sub-command to an argparse sub-parser set."""

    p = sub.add_parser("data", help="fetch or verify benchmark data sets (local copies with a manifest)")
    p.add_argument("action", choices=["fetch", "verify"], help="fetch: download a local copy (online); verify: check a copy")
    p.add_argument("name", choices=sorted(SOURCES), help="data set name")
    p.add_argument("--path", help="local folder (default: $TAIR_BENCH_DATA/<name> or ~/.cache/tair-bench/data/<name>)")
    p.add_argument("--offline", action="store_true", help="never touch the network (sets HF_HUB_OFFLINE=1)")
    p.set_defaults(handler=_cmd_data)


def _cmd_data(args) -> int:
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

