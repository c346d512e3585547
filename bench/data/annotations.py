"""The SA-Text JSON instance schema, shared by SA-Text full, Real-Text and RealIR.

Schema (cvlab-kaist/TAIR README and ``terediff/dataset/utils.py``)::

    {"<img_id>": {"0": {"text_instances": [
        {"text": "OPEN", "bbox": [x1, y1, x2, y2], "polygon": [[x, y], ... 16 points]},
        ...]}}, ...}

Coordinates are absolute pixels of the image the annotation belongs to. Every
record is validated here; a bad one becomes a :class:`SkippedRecord` naming the
file, the record id and the field (a key path such as
``0.text_instances[2].polygon``), and never stops the others. A file that is not
JSON at all is one :class:`DataError` with line and column.

Image paths are built from record ids, so they are resolved with
:func:`resolve_inside`: an id such as ``../../etc/passwd`` cannot read outside
the data root.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from bench.io.images import decode_image

from ..errors import DataError
from ..records import DONT_CARE, TextInstance
from .base import SkippedRecord, check_polygon, gt_instance

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: TAIR's alphabet filter (``tair_filter: true``): printable ASCII and short words.
TAIR_FILTER_RULE = ("printable ASCII only (codes 32-126) and at most 25 characters; other instances "
                    "become don't-care ('###'), so neither finding nor missing them counts")
TAIR_MAX_CHARS = 25


class AnnotationDoc(dict):
    """A parsed annotation file: ``id -> entry`` (first occurrence kept) plus the
    ids that appeared more than once (``json`` would silently keep the last)."""

    duplicates: list[str]


def load_annotation_json(path: Union[str, Path]) -> AnnotationDoc:
    """Read an annotation file; one clear error for unreadable or malformed JSON."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{p}: annotation file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the annotation file ({exc})") from None

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        dups = []
        for key, value in pairs:
            if key in out:
                dups.append(key)
                continue
            out[key] = value
        doc = AnnotationDoc(out)
        doc.duplicates = dups
        return doc

    try:
        doc = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}; "
                        f"fix or re-download the file") from None
    if not isinstance(doc, AnnotationDoc):
        raise DataError(f"{p}: expected a JSON object mapping image ids to annotations, got {json_type(doc)}")
    return doc


def resolve_inside(root: Union[str, Path], relative: str) -> Optional[Path]:
    """``root/relative`` if it stays inside ``root`` (after ``..`` and symlinks), else None."""
    if not relative or Path(relative).is_absolute() or "\x00" in relative:
        return None
    base = Path(root).resolve()
    target = (base / relative).resolve()
    try:
        target.relative_to(base)
    except ValueError:
        return None
    return target


def find_image(root: Union[str, Path], folder: str, image_id: str) -> Union[Path, str]:
    """The image file for ``image_id`` in ``root/folder``: the id itself if it names
    a file, else the id plus a known extension. Returns the path or why it failed."""
    stem = f"{folder}/{image_id}" if folder else image_id
    first = resolve_inside(root, stem)
    if first is None:
        return f"path '{stem}' escapes the data root {root}"
    if first.suffix.lower() in IMAGE_EXTENSIONS and first.is_file():
        return first
    for ext in IMAGE_EXTENSIONS:
        cand = resolve_inside(root, stem + ext)
        if cand is not None and cand.is_file():
            return cand
    return f"image file missing: no {stem} or {stem}{{{','.join(IMAGE_EXTENSIONS)}}}"


def read_image_file(path: Path, record_id: str, where: str, field: str) -> Union[np.ndarray, SkippedRecord]:
    """Decode an image file, or a skipped record saying why it cannot be used."""
    try:
        return decode_image(path.read_bytes(), str(path))
    except OSError as exc:
        return SkippedRecord(record_id, where, field, f"cannot read {path} ({exc.strerror or exc})", "image")
    except DataError as exc:
        return SkippedRecord(record_id, where, field, f"{path} is truncated or not an image "
                                                      f"({str(exc).split('not a readable image ')[-1]})", "image")


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r:.40})"
    return "an array" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__


