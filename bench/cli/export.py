"""``bench export SUITE DIR``: write the LQ inputs a restorer receives, with a manifest,
to run a model elsewhere and score its outputs with ``bench run --outputs``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.suites import add_set_option
from bench.errors import BenchError
from bench.pipeline.export import MANIFEST, NAMING, ExportOptions, export_suite, score_command
from bench.suite import load_suite


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``export``."""
    p = sub.add_parser("export", help="write the LQ inputs a restorer receives (<id>.png) and manifest.json")
    p.set_defaults(handler=_cmd_export)
    p.add_argument("suite", help="suite YAML file")
    p.add_argument("dir", help="folder to write <id>.png and manifest.json into (new or empty, unless --force)")
    add_set_option(p)
    p.add_argument("--limit", type=int, help="export only the first N images (score with the same --limit)")
    p.add_argument("--cache-dir", help="stage cache, shared with bench run: a folder or an fsspec URL "
                                       "(default: $TAIR_BENCH_CACHE or ~/.cache/tair-bench/cache)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="the device the spotter is described for, as on run (nothing is loaded)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes for the degrade stage; 0: in this process (the images do not depend on it)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder (files of the same names are replaced)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _cmd_export(args) -> int:
    if args.limit is not None and args.limit < 1:
        raise BenchError("--limit: expected a positive integer")
    if args.workers < 0:
        raise BenchError("--workers: expected 0 (everything in this process) or a positive integer")
    suite = load_suite(args.suite, overrides=args.set)
    opts = ExportOptions(out_dir=Path(args.dir), cache_dir=args.cache_dir, limit=args.limit, device=args.device,
                         workers=args.workers, quiet=args.quiet, force=args.force, overrides=tuple(args.set))
    manifest, path = export_suite(suite, opts)
    print(_summary(manifest, path, args.suite, opts))
    return 0


def _summary(manifest: dict, path: Path, suite_arg: str, opts: ExportOptions) -> str:
    images = manifest["images"]
    sizes = sorted({(tuple(i["input_size"]), tuple(i["output_size"])) for i in images})
    shown = ", ".join(f"{a[0]}x{a[1]} -> {b[0]}x{b[1]}" for a, b in sizes[:3]) + (" ..." if len(sizes) > 3 else "")
    bench_hash = manifest["benchmark"]["hash"]
    lines = [f"suite {manifest['suite']['name']}: {len(images)} LQ images written to {path.parent} "
             f"(x{manifest['degradation']['scale']}: {shown or 'none'})",
             f"manifest: {path}",
             f"benchmark: {bench_hash}" if bench_hash else f"benchmark: no hash ({manifest['benchmark']['reason']})",
             "prompts: none and oracle (ground truth: an upper bound only) in the manifest; "
             "spotted and caption need a model, not exported"]
    if manifest["skipped_records"]:
        lines.append(f"skipped records ({len(manifest['skipped_records'])}): see the manifest")
    naming = NAMING.format(id="<id>")
    lines.append(f"score the outputs (one {naming} per image, at its output_size in {MANIFEST}, in one folder): "
                 f"{score_command(suite_arg, opts)}")
    return "\n".join(lines)
