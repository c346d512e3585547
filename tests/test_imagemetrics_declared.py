"""An image metric's class is the one place for its facts: a class with the declared
attributes plus one registry line shows up in the listing, the summary-table headers
and the gate's tolerances; plugins are read the same way; the built-ins' declarations
agree with their instances and with the weights catalogue."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

import bench.imagemetrics as im
from bench.imagemetrics.base import ImageMetric
from bench.io.weights import MANIFEST
from bench.report import columns, gate

TARGET = f"{__name__}:MeanAbsDiff"


class MeanAbsDiff(ImageMetric):
    """A toy full-reference metric, declared as a contributor would declare one."""

    name = "mean_abs_diff"
    mode = "fr"
    higher_is_better = False
    summary = "mean absolute uint8 difference (test metric)"
    header = "MAD255"
    tolerance = 0.5
    definition = "mean |pred - ref| over all RGB uint8 values"

    def _score(self, preds, refs, instances):
        return [float(np.abs(p.astype(int) - r.astype(int)).mean()) for p, r in zip(preds, refs)]


class Undeclared(ImageMetric):
    """A plugin that declares only what scoring needs."""

    name = "undeclared"


class BadTolerance(MeanAbsDiff):
    """A plugin whose tolerance the gate could not use."""

    tolerance = -1


@pytest.fixture()
def one_line(monkeypatch):
    """The one registry line a new metric needs, then the registry rebuilt from it."""
    monkeypatch.setitem(im._METRICS, "mean_abs_diff", TARGET)
    monkeypatch.setattr(im, "_REGISTRY", im._registry(im._METRICS))


def _doc(metric: str) -> dict:
    return {"rows": ["a"], "results": {"a": {metric: 1.0}}, "metrics": {metric: {"kind": "image"}}}


def test_a_class_plus_one_registry_line_is_listed_headed_and_gated(one_line):
    assert ("mean_abs_diff", "fr", MeanAbsDiff.summary) in im.list_metrics()
    assert columns.table_headers()["mean_abs_diff"] == ("MAD255", False)
    assert columns.summary_columns(_doc("mean_abs_diff")) == [("mean_abs_diff", "MAD255", False)]
    assert gate.default_tolerances()["mean_abs_diff"] == 0.5
    assert gate.Tolerances().tolerance("mean_abs_diff") == 0.5
    m = im.create_metric("mean_abs_diff")
    a, b = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 3, np.uint8)
    assert isinstance(m, MeanAbsDiff) and m.score_batch([a], [b]) == [3.0]


def _plugins(monkeypatch, **targets: str) -> None:
    eps = [metadata.EntryPoint(name=n, value=v, group=im.ENTRY_POINT_GROUP) for n, v in targets.items()]
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points",
                        lambda **kw: metadata.EntryPoints(eps) if kw.get("group") == im.ENTRY_POINT_GROUP
                        else real(**kw))
    monkeypatch.setattr(im, "_REGISTRY", im._registry(im._METRICS))


def test_plugins_declare_the_same_way_with_defaults_when_absent(monkeypatch):
    _plugins(monkeypatch, their_mad=TARGET, bare=f"{__name__}:Undeclared", broken="no_such_module_x:Cls")
    info = {i.name: i for i in im.describe_metrics()}
    assert info["their_mad"].header == "MAD255" and info["their_mad"].tolerance == 0.5
    assert info["their_mad"].summary.startswith(MeanAbsDiff.summary + " (plugin from")
    assert (info["bare"].header, info["bare"].tolerance, info["bare"].mode) == ("bare", None, "fr")
    assert info["broken"].mode == "?" and info["broken"].summary.startswith("cannot load:")
    headers, tolerances = columns.table_headers(), gate.default_tolerances()
    assert headers["their_mad"] == ("MAD255", False) and headers["bare"] == ("bare", False)
    assert tolerances["their_mad"] == 0.5 and "bare" not in tolerances and "broken" not in tolerances


def test_an_unusable_declaration_is_reported_not_raised(monkeypatch):
    _plugins(monkeypatch, bad_tol=f"{__name__}:BadTolerance")
    bad = next(i for i in im.describe_metrics() if i.name == "bad_tol")
    assert bad.mode == "?" and "tolerance -1" in bad.summary
    assert "bad_tol" not in gate.default_tolerances()


def test_builtin_declarations_match_their_instances():
    """What is read without creating a metric is what the created metric says."""
    for info in im.describe_metrics():
        m = im.create_metric(info.name)
        assert (m.name, m.mode, m.higher_is_better, tuple(m.weights)) == \
            (info.name, info.mode, info.higher_is_better, info.weights), info.name
        assert info.summary and m.definition, info.name


def test_builtin_headers_are_distinct_and_weights_catalogued():
    infos = im.describe_metrics()
    headers = [i.header for i in infos]
    assert len(headers) == len(set(headers))
    needed = {w for i in infos for w in i.weights}
    assert needed == set(MANIFEST), "every metric's files are catalogued, every catalogued file is needed"