def _bbox_problem(bbox: Any) -> Optional[str]:
    """Why a ``bbox`` value is unusable (``[x1,y1,x2,y2]`` or ``[[x1,y1],[x2,y2]]``), or None."""
    if not isinstance(bbox, (list, tuple)):
        return f"expected [x1, y1, x2, y2], got {json_type(bbox)}"
    flat = [v for p in bbox for v in (p if isinstance(p, (list, tuple)) else [p])]
    if len(flat) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
        return f"expected 4 numbers [x1, y1, x2, y2], got {bbox!r:.60}"
    if not all(math.isfinite(v) for v in flat):
        return "bbox has NaN or infinite coordinates"
    return None


def tair_keeps(text: str) -> bool:
    """TAIR's filter: printable ASCII (32-126) and at most 25 characters."""
    return len(text) <= TAIR_MAX_CHARS and all(32 <= ord(c) <= 126 for c in text)


def parse_instances(record_id: str, where: str, entry: Any,
                    tair_filter: bool = False, scale: float = 1.0,
                    counts: Optional[dict] = None) -> Union[list[TextInstance], SkippedRecord]:
    """Validate one record's ``{"0": {"text_instances": [...]}}`` into instances.

    ``scale`` maps the coordinates into the evaluation frame (RealIR annotates the LQ
    image). With ``tair_filter`` words outside TAIR's alphabet become don't-care,
    counted in ``counts["tair_filtered"]`` when ``counts`` is given.

    Only an unreadable record is skipped (:mod:`bench.data.base`): its structure, a text
    that is not a string, a polygon that is not a list of [x, y] numbers or has NaN.
    Empty and blank texts are kept (the official reader reads them as ``""``); polygons
    of any geometry are kept (:func:`~bench.data.base.gt_instance`); an unusable
    ``bbox`` is ignored (no metric uses it), counted in ``counts["bbox_ignored"]``.
    """
    def skip(field: str, reason: str, kind: str = "record") -> SkippedRecord:
        return SkippedRecord(record_id, where, field, reason, kind)

    if not isinstance(entry, dict):
        return skip("(record)", f"expected an object with key \"0\", got {json_type(entry)}")
    if "0" not in entry:
        return skip("0", f"missing key \"0\" (found {', '.join(map(repr, entry)) or 'no keys'})")
    inner = entry["0"]
    if not isinstance(inner, dict):
        return skip("0", f"expected an object with \"text_instances\", got {json_type(inner)}")
    if "text_instances" not in inner:
        return skip("0.text_instances", "missing key")
    items = inner["text_instances"]
    if not isinstance(items, list):
        return skip("0.text_instances", f"expected a list, got {json_type(items)}")
    out = []
    for i, inst in enumerate(items):
        key = f"0.text_instances[{i}]"
        if not isinstance(inst, dict):
            return skip(key, f"expected an object, got {json_type(inst)}")
        text = inst.get("text")
        if not isinstance(text, str):
            return skip(f"{key}.text", f"expected a string, got {json_type(text)}", "text")
        if "polygon" not in inst:
            return skip(f"{key}.polygon", "missing key", "polygon")
        poly = inst["polygon"]
        if not isinstance(poly, list) or not all(isinstance(p, list) for p in poly):
            return skip(f"{key}.polygon", f"expected a list of [x, y] points, got {json_type(poly)}", "polygon")
        problem = check_polygon(poly)
        if problem:
            return skip(f"{key}.polygon", problem[1], problem[0])
        if "bbox" in inst and _bbox_problem(inst["bbox"]) and counts is not None:
            counts["bbox_ignored"] = counts.get("bbox_ignored", 0) + 1
        if tair_filter and text != DONT_CARE and not tair_keeps(text):
            text = DONT_CARE
            if counts is not None:
                counts["tair_filtered"] = counts.get("tair_filtered", 0) + 1
        out.append(gt_instance(np.asarray(poly, dtype=float).reshape(-1, 2) * scale, text))
    return out
