"""Tesseract as a word-level spotter, through ``pytesseract``.

Tesseract reports word boxes itself (``image_to_data``, level 5), so no line
splitting is needed. Boxes are axis-aligned rectangles, written as clockwise
quads. Score: Tesseract's word confidence (0-100) divided by 100; words with
``score < min_score`` are dropped, as are entries with no text (Tesseract gives
block/line rows and empty words confidence -1).

Page segmentation defaults to ``--psm 11`` ("sparse text: find as much text as
possible in no particular order", ``tesseract --help-psm``), which suits scene
text better than the default page layout analysis; set ``psm`` to change it.
Tesseract is fast but weak on scene text: a baseline,
not the default spotter.

Needs the Debian packages ``tesseract-ocr tesseract-ocr-eng`` (or another
binary given as ``cmd``) and the pip package ``pytesseract``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from ..errors import SpotterError
from ..records import Detection
from .base import Spotter

APT_HINT = "apt-get install -y tesseract-ocr tesseract-ocr-eng (Debian/Ubuntu), or pass cmd=<path to tesseract>"


def rect_quad(left: float, top: float, width: float, height: float):
    """Axis-aligned box as a clockwise quad (image coordinates)."""
    r, b = left + width, top + height
    return ((float(left), float(top)), (float(r), float(top)), (float(r), float(b)), (float(left), float(b)))


def words_from_data(data: dict) -> list[tuple[tuple, str, float]]:
    """``(quad, text, score)`` for every non-empty word row of an
    ``image_to_data(..., output_type=DICT)`` result; score = conf / 100."""
    out = []
    for i, text in enumerate(data.get("text", [])):
        text = (text or "").strip()
        conf = float(data["conf"][i])
        if int(data["level"][i]) != 5 or not text or conf < 0:
            continue
        quad = rect_quad(data["left"][i], data["top"][i], data["width"][i], data["height"][i])
        out.append((quad, text, min(conf / 100.0, 1.0)))
    return out


class TesseractSpotter(Spotter):
    """Tesseract word boxes. Arguments: ``lang`` (default ``eng``), ``psm``
    (default 11), ``cmd`` (the tesseract binary; default: found on PATH)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "bench.spotters.tesseract.TesseractSpotter"

    code_version = "1"

    def __init__(self, min_score: float = 0.5, device: str = "cpu", lang: str = "eng", psm: int = 11, cmd: Optional[str] = None, **args: Any):
        super().__init__(min_score, device, lang=lang, psm=int(psm), **args)
        self.cmd = cmd
        self._version: Optional[str] = None
        self._pt = None

    def _binary(self) -> Optional[str]:
        return shutil.which(self.cmd or "tesseract")

    def _tessdata(self) -> tuple[Optional[Path], list[str]]:
        """Tesseract's tessdata folder and its installed languages."""
        res = subprocess.run([self._binary(), "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
        text = res.stdout + res.stderr
        m = re.search(r'"([^"]+)"', text)
        langs = [ln.strip() for ln in res.stdout.splitlines()[1:] if ln.strip()]
        return (Path(m.group(1)) if m else None), langs

    def preflight(self) -> list[str]:
        problems = []
        if importlib.util.find_spec("pytesseract") is None:
            problems.append("spotter tesseract: Python package 'pytesseract' is not installed -- pip install pytesseract")
        if self._binary() is None:
            problems.append(f"spotter tesseract: the tesseract program ({self.cmd or 'tesseract'}) is not on PATH -- {APT_HINT}")
            return problems
        _, langs = self._tessdata()
        for lang in self.args["lang"].split("+"):
            if lang not in langs:
                problems.append(
                    f"spotter tesseract: language '{lang}' is not installed (have: {', '.join(langs) or 'none'}) -- "
                    f"apt-get install -y tesseract-ocr-{lang}"
                )
        return problems

    def version(self) -> str:
        if self._version is None:
            parts = [super().version()]
            binary = self._binary()
            if binary:
                first = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout.split("\n")[0]
                parts.append(first.strip().replace(" ", "="))
                folder, _ = self._tessdata()
                for lang in self.args["lang"].split("+"):
                    path = folder / f"{lang}.traineddata" if folder else None
                    if path is not None and path.is_file():
                        parts.append(f"{path.name}@{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}")
            try:
                parts.append(f"pytesseract={metadata.version('pytesseract')}")
            except metadata.PackageNotFoundError:
                pass
            self._version = " ".join(parts)
        return self._version

    def load(self) -> None:
        problems = self.preflight()
        if problems:
            raise SpotterError("\n".join(problems))
        import pytesseract

        pytesseract.pytesseract.tesseract_cmd = self._binary()
        self._pt = pytesseract

    def _data(self, image: np.ndarray, psm: int) -> dict:
        from PIL import Image

        if self._pt is None:
            self.load()
        config = f"--psm {psm}"
        return self._pt.image_to_data(Image.fromarray(np.asarray(image, dtype=np.uint8)), lang=self.args["lang"], config=config, output_type=self._pt.Output.DICT)

    def spot(self, image: np.ndarray, image_id: Optional[str] = None) -> list[Detection]:
        words = words_from_data(self._data(image, self.args["psm"]))
        return [Detection(quad, text, score) for quad, text, score in words if score >= self.min_score]

    def read_word(self, crop: np.ndarray) -> tuple[str, float]:
        """Read one word crop with ``--psm 8`` (a single word); several words
        found in it are joined with spaces and their confidences averaged."""
        words = words_from_data(self._data(crop, 8))
        if not words:
            return "", 0.0
        return " ".join(w[1] for w in words), float(np.mean([w[2] for w in words]))
