"""RapidOCR (PP-OCR ONNX models) as a word-level spotter: the default spotter.

The ``rapidocr`` 3.10 wheel ships PP-OCRv6 small detection and recognition models
and the PP-OCR mobile v2 direction classifier as ONNX files, so it runs offline
(nothing to download). PP-OCR finds text *lines*; ground truth is word-level (one
instance per word), so every line is cut into words here.

How a line becomes words. The recogniser is a CTC model; with
``return_word_box`` RapidOCR reports, per line, the CTC column of every decoded
character and groups the characters into words (at spaces, and at gaps wider
than 5 columns: ``rapidocr/ch_ppocr_rec/utils.py``, after PaddleOCR's
``rec_postprocess.py``). We take that grouping and the column positions
(column ``c`` of a line ``L`` columns long is centred at ``(c + 0.5) / L`` of
the line, as in RapidOCR's ``cal_rec_boxes``) and cut the line quad with
:mod:`bench.spotters.words`, along the line's reading direction (tall lines are
read rotated by 90 degrees and lines the classifier flips are read rotated by
180, as RapidOCR does). We do not use RapidOCR's own word boxes: they are
truncated to integers, axis-aligned inside the crop, and pair word *i* with the
confidence of character *i* instead of the word's.

Score: the word's recognition confidence, the mean of its characters' CTC
probabilities (RapidOCR's line score is the same mean over the whole line).
Words with ``score < min_score`` are dropped; RapidOCR's own line filter
(``text_score``) is turned off so only ``min_score`` applies.

Determinism: ONNX Runtime runs with a fixed thread count (``threads``, default
1, for both intra- and inter-op pools; RapidOCR ignores counts above the CPU
count), and lines are recognised one at a time (``rec_batch_num = 1``) so a
reading never depends on which other lines share its padded batch.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Optional

import numpy as np

from bench.io.hashing import file_sha256

from ..errors import SpotterError, WeightsMissing
from ..records import Detection
from .base import Spotter
from .words import split_line

#: model files in the rapidocr wheel's ``models/`` folder
DEFAULT_MODELS = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}

INSTALL_HINT = "pip install 'tair-bench[ocr]' (rapidocr==3.10.0 and onnxruntime)"


def _package_models_dir() -> Optional[Path]:
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "models"


def _sha12(path: Path) -> str:
    return file_sha256(path)[:12]


def reading_quad(box: np.ndarray, vertical: bool, flipped: bool) -> np.ndarray:
    """Reorder a detector quad (top-left, top-right, bottom-right, bottom-left in
    the image) into reading order for the crop as RapidOCR read it.

    A tall crop is turned 90 degrees counter-clockwise (``np.rot90``), which makes
    the box's right edge the text's top edge: reading order starts at top-right.
    A 180-degree flip by the classifier moves the start two corners further.
    """
    shift = (1 if vertical else 0) + (2 if flipped else 0)
    return np.roll(np.asarray(box, dtype=float).reshape(4, 2), -shift, axis=0)


def _is_vertical(box: np.ndarray) -> bool:
    """RapidOCR's rule in ``get_rotate_crop_image``: height / width >= 1.5."""
    p = np.asarray(box, dtype=np.float32)
    w = int(max(np.linalg.norm(p[0] - p[1]), np.linalg.norm(p[2] - p[3])))
    h = int(max(np.linalg.norm(p[0] - p[3]), np.linalg.norm(p[1] - p[2])))
    return w > 0 and h / w >= 1.5


def line_words(text: str, line_score: float, info: Any) -> tuple[str, list[Optional[float]], list[float]]:
    """Turn RapidOCR's per-line ``WordInfo`` into (text with words separated by
    single spaces, per-character centre fractions, per-character confidences).

    Returns the plain line text with no positions when the info is missing or
    does not match the text (then words are cut in proportion to length).
    """
    words = getattr(info, "words", None) or []
    cols = getattr(info, "word_cols", None) or []
    length = float(getattr(info, "line_txt_len", 0.0) or 0.0)
    confs = list(getattr(info, "confs", None) or [])
    chars = [ch for ch in text if not ch.isspace()]
    flat = [ch for w in words for ch in w]
    if not words or length <= 0 or flat != chars or len(confs) != len(text):
        return text, [], [line_score] * len(text)
    char_conf = [c for ch, c in zip(text, confs) if not ch.isspace()]
    out_text, centers, out_conf, k = [], [], [], 0
    for i, (w, wc) in enumerate(zip(words, cols)):
        if i:
            out_text.append(" ")
            centers.append(None)
            out_conf.append(0.0)
        for ch, col in zip(w, wc):
            out_text.append(ch)
            centers.append((col + 0.5) / length)
            out_conf.append(char_conf[k])
            k += 1
    return "".join(out_text), centers, out_conf


