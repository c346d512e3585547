"""LPIPS (Zhang et al. 2018, v0.1, AlexNet trunk) through the ``lpips`` package.

The package ships its linear-layer weights (``lpips/weights/v0.1/alex.pth``) but
takes the AlexNet trunk from torchvision, which would download
``alexnet-owt-7be5be79.pth``. Here the trunk is built with random weights
(``pnet_rand=True``, no download) and then overwritten from our weights dir.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.io.weights import load_checkpoint, require

from .base import ImageMetric, group_by_shape, to_tensor


def lpips_version() -> str:
    try:
        return metadata.version("lpips")
    except metadata.PackageNotFoundError:
        return "not installed"


def build_lpips_alex(alexnet_path, device: str = "cpu"):
    """An ``lpips.LPIPS(net='alex', version='0.1')`` whose trunk comes from ``alexnet_path``
    (a torchvision AlexNet state dict) and linear layers from the lpips package."""
    try:
        import lpips
        import torchvision
    except ImportError as exc:
        raise BenchError(f"LPIPS needs the lpips package ({exc}); install it with: pip install 'tair-bench[iqa]'") from None
    import warnings

    with warnings.catch_warnings():  # lpips passes the deprecated `pretrained=` to torchvision
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    alex = torchvision.models.alexnet(weights=None)
    try:
        alex.load_state_dict(load_checkpoint(alexnet_path, "LPIPS"))
    except (RuntimeError, KeyError) as exc:
        first = str(exc).splitlines()[0]
        raise BenchError(f"LPIPS: {alexnet_path} is not a torchvision AlexNet state dict ({first}); re-fetch it") from None
    # lpips splits alexnet.features into slice1..slice5, keeping the feature indices as child names.
    for part in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5):
        for idx, child in part.named_children():
            child.load_state_dict(alex.features[int(idx)].state_dict())
    return model.to(device).eval()


LPIPS_DEFINITION = ("LPIPS v0.1, AlexNet trunk (torchvision IMAGENET1K_V1, alexnet-owt-7be5be79.pth) with the linear "
                    "layers shipped in lpips {ver} (weights/v0.1/alex.pth); inputs uint8/255 mapped to [-1, 1] "
                    "(normalize=True); spatially averaged distance")


class Lpips(ImageMetric):
    """LPIPS-Alex per image pair, lower is better (the same network pyiqa 'lpips' builds)."""

    name = "lpips"
    summary = "LPIPS v0.1 AlexNet (lpips package)"
    header = "LPIPS"
    tolerance = 0.01
    mode = "fr"
    higher_is_better = False
    weights = ("alexnet",)

    def __init__(self, batch_size: int = 8, **options: Any):
        super().__init__(batch_size=batch_size, **options)
        self.batch_size = int(batch_size)
        self.model = None

    @property
    def definition(self) -> str:  # type: ignore[override]
        return LPIPS_DEFINITION.format(ver=lpips_version()) + "; full image, no resize, no border crop."

    def _load(self, device: str) -> None:
        self.model = build_lpips_alex(require("alexnet", f"metric '{self.name}'"), device)

    def _score(self, preds: list[np.ndarray], refs: list[np.ndarray] | None,
               instances: Sequence[Sequence[Any]] | None) -> list[float | None]:
        out: list[float | None] = [None] * len(preds)
        for group in group_by_shape(preds):
            for start in range(0, len(group), self.batch_size):
                idx = group[start:start + self.batch_size]
                vals = lpips_distance(self.model, [preds[i] for i in idx], [refs[i] for i in idx], self.device)
                for i, v in zip(idx, vals):
                    out[i] = v
        return out


def lpips_distance(model, preds: Sequence[np.ndarray], refs: Sequence[np.ndarray], device: str) -> list[float]:
    """LPIPS for equal-sized pairs stacked in one batch (:func:`lpips_streamed`)."""
    import torch

    with torch.no_grad():
        d = lpips_streamed(model, to_tensor(preds, device), to_tensor(refs, device))
    return [float(v) for v in d.reshape(len(preds)).cpu().double().tolist()]


def lpips_streamed(model, in0, in1):
    """``model(in0, in1, normalize=True)`` computed layer by layer.

    ``lpips.LPIPS.forward`` (lpips 0.1.4, ``lpips/lpips.py``) runs the whole trunk on both
    inputs and keeps every layer's features, normalised features and squared differences
    until the end (about 0.6 GB for a 2048x1536 pair). Here each layer's term is computed
    as soon as that layer's features exist, and only the current layer's features are kept:
    the same operations on the same tensors in the same order (scaling, trunk slice,
    ``normalize_tensor``, squared difference, linear layer, spatial mean, the sum over
    layers in layer order), so the same numbers (tested bit for bit). Models of another
    shape (no AlexNet ``slice1..5``, spatial or non-linear variants) take the library's path."""
    import lpips

    net = model.net
    slices = [getattr(net, f"slice{k}", None) for k in range(1, model.L + 1)]
    if model.version != "0.1" or not model.lpips or model.spatial or any(s is None for s in slices):
        return model(in0, in1, normalize=True)
    x0, x1 = model.scaling_layer(2 * in0 - 1), model.scaling_layer(2 * in1 - 1)
    val = 0
    for kk, part in enumerate(slices):
        x0, x1 = part(x0), part(x1)
        diff = (lpips.normalize_tensor(x0) - lpips.normalize_tensor(x1)) ** 2
        val += lpips.lpips.spatial_average(model.lins[kk](diff), keepdim=True)
        del diff
    return val

