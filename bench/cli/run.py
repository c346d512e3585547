"""``bench run SUITE``: run a suite end to end and print its summary table."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.api import default_out_dir, outputs_override, record_overrides
from bench.cli.suites import add_set_option
from bench.errors import BenchError
from bench.io.runfiles import format_table
from bench.io.weights import run_note
from bench.pipeline.datachecks import summary_lines
from bench.pipeline.runner import RunOptions, run_suite
from bench.report import finish_run
from bench.report.columns import summary_columns
from bench.scaleout.shard import ShardSpec
from bench.suite import load_suite


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``run``."""
    p = sub.add_parser("run", help="run a suite: degrade -> restore -> spot -> score")
    p.set_defaults(handler=_cmd_run)
    p.add_argument("suite", help="suite YAML file")
    add_set_option(p)
    p.add_argument("--outputs", action="append", metavar="NAME=DIR", default=[],
                   help="score the images in DIR (one <image id>.png per image, at HQ size) as row NAME instead "
                        "of the suite's restorers (HQ and LQ stay); repeat for several folders. A relative DIR is "
                        "relative to the current folder (a folder adapter's path in a suite file is relative to "
                        "that file). Every missing id, unreadable file and wrong size is listed before any compute")
    p.add_argument("--allow-missing", action="store_true",
                   help="with --outputs: score each folder on the ids it has; the row is marked incomplete "
                        "('NAME (n of N)'; rows_incomplete in results.json). Unreadable files and wrong sizes "
                        "still stop the run")
    p.add_argument("--out", help="results folder (default: output.dir of the suite, else reports/<suite name>)")
    p.add_argument("--cache-dir", help="stage cache: a folder or an fsspec URL such as s3://bucket/prefix "
                                       "(default: $TAIR_BENCH_CACHE or ~/.cache/tair-bench/cache)")
    p.add_argument("--limit", type=int, help="evaluate only the first N images")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where models run (auto: cuda when torch sees a GPU, else cpu)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes for each per-image stage (degrade, spot, recognize, score), each restorer "
                        "in a process of its own; 0: everything in this process (results do not depend on it)")
    p.add_argument("--batch-size", type=int, help="images per restorer call, for every restorer (default: each "
                                                  "restorer's batch_size in the suite, else the adapter's own)")
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
    if args.limit is not None and args.limit < 1:
        raise BenchError("--limit: expected a positive integer")
    if args.workers < 0:
        raise BenchError("--workers: expected 0 (everything in this process) or a positive integer")
    if args.batch_size is not None and args.batch_size < 1:
        raise BenchError("--batch-size: expected a positive integer")
    shard = ShardSpec.parse(args.shard) if args.shard else None
    if args.ray_address and args.executor != "ray":
        raise BenchError("--ray-address: only with --executor ray")
    given = [*args.set, *outputs_override(_parse_outputs(args.outputs), args.allow_missing)] \
        if args.outputs else list(args.set)
    if args.allow_missing and not args.outputs:
        raise BenchError("--allow-missing: only with --outputs (in a suite file: the folder restorer's "
                         "args.allow_missing: true)")
    suite = load_suite(args.suite, overrides=given)
    out = Path(args.out) if args.out else default_out_dir(suite)
    opts = RunOptions(out_dir=out, cache_dir=args.cache_dir, limit=args.limit,
                      device=args.device, workers=args.workers, batch_size=args.batch_size,
                      use_cache=not args.no_cache, quiet=args.quiet,
                      skip_unavailable=args.skip_unavailable, executor=args.executor,
                      ray_address=args.ray_address, shard=shard, finishers=(finish_run,))
    doc, path = run_suite(suite, opts)
    doc = record_overrides(doc, path, given)
    print(_summary(doc, path))
    return 0


def _parse_outputs(values: list[str]) -> dict[str, str]:
    """``--outputs NAME=DIR`` values -> {NAME: DIR} (DIR as typed: made absolute later)."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        name, folder = name.strip(), folder.strip()
        if not sep or not name or not folder:
            raise BenchError(f"--outputs {value}: expected NAME=DIR (the row name, then the folder of outputs)")
        if name in out:
            raise BenchError(f"--outputs {value}: row '{name}' is given twice")
        out[name] = folder
    return out


def _display_doc(doc: dict) -> dict:
    """``doc`` with each incomplete row labelled ``NAME (n of N)`` for the printed table."""
    incomplete = doc.get("rows_incomplete") or {}
    if not incomplete:
        return doc
    label = {r: f"{r} ({v['n_images']} of {v['n_expected']})" if r in incomplete else r for r in doc["rows"]
             for v in [incomplete.get(r, {})]}
    return {**doc, "rows": [label[r] for r in doc["rows"]],
            "results": {label.get(r, r): v for r, v in doc["results"].items()}}


def _summary(doc: dict, path: Path) -> str:
    lines = [f"suite {doc['suite']['name']}: {doc['data']['n_images']} images, "
             f"spotter {doc['spotter']['name']}, device {doc['environment']['device']}", ""]
    lines.append(format_table(_display_doc(doc), summary_columns(doc)))
    for row, v in (doc.get("rows_incomplete") or {}).items():
        lines.append(f"incomplete: {row} scored on {v['n_images']} of {v['n_expected']} images (--allow-missing); "
                     f"leaderboard and gate refuse it without --allow-incomplete")
    notes = summary_lines(doc)
    lines += [""] + notes if notes else []
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
        lines += run_note(unavailable, doc["suite"]["path"])
    if doc.get("skipped_restorers"):
        lines += ["", "skipped restorers:"] + [f"  {k}: {v}" for k, v in doc["skipped_restorers"].items()]
    if doc["data"].get("skipped_records"):
        lines += ["", f"skipped records ({len(doc['data']['skipped_records'])}):"]
        lines += [f"  {m}" for m in doc["data"]["skipped_records"][:20]]
    stages = doc["run"]["cache"]["stages"]
    lines += ["", "cache: " + ", ".join(f"{s} {v['cached']} cached / {v['computed']} computed"
                                         for s, v in stages.items())]
    corrupt = doc["run"]["cache"].get("corrupt_recomputed") or 0
    if corrupt:  # entries that failed their check (bench.io.cache): recomputed and overwritten
        first = doc["run"]["cache"].get("corrupt_entries") or []
        lines.append(f"cache: {corrupt} corrupt entries recomputed" + (", the first:" if first else ""))
        lines += [f"  {line}" for line in first]
    lines += [f"time: {doc['run']['seconds']:.1f} s", f"results: {path}"]
    return "\n".join(lines)


