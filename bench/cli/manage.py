"""``bench weights fetch|verify`` and ``bench merge``: model weights, and combining shard runs."""

from __future__ import annotations

import argparse

from bench import weight_needs
from bench.errors import BenchError
from bench.io import weights
from bench.scaleout.merge import merge_runs


def _needs(args) -> list[weights.Need]:
    """The files a ``weights`` command is about: the suite's, or the named ones (default: all)."""
    if args.suite and args.names:
        raise BenchError("weights: give file/metric names or --suite SUITE, not both")
    return weight_needs.suite_needs(args.suite) if args.suite else weight_needs.needs_for_names(args.names or ["all"])


def _cmd_weights(args) -> int:
    needs = _needs(args)
    if args.dry_run:
        if args.action != "fetch":
            raise BenchError("weights: --dry-run applies to fetch")
        print("\n".join(weights.plan(needs)) or "no model files needed")
        return 0
    if args.action == "fetch":
        outcomes = weights.fetch_needs(needs, offline=args.offline)
        for o in outcomes:
            print(o.line)
        failed = [o.key for o in outcomes if not o.ok]
        if failed:
            print(f"{len(failed)} of {len(outcomes)} file(s) not fetched: {', '.join(failed)}")
        return 1 if failed else 0
    bad = 0
    for name, status, detail in weights.verify_needs(needs):
        print(f"{name:<24} {status:<10} {detail}")
        bad += status not in ("ok", "recorded")
    return 1 if bad else 0


def _cmd_merge(args) -> int:
    doc, path = merge_runs(args.run_dirs, args.out, args.cache_dir)
    merged = doc["run"]["merge"]
    print(f"merged {len(merged['shards'])} shards of {merged['count']}: {doc['data']['n_images']} images -> {path}")
    for note in merged["notes"]:
        print(f"note: {note}")
    unavailable = {k: v["reason"] for k, v in doc["metrics"].items() if not v["available"]}
    for name, reason in unavailable.items():
        print(f"unavailable: {name}: {reason}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``merge`` and ``weights``."""
    m = sub.add_parser("merge", help="combine the results of shard runs (bench run --shard K/N) into one run")
    m.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="the shards' output folders (all N shards)")
    m.add_argument("-o", "--out", required=True, help="folder for the merged results")
    m.add_argument("--cache-dir", help="the shared stage cache, to recompute set-level metrics such as FID "
                                       "(default: the cache recorded by the shards)")
    m.set_defaults(handler=_cmd_merge)
    w = sub.add_parser("weights", help="fetch or verify model weights for metrics and restorers")
    w.add_argument("action", choices=["fetch", "verify"], help="fetch: download (online); verify: check files on disk")
    w.add_argument("names", nargs="*", help="weight file names or metric names (lpips, dists, fid, niqe, musiq, "
                                            "...): their files; default: all files in the manifest")
    w.add_argument("--suite", help="every file the suite's image metrics and restorers need")
    w.add_argument("--dry-run", action="store_true",
                   help="fetch: print what would be fetched (file, URL, destination), touch no network")
    w.add_argument("--weights-dir", help="weights folder (sets $TAIR_BENCH_WEIGHTS)")
    w.add_argument("--offline", action="store_true", help="refuse to download")
    w.set_defaults(handler=_cmd_weights)
