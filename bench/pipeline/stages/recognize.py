"""Recognition on ground-truth crops, decoupled from detection.

For every row image, each cared GT word (not ``###``) is cut out as a rectified
crop of its polygon (:func:`bench.textmetrics.rectified_crop`) and read by the
suite spotter's recognizer alone (:meth:`bench.spotters.base.Spotter.recognize`).
A restorer that smears letters is then caught even where the detector would
miss the word. Reads are cached per (spotter version + config, image hash,
polygons). Scores pool all words of a row (:func:`recognition_scores`).
"""

from __future__ import annotations

from typing import Optional

from bench.io.cache import Cache, stage_key
from bench.pipeline.stages.spot import WORKER_FAMILY, init_worker, registered, worker_spotter
from bench.records import ImageItem
from bench.scaleout.executors.local import LocalExecutor
from bench.scaleout.worker import stage_state
from bench.textmetrics import recognition_scores, rectified_crop

STAGE = "recognize"

#: exact definitions, copied into results.json
CROP_METRIC_DEFINITIONS = {
    "crop_n": "Number of cared GT words (not ###) read from their rectified GT-polygon crops, summed over images.",
    "crop_word_accuracy": "Recognition on GT crops (no detection involved): share of cared GT words whose crop "
                          "the spotter's recognizer reads exactly as the GT word, case-insensitive.",
    "crop_cer": "Recognition on GT crops: sum of Levenshtein distances (upper-cased) / sum of GT word lengths.",
    "crop_one_minus_ned": "Recognition on GT crops: mean over words of 1 - Levenshtein / max(len(gt), len(read)), "
                          "upper-cased.",
}
CROP_HIGHER_IS_BETTER = {"crop_word_accuracy": True, "crop_cer": False, "crop_one_minus_ned": True}
#: images per call to a worker (amortises the call overhead of remote actors)
READ_BATCH = 4


def crop_key(version: str, config: dict, image_hash: str, polygons: list) -> str:
    """The cache key of one image's crop reads: spotter version and config over the image
    hash and the cared GT polygons."""
    return stage_key(STAGE, version, config, {"image": image_hash, "polygons": polygons})


def _cared_polygons(item: ImageItem) -> list:
    return [list(map(list, w.polygon)) for w in item.instances if not w.dont_care]


def _read_one(job: tuple[str, str, list]) -> tuple[str, list]:
    """Worker: read the crops of one image with this worker's spotter; cache and return them."""
    key, image_hash, polygons = job
    state = stage_state(WORKER_FAMILY)
    cache: Cache = state["cache"]
    image = cache.get_image(image_hash)
    reads = worker_spotter().recognize([rectified_crop(image, p) for p in polygons])
    out = [[str(t), float(s)] for t, s in reads]
    cache.put(STAGE, key, {"reads": out})
    return key, out


def crop_scores(pairs: list) -> dict:
    """The ``crop_*`` metrics of a list of (GT word, read word) pairs."""
    s = recognition_scores([tuple(p) for p in pairs], case_sensitive=False)
    return {"crop_n": s["n"], "crop_word_accuracy": s["word_accuracy"], "crop_cer": s["cer"],
            "crop_one_minus_ned": s["one_minus_ned"]}


def recognition_on_crops(items: list[ImageItem], rows: list[str], key_spotter, factory, cache: Cache,
                         progress, executor=None) -> tuple[dict, Optional[str]]:
    """``({row: {image_id: [(GT word, read word), ...]}}, None)``, or ``({}, reason)``
    when the spotter has no separate recognizer. Pairs are kept per image so that
    shards can be merged by re-pooling them (:func:`crop_scores`).

    Reads missing from the cache run on ``executor`` (:mod:`bench.scaleout.executors`),
    one job per distinct (image, polygons), with the spotter ``factory`` builds in each
    worker (the one the spot stage loaded, when it ran in the same process);
    ``key_spotter`` gives the cache keys and is never loaded here."""
    if not key_spotter.has_recognizer():
        return {}, f"spotter {type(key_spotter).__name__} has no separate recognizer (Spotter.recognize)"
    version, config = key_spotter.version(), key_spotter.config()
    todo = [(it, row) for it in items if it.has_annotations for row in rows if row in it.outputs]
    keys = {}
    for item, row in todo:
        polygons = _cared_polygons(item)
        if polygons:
            keys[(item.outputs[row], item.id)] = (crop_key(version, config, item.outputs[row], polygons), polygons)
    reads: dict[str, list] = {}
    jobs, seen = [], set()
    for (image_hash, _), (key, polygons) in keys.items():
        if key in seen:  # an image shared by two rows (bicubic and LQ) is read once
            continue
        seen.add(key)
        rec = cache.get(STAGE, key)
        if rec is not None:
            reads[key] = rec["reads"]
        else:
            jobs.append((key, image_hash, polygons))
    if jobs:
        if executor is None:
            own = LocalExecutor(0)
            try:
                return recognition_on_crops(items, rows, key_spotter, factory, cache, progress, own)
            finally:
                own.close()
        initargs = (factory, str(cache.root), registered(factory.name))
        results = executor.map_actors(_read_one, jobs, init_worker, initargs, READ_BATCH, family=WORKER_FAMILY)
        for key, out in progress.bar(results, "recognize", total=len(jobs)):
            reads[key] = out
    pairs: dict[str, dict[str, list]] = {r: {} for r in rows}
    for item, row in todo:
        words = [i.text for i in item.instances if not i.dont_care]
        entry = keys.get((item.outputs[row], item.id))
        got = reads[entry[0]] if entry is not None else []
        pairs[row][item.id] = [[gt, read[0]] for gt, read in zip(words, got)]
    return pairs, None
