"""Real-ESRGAN restorers in PyTorch: ``RealESRGAN_x4plus`` and ``realesr-general-x4v3``.

The two networks are written out in :mod:`tair_bench_adapters.realesrgan_arch` rather than
taken from ``basicsr``/``realesrgan`` (whose installs pin old torchvision APIs) or
``spandrel`` (an optional extra that would hide the key layout this module must
check); state-dict key names are BasicSR's, so the released ``.pth`` files load
with strict key checking.

Denoise strength (realesr-general-x4v3 only): the official CLI's ``-dn`` defaults
to 0.5 (upstream/Real-ESRGAN/inference_realesrgan.py:25-31). For any strength other
than 1 it loads two files -- the model and ``realesr-general-wdn-x4v3.pth``, whose
path is the model path with the name swapped (:101-104) -- and blends them by deep
network interpolation: every tensor under ``params`` becomes ``s * x4v3 + (1 - s) *
wdn`` (``RealESRGANer.dni``, realesrgan/utils.py:77-86, weights ``[s, 1 - s]``,
:104). :func:`load_dni_network` does the same; the adapter defaults to 0.5 as the
CLI does and records the strength (and whether it is the official default) in its
config. The hyper-parameters are read from the file's tensor
shapes (like ``spandrel`` does), so fine-tunes of the same family with other
widths/depths (e.g. RealESRGAN_x4plus_anime_6B, num_block 6) load too.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from bench.errors import AdapterError, WeightsMissing
from bench.io.hashing import file_sha256
from bench.io.weights import WeightFile
from bench.registry import did_you_mean

from .base import Restorer
from .realesrgan_arch import RRDBNet, SRVGGNetCompact
from .tiling import run_tiled


@dataclass(frozen=True)
class ModelSpec:
    """A released model: its file name, where it is published, how to build it."""

    file: str
    url: str
    build: Callable[[dict], nn.Module]


#: Released files (github.com/xinntao/Real-ESRGAN, releases v0.1.0 and v0.2.5.0).
MODELS: dict[str, ModelSpec] = {
    "RealESRGAN_x4plus": ModelSpec(
        "RealESRGAN_x4plus.pth",
        "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
        RRDBNet.from_state_dict),
    "realesr-general-x4v3": ModelSpec(
        "realesr-general-x4v3.pth",
        "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
        SRVGGNetCompact.from_state_dict),
}
#: model whose official CLI blends in a "weak denoise" twin, and that twin
#: (inference_realesrgan.py:79-85, 101-104)
DNI_MODEL, DNI_TOKEN, WDN_TOKEN = "realesr-general-x4v3", "realesr-general-x4v3", "realesr-general-wdn-x4v3"
WDN_URL = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-wdn-x4v3.pth"
#: the CLI's ``-dn`` default (inference_realesrgan.py:25-31)
OFFICIAL_DENOISE_STRENGTH = 0.5


def wdn_path_for(weights: Path) -> Path:
    """Where the CLI looks for the wdn twin: the model path with the name swapped
    (inference_realesrgan.py:102); a file name without the name gets the official
    file name in the same folder."""
    name = weights.name
    return weights.with_name(name.replace(DNI_TOKEN, WDN_TOKEN) if DNI_TOKEN in name else f"{WDN_TOKEN}.pth")


def weights_dir() -> Path:
    """Where model files are looked for: ``$TAIR_BENCH_WEIGHTS`` or
    ``~/.cache/tair-bench/weights``."""
    env = os.environ.get("TAIR_BENCH_WEIGHTS")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tair-bench" / "weights"


def _first(keys: Sequence[str], n: int = 5) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:n]) + (f" (+{len(keys) - n} more)" if len(keys) > n else "")


def read_state_dict(path: str | os.PathLike, keys: Sequence[str] = ("params_ema", "params")) -> dict:
    """The state dict in a released ``.pth``: under the first of ``keys`` present
    (``params_ema`` first, as RealESRGANer prefers it, realesrgan/utils.py:65-69),
    else the file's top-level dict."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        raise AdapterError(f"{path}: not a readable torch file ({exc})") from None
    sd = obj
    if isinstance(obj, dict):
        sd = next((obj[k] for k in keys if k in obj), obj)
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise AdapterError(f"{path}: expected a state dict (or one under {' / '.join(map(repr, keys))})")
    return sd


