"""Command line: ``python -m bench`` (also installed as ``bench``).

One parser, one dispatch: every command module of this package adds its
sub-commands with ``add_commands(subparsers)`` and binds each to its handler
(``set_defaults(handler=...)``); :func:`main` calls ``args.handler(args)``.
Any :class:`bench.errors.BenchError` is printed as one message (no traceback)
and exits with status 2; so is an :class:`OSError` that says a place cannot be
written (a full disk, a read-only or foreign folder), naming the path and the cause.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from bench import PROTOCOL_VERSION, __version__
from bench.cli import cache, data, doctor, export, manage, report, run, suites
from bench.errors import BenchError, SuiteError
from bench.io.writable import WRITE_ERRNOS, cause

#: the command modules, in the order their commands appear in ``--help``
COMMAND_MODULES = (run, export, suites, doctor, manage, data, report, cache)


def build_parser() -> argparse.ArgumentParser:
    """The ``bench`` parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="bench", description="tair-bench: text-aware image restoration benchmark")
    parser.add_argument("--version", action="version",
                        version=f"bench (tair-bench) {__version__}, text protocol {PROTOCOL_VERSION}, "
                                f"Python {sys.version.split()[0]}",
                        help="print the tair-bench version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    return parser


def error_lines(exc: BenchError) -> list[str]:
    """What the CLI prints for ``exc``: a suite's errors one line each, else its message.
    A worker's error raised through Ray arrives wrapped (``RayTaskError(WriteFailed)``, whose
    text is the remote traceback): its ``cause``, our own error, is what the user reads."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BenchError):
        exc = cause
    return list(exc.problems) if isinstance(exc, SuiteError) else [str(exc)]


def main(argv: Optional[list[str]] = None) -> int:
    """Parse ``argv``, run the command, return its exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "weights_dir", None):
        os.environ["TAIR_BENCH_WEIGHTS"] = str(Path(args.weights_dir).resolve())
    if getattr(args, "offline", False):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    try:
        return args.handler(args)
    except BenchError as exc:
        for line in error_lines(exc):
            print(f"error: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `bench list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a full disk or a folder not ours met outside our own writers
        if exc.errno not in WRITE_ERRNOS:
            raise
        where = exc.filename or "a file"
        print(f"error: {where}: {cause(exc.errno, Path(exc.filename or '.'), exc.strerror or '')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: completed stage outputs are cached; re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
