"""Spotting results computed elsewhere (e.g. TESTR, TAIR's own spotter), read from JSON.

Use this to score a spotter that cannot run here: run it where it runs, write
its word-level output in the format below, and name this spotter in the suite
with ``path: <file>``.

File format, version 1 (UTF-8 JSON)::

    {
      "format": "tair-bench-predictions/1",
      "meta": {...},                              # optional, free-form
      "images": {
        "<image_id>": [
          {"polygon": [[x, y], [x, y], ...],      # >= 3 points, pixels of the
                                                  #   image the spotter read
           "text": "Main",                        # one word
           "score": 0.97},                        # confidence in [0, 1]
          ...
        ],
        ...
      }
    }

* ``<image_id>`` is the sample id of the data set (:attr:`bench.records.Sample.id`).
  An image with no detections has an empty list; an id that is not in the file
  is an error (set ``missing: empty`` to read it as no detections instead).
* Each entry needs ``polygon``, ``text`` and ``score``; other keys are ignored.
  Coordinates must be finite numbers. Entries keep their order (the TESTR
  evaluator's greedy matching depends on it: docs/protocol.md, "Matching").
* Entries with ``score < min_score`` are dropped when read, like every spotter.

The file is checked in full when loaded; each error names the file, the image id
and the entry index. :meth:`PredictionsSpotter.version` includes the file's
sha256, so cached results are invalidated when the file changes.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import SpotterError
from ..records import Detection, as_polygon
from .base import Spotter

FORMAT = "tair-bench-predictions/1"
TOP_KEYS = {"format", "images", "meta"}
MISSING_MODES = ("error", "empty")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def parse_entry(entry: Any, where: str) -> Detection:
    """Check one entry and turn it into a :class:`Detection`; ``where`` (file,
    image id, index) starts every error message."""
    if not isinstance(entry, dict):
        raise SpotterError(f"{where}: expected an object with polygon, text and score, got {type(entry).__name__}")
    for key in ("polygon", "text", "score"):
        if key not in entry:
            raise SpotterError(f"{where}: missing key '{key}'")
    poly = entry["polygon"]
    if not isinstance(poly, list) or not all(isinstance(p, list) and len(p) == 2 for p in poly):
        raise SpotterError(f"{where}: 'polygon' must be a list of [x, y] pairs")
    if len(poly) < 3:
        raise SpotterError(f"{where}: 'polygon' needs at least 3 points, got {len(poly)}")
    for k, (x, y) in enumerate(poly):
        if not (_is_number(x) and _is_number(y)):
            raise SpotterError(f"{where}: point {k} of 'polygon' is {[x, y]!r}; coordinates must be finite numbers")
    if not isinstance(entry["text"], str):
        raise SpotterError(f"{where}: 'text' must be a string, got {type(entry['text']).__name__}")
    score = entry["score"]
    if not _is_number(score) or not 0.0 <= score <= 1.0:
        raise SpotterError(f"{where}: 'score' must be a number in [0, 1], got {score!r}")
    return Detection(as_polygon(np.asarray(poly, dtype=float)), entry["text"], float(score))


def parse_predictions(data: Any, path: str) -> dict[str, list[Detection]]:
    """Check a whole predictions document; return image id -> detections."""
    if not isinstance(data, dict):
        raise SpotterError(f"{path}: expected a JSON object with 'format' and 'images'")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise SpotterError(f"{path}: unknown top-level key(s) {unknown}; allowed: {sorted(TOP_KEYS)}")
    if data.get("format") != FORMAT:
        raise SpotterError(f"{path}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    images = data.get("images")
    if not isinstance(images, dict):
        raise SpotterError(f"{path}: 'images' must be an object mapping image id to a list of detections")
    out = {}
    for image_id, entries in images.items():
        if not isinstance(entries, list):
            raise SpotterError(f"{path}: images[{image_id!r}] must be a list of detections, got {type(entries).__name__}")
        out[image_id] = [parse_entry(e, f"{path}: images[{image_id!r}][{i}]") for i, e in enumerate(entries)]
    return out


class PredictionsSpotter(Spotter):
    """Reads detections from a predictions file (format in the module docstring).

    Arguments: ``path`` (the JSON file), ``missing`` (``error``, the default, or
    ``empty``: what an image id absent from the file means).
    """
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "bench.spotters.predictions.PredictionsSpotter"

    code_version = "1"

    def __init__(self, min_score: float = 0.5, device: str = "cpu", path: Optional[str] = None, missing: str = "error", **args: Any):
        super().__init__(min_score, device, path=path, missing=missing, **args)
        if missing not in MISSING_MODES:
            raise SpotterError(f"spotter predictions: 'missing' must be one of {list(MISSING_MODES)}, got {missing!r}")
        self.path = Path(path) if path else None
        self._images: Optional[dict[str, list[Detection]]] = None
        self._sha: Optional[str] = None

    def preflight(self) -> list[str]:
        if self.path is None:
            return ["spotter predictions: argument 'path' is not set -- give the predictions JSON file"]
        if not self.path.is_file():
            return [f"spotter predictions: file {self.path} does not exist -- give the predictions JSON file"]
        try:
            self.load()
        except SpotterError as err:
            return [f"spotter predictions: {err}"]
        return []

    def sha256(self) -> str:
        if self._sha is None:
            self._sha = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return self._sha

    def version(self) -> str:
        digest = self.sha256() if self.path is not None and self.path.is_file() else "missing"
        return f"{super().version()} file={self.path.name if self.path else None} sha256={digest}"

    def load(self) -> None:
        if self._images is not None:
            return
        if self.path is None or not self.path.is_file():
            raise SpotterError(f"spotter predictions: file {self.path} does not exist -- give the predictions JSON file as 'path'")
        raw = self.path.read_bytes()
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SpotterError(f"{self.path}: not valid UTF-8 JSON ({err})") from None
        self._images = parse_predictions(data, str(self.path))
        self._sha = hashlib.sha256(raw).hexdigest()

    def image_ids(self) -> list[str]:
        """Ids present in the file."""
        self.load()
        return list(self._images)

    def spot(self, image: Optional[np.ndarray] = None, image_id: Optional[str] = None) -> list[Detection]:
        """The file's detections for ``image_id`` with ``score >= min_score``; the
        image itself is not looked at."""
        self.load()
        if image_id is None:
            raise SpotterError(f"spotter predictions ({self.path}) needs the image id of each image")
        if image_id not in self._images:
            if self.args["missing"] == "empty":
                return []
            raise SpotterError(
                f"{self.path}: no predictions for image id {image_id!r} -- add it to 'images' "
                f"(an empty list if nothing was detected) or set missing: empty"
            )
        return [d for d in self._images[image_id] if d.score >= self.min_score]
