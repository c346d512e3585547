"""Procedural, photo-like backgrounds for synthetic scene-text images.

Each generator takes a numpy ``Generator`` and a size and returns an ``(H, W, 3)``
uint8 RGB array. All randomness comes from the generator passed in, so a background
is a pure function of the generator state. Textures are kept smooth (low-amplitude
grain) so the PNGs of the bundled set stay small.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Background = Callable[[np.random.Generator, int, int], np.ndarray]


def _random_colour(rng: np.random.Generator, lo: int = 0, hi: int = 255) -> np.ndarray:
    """A random colour, pulled part-way to grey: real scenes are rarely saturated."""
    col = rng.uniform(lo, hi, size=3)
    return col + rng.uniform(0.2, 0.6) * (col.mean() - col)


def _value_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 4,
                 base_cells: int = 4, persistence: float = 0.5) -> np.ndarray:
    """Fractal value noise in ``[0, 1]``: random grids upsampled and summed."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = base_cells * (2 ** o)
        grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Blend colours ``a`` and ``b`` by the ``(H, W)`` weight map ``t``."""
    return a[None, None, :] * (1.0 - t[..., None]) + b[None, None, :] * t[..., None]


def gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Linear or radial two-colour gradient (sky, wall under a lamp)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        ang = rng.uniform(0, 2 * np.pi)
        t = (xx * np.cos(ang) + yy * np.sin(ang))
    else:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        t = np.hypot(xx - cx, yy - cy)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return _mix(_random_colour(rng), _random_colour(rng), t)


def noise_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Stone/concrete-like texture: fractal noise mapped between two colours."""
    t = _value_noise(rng, h, w, octaves=5, base_cells=int(rng.integers(3, 8)))
    base = _random_colour(rng, 40, 220)
    other = np.clip(base + rng.uniform(-70, 70, size=3), 0, 255)
    return _mix(base, other, t)


def bricks(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Brick wall: staggered rows of jittered brick colours with mortar lines."""
    bh = int(rng.integers(28, 60))
    bw = int(bh * rng.uniform(1.8, 3.2))
    mortar = int(rng.integers(2, 6))
    brick = _random_colour(rng, 60, 200)
    mortar_col = np.clip(brick + rng.uniform(40, 90), 0, 255)
    img = np.empty((h, w, 3), np.float32)
    img[:] = mortar_col
    for r, y0 in enumerate(range(0, h, bh)):
        offset = (bw // 2) * (r % 2)
        for x0 in range(-offset, w, bw):
            col = np.clip(brick + rng.normal(0, 14, size=3), 0, 255)
            y1, x1 = min(y0 + bh - mortar, h), min(x0 + bw - mortar, w)
            img[y0:y1, max(x0, 0):x1] = col
    shade = _value_noise(rng, h, w, octaves=3, base_cells=6)
    img *= (0.85 + 0.3 * shade)[..., None]
    return cv2.GaussianBlur(img, (0, 0), 0.8)


def wood(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Wood grain: gently warped bands plus fine fibres along the grain, in browns."""
    yy = np.mgrid[0:h, 0:w][0].astype(np.float32)
    warp = _value_noise(rng, h, w, octaves=3, base_cells=2)
    bands = 0.5 + 0.5 * np.sin(yy * rng.uniform(0.04, 0.09) + warp * rng.uniform(3, 7))
    fibres = cv2.resize(rng.random((h // 3, 4)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)
    t = np.clip(0.8 * bands**1.5 + 0.2 * fibres, 0, 1)
    if rng.random() < 0.5:  # vertical planks instead of horizontal
        t = np.ascontiguousarray(t.T)
    dark = np.array([rng.uniform(70, 110), rng.uniform(40, 65), rng.uniform(15, 35)])
    light = np.array([rng.uniform(160, 210), rng.uniform(110, 150), rng.uniform(60, 95)])
    return _mix(dark, light, t)


def blurred_shapes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Out-of-focus scene: soft discs and blocks over a colour field (bokeh)."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = _random_colour(rng, 20, 230)
    for _ in range(int(rng.integers(6, 16))):
        col = tuple(float(c) for c in _random_colour(rng))
        if rng.random() < 0.5:
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(img, c, int(rng.integers(15, 140)), col, -1)
        else:
            p0 = (int(rng.integers(-50, w)), int(rng.integers(-50, h)))
            p1 = (p0[0] + int(rng.integers(40, 300)), p0[1] + int(rng.integers(40, 300)))
            cv2.rectangle(img, p0, p1, col, -1)
    return cv2.GaussianBlur(img, (0, 0), float(rng.uniform(8, 25)))


def colour_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Photo-like colour field: a few palette colours blended by soft noise maps."""
    k = int(rng.integers(3, 5))
    palette = [_random_colour(rng, 20, 235) for _ in range(k)]
    weights = np.stack([_value_noise(rng, h, w, octaves=2, base_cells=2) for _ in range(k)])
    weights = np.exp(weights * 6.0)
    weights /= weights.sum(axis=0, keepdims=True)
    return np.einsum("khw,kc->hwc", weights, np.stack(palette)).astype(np.float32)


BACKGROUNDS: dict[str, Background] = {
    "gradient": gradient,
    "noise": noise_texture,
    "bricks": bricks,
    "wood": wood,
    "blurred_shapes": blurred_shapes,
    "colour_field": colour_field,
}


def background_names() -> list[str]:
    """Names of the background generators, sorted."""
    return sorted(BACKGROUNDS)


def _finish(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Add vignetting, then quantize to uint8.

    No sensor grain: the HQ image is the clean reference (degradation adds noise),
    and grain would triple the size of the bundled PNGs.
    """
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx - w / 2) / w, (yy - h / 2) / h)
    img = img * (1.0 - rng.uniform(0.0, 0.35) * r**2)[..., None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_background(rng: np.random.Generator, h: int, w: int,
                    kind: str | None = None) -> tuple[str, np.ndarray]:
    """Draw one background; ``kind`` picks a generator by name, else random.

    Returns ``(kind, image)`` so callers can log which texture was used.
    """
    names = background_names()
    name = kind if kind is not None else names[int(rng.integers(0, len(names)))]
    img = BACKGROUNDS[name](rng, h, w).astype(np.float32)
    return name, _finish(rng, img)
