"""The ``torch`` degradation backend: Real-ESRGAN's ``feed_data``, operation for operation.

The same drawn plan as the ``cv2`` backend (:mod:`bench.degrade.plan`), run with the
torch operations Real-ESRGAN uses
(``upstream/Real-ESRGAN/realesrgan/models/realesrgan_model.py:72-166``):

1. optional: USM-sharpen the HQ image (``:73, 83``; off unless ``usm_sharpen``);
2. blur with kernel 1 (``:83``); resize with ``scale_factor`` (``:93``); Gaussian or
   Poisson noise, clipped (``:96-105``); clamp to [0, 1] and DiffJPEG at a
   continuous quality (``:107-109``);
3. blur with kernel 2 if drawn (``:113-114``); resize to
   ``int(H / scale * s2) x int(W / scale * s2)`` (``:124-125``); noise (``:128-137``);
4. 50/50: [resize to H/scale x W/scale, sinc filter] then clamp + JPEG, or clamp +
   JPEG then [resize, sinc] (``:146-163``);
5. clamp((x * 255).round(), 0, 255) (``:166``).

Every blur kernel is zero-padded to 21 x 21 first, as Real-ESRGAN's data set does
(``realesrgan/data/realesrgan_dataset.py:146-148, 169-170, 178``): the blur then
reflects 10 px at every border whatever the kernel's own size. Where the plan draws no
final sinc filter, Real-ESRGAN filters with a centred unit impulse
(``realesrgan_dataset.py:80-81, 181``), which leaves the image unchanged; we skip it. All arithmetic is float32 on the CPU, one
image at a time (a batch of one, as the conformance test runs the original).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from . import torch_jpeg, torch_ops
from .plan import OrderPlan, Plan

#: Called as ``trace(step, tensor)`` after every step (the conformance test's hook).
Trace = Optional[Callable[[str, torch.Tensor], None]]


#: Real-ESRGAN's padded kernel size (``realesrgan_dataset.py:146, 178``).
KERNEL_PAD_TO = 21


def _kernel(kernel: np.ndarray) -> torch.Tensor:
    """``kernel`` zero-padded (centred) to at least 21 x 21, as a (1, k, k) float32 tensor."""
    pad = max(0, (KERNEL_PAD_TO - kernel.shape[0]) // 2)
    return torch_ops.kernel_tensor(np.pad(kernel, ((pad, pad), (pad, pad))))


def _noise(img: torch.Tensor, o: OrderPlan, rng: np.random.Generator) -> torch.Tensor:
    if o.noise == "gaussian":
        return torch_ops.add_gaussian_noise(img, o.noise_level, o.gray_noise, rng)
    return torch_ops.add_poisson_noise(img, o.noise_level, o.gray_noise, rng)


def _jpeg(img: torch.Tensor, quality: float) -> torch.Tensor:
    return torch_jpeg.jpeg(torch.clamp(img, 0, 1), quality)


def degrade_tensor(hq: np.ndarray, plan: Plan, noise: dict[str, np.random.Generator], scale: int,
                   usm_sharpen: bool = False, trace: Trace = None) -> torch.Tensor:
    """Run the plan on ``hq`` ((H, W, 3) uint8 RGB); return the LQ before the final rounding.

    The result is a (1, 3, H / scale, W / scale) float32 tensor; steps too small for a
    blur kernel's reflect padding raise ``ValueError``.
    """
    def step(name: str, x: torch.Tensor) -> torch.Tensor:
        if trace is not None:
            trace(name, x)
        return x

    h, w = hq.shape[:2]
    th, tw = h // scale, w // scale
    with torch.no_grad():
        img = torch_ops.to_tensor(hq)
        if usm_sharpen:
            img = step("usm", torch_ops.usm_sharpen(img))
        first, second = plan.first, plan.second
        if first.kernel is not None:
            img = step("blur1", torch_ops.blur(img, _kernel(first.kernel)))
        img = step("resize1", torch_ops.resize_by(img, first.resize_scale, first.resize_mode))
        img = step("noise1", _noise(img, first, noise["noise1"]))
        img = step("jpeg1", _jpeg(img, first.jpeg_quality_float))

        if second.kernel is not None:
            img = step("blur2", torch_ops.blur(img, _kernel(second.kernel)))
        s2 = second.resize_scale
        img = step("resize2", torch_ops.resize_to(img, int(h / scale * s2), int(w / scale * s2),
                                                  second.resize_mode))
        img = step("noise2", _noise(img, second, noise["noise2"]))

        def resize_and_sinc(x: torch.Tensor) -> torch.Tensor:
            x = step("resize3", torch_ops.resize_to(x, th, tw, plan.final_mode))
            if plan.final_sinc is not None:
                x = step("sinc", torch_ops.blur(x, _kernel(plan.final_sinc)))
            return x

        if plan.resize_then_jpeg:
            img = step("jpeg2", _jpeg(resize_and_sinc(img), second.jpeg_quality_float))
        else:
            img = resize_and_sinc(step("jpeg2", _jpeg(img, second.jpeg_quality_float)))
    return img


def apply_plan(hq: np.ndarray, plan: Plan, noise: dict[str, np.random.Generator], scale: int,
               usm_sharpen: bool = False) -> np.ndarray:
    """:func:`degrade_tensor`, then the final clamp and round: (H/scale, W/scale, 3) uint8 RGB."""
    return torch_ops.quantize(degrade_tensor(hq, plan, noise, scale, usm_sharpen))
