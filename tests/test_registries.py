"""One registry style for every kind of component: plugins and declared arguments.

Prompt sources, degradation presets and data set kinds are :class:`bench.registry.Registry`
objects like restorers and spotters: an entry point adds one (here faked in
``importlib.metadata``, as ``tests/test_adapters_plugin.py`` does for restorers), and
``bench validate`` checks a suite's options against what each one declares.
"""

from __future__ import annotations

from importlib import metadata

import pytest
import yaml

from bench.components import DATASETS, PROMPT_SOURCES
from bench.degrade.presets import PRESETS, DegradationParams
from bench.errors import SuiteError
from bench.prompts import NoPrompt, make_prompt_source
from bench.registry import Registry
from bench.suite import load_suite


def _with_entry_point(monkeypatch, group: str, name: str, value: str) -> None:
    ep = metadata.EntryPoint(name=name, value=value, group=group)
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points",
                        lambda **kw: metadata.EntryPoints([ep]) if kw.get("group") == group else real(**kw))


class QuietPrompt(NoPrompt):
    """A plugin prompt source: no prompt, with one option of its own."""

    def __init__(self, volume: int = 0):
        self.volume = volume


#: a plugin degradation preset: level2's table under another name
MILD = PRESETS["level2"]


def test_a_prompt_source_plugin_is_listed_built_and_its_options_declared(monkeypatch):
    import bench.prompts

    registry = Registry(PROMPT_SOURCES.kind, PROMPT_SOURCES.group)  # a fresh one: plugins load once
    registry.add("none", "bench.prompts:NoPrompt", "no prompt")
    monkeypatch.setattr(bench.prompts, "PROMPT_SOURCES", registry)
    _with_entry_point(monkeypatch, PROMPT_SOURCES.group, "quiet", f"{__name__}:QuietPrompt")
    assert registry.names() == ["none", "quiet"]
    assert isinstance(make_prompt_source({"type": "quiet", "volume": 3}), QuietPrompt)
    assert registry.arguments("quiet") == {"volume"}


def test_a_degradation_preset_plugin_is_a_preset_like_the_built_ins(monkeypatch):
    registry = Registry(PRESETS.kind, PRESETS.group)
    _with_entry_point(monkeypatch, PRESETS.group, "mild", f"{__name__}:MILD")
    assert list(registry) == ["mild"]
    assert isinstance(registry["mild"], DegradationParams) and registry["mild"] is PRESETS["level2"]


def test_declared_arguments_of_each_kind():
    """What validate checks against: a prompt source's constructor options (less the
    harness's ``device``), a data set loader's ``dataset.options``."""
    assert PROMPT_SOURCES.arguments("spotted") == {"template", "empty", "max_words", "spotter", "spotter_args",
                                                   "min_score"}
    assert PROMPT_SOURCES.arguments("caption") == {"path", "template", "max_new_tokens"}
    assert PROMPT_SOURCES.arguments("none") == frozenset()
    assert DATASETS.arguments("realir") == {"annotations", "recursive", "tair_filter"}
    assert DATASETS.arguments("satext-test") == frozenset()


def test_validate_names_every_mistyped_option_with_a_suggestion(tmp_path):
    suite = {
        "version": 1, "name": "typos",
        "dataset": {"kind": "realir", "path": str(tmp_path), "options": {"recursiv": False}},
        "degradation": {"kind": "provided", "scale": 4},
        "restorers": [{"name": "sd", "adapter": "sd-upscaler", "args": {"path": "/m"},
                       "prompt": {"source": "spotted", "max_word": 3}}],
    }
    path = tmp_path / "typos.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    with pytest.raises(SuiteError) as err:
        load_suite(path)
    problems = err.value.problems
    assert any("dataset.options.recursiv" in p and "did you mean 'recursive'" in p for p in problems)
    assert any("restorers[0].prompt.max_word" in p and "did you mean 'max_words'" in p for p in problems)
    assert len(problems) == 2
