"""Drawing every random choice of one degradation up front, as a plan.

Separating the draws from the image operations makes the randomness explicit and
recordable (:meth:`Plan.describe` is JSON-serializable), and lets each kind of draw
use its own stream, so that which branch one stage takes never shifts the numbers
another stage sees. Scalar draws take a fixed count of uniforms whatever the branch:
with the same (seed, image id), two presets map the *same* uniforms through their own
ranges, so a harsher preset degrades each image at least as much in each scalar
parameter (common random numbers).

Draw rules follow Real-ESRGAN (``realesrgan_dataset.py`` for kernels,
``realesrgan_model.py::feed_data`` for the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import random_mixed_kernel, random_sinc_kernel
from .presets import BlurParams, DegradationParams, OrderParams

#: Independent streams derived from the per-image generator, in this fixed order.
STREAMS = ("scalars", "kernel1", "kernel2", "final_sinc", "noise1", "noise2")


@dataclass(frozen=True)
class OrderPlan:
    """The drawn values for one order: blur -> resize -> noise -> JPEG."""

    kernel: np.ndarray | None  # None: this order does not blur
    kernel_info: dict | None
    resize_scale: float  # 1st order: of the current size; 2nd: of the target LQ size
    resize_mode: str
    noise: str  # "gaussian" (level = sigma, 0..255 units) or "poisson" (level = scale)
    gray_noise: bool
    noise_level: float
    jpeg_quality: int  # the cv2 backend's integer quality
    jpeg_quality_float: float  # the torch backend's continuous quality (DiffJPEG), same uniform


@dataclass(frozen=True)
class Plan:
    """Everything random about one image's degradation."""

    first: OrderPlan
    second: OrderPlan
    resize_then_jpeg: bool  # final step: [resize + sinc] -> JPEG, else JPEG -> [resize + sinc]
    final_mode: str
    final_sinc: np.ndarray | None  # None: no final sinc filter
    final_sinc_info: dict | None

    def describe(self) -> dict:
        """JSON-serializable summary (kernels by their parameters, not their values)."""

        def order(o: OrderPlan) -> dict:
            return {
                "blur": o.kernel_info,
                "resize_scale": o.resize_scale,
                "resize_mode": o.resize_mode,
                "noise": o.noise,
                "gray_noise": o.gray_noise,
                "noise_level": o.noise_level,
                "jpeg_quality": o.jpeg_quality,
                "jpeg_quality_float": o.jpeg_quality_float,
            }

        return {
            "first": order(self.first),
            "second": order(self.second),
            "resize_then_jpeg": self.resize_then_jpeg,
            "final_mode": self.final_mode,
            "final_sinc": self.final_sinc_info,
        }


def split_streams(rng: np.random.Generator) -> dict[str, np.random.Generator]:
    """Derive one independent generator per entry of :data:`STREAMS` from ``rng``."""
    seeds = rng.integers(0, 2**63, size=len(STREAMS), dtype=np.int64)
    return {name: np.random.default_rng(int(s)) for name, s in zip(STREAMS, seeds)}


def _draw_kernel(rng: np.random.Generator, p: BlurParams) -> tuple[np.ndarray, dict]:
    """Kernel size, then sinc (with ``sinc_prob``) or a mixed kernel (Real-ESRGAN order)."""
    size = int(p.kernel_sizes[int(rng.integers(len(p.kernel_sizes)))])
    if rng.uniform() < p.sinc_prob:
        cutoff = p.sinc_cutoff_small if size < 13 else p.sinc_cutoff_large
        return random_sinc_kernel(rng, size, cutoff)
    return random_mixed_kernel(rng, size, p.kernel_probs, p.sigma, p.betag, p.betap)


def _lerp(r: tuple[float, float], u: float) -> float:
    return float(r[0] + u * (r[1] - r[0]))


def _draw_order(
    u: np.random.Generator, k: np.random.Generator, p: OrderParams, modes: tuple[str, ...]
) -> OrderPlan:
    """Draw one order's values: 8 uniforms from ``u`` always, the kernel from ``k``."""
    u_blur, u_type, u_scale, u_mode, u_noise, u_gray, u_level, u_q = u.random(8)
    kernel, info = _draw_kernel(k, p.blur) if u_blur < p.blur_prob else (None, None)
    up, down, _keep = p.resize_probs
    total = up + down + _keep
    if u_type < up / total:
        scale = _lerp((1.0, p.resize_range[1]), u_scale)
    elif u_type < (up + down) / total:
        scale = _lerp((1.0, p.resize_range[0]), u_scale)  # u -> 1 is the harsh end
    else:
        scale = 1.0
    gaussian = u_noise < p.gaussian_noise_prob
    level = _lerp(p.gaussian_sigma if gaussian else p.poisson_scale, u_level)
    lo_q, hi_q = p.jpeg_quality
    quality = hi_q - int(u_q * (hi_q - lo_q + 1))  # uniform over lo..hi; u -> 1: low quality
    # continuous, uniform on [lo, hi] as Real-ESRGAN's uniform_(*jpeg_range) (realesrgan_model.py:107, 152)
    quality_float = hi_q - u_q * (hi_q - lo_q)
    return OrderPlan(
        kernel=kernel,
        kernel_info=info,
        resize_scale=float(scale),
        resize_mode=modes[min(int(u_mode * len(modes)), len(modes) - 1)],
        noise="gaussian" if gaussian else "poisson",
        gray_noise=bool(u_gray < p.gray_noise_prob),
        noise_level=level,
        jpeg_quality=quality,
        jpeg_quality_float=float(quality_float),
    )


def draw_plan(params: DegradationParams, streams: dict[str, np.random.Generator]) -> Plan:
    """Draw the full plan for ``params`` from the streams of :func:`split_streams`."""
    u = streams["scalars"]
    first = _draw_order(u, streams["kernel1"], params.first, params.resize_modes)
    second = _draw_order(u, streams["kernel2"], params.second, params.resize_modes)
    u_order, u_mode, u_sinc = u.random(3)
    sinc, sinc_info = None, None
    if u_sinc < params.final_sinc_prob:
        k = streams["final_sinc"]
        size = int(params.final_sinc_sizes[int(k.integers(len(params.final_sinc_sizes)))])
        sinc, sinc_info = random_sinc_kernel(k, size, params.final_sinc_cutoff)
    modes = params.resize_modes
    return Plan(
        first=first,
        second=second,
        resize_then_jpeg=bool(u_order < params.resize_then_jpeg_prob),
        final_mode=modes[min(int(u_mode * len(modes)), len(modes) - 1)],
        final_sinc=sinc,
        final_sinc_info=sinc_info,
    )
