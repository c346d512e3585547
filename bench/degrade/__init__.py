"""Seeded synthetic degradation (Real-ESRGAN second-order model) for making LQ inputs.

Public API::

    degrade_image(hq, preset, seed, image_id, scale=4, backend="torch") -> lq   # uint8 RGB
    image_rng(seed, image_id) -> numpy.random.Generator
    PRESETS                     # name -> DegradationParams
    preset_definition(name)     # JSON-serializable parameters, for results.json
    DEGRADE_VERSION             # enters cache keys; bumped when outputs change
    BACKENDS, DEFAULT_BACKEND   # "torch" (Real-ESRGAN's operations, default), "cv2" (fast)

Presets: ``realesrgan`` (the published table) and ``level1`` < ``level2`` < ``level3``
(our own definition; TAIR never published its SA-Text level parameters): see
:mod:`bench.degrade.presets`.
"""

from .pipeline import (
    BACKEND_SUMMARIES,
    BACKENDS,
    DEFAULT_BACKEND,
    DEGRADE_VERSION,
    backend_version,
    degradation_plan,
    degrade_image,
    get_backend,
    get_preset,
    image_rng,
    preset_definition,
)
from .presets import PRESETS, DegradationParams

__all__ = [
    "BACKEND_SUMMARIES",
    "BACKENDS",
    "DEFAULT_BACKEND",
    "DEGRADE_VERSION",
    "PRESETS",
    "DegradationParams",
    "backend_version",
    "degradation_plan",
    "degrade_image",
    "get_backend",
    "get_preset",
    "image_rng",
    "preset_definition",
]
