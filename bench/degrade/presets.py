"""Degradation parameter sets: the published Real-ESRGAN table and our three levels.

``realesrgan`` is exactly the published second-order table (Real-ESRGAN
``options/train/RealESRGAN/train_realesrgan_x4plus.yml`` and the dataset defaults of
``realesrgan/data/realesrgan_dataset.py``; also TAIR ``configs/train/
train_stage1_terediff.yaml``).

``level1`` < ``level2`` < ``level3`` are OUR OWN DEFINITION. TAIR never published the
parameters behind the SA-Text test levels (``lq_img_lv1..3``), so these presets do not
reproduce those images; they only give a documented, monotone severity ladder of the
same family. The rule, applied by :func:`scaled` with severity s = 1/3, 2/3, 1:

* every severity range keeps its mild end and keeps the fraction s of its span
  towards the severe end: blur sigma [lo, lo + s (hi - lo)], Gaussian sigma and
  Poisson scale likewise, JPEG quality [hi - s (hi - lo), hi] (rounded), resize range
  [1 - s (1 - lo), 1 + s (hi - 1)];
* every severity probability is multiplied by s: sinc-blur probability, second-blur
  probability, final-sinc probability;
* everything else (kernel sizes and type probabilities, betas, resize up/down/keep
  probabilities, Gaussian-vs-Poisson and gray-noise probabilities, resize modes,
  the 50/50 final order) is the published value.

So ``level3`` equals ``realesrgan`` and the levels overlap (every range starts at the
same mild end), as the SA-Text data card says its levels do.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..registry import Registry
from .kernels import KERNEL_TYPES

#: Real-ESRGAN's kernel sizes: odd, 7..21 (``[2 * v + 1 for v in range(3, 11)]``).
KERNEL_SIZES = tuple(range(7, 22, 2))
#: Real-ESRGAN's ``kernel_prob`` for :data:`~bench.degrade.kernels.KERNEL_TYPES`.
KERNEL_PROBS = tuple(zip(KERNEL_TYPES, (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)))


@dataclass(frozen=True)
class BlurParams:
    """How one blur kernel is drawn (Real-ESRGAN ``realesrgan_dataset.py``)."""

    sigma: tuple[float, float]
    sinc_prob: float = 0.1
    kernel_sizes: tuple[int, ...] = KERNEL_SIZES
    kernel_probs: tuple[tuple[str, float], ...] = KERNEL_PROBS
    betag: tuple[float, float] = (0.5, 4.0)
    betap: tuple[float, float] = (1.0, 2.0)
    #: sinc cutoff (rad/pixel) for kernels smaller than 13, and for 13 and larger
    sinc_cutoff_small: tuple[float, float] = (math.pi / 3, math.pi)
    sinc_cutoff_large: tuple[float, float] = (math.pi / 5, math.pi)


@dataclass(frozen=True)
class OrderParams:
    """One degradation order: blur -> resize -> noise -> JPEG."""

    blur: BlurParams
    blur_prob: float  # 1 for the first order, ``second_blur_prob`` for the second
    resize_probs: tuple[float, float, float]  # up, down, keep
    resize_range: tuple[float, float]
    gaussian_sigma: tuple[float, float]  # in 0..255 units
    poisson_scale: tuple[float, float]
    jpeg_quality: tuple[int, int]
    gaussian_noise_prob: float = 0.5
    gray_noise_prob: float = 0.4


@dataclass(frozen=True)
class DegradationParams:
    """A full second-order degradation preset (all JSON-representable)."""

    name: str
    summary: str
    first: OrderParams
    second: OrderParams
    final_sinc_prob: float = 0.8
    final_sinc_cutoff: tuple[float, float] = (math.pi / 3, math.pi)
    final_sinc_sizes: tuple[int, ...] = KERNEL_SIZES
    #: probability of [resize + sinc] -> JPEG (else JPEG -> [resize + sinc])
    resize_then_jpeg_prob: float = 0.5
    #: resize interpolations, drawn uniformly (torch area/bilinear/bicubic in the original)
    resize_modes: tuple[str, ...] = ("area", "bilinear", "bicubic")
    published: bool = False  # True only for the table as published


REALESRGAN = DegradationParams(
    name="realesrgan",
    summary="Real-ESRGAN x4plus second-order degradation, the published table",
    first=OrderParams(
        blur=BlurParams(sigma=(0.2, 3.0)),
        blur_prob=1.0,
        resize_probs=(0.2, 0.7, 0.1),
        resize_range=(0.15, 1.5),
        gaussian_sigma=(1.0, 30.0),
        poisson_scale=(0.05, 3.0),
        jpeg_quality=(30, 95),
    ),
    second=OrderParams(
        blur=BlurParams(sigma=(0.2, 1.5)),
        blur_prob=0.8,
        resize_probs=(0.3, 0.4, 0.3),
        resize_range=(0.3, 1.2),
        gaussian_sigma=(1.0, 25.0),
        poisson_scale=(0.05, 2.5),
        jpeg_quality=(30, 95),
    ),
    final_sinc_prob=0.8,
    published=True,
)


def _mix(mild: float, severe: float, s: float) -> float:
    """(1 - s) * mild + s * severe; exact at s = 0 and s = 1."""
    return (1.0 - s) * mild + s * severe


def _toward_hi(r: tuple[float, float], s: float) -> tuple[float, float]:
    return (r[0], _mix(r[0], r[1], s))


def _scaled_order(order: OrderParams, s: float, first: bool) -> OrderParams:
    lo_q, hi_q = order.jpeg_quality
    lo_r, hi_r = order.resize_range
    return dataclasses.replace(
        order,
        blur=dataclasses.replace(
            order.blur, sigma=_toward_hi(order.blur.sigma, s), sinc_prob=s * order.blur.sinc_prob
        ),
        blur_prob=order.blur_prob if first else s * order.blur_prob,
        resize_range=(_mix(1.0, lo_r, s), _mix(1.0, hi_r, s)),
        gaussian_sigma=_toward_hi(order.gaussian_sigma, s),
        poisson_scale=_toward_hi(order.poisson_scale, s),
        jpeg_quality=(round(_mix(hi_q, lo_q, s)), hi_q),
    )


def scaled(base: DegradationParams, s: float, name: str, summary: str) -> DegradationParams:
    """``base`` with every severity parameter scaled by ``s`` in (0, 1] (module docstring)."""
    if not 0.0 < s <= 1.0:
        raise ValueError(f"severity must be in (0, 1], got {s}")
    return dataclasses.replace(
        base,
        name=name,
        summary=summary,
        first=_scaled_order(base.first, s, first=True),
        second=_scaled_order(base.second, s, first=False),
        final_sinc_prob=s * base.final_sinc_prob,
        published=False,
    )


_OWN = "our own definition (TAIR never published the SA-Text level parameters)"

LEVEL1 = scaled(REALESRGAN, 1 / 3, "level1", f"mildest: realesrgan severity x 1/3; {_OWN}")
LEVEL2 = scaled(REALESRGAN, 2 / 3, "level2", f"medium: realesrgan severity x 2/3; {_OWN}")
LEVEL3 = scaled(REALESRGAN, 1.0, "level3", f"harshest: realesrgan severity x 1; {_OWN}")

#: name -> :class:`DegradationParams`, one line per preset; third-party presets register a
#: ``DegradationParams`` object under the entry-point group ``tair_bench.degradation_presets``
PRESETS = Registry("degradation preset", "tair_bench.degradation_presets")
for _name, _params in (("realesrgan", REALESRGAN), ("level1", LEVEL1), ("level2", LEVEL2), ("level3", LEVEL3)):
    PRESETS.add(_name, f"{__name__}:{_name.upper()}", _params.summary)
