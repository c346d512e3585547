"""Blur kernels of the Real-ESRGAN degradation model, and their random draws.

Definitions follow Real-ESRGAN (Wang et al., ICCV-W 2021, Sec. 3.2) as implemented
in BasicSR ``basicsr/data/degradations.py``; this is our own code:

* bivariate Gaussian:     k(x) = exp(-1/2 * x^T S^-1 x)
* generalized Gaussian:   k(x) = exp(-1/2 * (x^T S^-1 x)^beta)
* plateau:                k(x) = 1 / ((x^T S^-1 x)^beta + 1)
* sinc (circular low-pass, the 2-D "jinc"):
                          k(r) = omega_c * J1(omega_c * r) / (2 pi r),
                          k(0) = omega_c^2 / (4 pi)

with S = R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T, x an integer offset from
the kernel centre, and every kernel normalized to sum 1. "Isotropic" draws
sigma_y = sigma_x and theta = 0; "anisotropic" draws sigma_x, sigma_y independently
and theta in [-pi, pi].
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

#: Kernel type names, in the order of Real-ESRGAN's ``kernel_list``.
KERNEL_TYPES = (
    "iso",
    "aniso",
    "generalized_iso",
    "generalized_aniso",
    "plateau_iso",
    "plateau_aniso",
)


def _offsets(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer (x, y) offsets from the centre of an odd ``size`` x ``size`` grid."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and positive, got {size}")
    ax = np.arange(-(size // 2), size // 2 + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)  # xx varies along columns, yy along rows
    return xx, yy


def _quadratic_form(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """x^T S^-1 x on the kernel grid, for the rotated covariance S."""
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T
    inv = np.linalg.inv(cov)
    xx, yy = _offsets(size)
    return inv[0, 0] * xx * xx + (inv[0, 1] + inv[1, 0]) * xx * yy + inv[1, 1] * yy * yy


def _normalized(kernel: np.ndarray) -> np.ndarray:
    return (kernel / kernel.sum()).astype(np.float64)


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float = 0.0) -> np.ndarray:
    """Bivariate (possibly rotated, anisotropic) Gaussian kernel, summing to 1."""
    return _normalized(np.exp(-0.5 * _quadratic_form(size, sigma_x, sigma_y, theta)))


def generalized_gaussian_kernel(
    size: int, sigma_x: float, sigma_y: float, theta: float, beta: float
) -> np.ndarray:
    """Generalized Gaussian: exp(-1/2 q^beta); beta < 1 heavier tails, > 1 flatter top."""
    q = _quadratic_form(size, sigma_x, sigma_y, theta)
    return _normalized(np.exp(-0.5 * np.power(q, beta)))


def plateau_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float) -> np.ndarray:
    """Plateau-shaped kernel 1 / (q^beta + 1): a flat top with slowly decaying tails."""
    q = _quadratic_form(size, sigma_x, sigma_y, theta)
    return _normalized(1.0 / (np.power(q, beta) + 1.0))


def sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """Circular low-pass (2-D sinc / jinc) kernel with angular cutoff ``cutoff`` (rad/pixel).

    Models the ringing and overshoot of band-limited resampling (Real-ESRGAN Sec. 3.4).
    """
    xx, yy = _offsets(size)
    r = np.hypot(xx, yy)
    safe_r = np.where(r > 0, r, 1.0)
    kernel = np.where(
        r > 0,
        cutoff * special.j1(cutoff * safe_r) / (2.0 * math.pi * safe_r),
        cutoff**2 / (4.0 * math.pi),  # the limit r -> 0, since J1(z) ~ z / 2
    )
    return _normalized(kernel)


def _draw_beta(rng: np.random.Generator, beta_range: tuple[float, float]) -> float:
    """Half the time a beta below 1, half the time above (BasicSR's rule)."""
    lo, hi = beta_range
    if rng.uniform() < 0.5:
        return float(rng.uniform(lo, 1.0))
    return float(rng.uniform(1.0, hi))


def random_mixed_kernel(
    rng: np.random.Generator,
    size: int,
    kernel_probs: tuple[tuple[str, float], ...],
    sigma_range: tuple[float, float],
    betag_range: tuple[float, float],
    betap_range: tuple[float, float],
) -> tuple[np.ndarray, dict]:
    """Draw one kernel type by ``kernel_probs`` and its parameters; return (kernel, info).

    ``info`` is a JSON-serializable record of what was drawn (for debugging and plans).
    """
    names = [name for name, _ in kernel_probs]
    probs = np.array([p for _, p in kernel_probs], dtype=np.float64)
    kind = names[int(rng.choice(len(names), p=probs / probs.sum()))]
    isotropic = kind == "iso" or kind.endswith("_iso")
    sigma_x = float(rng.uniform(*sigma_range))
    if isotropic:
        sigma_y, theta = sigma_x, 0.0
    else:
        sigma_y = float(rng.uniform(*sigma_range))
        theta = float(rng.uniform(-math.pi, math.pi))
    info = {"type": kind, "size": size, "sigma_x": sigma_x, "sigma_y": sigma_y, "theta": theta}
    if kind.startswith("generalized"):
        info["beta"] = beta = _draw_beta(rng, betag_range)
        return generalized_gaussian_kernel(size, sigma_x, sigma_y, theta, beta), info
    if kind.startswith("plateau"):
        info["beta"] = beta = _draw_beta(rng, betap_range)
        return plateau_kernel(size, sigma_x, sigma_y, theta, beta), info
    return gaussian_kernel(size, sigma_x, sigma_y, theta), info


def random_sinc_kernel(
    rng: np.random.Generator, size: int, cutoff_range: tuple[float, float]
) -> tuple[np.ndarray, dict]:
    """Draw a sinc kernel with cutoff uniform in ``cutoff_range``; return (kernel, info)."""
    cutoff = float(rng.uniform(*cutoff_range))
    return sinc_kernel(size, cutoff), {"type": "sinc", "size": size, "cutoff": cutoff}
