"""Command line: ``python -m bench`` (also installed as ``bench``).

Commands: run, validate, list, weights, data (and report, gate, leaderboard
when those modules are present). Any :class:`bench.errors.BenchError` is printed
as one message (no traceback) and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from .errors import BenchError

TABLE_COLUMNS = [
    ("psnr", "PSNR", False), ("ssim", "SSIM", False), ("text_psnr", "txtPSNR", False), ("lpips", "LPIPS", False),
    ("det_hmean", "det-F1%", True), ("e2e_none_hmean", "E2E-F1%", True), ("e2e_full_hmean", "E2E-full%", True),
    ("crop_word_accuracy", "crop-acc%", True), ("confidently_wrong_rate", "conf-wrong%", True),
    ("phantom_per_image", "phantom/img", False),
]


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run a suite: degrade -> restore -> spot -> score")
    p.add_argument("suite", help="suite YAML file")
    p.add_argument("--out", help="results folder (default: output.dir of the suite, else runs/<suite name>)")
    p.add_argument("--cache-dir", help="stage cache: a folder or an fsspec URL such as s3://bucket/prefix "
                                       "(default: $TAIR_BENCH_CACHE or ~/.cache/tair-bench/cache)")
    p.add_argument("--limit", type=int, help="evaluate only the first N images")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--workers", type=int, default=1, help="processes for CPU stages (results do not depend on it)")
    p.add_argument("--no-cache", action="store_true", help="use a throw-away cache (recompute everything)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--skip-unavailable", action="store_true",
                   help="run what is available; record missing restorers as skipped with the reason")
    p.add_argument("--weights-dir", help="model weights folder (sets $TAIR_BENCH_WEIGHTS)")
    p.add_argument("--offline", action="store_true", help="never touch the network (sets HF_HUB_OFFLINE=1)")
    p.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local: --workers processes here; ray: Ray tasks and actors (extra 'ray'; docs/scaleout.md)")
    p.add_argument("--ray-address", help="Ray cluster to join (e.g. auto, ray://head:10001); default: start a "
                                         "local instance with this machine's CPUs")
    p.add_argument("--shard", metavar="K/N", help="run only shard K of N (0 <= K < N, by sha256 of the image id); "
                                                  "combine the shards with 'bench merge'")


def _cmd_run(args) -> int:
    from .runner import RunOptions, run_suite
    from .suite import load_suite

    if args.limit is not None and args.limit < 1:
        raise BenchError("--limit: expected a positive integer")
    if args.workers < 1:
        raise BenchError("--workers: expected a positive integer")
    from .shard import ShardSpec

    shard = ShardSpec.parse(args.shard) if args.shard else None
    if args.ray_address and args.executor != "ray":
        raise BenchError("--ray-address: only with --executor ray")
    suite = load_suite(args.suite)
    out = Path(args.out or suite.output_dir or Path("runs") / suite.name)
    opts = RunOptions(out_dir=out, cache_dir=args.cache_dir, limit=args.limit,
                      device=args.device, workers=args.workers, use_cache=not args.no_cache, quiet=args.quiet,
                      skip_unavailable=args.skip_unavailable, executor=args.executor,
                      ray_address=args.ray_address, shard=shard)
    doc, path = run_suite(suite, opts)
    print(_summary(doc, path))
    return 0


def _summary(doc: dict, path: Path) -> str:
    from .results import format_table

    lines = [f"suite {doc['suite']['name']}: {doc['data']['n_images']} images, "
             f"spotter {doc['spotter']['name']}, device {doc['environment']['device']}", ""]
    lines.append(format_table(doc, [c for c in TABLE_COLUMNS if any(c[0] in v for v in doc["results"].values())]))
    headline = doc.get("text_eval", {}).get("headline", "e2e_none_hmean")
    head = [f"{row} {v[headline]:+.2f}" for row, v in doc.get("headroom", {}).items() if v.get(headline) is not None]
    if head:
        lines += ["", f"headroom recovered ({headline}: 0 = LQ, 1 = HQ): " + ", ".join(head)]
    for name, entry in doc["metrics"].items():
        info = entry.get("info") or {}
        if "features_from_cache" in info:
            lines.append(f"{name}: {info['features_computed']} image features computed, "
                         f"{info['features_from_cache']} reused from the cache (reference statistics included)")
    unavailable = {k: v["reason"] for k, v in doc["metrics"].items() if not v["available"]}
    if unavailable:
        lines += ["", "unavailable metrics (recorded as null in results.json):"]
        lines += [f"  {k}: {v}" for k, v in unavailable.items()]
    if doc.get("skipped_restorers"):
        lines += ["", "skipped restorers:"] + [f"  {k}: {v}" for k, v in doc["skipped_restorers"].items()]
    if doc["data"].get("skipped_records"):
        lines += ["", f"skipped records ({len(doc['data']['skipped_records'])}):"]
        lines += [f"  {m}" for m in doc["data"]["skipped_records"][:20]]
    stages = doc["run"]["cache"]["stages"]
    lines += ["", "cache: " + ", ".join(f"{s} {v['cached']} cached / {v['computed']} computed"
                                         for s, v in stages.items()),
              f"time: {doc['run']['seconds']:.1f} s", f"results: {path}"]
    return "\n".join(lines)


def _cmd_validate(args) -> int:
    from .suite import load_suite

    suite = load_suite(args.suite)
    print(f"{args.suite}: OK (suite '{suite.name}', {len(suite.restorers)} restorer(s), "
          f"hash {suite.content_hash()[:12]})")
    return 0


def _cmd_list(args) -> int:
    from .components import DATASETS, PROMPT_SOURCES, RESTORERS, SPOTTERS, preset_names
    from .imagemetrics import list_metrics

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="tair-bench: text-aware image restoration benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    v = sub.add_parser("validate", help="check a suite file without running it")
    v.add_argument("suite")
    sub.add_parser("list", help="list data sets, degradations, restorers, spotters and metrics")
    from .cli_extra import add_extra_commands

    add_extra_commands(sub)
    return parser


COMMANDS = {"run": _cmd_run, "validate": _cmd_validate, "list": _cmd_list}


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "weights_dir", None):
        os.environ["TAIR_BENCH_WEIGHTS"] = str(Path(args.weights_dir).resolve())
    if getattr(args, "offline", False):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    from .cli_extra import _extra_commands

    handler = COMMANDS.get(args.command) or _extra_commands()[args.command]
    try:
        return handler(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: completed stage outputs are cached; re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
