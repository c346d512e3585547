"""Wires the stages: prepare -> restore -> spot -> score -> results.

Stage-major order: each stage streams over the images (one image in memory at a
time, everything else by hash in the cache), one restorer model is loaded at a
time, and every stage output is cached, so a killed run resumes where it stopped.

Scale-out (docs/scaleout.md): an executor (:mod:`bench.scaleout.executors`) decides where
per-image work runs (local processes, or Ray tasks and actors over a shared
cache); ``--shard K/N`` runs one deterministic subset (:mod:`bench.scaleout.shard`) whose
results ``bench merge`` (:mod:`bench.scaleout.merge`) combines.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Optional

from bench import PROTOCOL_VERSION, __version__
from bench.io.cache import Cache, is_url
from bench.io.provenance import environment, git_commit, inputs_digest
from bench.io.runfiles import SCHEMA, write_json, write_jsonl, write_per_image_csv
from bench.pipeline.aggregate import aggregate
from bench.pipeline.preflight import Components, build_components
from bench.pipeline.results import finish_results
from bench.pipeline.stages.degrade import degrade_stage
from bench.pipeline.stages.recognize import recognition_on_crops
from bench.pipeline.stages.restore import restore_stage
from bench.pipeline.stages.score_images import score_stage
from bench.pipeline.stages.score_text import score_text
from bench.pipeline.stages.spot import spot_stage
from bench.pipeline.state import RunState, Scores
from bench.progress import Progress
from bench.records import REFERENCE_ROWS
from bench.scaleout.executors import Executor, make_executor
from bench.scaleout.shard import SampleStream, ShardSpec
from bench.suite import Suite
from bench.textmetrics import TextEvalConfig


@dataclass
class RunOptions:
    """How to run a suite. ``cache_dir`` may be an fsspec URL (``s3://bucket/prefix``);
    ``executor`` is ``local`` or ``ray``; ``shard`` restricts the run to one shard."""

    out_dir: Path
    cache_dir: Optional[Path | str] = None
    limit: Optional[int] = None
    device: str = "auto"
    #: worker processes per stage family, each restorer in a process of its own (``bench run``'s
    #: default is 1); 0 runs everything in this process (library use, tests that patch in-process)
    workers: int = 0
    use_cache: bool = True
    quiet: bool = False
    skip_unavailable: bool = False
    executor: str = "local"
    ray_address: Optional[str] = None
    shard: Optional[ShardSpec] = None
    #: images per restore_batch call for every restorer (None: the suite's ``batch_size``, else the adapter's)
    batch_size: Optional[int] = None
    #: called as ``finish(out_dir, items, cache, progress)`` after the result files are
    #: written and before a throw-away cache is removed (the CLI passes the HTML report
    #: writer here: the pipeline itself never imports the report layer above it)
    finishers: tuple[Callable[..., None], ...] = ()


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible to torch, else ``cpu``. Without a GPU driver
    on the machine torch is not even imported (~0.5 GB resident, which the driver process
    would otherwise carry for the whole run)."""
    if device != "auto":
        return device
    if not _gpu_driver_present():
        return "cpu"
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def _gpu_driver_present() -> bool:
    """An NVIDIA (or ROCm) kernel driver or tool is there, so torch may see a GPU."""
    return (os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/kfd")
            or shutil.which("nvidia-smi") is not None)


def default_cache_dir() -> Path:
    """``$TAIR_BENCH_CACHE``, else ~/.cache/tair-bench/cache."""
    return Path(os.environ.get("TAIR_BENCH_CACHE", Path.home() / ".cache" / "tair-bench" / "cache"))


def default_out_dir(suite: Suite) -> Path:
    """Where a run's files go without ``--out``: the suite's ``output.dir``, else reports/<name>."""
    return Path(suite.output_dir or Path("reports") / suite.name)


def cache_root_for(cache_dir: Optional[Path | str]) -> Path | str:
    """The run's cache: ``--cache-dir`` (a folder, or an fsspec URL kept as a string), else the default."""
    if not cache_dir:
        return default_cache_dir()
    return str(cache_dir) if is_url(str(cache_dir)) else Path(cache_dir)


def write_folders(cache_root: Optional[Path | str], out_dir: Path) -> dict[str, Path | str]:
    """The folders a run writes, by the names preflight gives them (``cache_root`` None: a
    throw-away cache, nothing to check)."""
    folders: dict[str, Path | str] = {"cache folder": cache_root} if cache_root is not None else {}
    return {**folders, "output folder": out_dir}


def run_suite(suite: Suite, opts: RunOptions) -> tuple[dict, Path]:
    """Run a suite end to end; returns the results document and its path."""
    t_start = time.time()
    device = resolve_device(opts.device)
    if opts.limit is not None:
        suite = replace(suite, dataset=replace(suite.dataset, limit=opts.limit))
    progress = Progress(opts.quiet)
    out_dir = Path(opts.out_dir)
    cache_root: Optional[Path | str] = cache_root_for(opts.cache_dir) if opts.use_cache else None
    comps = build_components(suite, device, opts.skip_unavailable, write_folders(cache_root, out_dir))
    tmp_cache = None
    if cache_root is None:
        tmp_cache = cache_root = Path(tempfile.mkdtemp(prefix="tair-bench-nocache-"))
    cache = Cache(cache_root)
    stream = SampleStream(opts.shard)
    executor = None
    try:
        executor = make_executor(opts.executor, opts.workers, opts.ray_address, device)
        state = _run_stages(suite, comps, cache, opts, progress, executor, stream)
        scores = _score(suite, comps, state, cache, device, progress, executor, stream)
        doc, per_image, details = aggregate(suite, comps, state, scores, text_config(suite))
        doc.update(_provenance(device, state, stream))
        doc["run"] = _run_section(t_start, state, cache, progress, executor, opts)
        doc = finish_results(doc, per_image, details)
        path = _write(doc, per_image, details, out_dir, stream)
        for finish in opts.finishers:  # e.g. the HTML report, while the cached images still exist
            finish(out_dir, state.items, cache, progress)
    finally:
        if executor is not None:
            executor.close()
        if tmp_cache is not None:
            shutil.rmtree(tmp_cache, ignore_errors=True)
    return doc, path


@contextmanager
def _timed(state: RunState, name: str) -> Iterator[None]:
    """Add the block's wall time to ``state.stage_seconds[name]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        state.stage_seconds[name] = state.stage_seconds.get(name, 0.0) + time.perf_counter() - t0


def _run_stages(suite: Suite, comps: Components, cache: Cache, opts: RunOptions, progress: Progress,
                executor: Executor, stream: SampleStream) -> RunState:
    """Degrade, restore (each restorer in turn) and spot: the stages that make and read images."""
    t0 = time.perf_counter()
    state = RunState(items=degrade_stage(stream.filter(iter(comps.dataset)), suite.degradation, cache, executor,
                                         progress))
    state.stage_seconds["degrade"] = time.perf_counter() - t0
    specs = {spec.name: spec for spec in suite.restorers}
    for name, (restorer, prompt_source) in comps.restorers.items():
        batch_size = opts.batch_size or (specs[name].batch_size if name in specs else None)
        # a folder of outputs with allow_missing restores only the ids it has (preflight)
        items = state.items if name not in comps.restore_ids else \
            [it for it in state.items if it.id in comps.restore_ids[name]]
        with _timed(state, f"restore:{name}"):
            state.restore_records[name] = restore_stage(executor, name, restorer, prompt_source, cache, items,
                                                        progress, batch_size)
    with _timed(state, "spot"):
        jobs = [(h, it.id) for it in state.items for h in it.outputs.values()]
        state.detections = spot_stage(jobs, comps.spotter_factory, comps.spotter, cache, executor, progress)
    return state


def text_config(suite: Suite) -> TextEvalConfig:
    tm = suite.metrics.text
    return TextEvalConfig(compat=tm.compat, matching=tm.matching, confident_threshold=tm.confident_threshold)


def _score(suite: Suite, comps: Components, state: RunState, cache: Cache, device: str, progress: Progress,
           executor: Executor, stream: SampleStream) -> Scores:
    """Text scores, recognition on GT crops and image metrics of every row."""
    items = state.items
    rows = [r for r in REFERENCE_ROWS if any(r in it.outputs for it in items)] + list(comps.restorers)
    vocabulary = frozenset(stream.vocabulary)  # over all images of the set, also in a shard run
    with _timed(state, "score"):
        text = score_text(items, rows, state.detections, text_config(suite), vocabulary)
    # recognize before the image metrics: it reuses the spotter the spot stage left in each
    # worker, which the metric workers then drop (one stage's models in memory at a time)
    with _timed(state, "recognize"):
        crop, crop_reason = recognition_on_crops(items, rows, comps.spotter, comps.spotter_factory, cache,
                                                 progress, executor)
    with _timed(state, "score"):
        image_values, set_values, info = score_stage(list(comps.metrics), items, rows, cache, executor, progress,
                                                     device)
    return Scores(rows, text, image_values, set_values, crop, crop_reason, info)


def _provenance(device: str, state: RunState, stream: SampleStream) -> dict:
    return {
        "schema": SCHEMA,
        "tair_bench_version": __version__,
        "protocol_version": PROTOCOL_VERSION,
        "git_commit": git_commit(),
        "environment": environment(device),
        "inputs": inputs_digest(state.items),
        **({"shard": stream.describe()} if stream.shard is not None else {}),
    }


def _run_section(t_start: float, state: RunState, cache: Cache, progress: Progress, executor: Executor,
                 opts: RunOptions) -> dict:
    """How this run went: times, cache use, executor (not part of the comparable results)."""
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
        "seconds": round(time.time() - t_start, 3),
        "stage_seconds": {k: round(v, 3) for k, v in state.stage_seconds.items()},
        "stage_items": progress.timings,
        "cache": {"root": str(cache.root), "stages": cache.stats(),
                  # entries that failed their check (bench.io.cache), recomputed and overwritten; the first few
                  "corrupt_recomputed": len(cache.corrupt), "corrupt_entries": cache.corrupt_lines()},
        "restore_seconds_per_image": {
            name: _mean([r.get("seconds") for r in recs]) for name, recs in state.restore_records.items()},
        "executor": {"name": executor.name, "workers": opts.workers, "ray_address": opts.ray_address},
    }


def _mean(vals: list) -> Optional[float]:
    vals = [v for v in vals if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def _write(doc: dict, per_image: list[dict], details: list[dict], out_dir: Path, stream: SampleStream) -> Path:
    """results.json, per_image.csv, text_details.jsonl; a shard also writes
    per_image.jsonl (full-precision values and data set positions, for ``bench merge``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_per_image_csv(out_dir / "per_image.csv", per_image)
    write_jsonl(out_dir / "text_details.jsonl", details)
    if stream.shard is not None:
        write_jsonl(out_dir / "per_image.jsonl",
                    [{**r, "position": stream.positions[r["image_id"]]} for r in per_image])
    path = out_dir / "results.json"
    write_json(path, doc)
    return path
