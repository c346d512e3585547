"""Running pyiqa metrics on uint8 batches, and loading their model files offline.

pyiqa (https://github.com/chaofengc/IQA-PyTorch) is what TAIR's ``val.py`` uses
(TAIR val.py:68-75, pyiqa.create_metric). Its network metrics fetch
weights from the Hugging Face hub or torchvision on construction; the helpers
here hand them our local files instead, after :func:`bench.io.weights.require` has
checked that every file exists, so no code path reaches the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.io.weights import load_checkpoint

from ..errors import BenchError
from .base import ImageMetric, group_by_shape, to_tensor


def pyiqa_version() -> str:
    """Installed pyiqa version, read without importing it."""
    try:
        return metadata.version("pyiqa")
    except metadata.PackageNotFoundError:
        return "not installed"


def import_pyiqa(metric: str):
    """Import pyiqa or raise a :class:`BenchError` that names the extra to install."""
    try:
        import pyiqa
    except ImportError as exc:
        raise BenchError(f"metric '{metric}' needs pyiqa ({exc}); install it with: pip install 'tair-bench[iqa]'") from None
    return pyiqa


class PyiqaMetric(ImageMetric):
    """A per-image metric computed by ``pyiqa.create_metric(pyiqa_name, ...)``.

    Images of equal size are stacked into batches of ``batch_size``; scores come
    back in input order.
    """

    pyiqa_name: ClassVar[str] = ""
    #: options passed to ``pyiqa.create_metric`` on top of pyiqa's defaults
    pyiqa_options: ClassVar[dict] = {}
    #: tensor dtype handed to pyiqa ("float32" like TAIR; "float64" for exact pixel metrics)
    dtype: ClassVar[str] = "float32"

    def __init__(self, batch_size: int = 8, **options: Any):
        super().__init__(batch_size=batch_size, **options)
        self.batch_size = int(batch_size)
        self.model = None

    def _create(self, device: str, **extra: Any):
        pyiqa = import_pyiqa(self.name)
        opts = {**self.pyiqa_options, **extra}
        return pyiqa.create_metric(self.pyiqa_name, device=device, **opts)

    def _load(self, device: str) -> None:
        self.model = self._create(device)

    def _score(self, preds: list[np.ndarray], refs: list[np.ndarray] | None,
               instances: Sequence[Sequence[Any]] | None) -> list[float | None]:
        import torch

        dtype = getattr(torch, self.dtype)
        out: list[float | None] = [None] * len(preds)
        for group in group_by_shape(preds):
            for start in range(0, len(group), self.batch_size):
                idx = group[start:start + self.batch_size]
                x = to_tensor([preds[i] for i in idx], self.device, dtype)
                try:
                    with torch.no_grad():
                        if self.mode == "fr":
                            s = self.model(x, to_tensor([refs[i] for i in idx], self.device, dtype))
                        else:
                            s = self.model(x)
                except (RuntimeError, ValueError, AssertionError) as exc:
                    h, w = preds[idx[0]].shape[:2]
                    raise BenchError(f"metric '{self.name}' (pyiqa '{self.pyiqa_name}') failed on {w}x{h} images: "
                                     f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
                vals = s.detach().reshape(len(idx), -1)[:, 0].cpu().double().tolist()
                for i, v in zip(idx, vals):
                    out[i] = float(v)
        return out


def load_state(net: Any, path: Path, what: str, strict: bool = True, required: Sequence[str] = ()) -> None:
    """Load a checkpoint into ``net`` as pyiqa's ``load_pretrained_network`` does
    (optional ``params`` key, ``module.`` prefixes dropped), but with an error that
    names the file when it does not fit.

    Read with :func:`bench.io.weights.load_checkpoint`: tensors only, unless the
    file's sha256 matches its published hash (some pyiqa files pickle more).
    """

    sd = load_checkpoint(path, what)
    if isinstance(sd, dict) and isinstance(sd.get("params"), dict):
        sd = sd["params"]
    if not isinstance(sd, dict):
        raise BenchError(f"{what}: {path} is not a state-dict checkpoint (got {type(sd).__name__})")
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    lacking = [k for k in required if k not in sd]
    if lacking:
        raise BenchError(f"{what}: {path} lacks {lacking}; is it the right file? Re-fetch it")
    try:
        result = net.load_state_dict(sd, strict=strict)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise BenchError(f"{what}: {path} does not fit the network ({first}); re-fetch it") from None
    if not strict and result.unexpected_keys:
        raise BenchError(f"{what}: {path} has unexpected keys {result.unexpected_keys[:5]}; re-fetch it")
