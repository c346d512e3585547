"""Image-quality metrics: a small public API over pyiqa, lpips and our own code.

``create_metric(name, **options)`` returns an :class:`ImageMetric`;
``list_metrics()`` lists ``(name, mode, summary)``. Nothing heavy is imported
until a metric is loaded. A new metric is one class plus one line in
:data:`_METRICS`.
"""

from __future__ import annotations

from typing import Any

from ..registry import Registry
from .base import ImageMetric

__all__ = ["ImageMetric", "create_metric", "list_metrics"]

_P = "bench.imagemetrics"

#: name -> (target, mode, summary, default constructor options)
_METRICS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "psnr": (f"{_P}.pixel:Psnr", "fr", "PSNR on RGB, pyiqa 'psnr' (as TAIR)", {}),
    "psnr_y": (f"{_P}.pixel:PsnrY", "fr", "PSNR on luma (pyiqa YIQ Y by default)", {}),
    "ssim": (f"{_P}.pixel:Ssim", "fr", "SSIM on RGB, pyiqa 'ssimc' (as TAIR)", {}),
    "ssim_y": (f"{_P}.pixel:SsimY", "fr", "SSIM on luma, pyiqa 'ssim' (YIQ Y, rounded)", {}),
    "lpips": (f"{_P}.lpips_metric:Lpips", "fr", "LPIPS v0.1 AlexNet (lpips package)", {}),
    "dists": (f"{_P}.nets:Dists", "fr", "DISTS, pyiqa (VGG16)", {}),
    "niqe": (f"{_P}.nets:Niqe", "nr", "NIQE, pyiqa (no reference)", {}),
    "musiq": (f"{_P}.nets:Musiq", "nr", "MUSIQ KonIQ, pyiqa (no reference)", {}),
    "maniqa": (f"{_P}.nets:Maniqa", "nr", "MANIQA KonIQ, pyiqa (no reference)", {}),
    "clipiqa": (f"{_P}.nets:ClipIqa", "nr", "CLIP-IQA RN50, pyiqa (no reference)", {}),
    "fid": (f"{_P}.fid:Fid", "set", "FID, pytorch-fid Inception features (set level)", {}),
    "text_psnr": (f"{_P}.textregion:TextPsnr", "fr", "PSNR inside the GT text polygons", {}),
    "text_lpips": (f"{_P}.textregion:TextLpips", "fr", "LPIPS over GT word crops (64 px high)", {}),
}

# Weight-free pyiqa metrics (OFFLINE.md) through the generic wrapper:
# name -> (pyiqa name, mode, higher_is_better from pyiqa's `lower_better`).
_GENERIC = {
    "ms_ssim": ("ms_ssim", "fr", True),
    "cw_ssim": ("cw_ssim", "fr", True),
    "fsim": ("fsim", "fr", True),
    "vif": ("vif", "fr", True),
    "gmsd": ("gmsd", "fr", False),
    "nlpd": ("nlpd", "fr", False),
    "vsi": ("vsi", "fr", True),
    "mad": ("mad", "fr", False),
    "piqe": ("piqe", "nr", False),
}
for _name, (_pyiqa, _mode, _hib) in _GENERIC.items():
    _METRICS[_name] = (f"{_P}.pixel:PyiqaGeneric", _mode, f"pyiqa '{_pyiqa}' (weight-free, pyiqa defaults)",
                       {"metric_name": _name, "pyiqa_name": _pyiqa, "mode": _mode, "higher_is_better": _hib})

#: third-party metrics register an :class:`ImageMetric` subclass (with its ``mode``
#: class attribute) under this entry-point group
ENTRY_POINT_GROUP = "tair_bench.image_metrics"

_REGISTRY = Registry("image metric", ENTRY_POINT_GROUP)
for _name, (_target, _mode, _summary, _) in _METRICS.items():
    _REGISTRY.add(_name, _target, _summary, extra="iqa")


def create_metric(name: str, **options: Any) -> ImageMetric:
    """A new, unloaded metric. Unknown names raise ``BenchError`` with a suggestion."""
    cls = _REGISTRY.load(name)
    defaults = _METRICS[name][3] if name in _METRICS else {}
    return cls(**{**defaults, **options})


def list_metrics() -> list[tuple[str, str, str]]:
    """``(name, mode, one-line summary)`` for every metric (plugins included), sorted by name."""
    rows = []
    for entry in _REGISTRY.entries():
        if entry.name in _METRICS:
            rows.append((entry.name, _METRICS[entry.name][1], _METRICS[entry.name][2]))
        else:  # a plugin: its mode is a class attribute, read without loading models
            try:
                mode = getattr(_REGISTRY.load(entry.name), "mode", "fr")
            except Exception as exc:  # a broken plugin is listed with the reason, not fatal
                mode, entry = "?", type(entry)(entry.name, entry.target, f"cannot load: {exc}")
            rows.append((entry.name, mode, entry.summary))
    return rows
