"""``bench export``: write exactly what a restorer receives, to run a model elsewhere.

For every image of a suite (after ``--limit``) the degrade stage runs through the run's
stage cache (so an export and a later ``bench run`` share it) and the LQ image a
restorer with ``input_mode: lq`` is given -- the very pixels the restore stage reads
back from the cache -- is written losslessly as ``<id>.png``. ``manifest.json`` holds:

* ``benchmark``: the hash and definition of the benchmark (:mod:`bench.pipeline.benchmark`),
  computed from the suite and the degraded images without restoring or scoring; it equals
  ``benchmark.hash`` of a ``bench run`` of the same suite, ``--set`` and ``--limit``
  (the spotter's and metrics' identities are read from their objects, as a run does;
  nothing is loaded). Where the suite's spotter cannot run here the hash is ``null``
  with the reason, as a run would refuse to start;
* per image: the id, the file, the input (LQ) size, the expected output size (the HQ
  size, which the scorer requires) and the scale;
* the prompts of the sources that need no model: ``none`` (no prompt: ``null``) and
  ``oracle`` (the ground-truth words, formatted as :class:`bench.prompts.OraclePrompt`
  with its default template; ``contains_ground_truth: true``, an upper bound only).
  ``spotted`` and ``caption`` run a model on the LQ image: listed as not exported,
  with the reason.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Sequence

from bench import PROTOCOL_VERSION
from bench.data import open_dataset
from bench.errors import BenchError, PreflightError
from bench.io.cache import Cache, is_url
from bench.io.images import write_png
from bench.io.runfiles import write_json
from bench.pipeline.aggregate import degradation_entry, metric_entries
from bench.pipeline.benchmark import section_for_items
from bench.pipeline.preflight import Components, build_metrics, spotter_factory
from bench.pipeline.runner import default_cache_dir, resolve_device, text_config
from bench.pipeline.stages.degrade import degrade_stage
from bench.pipeline.state import Scores
from bench.progress import Progress
from bench.prompts import DEFAULT_TEMPLATE, OraclePrompt
from bench.records import ImageItem
from bench.scaleout.executors import make_executor
from bench.scaleout.shard import SampleStream
from bench.suite import Suite

MANIFEST = "manifest.json"
#: manifest format version
MANIFEST_VERSION = 1
#: the file name of an image's input, and of the output the scorer expects, in their folders
NAMING = "{id}.png"
#: the prompt sources that need a model, and why they are not exported
NOT_EXPORTED = {
    "spotted": "needs a text spotter (an OCR model) run on the LQ image (the suite's spotter, or the one its prompt names); "
               "bench run computes it",
    "caption": "needs a captioning model (a BLIP-class model from a local folder) run on the LQ image; "
               "bench run computes it",
}


@dataclass
class ExportOptions:
    """How to export a suite's inputs; ``overrides`` (the ``--set`` given) and
    ``cache_dir_given`` only shape the printed scoring command and the manifest."""

    out_dir: Path
    cache_dir: Optional[Path | str] = None
    limit: Optional[int] = None
    device: str = "auto"
    workers: int = 1
    quiet: bool = False
    force: bool = False
    overrides: tuple[str, ...] = ()


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse a file, or a non-empty folder unless ``force`` (files of the same names are then replaced)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BenchError(f"{out_dir}: exists and is not a folder -- give bench export a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise BenchError(f"{out_dir}: folder exists and is not empty -- give an empty or new folder, or pass "
                         f"--force to write into it (files of the same names are replaced, others kept)")


def _check_id(image_id: str) -> None:
    if not image_id or image_id in (".", "..") or "/" in image_id or "\\" in image_id or "\0" in image_id:
        raise BenchError(f"image id {image_id!r}: cannot be a file name (<id>.png), so it cannot be exported")


def _cache(opts: ExportOptions) -> Cache:
    """The run's cache: ``--cache-dir`` (a folder or an fsspec URL), else bench run's default."""
    if not opts.cache_dir:
        return Cache(default_cache_dir())
    return Cache(str(opts.cache_dir) if is_url(str(opts.cache_dir)) else Path(opts.cache_dir))


def benchmark_for_export(suite: Suite, components: Components, items: Sequence[ImageItem]) -> dict:
    """The ``benchmark`` section a run of ``suite`` over ``items`` writes, computed without
    restoring or scoring: the sections it is defined from are built as
    :func:`bench.pipeline.aggregate.aggregate` builds them (the metric definitions from the
    metric objects, the spotter's version and settings from the spotter object). Scores
    only add what the definition leaves out (metric availability and info)."""
    doc = {
        "protocol_version": PROTOCOL_VERSION,
        "data": components.dataset.describe(),
        "degradation": degradation_entry(suite),
        "spotter": {"name": suite.spotter.name, "version": components.spotter.version(),
                    "config": components.spotter.config(), "min_score": suite.spotter.min_score},
        "text_eval": {**text_config(suite).to_dict(), "headline": suite.metrics.text.headline},
        "metrics": metric_entries(components, Scores(rows=[], text={}, image_values={}, set_values={})),
    }
    return section_for_items(doc, items)


def _spotter(suite: Suite, device: str) -> tuple[Any, Any, Optional[str]]:
    """(factory, spotter, None) or (factory, None, why the spotter cannot run here)."""
    factory = spotter_factory(suite, device)
    try:
        spotter = factory.build()
    except (BenchError, TypeError) as exc:
        return factory, None, str(exc)
    problems = list(spotter.preflight())
    return (factory, None, "; ".join(problems)) if problems else (factory, spotter, None)


def prompts_of(item: ImageItem) -> dict:
    """The prompts of the sources that need no model, for one image."""
    oracle, info = OraclePrompt().prompt(item, None)  # reads only the GT words (item.instances)
    return {"none": {"prompt": None, "contains_ground_truth": False},
            "oracle": {"prompt": oracle, "words": info["words"], "contains_ground_truth": True}}


def score_command(suite_path: str, opts: ExportOptions, name: str = "NAME", outputs: str = "OUTPUT_DIR") -> str:
    """The ``bench run`` line that scores outputs made from this export (same suite, ``--set``, ``--limit``)."""
    parts = ["python", "-m", "bench", "run", suite_path]
    for override in opts.overrides:
        parts += ["--set", override]
    if opts.limit is not None:
        parts += ["--limit", str(opts.limit)]
    if opts.cache_dir:
        parts += ["--cache-dir", str(opts.cache_dir)]
    return " ".join(shlex.quote(p) for p in parts) + f" --outputs {name}={outputs}"


def _degraded_items(suite: Suite, opts: ExportOptions, cache: Cache, progress: Progress) -> tuple[Any, list]:
    """The suite's data set and its items, degraded through ``cache`` as ``bench run`` does."""
    dataset = open_dataset(suite.dataset, suite.degradation)
    problems = [f"data: {p}" for p in dataset.preflight()]
    if problems:
        raise PreflightError(problems)
    executor = make_executor("local", opts.workers)
    try:
        items = degrade_stage(SampleStream().filter(iter(dataset)), suite.degradation, cache, executor, progress)
    finally:
        executor.close()
    for item in items:
        _check_id(item.id)
    return dataset, items


def _benchmark(suite: Suite, dataset: Any, items: list, device: str) -> dict:
    """The benchmark hash and definition a run of this suite will record, or why there is none."""
    factory, spotter, spotter_problem = _spotter(suite, device)
    if spotter is None:
        return {"hash": None, "reason": f"the suite's spotter '{suite.spotter.name}' cannot run here "
                                        f"({spotter_problem}), so neither can bench run; its version "
                                        f"is part of the benchmark"}
    components = Components(dataset, {}, {}, spotter, factory, tuple(build_metrics(suite.metrics.image)))
    section = benchmark_for_export(suite, components, items)
    return {"hash": section["hash"], "definition": section["definition"]}


def _write_inputs(items: list, cache: Cache, out_dir: Path, scale: int, progress: Progress) -> list[dict]:
    """One ``<id>.png`` per item (its LQ image) and the manifest's per-image entries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for item in progress.bar(items, "export", total=len(items)):
        lq = cache.get_image(item.lq)
        name = NAMING.format(id=item.id)
        write_png(out_dir / name, lq)
        images.append({"id": item.id, "file": name, "input_size": [int(lq.shape[1]), int(lq.shape[0])],
                       "output_size": [int(item.size[0]), int(item.size[1])], "scale": scale,
                       "prompts": prompts_of(item)})
    return images


def _manifest(suite: Suite, opts: ExportOptions, benchmark: dict, images: list[dict], skipped: list) -> dict:
    return {
        "manifest_version": MANIFEST_VERSION,
        "suite": {"name": suite.name, "path": suite.path, "hash": suite.content_hash(),
                  "overrides": list(opts.overrides), "limit": opts.limit},
        "benchmark": benchmark,
        "degradation": degradation_entry(suite),
        "input": {"mode": "lq", "naming": NAMING, "format": "PNG, RGB 8-bit, lossless",
                  "note": "the LQ image a restorer with input_mode 'lq' receives; a restorer with input_mode "
                          "'upsampled' receives it resized to output_size with PIL bicubic"},
        "output": {"naming": NAMING, "size": "each image's output_size (width, height): the HQ size",
                   "score": score_command(os.fspath(suite.path), opts)},
        "prompt_sources": {
            "none": {"exported": True, "note": "no prompt (null): the restorer runs unconditioned"},
            "oracle": {"exported": True, "contains_ground_truth": True, "template": DEFAULT_TEMPLATE,
                       "version": OraclePrompt().version(),
                       "note": "the ground-truth words ('###' left out): an upper bound only, never a headline"},
            **{name: {"exported": False, "reason": reason} for name, reason in NOT_EXPORTED.items()},
        },
        "n_images": len(images),
        "skipped_records": [s.message() for s in skipped],
        "images": images,
    }


def export_suite(suite: Suite, opts: ExportOptions) -> tuple[dict, Path]:
    """Degrade (through the cache), write one ``<id>.png`` per image and ``manifest.json``
    into ``opts.out_dir``; returns the manifest and its path."""
    out_dir = Path(opts.out_dir)
    check_out_dir(out_dir, opts.force)
    if opts.limit is not None:
        suite = replace(suite, dataset=replace(suite.dataset, limit=opts.limit))
    cache, progress = _cache(opts), Progress(opts.quiet)
    dataset, items = _degraded_items(suite, opts, cache, progress)
    benchmark = _benchmark(suite, dataset, items, resolve_device(opts.device))
    images = _write_inputs(items, cache, out_dir, suite.degradation.scale, progress)
    manifest = _manifest(suite, opts, benchmark, images, dataset.skipped)
    path = out_dir / MANIFEST
    write_json(path, manifest)
    return manifest, path
