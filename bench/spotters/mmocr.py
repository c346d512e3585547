"""MMOCR (a text detector + a text recogniser) as a word-level spotter.

Wraps ``mmocr.apis.MMOCRInferencer(det=<config>, det_weights=<.pth>,
rec=<config>, rec_weights=<.pth>)`` (MMOCR 1.x). All four paths are required
and must exist: model *names* would make MMOCR download weights, which this
project never does at run time.

Not runnable in the default environment: ``mmocr`` 1.0.1 installs with
``mmcv-lite``, but its detectors need compiled mmcv ops (``No module named
'mmcv._ext'``), and mmcv 2.0.x does not build against current torch headers
(so they cannot be built here). Use it from a separate environment with a torch
version that mmcv 2.0.x supports (``pip install -U openmim; mim install
mmengine 'mmcv>=2.0.0rc4,<2.1.0' 'mmdet>=3.0.0rc0,<3.1.0'; pip install
mmocr``), or run MMOCR elsewhere and import its results with the
``predictions`` spotter. (Version bounds: ``mmocr/__init__.py`` of MMOCR 1.x.)

MMOCR's detectors trained on ICDAR 2015 / Total-Text are word-level already;
a 4-point result whose text contains spaces is still cut into words with
:mod:`bench.spotters.words`. Score: the recognition score (MMOCR's
``rec_scores``); words with ``score < min_score`` are dropped.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import SpotterError, WeightsMissing
from ..records import Detection, as_polygon
from .base import Spotter
from .words import clockwise, split_line

PATH_ARGS = ("det", "det_weights", "rec", "rec_weights")

NOT_INSTALLABLE = (
    "spotter mmocr: the Python package 'mmocr' (with compiled mmcv ops) is not available -- "
    "it cannot be installed next to the current torch (mmcv 2.0.x does not build against it). "
    "Run MMOCR in a separate environment (torch supported by mmcv 2.0.x; "
    "mim install mmengine 'mmcv>=2.0.0rc4,<2.1.0' 'mmdet>=3.0.0rc0,<3.1.0'; pip install mmocr) "
    "and import its output with the 'predictions' spotter"
)


def _has_compiled_mmcv() -> bool:
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except (ImportError, ValueError):
        return False


def prediction_to_detections(pred: dict, min_score: float) -> list[Detection]:
    """Turn one MMOCR prediction dict (``det_polygons`` as flat ``[x1, y1, x2,
    y2, ...]`` lists, ``rec_texts``, ``rec_scores``) into word detections."""
    out = []
    for flat, text, score in zip(pred.get("det_polygons", []), pred.get("rec_texts", []), pred.get("rec_scores", [])):
        score = float(score)
        text = str(text)
        pts = clockwise(np.asarray(flat, dtype=float).reshape(-1, 2))
        if score < min_score or len(pts) < 3 or not text.strip():
            continue
        if len(pts) == 4 and len(text.split()) > 1:
            out.extend(Detection(w.polygon, w.text, score) for w in split_line(pts, text))
        else:
            out.append(Detection(as_polygon(pts), text.strip(), score))
    return out


class MMOCRSpotter(Spotter):
    """MMOCR det + rec from user-given files: ``det`` and ``rec`` (config
    ``.py`` files), ``det_weights`` and ``rec_weights`` (checkpoints)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "bench.spotters.mmocr.MMOCRSpotter"

    code_version = "1"

    def __init__(
        self,
        min_score: float = 0.5,
        device: str = "cpu",
        det: Optional[str] = None,
        det_weights: Optional[str] = None,
        rec: Optional[str] = None,
        rec_weights: Optional[str] = None,
        **args: Any,
    ):
        super().__init__(min_score, device, det=det, det_weights=det_weights, rec=rec, rec_weights=rec_weights, **args)
        self._infer = None

    def _path_problems(self) -> list[str]:
        problems = []
        for key in PATH_ARGS:
            value = self.args.get(key)
            if not value:
                problems.append(f"spotter mmocr: argument '{key}' is not set -- give the path to the MMOCR {_what(key)}")
            elif not Path(value).is_file():
                problems.append(f"spotter mmocr: {key} file {value} does not exist -- give the path to the MMOCR {_what(key)}")
        return problems

    def preflight(self) -> list[str]:
        problems = []
        if importlib.util.find_spec("mmocr") is None or not _has_compiled_mmcv():
            problems.append(NOT_INSTALLABLE)
        return problems + self._path_problems()

    def version(self) -> str:
        parts = [super().version()]
        for dist in ("mmocr", "mmcv", "mmdet"):
            try:
                parts.append(f"{dist}={metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                pass
        parts += [f"{k}={Path(self.args[k]).name}" for k in PATH_ARGS if self.args.get(k)]
        return " ".join(parts)

    def load(self) -> None:
        for key in PATH_ARGS:
            value = self.args.get(key)
            if value and not Path(value).is_file():
                raise WeightsMissing("spotter mmocr", str(value), f"give the path to the MMOCR {_what(key)} as '{key}'")
        problems = self.preflight()
        if problems:
            raise SpotterError("\n".join(problems))
        from mmocr.apis import MMOCRInferencer

        a = self.args
        self._infer = MMOCRInferencer(
            det=a["det"], det_weights=a["det_weights"], rec=a["rec"], rec_weights=a["rec_weights"], device=self.device
        )

    def _require(self):
        if self._infer is None:
            self.load()
        return self._infer

    def spot(self, image: np.ndarray, image_id: Optional[str] = None) -> list[Detection]:
        bgr = np.ascontiguousarray(np.asarray(image)[..., ::-1])  # MMOCR arrays are BGR (mmcv)
        result = self._require()(bgr, return_vis=False, save_vis=False, save_pred=False, out_dir="")
        return prediction_to_detections(result["predictions"][0], self.min_score)

    def read_word(self, crop: np.ndarray) -> tuple[str, float]:
        """Read one word crop with the recognition model only."""
        rec = self._require().textrec_inferencer
        pred = rec(np.ascontiguousarray(crop[..., ::-1]), progress_bar=False)["predictions"][0]
        return str(pred["text"]), float(pred["scores"])


def _what(key: str) -> str:
    return {
        "det": "detection config (.py)",
        "det_weights": "detection checkpoint (.pth)",
        "rec": "recognition config (.py)",
        "rec_weights": "recognition checkpoint (.pth)",
    }[key]
