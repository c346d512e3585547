"""``bench cache verify [--cache-dir DIR] [--repair]``: check every entry of a stage cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import BenchError
from bench.io.cache import FIRST_FEW, Cache, is_url
from bench.pipeline.runner import default_cache_dir
from bench.pipeline.stages.cached_map import record_fits


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``cache``."""
    p = sub.add_parser("cache", help="check the stage cache: every image and record")
    p.add_argument("action", choices=["verify"],
                   help="verify: every image decodes and hashes to its name; every record parses, names its own "
                        "key, matches its checksum and has its stage's shape")
    p.add_argument("--cache-dir", help="the cache: a folder or an fsspec URL (default: $TAIR_BENCH_CACHE or "
                                       "~/.cache/tair-bench/cache)")
    p.add_argument("--repair", action="store_true",
                   help="delete the bad entries (the next run recomputes them); exit 0")
    p.set_defaults(handler=_cmd_cache)


def _cmd_cache(args) -> int:
    root = args.cache_dir or str(default_cache_dir())
    if not is_url(root) and not Path(root).is_dir():
        raise BenchError(f"--cache-dir {root}: no such folder")
    cache = Cache(root if is_url(root) else Path(root))
    counts, bad = cache.verify(record_fits)
    print(f"cache {cache.root}")
    if not counts:
        print("  empty: no images, no records")
    for kind in sorted(counts, key=lambda k: (k != "images", k)):
        c = counts[kind]
        old = f", {c['old']} of an older format (recomputed on use)" if c["old"] else ""
        print(f"  {kind + ':':<11} {c['ok']} ok, {c['bad']} bad{old}")
    if not bad:
        print("no bad entries")
        return 0
    print(f"{len(bad)} bad entries" + (f", the first {FIRST_FEW}:" if len(bad) > FIRST_FEW else ":"))
    for rel, problem in bad[:FIRST_FEW]:
        print(f"  {rel}: {problem}")
    if not args.repair:
        print("run 'bench cache verify --repair' to delete them (the next run recomputes them; a run also "
              "recomputes them by itself)")
        return 1
    for rel, _ in bad:
        cache.delete(rel)
    print(f"deleted {len(bad)} bad entries: the next run recomputes them")
    return 0
