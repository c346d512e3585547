"""Which model files a name or a suite needs: the metrics' and restorers' declarations,
turned into :class:`bench.io.weights.Need` entries for ``bench weights fetch|verify``.

Image metrics declare their files (``weights``, keys into :data:`bench.io.weights.MANIFEST`);
a restorer adapter that reads released files from the weights folder declares them with a
``weight_files(args)`` class method. Users may name a metric (``lpips``, ``dists``, ...) or
a manifest file; ``--suite`` collects everything a suite's metrics and restorers need.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from bench.components import RESTORERS
from bench.errors import BenchError
from bench.imagemetrics import describe_metrics
from bench.io.weights import MANIFEST, Need, WeightFile
from bench.registry import did_you_mean
from bench.suite import load_suite


def metric_weights() -> dict[str, tuple[str, ...]]:
    """Image metric name -> the :data:`MANIFEST` names its class declares (``weights``);
    only metrics that need files. Read from the metric registry, plugins included."""
    return {info.name: tuple(info.weights) for info in describe_metrics() if info.weights}


def resolve(name: str) -> list[str]:
    """:data:`MANIFEST` names for one name a user gives: ``all``, an image metric's name
    (its files: ``lpips`` -> ``alexnet``; ``dists`` -> ``vgg16``, ``dists``) or a manifest name."""
    if name == "all":
        return sorted(MANIFEST)
    by_metric = metric_weights()
    if name in by_metric:
        return list(by_metric[name])
    if name in MANIFEST:
        return [name]
    known = sorted(set(MANIFEST) | set(by_metric))
    raise BenchError(f"unknown weight file or metric '{name}'{did_you_mean(name, known)}; "
                     f"known: {', '.join(known)}, all (or use --suite SUITE)")


def expand(names: Iterable[str]) -> list[str]:
    """:data:`MANIFEST` names for ``names`` (:func:`resolve` each), without repeats."""
    out: list[str] = []
    for n in names:
        out += [m for m in resolve(n) if m not in out]
    return out


def needs_for_names(names: Iterable[str]) -> list[Need]:
    """The files for ``names`` (see :func:`resolve`)."""
    by_metric = metric_weights()
    return [Need(k, MANIFEST[k], tuple(f"metric '{m}'" for m, ws in by_metric.items() if k in ws))
            for k in expand(names)]


def restorer_files(adapter: str, args: dict) -> list[tuple[str, WeightFile]]:
    """The downloadable files of restorer ``adapter`` run with ``args`` (its class's
    ``weight_files(args)``); [] for adapters whose files ship with a package
    (realesrgan-ncnn) or live in their own repository."""
    if adapter not in RESTORERS:
        return []
    declared = getattr(RESTORERS.load(adapter), "weight_files", None)
    return list(declared(args)) if callable(declared) else []


def suite_needs(path: str | os.PathLike) -> list[Need]:
    """Every file the suite at ``path`` needs: its image metrics' (declared ``weights``)
    and its in-harness restorers' (:func:`restorer_files`), each once, in suite order."""
    suite = load_suite(path)
    users: dict[str, list[str]] = {}
    files: dict[str, WeightFile] = {}
    by_metric = metric_weights()
    for m in suite.metrics.image:
        for k in by_metric.get(m, ()):
            files[k] = MANIFEST[k]
            users.setdefault(k, []).append(f"metric '{m}'")
    for r in suite.restorers:
        for k, wf in restorer_files(r.adapter, r.args):
            files[k] = wf
            users.setdefault(k, []).append(f"restorer '{r.name}'")
    return [Need(k, wf, tuple(users[k])) for k, wf in files.items()]
