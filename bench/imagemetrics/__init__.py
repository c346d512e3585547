"""Image-quality metrics: a small public API over pyiqa, lpips and our own code.

``create_metric(name, **options)`` returns an :class:`ImageMetric`;
``list_metrics()`` lists ``(name, mode, summary)`` and ``describe_metrics()``
everything each metric's class declares (:class:`MetricInfo`). Metric classes are
imported to be described, but no model is loaded until a metric is. A new metric
is one class (its attributes declare mode, direction, summary, table header, gate
tolerance, weight files and definition) plus one line in :data:`_METRICS`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..registry import Registry
from .base import ImageMetric
from .info import MetricInfo, declared

__all__ = ["ImageMetric", "MetricInfo", "create_metric", "describe_metrics", "list_metrics"]

_P = "bench.imagemetrics"

#: name -> "module:Class", one line per metric; the class declares the rest
_METRICS: dict[str, str] = {
    "psnr": f"{_P}.pixel:Psnr",
    "psnr_y": f"{_P}.pixel:PsnrY",
    "ssim": f"{_P}.pixel:Ssim",
    "ssim_y": f"{_P}.pixel:SsimY",
    "lpips": f"{_P}.lpips_metric:Lpips",
    "dists": f"{_P}.nets:Dists",
    "niqe": f"{_P}.nets:Niqe",
    "musiq": f"{_P}.nets:Musiq",
    "maniqa": f"{_P}.nets:Maniqa",
    "clipiqa": f"{_P}.nets:ClipIqa",
    "fid": f"{_P}.fid:Fid",
    "text_psnr": f"{_P}.textregion:TextPsnr",
    "text_lpips": f"{_P}.textregion:TextLpips",
    "ms_ssim": f"{_P}.pyiqa_generic:MsSsim",
    "cw_ssim": f"{_P}.pyiqa_generic:CwSsim",
    "fsim": f"{_P}.pyiqa_generic:Fsim",
    "vif": f"{_P}.pyiqa_generic:Vif",
    "gmsd": f"{_P}.pyiqa_generic:Gmsd",
    "nlpd": f"{_P}.pyiqa_generic:Nlpd",
    "vsi": f"{_P}.pyiqa_generic:Vsi",
    "mad": f"{_P}.pyiqa_generic:Mad",
    "piqe": f"{_P}.pyiqa_generic:Piqe",
}

#: third-party metrics register an :class:`ImageMetric` subclass (with the same class
#: attributes as the built-ins) under this entry-point group
ENTRY_POINT_GROUP = "tair_bench.image_metrics"


def _registry(metrics: dict[str, str]) -> Registry:
    """The registry of ``metrics`` (name -> "module:Class") plus the entry-point plugins."""
    registry = Registry("image metric", ENTRY_POINT_GROUP)
    for name, target in metrics.items():
        registry.add(name, target, "built-in", extra="iqa")
    return registry


_REGISTRY = _registry(_METRICS)


def create_metric(name: str, **options: Any) -> ImageMetric:
    """A new, unloaded metric. Unknown names raise ``BenchError`` with a suggestion."""
    return _REGISTRY.load(name)(**options)


def describe_metrics() -> list[MetricInfo]:
    """What every metric's class declares (plugins included), sorted by name. A plugin's
    summary says where it comes from; one that cannot be imported is described with
    mode ``"?"`` and the reason as its summary, not raised."""
    out = []
    for entry in _REGISTRY.entries():
        try:
            info = declared(entry.name, _REGISTRY.load(entry.name))
        except Exception as exc:  # a broken plugin is listed with the reason, not fatal
            out.append(MetricInfo(entry.name, "?", None, entry.name, None, (), f"cannot load: {exc}"))
            continue
        if entry.name not in _METRICS:
            info = replace(info, summary=f"{info.summary} ({entry.summary})" if info.summary else entry.summary)
        out.append(info)
    return out


def list_metrics() -> list[tuple[str, str, str]]:
    """``(name, mode, one-line summary)`` for every metric (plugins included), sorted by name."""
    return [(i.name, i.mode, i.summary) for i in describe_metrics()]
