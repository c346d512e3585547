"""``bench validate SUITE`` and ``bench list [KIND]``: check a suite file, list the components."""

from __future__ import annotations

import argparse

from bench.cli.listing import KINDS, ROWS, format_rows, parse_kind
from bench.suite import load_suite
from bench.suite.overrides import SuiteSource


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` (repeatable), for every command that loads a suite."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="set",
                        help="override a suite value before validation (repeatable): KEY a dotted path, list "
                             "items by index (restorers.0.args.tile), VALUE YAML; a relative dataset.path or "
                             "python: given here is relative to the current folder")


def _cmd_validate(args) -> int:
    source = SuiteSource(args.suite, tuple(args.set))
    suite = load_suite(source)
    print(f"{source}: OK (suite '{suite.name}', {len(suite.restorers)} restorer(s), "
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
    add_set_option(v)
    v.set_defaults(handler=_cmd_validate)
    ls = sub.add_parser("list", help="list the components a suite can name and whether each can run here")
    ls.add_argument("kind", nargs="?", type=parse_kind, metavar="KIND",
                    help=f"only this kind: {', '.join(KINDS)} (default: all)")
    ls.set_defaults(handler=_cmd_list)
