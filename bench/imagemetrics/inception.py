"""The FID Inception-v3 feature extractor (2048-d pool3 features), built offline.

Network: pytorch-fid's port of the TensorFlow FID Inception graph
(``inception-2015-12-05``), i.e. torchvision's Inception-v3 with 1008 classes and
the FID-specific blocks ``FIDInceptionA/C/E_1/E_2`` (taken from pyiqa 0.1.16's
copy of pytorch-fid, ``pyiqa/archs/inception.py``), loaded strictly from
``pt_inception-2015-12-05-6726825d.pth`` in the weights dir.

Preprocessing, as pytorch-fid's default: uint8/255 -> bilinear resize to 299x299
(``F.interpolate(mode='bilinear', align_corners=False)``, no antialias) -> 2x-1.
torch-fidelity/torchmetrics resize with a TF1-style bilinear instead, and
clean-fid with PIL bicubic: FID values are comparable only within one choice.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.io.weights import load_checkpoint

RESIZE_MODE = "bilinear-299-align_corners=False (pytorch-fid)"
FEATURE_DIM = 2048


def build_fid_inception():
    """The FID Inception-v3 with random weights (the state dict is loaded separately)."""
    import torchvision

    try:
        from pyiqa.archs.inception import FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2
    except ImportError as exc:
        raise BenchError(f"FID needs pyiqa's Inception blocks ({exc}); install: pip install 'tair-bench[iqa]'") from None
    net = torchvision.models.inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    return net


class InceptionFeatures:
    """Callable: float ``(N, 3, H, W)`` tensor in [0, 1] -> ``(N, 2048)`` pool3 features."""

    def __init__(self, weights_path: Path, device: str = "cpu"):
        from torch import nn

        net = build_fid_inception()
        try:
            net.load_state_dict(load_checkpoint(weights_path, "FID"))
        except (RuntimeError, KeyError) as exc:
            first = str(exc).splitlines()[0]
            raise BenchError(f"FID: {weights_path} is not the pt_inception state dict ({first}); re-fetch it") from None
        self.trunk = nn.Sequential(
            net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, nn.MaxPool2d(3, 2),
            net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, nn.MaxPool2d(3, 2),
            net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d,
            net.Mixed_6e, net.Mixed_7a, net.Mixed_7b, net.Mixed_7c, nn.AdaptiveAvgPool2d(1),
        ).to(device).eval()
        self.device = device

    def __call__(self, x):
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            x = F.interpolate(x.to(self.device), size=(299, 299), mode="bilinear", align_corners=False)
            return self.trunk(2 * x - 1).flatten(1)
