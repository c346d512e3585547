"""``bench validate SUITE`` and ``bench list``: check a suite file, list the components."""

from __future__ import annotations

import argparse

def _cmd_validate(args) -> int:
    from bench.suite import load_suite

    suite = load_suite(args.suite)
    print(f"{args.suite}: OK (suite '{suite.name}', {len(suite.restorers)} restorer(s), "
          f"hash {suite.content_hash()[:12]})")
    return 0


def _cmd_list(args) -> int:
    from bench.components import DATASETS, PROMPT_SOURCES, RESTORERS, SPOTTERS, preset_names
    from bench.imagemetrics import list_metrics

    def section(title, rows):
        print(f"{title}:")
        for name, summary in rows:
            print(f"  {name:<18} {summary}")

    section("data sets", [(e.name, e.summary) for e in DATASETS.entries()])
    section("degradations", [("provided", "the data set's own LQ images")] +
            [(n, "seeded preset (bench.degrade.presets)") for n in preset_names()])
    section("restorers", [(e.name, e.summary) for e in RESTORERS.entries()])
    section("spotters", [(e.name, e.summary) for e in SPOTTERS.entries()])
    section("image metrics", [(n, f"[{mode}] {s}") for n, mode, s in list_metrics()])
    section("prompt sources", [(p, "") for p in PROMPT_SOURCES])
    return 0



def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``validate`` and ``list``."""
    v = sub.add_parser("validate", help="check a suite file without running it")
    v.add_argument("suite", help="suite YAML file")
    v.set_defaults(handler=_cmd_validate)
    ls = sub.add_parser("list", help="list data sets, degradations, restorers, spotters and metrics")
    ls.set_defaults(handler=_cmd_list)
