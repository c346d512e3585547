"""DiffBIR's real ``inference.py`` and inference loop, imported with only the model side stubbed.

``test_diffbir.py`` runs the real parser, the real ``BSRInferenceLoop`` (its
``__init__``, ``load_*``, ``load_lq``, ``run`` and ``save``), the real
``instantiate_from_config``/``load_model_from_url`` and the real ``set_seed``.
Stubbed in ``sys.modules`` (heavy or networked): ``diffbir.model`` (the networks),
``diffbir.pipeline`` (the sampling pipelines), ``diffbir.utils.cond_fn``,
``diffbir.utils.face`` (facexlib) and ``llava``/``ram`` (so the captioner module's
optional imports fail as they do without those packages). The stub pipelines take
exactly the real ``__init__``/``run`` parameters (rebuilt from upstream/DiffBIR/
diffbir/pipeline.py with :func:`realcode.stub_with_signature`), return ``upscale x``
images and draw noise from the global torch, numpy and python ``random`` generators,
so seeding is observable; and each stub network draws from those generators when it is
built, as a real network's initialisation draws from torch's (so building the loop
moves the generators, as it does with the real networks).

Every file the loop opens is recorded: YAML through ``OmegaConf.load`` and
checkpoints through ``torch.load``; a download attempt fails the test.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .realcode import stub_with_signature

#: module prefixes imported from the checkout (removed from sys.modules afterwards)
UPSTREAM_MODULES = ("inference", "diffbir", "llava", "ram")


@dataclass
class Record:
    """What the real loop did: model classes built, files opened, pipeline runs."""

    built: list[str] = field(default_factory=list)
    yaml: list[str] = field(default_factory=list)
    checkpoints: list[str] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)


class FakeModel:
    """Stands for every network the configs name; supports the calls the loop makes."""

    record: Record

    def __init__(self, **params: Any):
        self.record.built.append(type(self).__name__)
        _draw_from_every_generator()

    def load_state_dict(self, sd, strict=True):
        return [], []

    def load_pretrained_sd(self, sd):
        return set(), set()

    def load_controlnet_from_ckpt(self, sd):
        return None

    def cast_dtype(self, dtype):
        return None

    def eval(self):
        return self

    def to(self, *args, **kwargs):
        return self


def _draw_from_every_generator() -> None:
    """Move torch's, numpy's and python's global generators, as building a real network
    does (torch's weight initialisation), so a seed set before the build is not the
    state the first image sees."""
    import random

    import torch

    torch.rand(3)
    np.random.rand(3)
    random.random()


def _fake_module(name: str, factory) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__getattr__ = factory  # PEP 562: any name the real code imports
    return mod


def _pipelines(root: Path, record: Record) -> types.ModuleType:
    import random

    import torch

    src = root / "diffbir" / "pipeline.py"

    def run_impl(a: dict) -> np.ndarray:
        self, lq = a["self"], a["lq"]
        n, h, w, _ = lq.shape
        scale = getattr(self, "upscale", 1)
        oh, ow = int(h * scale), int(w * scale)
        up = lq[:, (np.arange(oh) * h) // oh][:, :, (np.arange(ow) * w) // ow]
        noise = torch.randint(0, 256, (n, oh, ow, 3), dtype=torch.uint8).numpy().astype(np.uint16)
        noise += np.random.randint(0, 256, (n, oh, ow, 3)).astype(np.uint16) + random.randrange(256)
        record.runs.append({k: v for k, v in a.items() if k not in ("self", "lq")} | {"lq_shape": lq.shape})
        return ((up.astype(np.uint16) + noise) // 4).astype(np.uint8)

    def init_impl(a: dict) -> None:
        self = a["self"]
        if "upscale" in a:
            self.upscale = a["upscale"]

    base_init = stub_with_signature(src, "Pipeline.__init__", init_impl)
    bsr_init = stub_with_signature(src, "BSRNetPipeline.__init__", init_impl)
    run = stub_with_signature(src, "Pipeline.run", run_impl)
    classes = {"Pipeline": type("Pipeline", (), {"__init__": base_init, "run": run})}
    classes["BSRNetPipeline"] = type("BSRNetPipeline", (classes["Pipeline"],), {"__init__": bsr_init})
    classes["SwinIRPipeline"] = type("SwinIRPipeline", (classes["Pipeline"],), {})

    def get(name: str):
        if name in classes:
            return classes[name]
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (classes["Pipeline"],), {})

    return _fake_module("diffbir.pipeline", get)


def _models(record: Record) -> types.ModuleType:
    made: dict[str, type] = {}

    def get(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in made:
            made[name] = type(name, (FakeModel,), {"record": record})
        return made[name]

    return _fake_module("diffbir.model", get)


def _anything(name: str) -> types.ModuleType:
    def get(attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return type(attr, (), {"__init__": lambda self, *a, **k: None})

    return _fake_module(name, get)


def make_checkout(root: Path, dst: Path, weights: list[str]) -> Path:
    """A writable stand-in of the checkout: the real code and configs linked, and an
    empty placeholder for each of ``weights`` (the loop's ``torch.load`` is recorded,
    never reads them)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("inference.py", "diffbir", "configs"):
        (dst / name).symlink_to(root / name)
    for w in weights:
        (dst / w).parent.mkdir(parents=True, exist_ok=True)
        (dst / w).write_bytes(b"")
    return dst


@contextmanager
def real_diffbir(root: Path, checkout: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Record]:
    """Import context for the real DiffBIR code at ``root`` with cwd = ``checkout``."""
    import torch
    from omegaconf import OmegaConf

    record = Record()
    for name, mod in (("diffbir.model", _models(record)), ("diffbir.pipeline", _pipelines(root, record)),
                      ("diffbir.utils.cond_fn", _anything("diffbir.utils.cond_fn")),
                      ("diffbir.utils.face", _anything("diffbir.utils.face"))):
        monkeypatch.setitem(sys.modules, name, mod)
    for name in ("llava", "ram"):
        monkeypatch.setitem(sys.modules, name, None)
    real_yaml = OmegaConf.load

    def load_yaml(path, *a, **k):
        record.yaml.append(os.path.relpath(os.path.abspath(path), checkout))
        return real_yaml(path, *a, **k)

    def load_ckpt(path, *a, **k):
        record.checkpoints.append(os.path.relpath(os.path.abspath(path), checkout))
        return {"weight": torch.zeros(1)}

    monkeypatch.setattr(OmegaConf, "load", staticmethod(load_yaml))
    monkeypatch.setattr(torch, "load", load_ckpt)
    # diffbir/utils/common.py:271 synchronises unconditionally; without CUDA that raises
    # (the runner handles it itself; the official main() run here needs the same)
    if not torch.cuda.is_available():
        monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(checkout))
    monkeypatch.chdir(checkout)
    try:
        from diffbir.utils import common

        def no_download(url, dst, *a, **k):
            raise AssertionError(f"the loop would download {url} to {dst}: a file preflight does not list")

        monkeypatch.setattr(common, "download_url_to_file", no_download)
        yield record
    finally:
        # the stubs themselves are put back by monkeypatch; the real modules imported from
        # the checkout go, so no other test sees them
        for name in [m for m in sys.modules if m.split(".")[0] in UPSTREAM_MODULES]:
            del sys.modules[name]