class RapidOCRSpotter(Spotter):
    """PP-OCRv6 det + rec (+ direction classifier) through RapidOCR, cut into words.

    Arguments (all enter :meth:`config`): ``threads`` (ONNX Runtime threads,
    default 1), ``use_cls`` (run the 180-degree classifier, default True, as
    RapidOCR does), ``det_model`` / ``rec_model`` / ``cls_model`` (ONNX paths;
    default: the files in the rapidocr wheel).
    """
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "bench.spotters.rapidocr.RapidOCRSpotter"

    code_version = "1"

    def __init__(
        self,
        min_score: float = 0.5,
        device: str = "cpu",
        threads: int = 1,
        use_cls: bool = True,
        det_model: Optional[str] = None,
        rec_model: Optional[str] = None,
        cls_model: Optional[str] = None,
        **args: Any,
    ):
        super().__init__(
            min_score, device, threads=int(threads), use_cls=bool(use_cls),
            det_model=det_model, rec_model=rec_model, cls_model=cls_model, **args,
        )
        self._engine = None
        self._version: Optional[str] = None

    # -- files ------------------------------------------------------------------
    def model_paths(self) -> dict[str, Optional[Path]]:
        """The ONNX file used for each task (None if rapidocr is not installed)."""
        root = _package_models_dir()
        out = {}
        for task, default in DEFAULT_MODELS.items():
            given = self.args[f"{task}_model"]
            out[task] = Path(given) if given else (root / default if root else None)
        return out

    def _needed_tasks(self) -> list[str]:
        return ["det", "rec", "cls"] if self.args["use_cls"] else ["det", "rec"]

    def _missing_packages(self) -> list[str]:
        return [m for m in ("rapidocr", "onnxruntime") if importlib.util.find_spec(m) is None]

    def _missing_models(self) -> list[tuple[str, Path]]:
        paths = self.model_paths()
        return [(t, paths[t]) for t in self._needed_tasks() if not paths[t].is_file()]

    def preflight(self) -> list[str]:
        missing = self._missing_packages()
        if missing:
            return [f"spotter rapidocr: Python package '{m}' is not installed -- {INSTALL_HINT}" for m in missing]
        return [
            f"spotter rapidocr: missing {task} model {path} -- reinstall the rapidocr wheel or pass {task}_model=<path to .onnx>"
            for task, path in self._missing_models()
        ]

    def version(self) -> str:
        if self._version is None:
            parts = [super().version()]
            try:
                parts.append(f"rapidocr={metadata.version('rapidocr')}")
                parts.append(f"onnxruntime={metadata.version('onnxruntime')}")
            except metadata.PackageNotFoundError:
                parts.append("rapidocr=missing")
            for task, path in self.model_paths().items():
                if task in self._needed_tasks() and path is not None and path.is_file():
                    parts.append(f"{task}={path.name}@{_sha12(path)}")
            self._version = " ".join(parts)
        return self._version

    # -- model ------------------------------------------------------------------
    def load(self) -> None:
        missing = self._missing_packages()
        if missing:
            raise SpotterError(f"spotter rapidocr needs the Python package '{missing[0]}' -- {INSTALL_HINT}")
        models = self._missing_models()
        if models:
            task, path = models[0]
            raise WeightsMissing(f"spotter rapidocr ({task} model)", str(path), f"reinstall the rapidocr wheel or pass {task}_model=<path to .onnx>")
        from rapidocr import RapidOCR

        paths = self.model_paths()
        threads = self.args["threads"]
        params = {
            "Global.log_level": "warning",
            "Global.text_score": 0.0,
            "Global.return_word_box": True,
            "Global.use_cls": self.args["use_cls"],
            "Det.model_path": str(paths["det"]),
            "Rec.model_path": str(paths["rec"]),
            "Rec.rec_batch_num": 1,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": threads,
            "EngineConfig.onnxruntime.use_cuda": self.device.startswith("cuda"),
        }
        if self.args["use_cls"]:
            params["Cls.model_path"] = str(paths["cls"])
        self._engine = RapidOCR(params=params)

    def _require(self):
        if self._engine is None:
            self.load()
        return self._engine

    def spot(self, image: np.ndarray, image_id: Optional[str] = None) -> list[Detection]:
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        eng = self._require()
        bgr = np.ascontiguousarray(np.asarray(image)[..., ::-1])
        img, op_record = eng.preprocess_img(bgr)
        try:
            crops, det = eng.detect_and_crop(img, op_record)
            vertical = [_is_vertical(b) for b in det.boxes]
            flipped = [False] * len(crops)
            if self.args["use_cls"]:
                crops, cls = eng.cls_and_rotate(crops)
                thresh = eng.text_cls.cls_thresh
                flipped = ["180" in label and score > thresh for label, score in cls.cls_res]
            rec = eng.recognize_txt(crops)
        except RapidOCRError:  # RapidOCR's signal for "no text found" at any step
            return []
        boxes = map_boxes_to_original(np.array(det.boxes, dtype=float), op_record, *bgr.shape[:2])

        out: list[Detection] = []
        for i, text in enumerate(rec.txts):
            if not text.strip():
                continue
            quad = reading_quad(boxes[i], vertical[i], flipped[i])
            info = rec.word_results[i] if rec.word_results else None
            words_text, centers, confs = line_words(text, float(rec.scores[i]), info)
            for w in split_line(quad, words_text, centers or None):
                score = float(np.mean(confs[w.start : w.end]))
                if score >= self.min_score:
                    out.append(Detection(w.polygon, w.text, score))
        return out

    def read_word(self, crop: np.ndarray) -> tuple[str, float]:
        """Read one upright word crop (RGB, text left to right) with the
        recognition model only."""
        from rapidocr.ch_ppocr_rec import TextRecInput

        rec = self._require()._load_rec_model()
        res = rec(TextRecInput(img=[np.ascontiguousarray(crop[..., ::-1])], return_word_box=False))
        return str(res.txts[0]), float(res.scores[0])
