"""The report gallery: the images where the rows disagree most, side by side.

For each chosen image: every row's image (LQ, each restorer, HQ) with the GT
polygons and the spotter's detections drawn, and for the GT words the rows read
differently, a crop of each row's pixels with the read word (differing characters
highlighted, confidently-wrong readings flagged). Images come from the stage
cache by content hash; without the cache only the words are shown.

The gallery of words read (:func:`build_read_gallery`, for sets without annotations):
for each chosen image, every row's image with the polygons of the words it reads, and
a crop of each word read (``text_details.jsonl`` ``read``: the words the text statistics
count) with the word and its score.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from markupsafe import Markup

from bench.io.images import read_image, save_pil
from bench.io.runfiles import finite_or_none

from .rundata import RunData, load_ground_truth
from .textdiff import diff_markup, word_html

SPREAD_METRIC = "e2e_none_hmean"  # per-image column of per_image.csv used to rank images
READ_SPREAD_METRIC = "read_words"  # ranks the images of the gallery of words read
READ_COLOR = (255, 150, 0)
CROP_BOX = (480, 96)  # word crops are downscaled to fit this (width, height) box
GT_COLOR, DONT_CARE_COLOR = (0, 200, 0), (150, 150, 150)
DET_COLORS = {"correct": (30, 110, 255), "wrong": (230, 30, 30), "unpaired": (255, 150, 0)}
MAX_SIDE = 1024  # annotated panels are downscaled to this for the page


@dataclass
class Panel:
    row: str
    src: Optional[str]  # relative path of the annotated image, None without the cache
    values: dict[str, Optional[float]]


@dataclass
class Cell:
    row: str
    src: Optional[str]
    zoom_id: str
    gt_html: Markup
    pred_html: Markup
    status: str  # correct / wrong / missed
    confident: bool
    score: Optional[float]


@dataclass
class WordRow:
    gt_text: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class GalleryImage:
    image_id: str
    spread: Optional[float]
    panels: list[Panel] = field(default_factory=list)
    words: list[WordRow] = field(default_factory=list)


def select_images(per_image: list[dict], rows: list[str], k: int,
                  metric: str = SPREAD_METRIC) -> list[tuple[str, float]]:
    """The ``k`` image ids with the largest spread (max - min over rows) of ``metric``,
    ties broken by image id."""
    by_image: dict[str, list[float]] = {}
    for r in per_image:
        v = finite_or_none(r.get(metric))
        if r.get("row") in rows and v is not None:
            by_image.setdefault(str(r["image_id"]), []).append(v)
    spreads = [(i, max(v) - min(v)) for i, v in by_image.items()]
    return sorted(spreads, key=lambda t: (-t[1], t[0]))[:k]


def _name(*parts: str) -> str:
    """A file-system-safe asset name (ids can hold any character)."""
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:16]


def _draw(img, gt: list[dict], dets: Optional[list[dict]], det_status: dict[int, str]):
    from PIL import Image, ImageDraw

    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    width = max(2, round(max(pil.size) / 400))
    for inst in gt:
        pts = [tuple(p) for p in inst["polygon"]]
        if len(pts) >= 3:
            draw.polygon(pts, outline=DONT_CARE_COLOR if inst["text"] == "###" else GT_COLOR, width=width)
    for k, d in enumerate(dets or []):
        pts = [tuple(p) for p in d["polygon"]]
        if len(pts) >= 3:
            draw.line(pts + [pts[0]], fill=DET_COLORS[det_status.get(k, "unpaired")], width=width)
    return pil


def _bbox(poly: list, size: tuple[int, int], margin: float = 0.25) -> Optional[tuple[int, int, int, int]]:
    """The crop box ``(x0, y0, x1, y1)`` of a polygon (padded by ``margin`` of its height, at
    least 4 px) clipped to the image of ``size`` (width, height), or None when no pixel of the
    padded box is in the image (a GT polygon wholly outside it: evaluated as given, no crop)."""
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    pad = max(4.0, margin * max(max(ys) - min(ys), 1.0))
    x0, y0 = max(0, math.floor(min(xs) - pad)), max(0, math.floor(min(ys) - pad))
    x1, y1 = min(size[0], math.ceil(max(xs) + pad)), min(size[1], math.ceil(max(ys) + pad))
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _outside_note(words: list[str]) -> str:
    shown = ", ".join(repr(w) for w in words[:3]) + (f" and {len(words) - 3} more" if len(words) > 3 else "")
    return (f"{len(words)} GT word crop(s) not shown: the polygon lies outside its image ({shown}); "
            "such words are evaluated as given (docs/protocol.md)")


def _reading(detail: Optional[dict], gt_index: int, threshold: float) -> tuple[str, str, bool, Optional[float]]:
    """How one row read one GT word: (status, predicted text, confidently wrong, score)."""
    for p in (detail or {}).get("pairs", []):
        if p["gt_index"] == gt_index and (p.get("correct") or {}).get("e2e_none") is not None:
            ok = bool(p["correct"]["e2e_none"])
            return ("correct" if ok else "wrong"), p["pred_text"], (not ok) and p["score"] >= threshold, p["score"]
    return "missed", "", False, None


def _det_status(detail: Optional[dict]) -> dict[int, str]:
    out: dict[int, str] = {}
    for p in (detail or {}).get("pairs", []):
        ok = (p.get("correct") or {}).get("e2e_none")
        if ok is not None:
            out[p["det_index"]] = "correct" if ok else "wrong"
    return out


def build_gallery(data: RunData, assets: Path, k: int = 4, max_words: int = 6) -> tuple[list[GalleryImage], list[str]]:
    """Pick the ``k`` most disputed images and write their annotated panels and word
    crops under ``assets``; returns the gallery and notes for the report."""

    doc, notes = data.doc, []
    rows = doc["rows"]
    chosen = select_images(data.per_image, rows, k)
    if not chosen:
        return [], ["no per-image text scores: gallery left out"]
    gt, note = load_ground_truth(data, {i for i, _ in chosen})
    if note:
        notes.append(note)
    threshold = float(doc.get("text_eval", {}).get("confident_threshold", 0.9))
    details = {(str(d["image_id"]), d["row"]): d for d in data.details}
    hashes = {(str(r["image_id"]), r["row"]): r.get("image") for r in data.per_image}
    value_keys = [m for m in ("psnr", SPREAD_METRIC) if any(m in r for r in data.per_image)]
    rel = assets.name
    out, outside = [], []
    for image_id, spread in chosen:
        entry = GalleryImage(image_id, spread)
        instances = gt.get(image_id, [])
        pixels = {}
        for row in rows:
            h = hashes.get((image_id, row))
            src = None
            path = data.image_path(h) if h else None
            if path is not None:
                img = read_image(path)
                pixels[row] = img
                dets = data.detections(h, image_id)
                pil = _draw(img, instances, dets, _det_status(details.get((image_id, row))))
                pil.thumbnail((MAX_SIDE, MAX_SIDE))
                name = f"{_name(image_id, row)}.jpg"
                save_pil(pil, assets / name, quality=88)
                src = f"{rel}/{name}"
            rec = next((r for r in data.per_image if str(r["image_id"]) == image_id and r["row"] == row), {})
            entry.panels.append(Panel(row, src, {m: finite_or_none(rec.get(m)) for m in value_keys}))
        entry.words = _words(image_id, rows, instances, details, pixels, threshold, assets, max_words, outside)
        out.append(entry)
    if outside:
        notes.append(_outside_note(list(dict.fromkeys(outside))))
    if data.cache_root is None:
        notes.append("images are not shown: the stage cache is not available")
    return out, notes


def _words(image_id, rows, instances, details, pixels, threshold, assets: Path, max_words: int,
           outside: Optional[list[str]] = None) -> list[WordRow]:
    """GT words the rows read differently (then the rest), with per-row crops; a word whose
    polygon lies outside the image gets no crop and is appended to ``outside`` (once per row)."""
    outside = [] if outside is None else outside
    from PIL import Image

    cared = [(g, inst) for g, inst in enumerate(instances) if inst["text"] != "###"]
    if not cared:  # no GT polygons on hand: fall back to the words in the details
        d0 = next((details[(image_id, r)] for r in rows if (image_id, r) in details), None)
        seen = {}
        for p in (d0 or {}).get("pairs", []):
            seen.setdefault(p["gt_index"], {"text": p["gt_text"], "polygon": None})
        cared = sorted(seen.items())
    readings = {g: {row: _reading(details.get((image_id, row)), g, threshold) for row in rows} for g, _ in cared}
    disputed = sorted(cared, key=lambda t: (-len({s for s, *_ in readings[t[0]].values()}),
                                            -sum(s != "correct" for s, *_ in readings[t[0]].values()), t[0]))
    out = []
    for g, inst in disputed[:max_words]:
        word = WordRow(inst["text"])
        for row in rows:
            status, pred, confident, score = readings[g][row]
            src = None
            if inst.get("polygon") and row in pixels:
                img = pixels[row]
                box = _bbox(inst["polygon"], (img.shape[1], img.shape[0]))
                if box is None:
                    outside.append(f"{image_id}: {inst['text']}")
                else:
                    x0, y0, x1, y1 = box
                    name = f"{_name(image_id, row, str(g))}.png"
                    save_pil(Image.fromarray(img[y0:y1, x0:x1]), assets / name)
                    src = f"{assets.name}/{name}"
            if status == "missed":
                gt_html, pred_html = word_html(inst["text"]), Markup('<span class="empty">(not read)</span>')
            else:
                gt_html, pred_html = diff_markup(inst["text"], pred)
            word.cells.append(Cell(row, src, f"z{_name(image_id, row, str(g))}", gt_html, pred_html, status,
                                   confident, score))
        out.append(word)
    return out


# -- the gallery of words read -------------------------------------------------------------------

@dataclass
class ReadWord:
    text: str
    score: Optional[float]
    src: Optional[str]
    zoom_id: str


@dataclass
class ReadRow:
    row: str
    src: Optional[str]  # the row's image with the polygons of its words read
    n_words: int
    words: list[ReadWord] = field(default_factory=list)


@dataclass
class ReadImage:
    image_id: str
    rows: list[ReadRow] = field(default_factory=list)


def wants_read_gallery(data: RunData) -> bool:
    """Whether the report shows the gallery of words read: some image of the run has no
    annotations (its ``text_details`` record says ``"annotated": false``)."""
    return any(d.get("annotated") is False for d in data.details)


def build_read_gallery(data: RunData, assets: Path, k: int = 4,
                       max_words: int = 12) -> tuple[list[ReadImage], list[str]]:
    """The words each row reads on ``k`` images (those whose rows read the most different
    numbers of words, ties by image id): per row its image with the polygons of the
    words read and up to ``max_words`` crops (highest score first) with word and score."""
    from PIL import Image

    rows = data.doc["rows"]
    read = {(str(d["image_id"]), d["row"]): d["read"] for d in data.details if "read" in d}
    if not read:
        return [], ["no words read in text_details.jsonl (a run before they were recorded): "
                    "gallery of words read left out"]
    unannotated = {str(d["image_id"]) for d in data.details if d.get("annotated") is False}
    candidates = [r for r in data.per_image if str(r.get("image_id")) in unannotated]
    chosen = [i for i, _ in select_images(candidates, rows, k, READ_SPREAD_METRIC)]
    if len(chosen) < k:  # no per-image counts (older per_image.csv): the first images by id
        chosen += sorted(unannotated - set(chosen))[:k - len(chosen)]
    hashes = {(str(r["image_id"]), r["row"]): r.get("image") for r in data.per_image}
    out = []
    for image_id in chosen:
        entry = ReadImage(image_id)
        for row in rows:
            if (image_id, row) not in read:
                continue
            words = read[(image_id, row)]
            h = hashes.get((image_id, row))
            path = data.image_path(h) if h else None
            img = read_image(path) if path is not None else None
            src = None
            if img is not None:
                pil = _draw(img, [], words, {})
                pil.thumbnail((MAX_SIDE, MAX_SIDE))
                name = f"{_name(image_id, row, 'read')}.jpg"
                save_pil(pil, assets / name, quality=88)
                src = f"{assets.name}/{name}"
            line = ReadRow(row, src, len(words))
            ranked = sorted(enumerate(words), key=lambda t: (-float(t[1].get("score") or 0.0), t[0]))
            for j, w in ranked[:max_words]:
                crop_src = None
                box = _bbox(w["polygon"], (img.shape[1], img.shape[0])) \
                    if img is not None and len(w.get("polygon") or []) >= 3 else None
                if box is not None:
                    x0, y0, x1, y1 = box
                    crop = Image.fromarray(img[y0:y1, x0:x1])
                    crop.thumbnail(CROP_BOX)
                    name = f"{_name(image_id, row, 'read', str(j))}.png"
                    save_pil(crop, assets / name)
                    crop_src = f"{assets.name}/{name}"
                line.words.append(ReadWord(w.get("text", ""), finite_or_none(w.get("score")), crop_src,
                                           f"r{_name(image_id, row, 'read', str(j))}"))
            entry.rows.append(line)
        out.append(entry)
    notes = []
    if data.cache_root is None and out:
        notes.append("word crops are not shown: the stage cache is not available")
    return out, notes
