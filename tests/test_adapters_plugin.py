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

from adapters.base import Restorer
from bench.registry import Registry

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
    reg.add("bicubic", "adapters.classical:Bicubic", "baseline")
    assert reg.names() == ["bicubic", "sharpen"]
    assert reg.load("sharpen").__name__ == "Sharpen"