def load_network(model: str, path: str | os.PathLike) -> nn.Module:
    """Load a released (or same-layout) ``.pth`` into its network, strictly.

    Accepts ``{"params_ema": sd}`` (preferred, as in RealESRGAN_x4plus.pth),
    ``{"params": sd}`` (realesr-general-x4v3.pth) or a bare state dict.
    """
    return _build(model, read_state_dict(path), path)


def dni_blend(sd_a: dict, sd_b: dict, strength: float, names: tuple[str, str] = ("a", "b")) -> dict:
    """Deep network interpolation: ``strength * a + (1 - strength) * b`` per tensor of ``a``
    (realesrgan/utils.py:84-85). Both must have the same keys and shapes."""
    if set(sd_a) != set(sd_b):
        raise AdapterError(f"{names[0]} and {names[1]} do not have the same keys; "
                           f"only in the first: {_first(set(sd_a) - set(sd_b)) or '-'}; "
                           f"only in the second: {_first(set(sd_b) - set(sd_a)) or '-'}")
    bad = sorted(k for k in sd_a if sd_a[k].shape != sd_b[k].shape)
    if bad:
        raise AdapterError(f"{names[0]} and {names[1]}: tensor shapes differ at {_first(bad)}")
    return {k: strength * v + (1 - strength) * sd_b[k] for k, v in sd_a.items()}


def load_dni_network(model: str, path: str | os.PathLike, wdn_path: str | os.PathLike,
                     strength: float) -> nn.Module:
    """``model`` from ``path`` blended with ``wdn_path`` at ``strength``, both read under
    ``params`` as ``RealESRGANer.dni`` reads them (realesrgan/utils.py:77)."""
    sd = dni_blend(read_state_dict(path, ("params",)), read_state_dict(wdn_path, ("params",)), strength,
                   (str(path), str(wdn_path)))
    return _build(model, sd, path)


def _build(model: str, sd: dict, path: str | os.PathLike) -> nn.Module:
    spec = MODELS[model]
    net = spec.build(sd)
    expected = set(net.state_dict())
    missing, unexpected = expected - set(sd), set(sd) - expected
    if missing or unexpected:
        raise AdapterError(
            f"{path}: not a {model} state dict; missing keys: {_first(missing) or '-'}; "
            f"unexpected keys: {_first(unexpected) or '-'}")
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise AdapterError(f"{path}: tensor shapes do not fit {model}: {exc}") from None
    return net.eval()


# -- adapter ------------------------------------------------------------------------


