"""The two Real-ESRGAN networks, written out in PyTorch (why not imported: :mod:`tair_bench_adapters.realesrgan`).

* RRDBNet -- ESRGAN (Wang et al., ECCVW 2018), BasicSR ``basicsr/archs/rrdbnet_arch.py``;
  RealESRGAN_x4plus uses num_feat 64, num_block 23, num_grow_ch 32, scale 4
  (Real-ESRGAN ``inference_realesrgan.py``).
* SRVGGNetCompact -- Real-ESRGAN ``realesrgan/archs/srvgg_arch.py``;
  realesr-general-x4v3 uses num_feat 64, num_conv 32, PReLU, pixel shuffle x4.

State-dict key names are BasicSR's, so the released ``.pth`` files load with strict
key checking.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.nn import functional as F


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs with dense connections; output scaled by 0.2 plus input."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32):
        super().__init__()
        for i in range(5):
            out_ch = num_feat if i == 4 else num_grow_ch
            setattr(self, f"conv{i + 1}", nn.Conv2d(num_feat + i * num_grow_ch, out_ch, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for i in range(1, 5):
            conv = getattr(self, f"conv{i}")
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual dense block: three RDBs, scaled by 0.2, plus input."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator, x4 only: two nearest-x2 upsamplings, each followed by a conv."""

    scale = 4

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64,
                 num_block: int = 23, num_grow_ch: int = 32):
        super().__init__()
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))

    @classmethod
    def from_state_dict(cls, sd: dict) -> RRDBNet:
        """Build the net whose shapes match ``sd`` (defaults where keys are absent)."""
        blocks = {int(m.group(1)) for k in sd if (m := re.match(r"body\.(\d+)\.", k))}
        first, grow = sd.get("conv_first.weight"), sd.get("body.0.rdb1.conv1.weight")
        return cls(num_in_ch=first.shape[1] if first is not None else 3,
                   num_feat=first.shape[0] if first is not None else 64,
                   num_block=max(blocks) + 1 if blocks else 23,
                   num_grow_ch=grow.shape[0] if grow is not None else 32)


class SRVGGNetCompact(nn.Module):
    """Plain conv/PReLU stack at input resolution, pixel shuffle, plus the
    nearest-upsampled input (the net learns a residual)."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64,
                 num_conv: int = 32, upscale: int = 4):
        super().__init__()
        self.scale = upscale
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)  # keys body.N.weight/bias, as released
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")

    @classmethod
    def from_state_dict(cls, sd: dict) -> SRVGGNetCompact:
        """Build the net whose shapes match ``sd`` (defaults where keys are absent)."""
        convs = sorted(int(m.group(1)) for k, v in sd.items()
                       if (m := re.fullmatch(r"body\.(\d+)\.weight", k)) and v.ndim == 4)
        if len(convs) < 2:
            return cls()
        first, last = sd[f"body.{convs[0]}.weight"], sd[f"body.{convs[-1]}.weight"]
        upscale = round((last.shape[0] / 3) ** 0.5)
        return cls(num_in_ch=first.shape[1], num_feat=first.shape[0],
                   num_conv=len(convs) - 2, upscale=upscale)


# -- model files -------------------------------------------------------------------
