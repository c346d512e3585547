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
from bench.records import ImageItem

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


def _read_crops(spotter, cache: Cache, image_hash: str, item: ImageItem) -> Optional[list]:
    """The recognizer's (text, score) for each cared GT word of one image."""
    from bench.textmetrics import rectified_crop

    words = [i for i in item.instances if not i.dont_care]
    if not words:
        return []
    key = stage_key(STAGE, spotter.version(), spotter.config(),
                    {"image": image_hash, "polygons": [list(map(list, w.polygon)) for w in words]})
    rec = cache.get(STAGE, key)
    if rec is not None:
        return rec["reads"]
    image = cache.get_image(image_hash)
    reads = spotter.recognize([rectified_crop(image, w.polygon) for w in words])
    out = [[str(t), float(s)] for t, s in reads]
    cache.put(STAGE, key, {"reads": out})
    return out


def crop_scores(pairs: list) -> dict:
    """The ``crop_*`` metrics of a list of (GT word, read word) pairs."""
    from bench.textmetrics import recognition_scores

    s = recognition_scores([tuple(p) for p in pairs], case_sensitive=False)
    return {"crop_n": s["n"], "crop_word_accuracy": s["word_accuracy"], "crop_cer": s["cer"],
            "crop_one_minus_ned": s["one_minus_ned"]}


def recognition_on_crops(items: list[ImageItem], rows: list[str], spotter, cache: Cache,
                         progress) -> tuple[dict, Optional[str]]:
    """``({row: {image_id: [(GT word, read word), ...]}}, None)``, or ``({}, reason)``
    when the spotter has no separate recognizer. Pairs are kept per image so that
    shards can be merged by re-pooling them (:func:`crop_scores`)."""
    if not spotter.has_recognizer():
        return {}, f"spotter {type(spotter).__name__} has no separate recognizer (Spotter.recognize)"
    pairs: dict[str, dict[str, list]] = {r: {} for r in rows}
    todo = [(it, row) for it in items if it.has_annotations for row in rows if row in it.outputs]
    loaded = False
    for item, row in progress.bar(todo, "recognize", total=len(todo)):
        if not loaded:
            spotter.load()
            loaded = True
        reads = _read_crops(spotter, cache, item.outputs[row], item)
        words = [i.text for i in item.instances if not i.dont_care]
        pairs[row][item.id] = [[gt, read[0]] for gt, read in zip(words, reads)]
    return pairs, None
