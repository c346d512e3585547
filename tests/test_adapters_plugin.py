"""The example plugin package (examples/plugin_adapter) without installing it.

Checks that its module defines a valid Restorer that honours the contract, that
its pyproject declares the entry point the Registry reads, and -- by faking
``importlib.metadata.entry_points`` -- that a Registry lists and loads it.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import tomllib

from bench.registry import Registry
from tair_bench_adapters.base import Restorer

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin_adapter"
GROUP = "tair_bench.restorers"


@pytest.fixture
def plugin_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    sys.modules.pop("tair_sharpen", None)


def _declared() -> dict:
    return tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]


def test_example_is_a_valid_restorer(plugin_path):
    """The declared target imports, subclasses Restorer, and returns x-scale images."""
    module_name, _, attr = _declared()["sharpen"].partition(":")
    cls = getattr(__import__(module_name), attr)
    assert issubclass(cls, Restorer) and cls.input_mode in ("lq", "upsampled")
    r = cls(scale=4, radius=1.0)
    out = r.restore_batch([np.full((6, 5, 3), 100, np.uint8)])
    assert out[0].shape == (24, 20, 3) and out[0].dtype == np.uint8
    assert r.config()["radius"] == 1.0


def test_registry_lists_a_simulated_entry_point(plugin_path, monkeypatch):
    """With the entry point faked in importlib.metadata, the Registry lists the
    plugin next to its own entries and loads the class."""
    ep = metadata.EntryPoint(name="sharpen", value=_declared()["sharpen"], group=GROUP)
    real = metadata.entry_points

    def fake(**kw):
        return metadata.EntryPoints([ep]) if kw.get("group") == GROUP else real(**kw)

    monkeypatch.setattr(metadata, "entry_points", fake)
    reg = Registry("adapter", GROUP)
    reg.add("bicubic", "tair_bench_adapters.classical:Bicubic", "baseline")
    assert reg.names() == ["bicubic", "sharpen"]
    assert reg.load("sharpen").__name__ == "Sharpen"


def _fake_group(monkeypatch, group: str, name: str, value: str) -> None:
    ep = metadata.EntryPoint(name=name, value=value, group=group)
    real = metadata.entry_points

    def fake(**kw):
        return metadata.EntryPoints([ep]) if kw.get("group") == group else real(**kw)

    monkeypatch.setattr(metadata, "entry_points", fake)


def test_image_metric_plugin_group(monkeypatch):
    """An image metric registered under ``tair_bench.image_metrics`` is listed with
    its class's mode and summary (and where it comes from) and created by name, like a built-in."""
    import bench.imagemetrics as im
    from bench.imagemetrics.pixel import Psnr

    _fake_group(monkeypatch, im.ENTRY_POINT_GROUP, "my_psnr", "bench.imagemetrics.pixel:Psnr")
    monkeypatch.setattr(im, "_REGISTRY", Registry("image metric", im.ENTRY_POINT_GROUP))
    im._REGISTRY.add("psnr", "bench.imagemetrics.pixel:Psnr", "built-in")
    source = next(e.summary for e in im._REGISTRY.entries() if e.name == "my_psnr")
    assert ("my_psnr", Psnr.mode, f"{Psnr.summary} ({source})") in im.list_metrics()
    assert isinstance(im.create_metric("my_psnr"), Psnr)


def test_dataset_plugin_group(monkeypatch):
    """The data set registry reads the ``tair_bench.datasets`` group."""
    from bench import components

    assert components.DATASETS.group == "tair_bench.datasets"
    _fake_group(monkeypatch, "tair_bench.datasets", "my-set", "bench.data.realir:RealIR")
    reg = Registry("data set kind", components.DATASETS.group)
    assert reg.names() == ["my-set"] and reg.load("my-set").__name__ == "RealIR"
