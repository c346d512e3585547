"""Seeded Real-ESRGAN second-order degradation: HQ image -> LQ image.

Order (Real-ESRGAN realesrgan/models/realesrgan_model.py:67-183, ``feed_data``):
blur -> random resize (up/down/keep) -> Gaussian or Poisson noise -> JPEG ->
second blur (with probability) -> resize (relative to the target LQ size) -> noise ->
then 50/50: [resize to target + sinc] -> JPEG, or JPEG -> [resize to target + sinc].

Two backends run the same drawn plan:

* ``torch`` (the default): Real-ESRGAN's operations one for one, torch
  ``F.interpolate``, DiffJPEG's float JPEG, BasicSR's noise
  (:mod:`bench.degrade.torch_backend`); equal to the original within 1e-5 before the
  final rounding (``tests/conformance/test_degrade_torch.py``).
* ``cv2``: a faster approximation with NumPy/OpenCV (:mod:`bench.degrade.ops`):
  OpenCV resampling (size-ratio pixel mapping), a real libjpeg JPEG at an integer
  quality of the 8-bit image.

Differences from the original, all deliberate:

* No unsharp masking of the HQ image first unless asked (``usm_sharpen``, torch
  only): Real-ESRGAN sharpens its training target before degrading it; a benchmark
  degrades the reference it scores against.
* All randomness comes from :func:`image_rng` (seed, image id), split into
  independent streams (:mod:`bench.degrade.plan`), never from global state: an image's
  LQ does not depend on call order, process or worker count.

Determinism: same inputs give bit-identical output with the same NumPy and OpenCV
(or torch) builds on the same CPU family. NumPy's ``Generator`` streams are stable
across platforms; OpenCV's and torch's SIMD paths may in principle differ in the last
float bit between CPU types, which could flip a rare 8-bit rounding. The backend and
its library version (:func:`backend_version`) enter the degrade stage's cache key;
bump :data:`DEGRADE_VERSION` whenever a change alters outputs: it enters cache keys.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from ..errors import BenchError, DataError
from ..registry import did_you_mean
from . import ops
from .plan import OrderPlan, Plan, draw_plan, split_streams
from .presets import PRESETS, DegradationParams

#: Version of the degradation outputs; bump when any output could change.
DEGRADE_VERSION = "2"
#: The degradation backends and what each runs (for ``bench list``).
BACKEND_SUMMARIES = {
    "torch": "Real-ESRGAN's own operations: torch resize, DiffJPEG, BasicSR noise (the default)",
    "cv2": "faster NumPy/OpenCV approximation: OpenCV resize, libjpeg at an integer quality",
}
BACKENDS = tuple(BACKEND_SUMMARIES)
DEFAULT_BACKEND = "torch"


def image_rng(seed: int, image_id: str) -> np.random.Generator:
    """A generator seeded by (``seed``, ``image_id``) only.

    The entropy is the SHA-256 of ``"tair-bench/degrade\\0<seed>\\0<image_id>"``
    (UTF-8), read as a big-endian integer, fed to ``SeedSequence`` and PCG64.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise BenchError(f"degradation seed must be an integer, got {seed!r}")
    key = f"tair-bench/degrade\0{int(seed)}\0{image_id}".encode()
    entropy = int.from_bytes(hashlib.sha256(key).digest(), "big")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def get_preset(name: str) -> DegradationParams:
    """The preset called ``name``; unknown names raise a did-you-mean error."""
    if name not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise BenchError(f"unknown degradation preset '{name}'{did_you_mean(name, PRESETS)} (known: {known})")
    return PRESETS[name]


def get_backend(name: str) -> str:
    """``name`` if it is one of :data:`BACKENDS`; else a did-you-mean error."""
    if name not in BACKENDS:
        raise BenchError(f"unknown degradation backend '{name}'{did_you_mean(name, BACKENDS)} "
                         f"(known: {', '.join(BACKENDS)})")
    return name


def backend_version(name: str) -> str:
    """The library build a backend's outputs depend on (enters the degrade cache key)."""
    if get_backend(name) == "torch":
        import torch

        return f"torch {torch.__version__}"
    import cv2

    return f"opencv {cv2.__version__}"


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def preset_definition(name: str) -> dict:
    """The full parameter set of preset ``name``, JSON-serializable, for results.json."""
    definition = _jsonable(dataclasses.asdict(get_preset(name)))
    definition["degrade_version"] = DEGRADE_VERSION
    return definition