class RealESRGAN(Restorer):
    """Real-ESRGAN x4 super-resolution (input_mode "lq": returns 4x larger images).

    Args: ``model`` (a name in :data:`MODELS`), ``weights`` (path to the .pth;
    default ``<weights_dir>/<official file name>``), ``tile`` (tile size in input
    pixels, 0 = whole image), ``tile_pad`` (context around each tile), ``fp16``
    (half precision; CUDA only; default on for CUDA as in Real-ESRGAN's
    ``inference_realesrgan.py``), ``batch_size``; for realesr-general-x4v3 also
    ``denoise_strength`` (default 0.5, the CLI's; 1 = the x4v3 weights alone) and
    ``wdn_weights`` (the wdn twin; default beside ``weights``, as the CLI finds it).
    """
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.realesrgan.RealESRGAN"

    input_mode = "lq"
    code_version = "1"

    @classmethod
    def weight_files(cls, args: dict) -> list[tuple[str, WeightFile]]:
        """The released files this adapter reads from the weights folder when run with suite
        ``args`` (``bench weights fetch --suite``): none where the suite gives its own paths;
        general-x4v3 below denoise strength 1 also needs its wdn twin."""
        model = args.get("model", "RealESRGAN_x4plus")
        spec = MODELS.get(model)
        if spec is None or args.get("weights"):
            return []
        out = [(f"realesrgan/{model}", WeightFile(spec.file, spec.url, None))]
        if model == DNI_MODEL and args.get("denoise_strength", 0.5) != 1 and not args.get("wdn_weights"):
            wdn = WDN_URL.rsplit("/", 1)[-1]
            out.append((f"realesrgan/{wdn.removesuffix('.pth')}", WeightFile(wdn, WDN_URL, None)))
        return out

    def __init__(self, scale: int = 4, device: str = "cpu", model: str = "RealESRGAN_x4plus",
                 weights: str | None = None, tile: int = 0, tile_pad: int = 10,
                 fp16: bool | None = None, batch_size: int = 1, denoise_strength: float | None = None,
                 wdn_weights: str | None = None, **args: Any):
        super().__init__(scale=scale, device=device, model=model, tile=tile, tile_pad=tile_pad,
                         batch_size=batch_size, **args)
        if args:
            raise AdapterError(f"realesrgan: unknown argument(s) {sorted(args)}; known: model, weights, tile, "
                               "tile_pad, fp16, batch_size, denoise_strength, wdn_weights")
        if model not in MODELS:
            raise AdapterError(f"realesrgan: unknown model '{model}'{did_you_mean(model, MODELS)}")
        if self.scale != 4:
            raise AdapterError(f"realesrgan: the {model} model is x4; got scale {scale}")
        self.model = model
        self.weights = Path(weights).expanduser() if weights else weights_dir() / MODELS[model].file
        self.denoise_strength, self.wdn_weights = self._denoise(model, denoise_strength, wdn_weights)
        self.tile, self.tile_pad = int(tile), int(tile_pad)
        try:
            is_cuda = torch.device(device).type == "cuda"
        except RuntimeError:
            raise AdapterError(f"realesrgan: unknown device '{device}' (cpu, cuda or cuda:N)") from None
        self.fp16 = is_cuda if fp16 is None else bool(fp16)
        if self.fp16 and not is_cuda:
            raise AdapterError(f"realesrgan: fp16 needs a CUDA device; got device '{device}'")
        self.args["fp16"] = self.fp16
        self.batch_size = max(1, int(batch_size))
        self.net: nn.Module | None = None

    def _denoise(self, model: str, strength: float | None, wdn: str | None) -> tuple[float | None, Path | None]:
        """Strength and wdn path; recorded in config (only for the model the CLI blends)."""
        if model != DNI_MODEL:
            if strength is not None or wdn is not None:
                raise AdapterError(f"realesrgan: denoise_strength/wdn_weights apply only to {DNI_MODEL} "
                                   f"(inference_realesrgan.py:101); model is {model}")
            return None, None
        s = OFFICIAL_DENOISE_STRENGTH if strength is None else float(strength)
        if not 0.0 <= s <= 1.0:
            raise AdapterError(f"realesrgan: denoise_strength must be in [0, 1] (0 keeps noise, 1 = strongest "
                               f"denoise, the x4v3 weights alone); got {s}")
        self.args["denoise_strength"] = s
        self.args["denoise_strength_source"] = ("official default (inference_realesrgan.py -dn 0.5)"
                                                if strength is None else "set")
        if s == 1.0:
            return s, None
        return s, Path(wdn).expanduser() if wdn else wdn_path_for(self.weights)

    @property
    def dni_weight(self) -> list[float] | None:
        """``[s, 1 - s]`` as the CLI passes it to RealESRGANer (inference_realesrgan.py:104), or None."""
        return None if self.wdn_weights is None else [self.denoise_strength, 1 - self.denoise_strength]

    def official_argv(self, inputs: str, outputs: str) -> list[str]:
        """The ``inference_realesrgan.py`` arguments that build the same network on the same
        weights (for reproducing a row with the official CLI; the conformance tests parse
        them with its real parser). ``--pre_pad 0`` is the CLI's default (:38) and what this
        adapter does; the CLI finds the wdn twin beside ``--model_path`` (:102), so a
        ``wdn_weights`` elsewhere cannot be expressed."""
        argv = ["-i", inputs, "-o", outputs, "-n", self.model, "--model_path", str(self.weights),
                "-s", str(self.scale), "-t", str(self.tile), "--tile_pad", str(self.tile_pad), "--pre_pad", "0"]
        if self.denoise_strength is not None:
            argv += ["-dn", str(self.denoise_strength)]
        return argv + ([] if self.fp16 else ["--fp32"])

    def _missing(self) -> WeightsMissing:
        spec = MODELS[self.model]
        return WeightsMissing(
            f"realesrgan ({self.model})", str(self.weights),
            f"download {spec.url} to that path (or pass weights: PATH, or set TAIR_BENCH_WEIGHTS)")

    def _missing_wdn(self) -> WeightsMissing:
        return WeightsMissing(
            f"realesrgan ({self.model}, denoise_strength {self.denoise_strength})", str(self.wdn_weights),
            f"download {WDN_URL} to that path (or pass wdn_weights: PATH; or denoise_strength: 1 to use "
            f"the x4v3 weights alone, which is not the official default)")

    def _check_files(self) -> None:
        if not self.weights.is_file():
            raise self._missing()
        if self.wdn_weights is not None and not self.wdn_weights.is_file():
            raise self._missing_wdn()

    def preflight(self) -> list[str]:
        problems = []
        if not self.weights.is_file():
            problems.append(str(self._missing()))
        if self.wdn_weights is not None and not self.wdn_weights.is_file():
            problems.append(str(self._missing_wdn()))
        if torch.device(self.device).type == "cuda" and not torch.cuda.is_available():
            problems.append(f"realesrgan: device '{self.device}' asked for, but torch sees no CUDA GPU")
        return problems

    def version(self) -> str:
        self._check_files()
        v = f"{super().version()}/{self.model}/sha256={file_sha256(self.weights)}"
        if self.wdn_weights is not None:
            v += f"/dni={self.denoise_strength}/wdn_sha256={file_sha256(self.wdn_weights)}"
        return v

    def load(self) -> None:
        self._check_files()
        if self.wdn_weights is not None:
            net = load_dni_network(self.model, self.weights, self.wdn_weights, self.denoise_strength)
        else:
            net = load_network(self.model, self.weights)
        net = net.to(self.device)
        self.net = net.half() if self.fp16 else net

    @torch.inference_mode()
    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` float RGB in [0, 1] -> ``(N, 3, 4H, 4W)`` float32 on
        the CPU, unclamped (tests compare these before quantization)."""
        if self.net is None:
            self.load()
        net = self.net
        dtype = torch.float16 if self.fp16 else torch.float32
        x = x.to(self.device, dtype)
        y = run_tiled(net, x, self.scale, self.tile, self.tile_pad)
        return y.float().cpu()

    def restore_batch(self, images: Sequence[np.ndarray], prompts=None) -> list[np.ndarray]:
        outs: list[np.ndarray] = []
        for group in _shape_groups(images, self.batch_size):
            x = torch.from_numpy(np.stack(group)).permute(0, 3, 1, 2).float() / 255.0
            y = self.infer(x).clamp(0, 1).mul(255).round().to(torch.uint8)
            outs.extend(np.ascontiguousarray(a) for a in y.permute(0, 2, 3, 1).numpy())
        return outs


def _shape_groups(images: Sequence[np.ndarray], size: int) -> list[list[np.ndarray]]:
    """Split ``images`` into runs of equal shape, at most ``size`` each, in order."""
    groups: list[list[np.ndarray]] = []
    for i, img in enumerate(images):
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise AdapterError(f"realesrgan: image {i} must be (H, W, 3) uint8, "
                               f"got {img.shape} {img.dtype}")
        if groups and len(groups[-1]) < size and groups[-1][0].shape == img.shape:
            groups[-1].append(img)
        else:
            groups.append([img])
    return groups
