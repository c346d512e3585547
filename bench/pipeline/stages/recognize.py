"""Recognition on ground-truth crops, decoupled from detection.

For every row image, each cared GT word (not ``###``) is cut out as a rectified
crop of its polygon (:func:`bench.textmetrics.rectified_crop`) and read by the
suite spotter's recognizer alone (:meth:`bench.spotters.base.Spotter.recognize`).
A restorer that smears letters is then caught even where the detector would
miss the word. Reads are cached per (spotter version + config, image hash,
polygons). Scores pool all words of a row (:func:`bench.textmetrics.crop_scores`).
"""

from __future__ import annotations

from typing import Any, Optional

from bench.io.cache import Cache, stage_key
from bench.pipeline.stages.cached_map import Entry, StageWork, cached_map
from bench.pipeline.stages.spot import WORKER_FAMILY, setup_spotter, spotter_setup_args, worker_spotter
from bench.records import ImageItem
from bench.spotters.base import Spotter

# crop_* (definitions, directions, scoring) live in the text metric table; re-exported for older imports
from bench.textmetrics import rectified_crop

STAGE = "recognize"

#: images per call to a worker (amortises the call overhead of remote actors)
READ_BATCH = 4


def crop_key(version: str, config: dict, image_hash: str, polygons: list) -> str:
    """The cache key of one image's crop reads: spotter version and config over the image
    hash and the cared GT polygons."""
    return stage_key(STAGE, version, config, {"image": image_hash, "polygons": polygons})


def _cared_polygons(item: ImageItem) -> list:
    return [list(map(list, w.polygon)) for w in item.instances if not w.dont_care]


def _read_crops(state: dict, payload: tuple[str, list], entries: tuple) -> list[dict]:
    """Worker: read the crops of one image with this worker's spotter; its record."""
    image_hash, polygons = payload
    image = state["cache"].get_image(image_hash)
    reads = worker_spotter(state).recognize([rectified_crop(image, p) for p in polygons])
    return [{"reads": [[str(t), float(s)] for t, s in reads]}]


def recognition_on_crops(items: list[ImageItem], rows: list[str], key_spotter: Spotter, factory: Any,
                         cache: Cache, progress: Any, executor: Any) -> tuple[dict, Optional[str]]:
    """``({row: {image_id: [(GT word, read word), ...]}}, None)``, or ``({}, reason)``
    when the spotter has no separate recognizer. Pairs are kept per image so that
    shards can be merged by re-pooling them (:func:`bench.textmetrics.crop_scores`).

    Reads missing from the cache run on ``executor`` (:mod:`bench.scaleout.executors`),
    one job per distinct (image, polygons), with the spotter ``factory`` builds in each
    worker (the one the spot stage loaded, when it ran in the same process);
    ``key_spotter`` gives the cache keys and is never loaded here."""
    if not key_spotter.has_recognizer():
        return {}, f"spotter {type(key_spotter).__name__} has no separate recognizer (Spotter.recognize)"
    version, config = key_spotter.version(), key_spotter.config()
    todo = [(it, row) for it in items if it.has_annotations for row in rows if row in it.outputs]
    entries: dict[tuple[str, str], Entry] = {}
    jobs = []
    for item, row in todo:
        polygons = _cared_polygons(item)
        if polygons and (item.outputs[row], item.id) not in entries:
            entry = Entry(STAGE, crop_key(version, config, item.outputs[row], polygons))
            entries[(item.outputs[row], item.id)] = entry
            jobs.append(((entry,), (item.outputs[row], polygons)))
    work = StageWork("recognize", WORKER_FAMILY, setup_spotter, _read_crops, spotter_setup_args(factory),
                     READ_BATCH)
    reads = cached_map(work, jobs, cache, executor, progress).records
    pairs: dict[str, dict[str, list]] = {r: {} for r in rows}
    for item, row in todo:
        words = [i.text for i in item.instances if not i.dont_care]
        entry = entries.get((item.outputs[row], item.id))
        got = reads[entry]["reads"] if entry is not None else []
        pairs[row][item.id] = [[gt, read[0]] for gt, read in zip(words, got)]
    return pairs, None
