"""Seeded synthetic degradation (Real-ESRGAN second-order model) for making LQ inputs.

Public API::

    degrade_image(hq, preset, seed, image_id, scale=4) -> lq   # uint8 RGB
    image_rng(seed, image_id) -> numpy.random.Generator
    PRESETS                     # name -> DegradationParams
    preset_definition(name)     # JSON-serializable parameters, for results.json
    DEGRADE_VERSION             # enters cache keys; bumped when outputs change

Presets: ``realesrgan`` (the published table) and ``level1`` < ``level2`` < ``level3``
(our own definition; TAIR never published its SA-Text level parameters): see
:mod:`bench.degrade.presets`.
"""

from .pipeline import (
    DEGRADE_VERSION,
    degradation_plan,
    degrade_image,
    get_preset,
    image_rng,
    preset_definition,
)
from .presets import PRESETS, DegradationParams

__all__ = [
    "DEGRADE_VERSION",
    "PRESETS",
    "DegradationParams",
    "degradation_plan",
    "degrade_image",
    "get_preset",
    "image_rng",
    "preset_definition",
]
