"""``bench validate SUITE`` and ``bench list [KIND]``: check a suite file, list the components."""

from __future__ import annotations

import argparse

from bench.cli.listing import KINDS, ROWS, format_rows, parse_kind
from bench.suite import load_suite


def _cmd_validate(args) -> int:
    suite = load_suite(args.suite)
    print(f"{args.suite}: OK (suite '{suite.name}', {len(suite.restorers)} restorer(s), "
          f"hash {suite.content_hash()[:12]})")
    return 0


def _cmd_list(args) -> int:
    kinds = [args.kind] if args.kind else list(KINDS)
    print("\n\n".join(format_rows(k, ROWS[k]()) for k in kinds))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``validate`` and ``list``."""

    v = sub.add_parser("validate", help="check a suite file without running it (every error, one line each)")
    v.add_argument("suite", help="suite YAML file")
    v.set_defaults(handler=_cmd_validate)
    ls = sub.add_parser("list", help="list the components a suite can name and whether each can run here")
    ls.add_argument("kind", nargs="?", type=parse_kind, metavar="KIND",
                    help=f"only this kind: {', '.join(KINDS)} (default: all)")
    ls.set_defaults(handler=_cmd_list)