def _check_input(hq: np.ndarray, scale: int, image_id: str) -> None:
    if not isinstance(hq, np.ndarray) or hq.ndim != 3 or hq.shape[2] != 3 or hq.dtype != np.uint8:
        got = f"{hq.dtype} {hq.shape}" if isinstance(hq, np.ndarray) else type(hq).__name__
        raise DataError(f"image '{image_id}': expected an (H, W, 3) uint8 RGB array, got {got}")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise BenchError(f"degradation scale must be a positive integer, got {scale!r}")
    h, w = hq.shape[:2]
    if h % scale or w % scale:
        raise DataError(
            f"image '{image_id}': size {h}x{w} is not divisible by scale {scale}; crop or pad it first"
        )


def _order(img: np.ndarray, o: OrderPlan, size: tuple[int, int], noise_rng: np.random.Generator) -> np.ndarray:
    """Blur -> resize to ``size`` -> noise (the JPEG is applied by the caller)."""
    if o.kernel is not None:
        img = ops.blur(img, o.kernel)
    img = ops.resize(img, size[0], size[1], o.resize_mode)
    if o.noise == "gaussian":
        return ops.add_gaussian_noise(img, o.noise_level, o.gray_noise, noise_rng)
    return ops.add_poisson_noise(img, o.noise_level, o.gray_noise, noise_rng)


def apply_plan(hq: np.ndarray, plan: Plan, noise: dict[str, np.random.Generator], scale: int) -> np.ndarray:
    """Run the pipeline on ``hq`` (uint8 RGB) with the drawn ``plan``; return uint8 RGB LQ."""
    h, w = hq.shape[:2]
    th, tw = h // scale, w // scale
    img = hq.astype(np.float32) / np.float32(255.0)

    s1 = plan.first.resize_scale  # floor, as torch F.interpolate(scale_factor=...)
    img = _order(img, plan.first, (int(h * s1), int(w * s1)), noise["noise1"])
    img = ops.jpeg(img, plan.first.jpeg_quality)

    s2 = plan.second.resize_scale
    img = _order(img, plan.second, (int(th * s2), int(tw * s2)), noise["noise2"])

    def resize_and_sinc(x: np.ndarray) -> np.ndarray:
        x = ops.resize(x, th, tw, plan.final_mode)
        return ops.blur(x, plan.final_sinc) if plan.final_sinc is not None else x

    if plan.resize_then_jpeg:
        img = ops.jpeg(resize_and_sinc(img), plan.second.jpeg_quality)
    else:
        img = resize_and_sinc(ops.jpeg(img, plan.second.jpeg_quality))
    return ops.to_uint8(img)


def degrade_image(hq: np.ndarray, preset: str, seed: int, image_id: str, scale: int = 4, *,
                  backend: str = DEFAULT_BACKEND, usm_sharpen: bool = False) -> np.ndarray:
    """Degrade ``hq`` ((H, W, 3) uint8 RGB) with ``preset``; return the (H/scale, W/scale, 3) LQ.

    Deterministic in (``hq``, ``preset``, ``seed``, ``image_id``, ``scale``,
    ``backend``, ``usm_sharpen``): every random draw comes from :func:`image_rng`
    ``(seed, image_id)``, the same draws for both backends. ``usm_sharpen`` (torch
    only) sharpens the HQ image first, as Real-ESRGAN's training does.
    """
    params = get_preset(preset)
    get_backend(backend)
    _check_input(hq, scale, image_id)
    if usm_sharpen and backend != "torch":
        raise BenchError(f"USM sharpening is done by the torch backend only, not '{backend}': "
                         f"set degradation.backend: torch, or usm_sharpen: false")
    streams = split_streams(image_rng(seed, image_id))
    plan = draw_plan(params, streams)
    if backend == "cv2":
        return apply_plan(hq, plan, streams, int(scale))
    from . import torch_backend  # lazy: torch loads only for the torch backend

    try:
        return torch_backend.apply_plan(hq, plan, streams, int(scale), usm_sharpen=usm_sharpen)
    except ValueError as exc:
        raise DataError(f"image '{image_id}': {exc}; use a larger image, or degradation.backend: cv2 "
                        f"(OpenCV's reflect-101 border works at any size)") from exc


def degradation_plan(preset: str, seed: int, image_id: str) -> dict:
    """The drawn parameters :func:`degrade_image` uses for this image (JSON-serializable)."""
    return draw_plan(get_preset(preset), split_streams(image_rng(seed, image_id))).describe()
