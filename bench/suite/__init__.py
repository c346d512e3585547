"""Suite files: versioned YAML, validated into typed, frozen objects.

A suite names the data set, the degradation, the restorers, the text spotter and
the metrics. Every problem is reported as ``<file>: <key path>: <what>`` with a
"did you mean" suggestion for misspelled keys and names, e.g.::

    suites/x.yaml: restorers[1].adapter: unknown 'lanczso' -- did you mean 'lanczos'?

Relative paths inside a suite are resolved against the suite file's folder (those
given by ``--set``, and those of a suite given as a mapping, against the current
working directory). ``--set KEY=VALUE`` overrides are in :mod:`bench.suite.overrides`.
The types and the suite hash are in :mod:`bench.suite.specs`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import yaml

from bench import components as c
from bench.errors import SuiteError
from bench.records import REFERENCE_ROWS
from bench.registry import did_you_mean
from bench.suite.overrides import Schema, SuiteSource, apply_overrides
from bench.suite.specs import (  # noqa: F401 (the suite types, imported from here by the rest)
    SUITE_FORMAT_VERSION,
    DatasetSpec,
    DegradationSpec,
    MetricsSpec,
    RestorerSpec,
    SpotterSpec,
    Suite,
    TextMetricSpec,
)

# --------------------------------------------------------------------------------
# the keys of each part: name -> required
_DATASET_KEYS = {"kind": True, "path": False, "source": False, "split": False, "limit": False, "options": False}
_DEGRADATION_KEYS = {"kind": True, "level": False, "preset": False, "seed": False, "scale": False,
                     "backend": False, "usm_sharpen": False}
_RESTORER_KEYS = {"name": False, "adapter": True, "args": False, "prompt": False, "python": False,
                  "batch_size": False}
_SPOTTER_KEYS = {"name": True, "min_score": False, "args": False, "python": False}
_METRICS_KEYS = {"image": False, "text": False}
_TEXT_KEYS = {"compat": False, "matching": False, "confident_threshold": False, "headline": False}
_OUTPUT_KEYS = {"dir": False}
_TOP_KEYS = {"version": True, "name": True, "description": False, "dataset": True, "degradation": True,
             "restorers": True, "spotter": False, "metrics": False, "output": False}


def _shape(keys: dict, **parts: Schema) -> dict:
    """A part's keys for walking ``--set`` KEYs: each free-form (None) unless given."""
    return {key: parts.get(key) for key in keys}


#: the suite's shape, for ``--set`` (:mod:`bench.suite.overrides`)
SUITE_SCHEMA: Schema = _shape(
    _TOP_KEYS, dataset=_shape(_DATASET_KEYS), degradation=_shape(_DEGRADATION_KEYS),
    restorers=[_shape(_RESTORER_KEYS)], spotter=_shape(_SPOTTER_KEYS),
    metrics=_shape(_METRICS_KEYS, image=[None], text=_shape(_TEXT_KEYS)), output=_shape(_OUTPUT_KEYS))


# --------------------------------------------------------------------------------
# validation helpers
class _Ctx:
    """Carries the file name for error messages and collects every error of the file.

    A check that cannot go on raises :class:`SuiteError`; :meth:`collect` notes it and
    validation continues with the next part, so one pass reports every mistake."""

    def __init__(self, file: str):
        self.file = file
        self.errors: list[str] = []

    def fail(self, path: str, msg: str) -> SuiteError:
        return SuiteError(f"{self.file}: {path}: {msg}" if path else f"{self.file}: {msg}")

    def note(self, path: str, msg: str) -> None:
        """Record an error that does not stop the rest of this part."""
        self.errors.append(str(self.fail(path, msg)))

    def collect(self, check: Callable[..., Any], *args: Any) -> Any:
        """``check(*args)``, or :data:`_FAILED` after noting the error it raised."""
        try:
            return check(*args)
        except SuiteError as exc:
            self.errors.append(str(exc))
            return _FAILED

    def mapping(self, value: Any, path: str, allowed: dict[str, bool]) -> dict:
        """Check ``value`` is a mapping with only ``allowed`` keys (name -> required).
        Unknown keys are noted (all of them); missing required keys stop this part."""
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                self.note(f"{path}.{key}" if path else str(key), f"unknown key{did_you_mean(key, allowed)}")
        missing = [key for key, required in allowed.items() if required and key not in value]
        for key in missing[:-1]:
            self.note(f"{path}.{key}" if path else key, "required key is missing")
        if missing:
            raise self.fail(f"{path}.{missing[-1]}" if path else missing[-1], "required key is missing")
        return value

    def typed(self, value: Any, path: str, kind: type | tuple, what: str) -> Any:
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.fail(path, f"expected {what}, got {value!r}")
        if not isinstance(value, kind):
            raise self.fail(path, f"expected {what}, got {value!r}")
        return value

    def name(self, value: Any, path: str, choices, kind: str) -> str:
        self.typed(value, path, str, f"a {kind} name")
        if value not in choices:
            raise self.fail(path, f"unknown {kind} '{value}'{did_you_mean(value, choices)}")
        return value


#: what :meth:`_Ctx.collect` returns for a part that failed
_FAILED: Any = object()


def _python(ctx: _Ctx, value: Any, path: str, base: Path) -> Optional[str]:
    """An interpreter: a path (relative ones against the suite's folder; symlinks kept,
    since a virtual environment's ``bin/python`` is one) or a command name found on PATH."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(path, f"expected the path of a Python interpreter (e.g. /opt/envs/seesr/bin/python), got {value!r}")
    value = os.path.expanduser(value.strip())
    if os.sep not in value:
        return value
    return os.path.normpath(value if os.path.isabs(value) else os.path.join(str(base), value))


def _resolve(base: Path, p: Optional[str]) -> Optional[str]:
    if p is None:
        return None
    q = Path(str(p)).expanduser()
    return str(q if q.is_absolute() else (base / q).resolve())


def _dataset(ctx: _Ctx, raw: Any, base: Path, names: "Names") -> DatasetSpec:
    d = ctx.mapping(raw, "dataset", _DATASET_KEYS)
    kind = ctx.name(d["kind"], "dataset.kind", names.datasets, "data set kind")
    if d.get("path") is None and d.get("source") is None:
        raise ctx.fail("dataset", "give dataset.path (local files) or dataset.source (hub id)")
    limit = d.get("limit")
    if limit is not None and (ctx.typed(limit, "dataset.limit", int, "a positive integer") < 1):
        raise ctx.fail("dataset.limit", f"expected a positive integer, got {limit}")
    options = ctx.typed(d.get("options", {}) or {}, "dataset.options", dict, "a mapping")
    _check_args(ctx, names.dataset_args, kind, options, "dataset.options", "data set kind")
    return DatasetSpec(kind=kind, path=_resolve(base, d.get("path")), source=d.get("source"),
                       split=str(d.get("split", "test")), limit=limit, options=dict(options))


def _degradation(ctx: _Ctx, raw: Any, names: "Names") -> DegradationSpec:
    d = ctx.mapping(raw, "degradation", _DEGRADATION_KEYS)
    kind = ctx.name(d["kind"], "degradation.kind", ("provided", "preset"), "degradation kind")
    seed = ctx.typed(d.get("seed", 0), "degradation.seed", int, "an integer seed")
    scale = ctx.typed(d.get("scale", 4), "degradation.scale", int, "an integer scale")
    if scale not in (1, 2, 4, 8):
        raise ctx.fail("degradation.scale", f"expected 1, 2, 4 or 8, got {scale}")
    if kind == "provided":
        level = ctx.typed(d.get("level", 1), "degradation.level", int, "a level number")
        for key in ("preset", "backend", "usm_sharpen"):
            if d.get(key) is not None:
                raise ctx.fail(f"degradation.{key}", "only used with kind: preset")
        return DegradationSpec(kind=kind, level=level, seed=seed, scale=scale)
    if "preset" not in d:
        raise ctx.fail("degradation.preset", "required with kind: preset")
    preset = ctx.name(d["preset"], "degradation.preset", names.presets, "degradation preset")
    backend = ctx.name(d.get("backend", names.backends[0]), "degradation.backend", names.backends,
                       "degradation backend")
    usm = ctx.typed(d.get("usm_sharpen", False), "degradation.usm_sharpen", bool, "true or false")
    if usm and backend != "torch":
        raise ctx.fail("degradation.usm_sharpen", f"only the torch backend sharpens (backend is '{backend}'); "
                                                  f"set backend: torch or remove usm_sharpen")
    return DegradationSpec(kind=kind, preset=preset, seed=seed, scale=scale, backend=backend, usm_sharpen=usm)


def _prompt(ctx: _Ctx, raw: Any, p: str, names: "Names") -> dict:
    """A restorer's prompt source and its options, each option checked against the ones the
    source declares (:meth:`bench.prompts.PromptSource.declared_args`)."""
    prompt = {"source": raw} if isinstance(raw, str) else raw
    prompt = ctx.typed(prompt, f"{p}.prompt", dict, "a mapping or a prompt source name")
    if "source" not in prompt:
        raise ctx.fail(f"{p}.prompt.source", "required key is missing")
    source = ctx.name(prompt["source"], f"{p}.prompt.source", names.prompt_sources, "prompt source")
    options = {k: v for k, v in prompt.items() if k != "source"}
    _check_args(ctx, names.prompt_args, source, options, f"{p}.prompt", "prompt source")
    return dict(prompt)


def _restorer(ctx: _Ctx, i: int, item: Any, names: "Names", base: Path, seen: set) -> Optional[RestorerSpec]:
    """One restorer; each of its parts is checked even when another part is wrong."""
    p = f"restorers[{i}]"
    r = ctx.mapping(item, p, _RESTORER_KEYS)
    adapter = ctx.collect(ctx.name, r["adapter"], f"{p}.adapter", names.restorers, "adapter")
    name = str(r.get("name", r["adapter"]))
    if name in REFERENCE_ROWS or name in seen:
        ctx.note(f"{p}.name", f"'{name}' is {'reserved' if name in ('HQ', 'LQ') else 'used twice'}")
    seen.add(name)
    args = ctx.collect(ctx.typed, r.get("args", {}) or {}, f"{p}.args", dict, "a mapping")
    prompt = ctx.collect(_prompt, ctx, r.get("prompt", {"source": "none"}), p, names)
    python = ctx.collect(_python, ctx, r.get("python"), f"{p}.python", base)
    batch_size = ctx.collect(_batch_size, ctx, r.get("batch_size"), f"{p}.batch_size")
    if _FAILED not in (adapter, args):
        _check_args(ctx, names.restorer_args, adapter, args, f"{p}.args", "adapter")
    if _FAILED in (adapter, args, prompt, python, batch_size):
        return None
    return RestorerSpec(name=name, adapter=adapter, args=dict(args), prompt=prompt, python=python,
                        batch_size=batch_size)


def _batch_size(ctx: _Ctx, value: Any, path: str) -> Optional[int]:
    if value is None:
        return None
    size = ctx.typed(value, path, int, "a positive integer")
    if size < 1:
        raise ctx.fail(path, f"expected a positive integer, got {size}")
    return size


def _check_args(ctx: _Ctx, lookup: Optional[Callable[[str], Optional[frozenset]]], name: str, args: dict,
                path: str, kind: str) -> None:
    """Note every key of ``args`` that component ``name`` does not declare."""
    declared = lookup(name) if lookup is not None else None
    if declared is None:
        return
    for key in args:
        if key not in declared:
            ctx.note(f"{path}.{key}", f"unknown argument of {kind} '{name}'{did_you_mean(key, declared)} "
                                      f"(it takes: {', '.join(sorted(declared)) or 'no arguments'})")


def _restorers(ctx: _Ctx, raw: Any, names: "Names", base: Path) -> tuple:
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("restorers", "expected a non-empty list")
    seen: set = set()
    specs = [ctx.collect(_restorer, ctx, i, item, names, base, seen) for i, item in enumerate(raw)]
    return tuple(s for s in specs if isinstance(s, RestorerSpec))


def _min_score(ctx: _Ctx, value: Any) -> float:
    min_score = float(ctx.typed(value, "spotter.min_score", (int, float), "a number"))
    if not 0.0 <= min_score <= 1.0:
        raise ctx.fail("spotter.min_score", f"expected a number in [0, 1], got {min_score}")
    return min_score


def _default_min_score(names: "Names", name: Any) -> float:
    """The cut a suite without ``spotter.min_score`` gets: the spotter's own ``min_score``
    default (a model with its own threshold needs no second cut), else 0.5."""
    found = names.spotter_min_score(name) if names.spotter_min_score and isinstance(name, str) else None
    return 0.5 if found is None else found


def _spotter(ctx: _Ctx, raw: Any, names: "Names", base: Path) -> SpotterSpec:
    if raw is None:
        return SpotterSpec()
    if isinstance(raw, str):
        raw = {"name": raw}
    s = ctx.mapping(raw, "spotter", _SPOTTER_KEYS)
    name = ctx.collect(ctx.name, s["name"], "spotter.name", names.spotters, "spotter")
    parts = (name,
             ctx.collect(_min_score, ctx, s.get("min_score", _default_min_score(names, name))),
             ctx.collect(ctx.typed, s.get("args", {}) or {}, "spotter.args", dict, "a mapping"),
             ctx.collect(_python, ctx, s.get("python"), "spotter.python", base))
    if _FAILED in parts:
        return _FAILED
    name, min_score, args, python = parts
    _check_args(ctx, names.spotter_args, name, args, "spotter.args", "spotter")
    return SpotterSpec(name=name, min_score=min_score, args=dict(args), python=python)


def _metrics(ctx: _Ctx, raw: Any, names: "Names") -> MetricsSpec:
    if raw is None:
        return MetricsSpec()
    m = ctx.mapping(raw, "metrics", _METRICS_KEYS)
    image = m.get("image", ["psnr", "ssim"]) or []
    ctx.typed(image, "metrics.image", list, "a list of metric names")
    for i, name in enumerate(image):
        ctx.collect(ctx.name, name, f"metrics.image[{i}]", names.image_metrics, "image metric")
    t = ctx.mapping(m.get("text", {}) or {}, "metrics.text", _TEXT_KEYS)
    compat = ctx.name(t.get("compat", "testr"), "metrics.text.compat", ("testr", "clean"), "compat mode")
    matching = ctx.name(t.get("matching", "greedy"), "metrics.text.matching", ("greedy", "bipartite"),
                        "matching")
    thr = float(ctx.typed(t.get("confident_threshold", 0.9), "metrics.text.confident_threshold",
                          (int, float), "a number"))
    headline = ctx.name(t.get("headline", "e2e_none_hmean"), "metrics.text.headline",
                        names.text_metrics, "text metric")
    return MetricsSpec(image=tuple(image), text=TextMetricSpec(compat, matching, thr, headline))


@dataclass(frozen=True)
class Names:
    """The valid names a suite may use (from the component registries)."""

    datasets: tuple
    presets: tuple
    backends: tuple  # degradation backends, the default first
    restorers: tuple
    spotters: tuple
    image_metrics: tuple
    text_metrics: tuple
    prompt_sources: tuple
    #: prompt source name -> the options it accepts (``restorers[i].prompt``), or None (not checked)
    prompt_args: Optional[Callable[[str], Optional[frozenset]]] = None
    #: data set kind -> the ``dataset.options`` keys its loader reads, or None (not checked)
    dataset_args: Optional[Callable[[str], Optional[frozenset]]] = None
    #: adapter name -> the ``args`` keys it accepts, or None (unknown here: not checked)
    restorer_args: Optional[Callable[[str], Optional[frozenset]]] = None
    #: spotter name -> the ``args`` keys it accepts, or None
    spotter_args: Optional[Callable[[str], Optional[frozenset]]] = None
    #: spotter name -> its own ``min_score`` default (a suite without one uses it), or None: 0.5
    spotter_min_score: Optional[Callable[[str], Optional[float]]] = None

    @classmethod
    def from_registries(cls) -> "Names":
        """The names registered now (built-ins and installed plugins)."""
        return cls(datasets=tuple(c.DATASETS.names()), presets=c.preset_names(),
                   backends=c.degrade_backends(), restorers=tuple(c.RESTORERS.names()),
                   spotters=tuple(c.SPOTTERS.names()),
                   image_metrics=c.image_metric_names(), text_metrics=c.text_metric_names(),
                   prompt_sources=tuple(c.PROMPT_SOURCES.names()),
                   prompt_args=c.PROMPT_SOURCES.arguments,
                   dataset_args=c.DATASETS.arguments,
                   restorer_args=c.RESTORERS.arguments,
                   spotter_args=c.SPOTTERS.arguments,
                   spotter_min_score=c.default_min_score)


def parse_suite(raw: Any, file: str, names: Names, base: Optional[Path] = None) -> Suite:
    """Validate a loaded YAML document into a :class:`Suite`; relative paths in it
    resolve against ``base`` (default: the folder of ``file``).

    Every error of the file is reported, one line each: the :class:`SuiteError`
    message has one line per problem and its ``problems`` attribute lists them."""
    ctx = _Ctx(file)
    top = ctx.mapping(raw, "", {k: False for k in _TOP_KEYS})
    for key in (k for k, required in _TOP_KEYS.items() if required and k not in top):
        ctx.note(key, "required key is missing")
    if "version" in top and top["version"] != SUITE_FORMAT_VERSION:
        ctx.note("version", f"unsupported suite version {top['version']!r} "
                            f"(this tair-bench reads version {SUITE_FORMAT_VERSION})")
    base = base or Path(file).resolve().parent

    def part(key: str, check: Callable[..., Any], *args: Any) -> Any:
        return ctx.collect(check, ctx, top[key], *args) if key in top else _FAILED

    name = ctx.collect(ctx.typed, top["name"], "name", str, "a string") if "name" in top else _FAILED
    dataset = part("dataset", _dataset, base, names)
    degradation = part("degradation", _degradation, names)
    restorers = part("restorers", _restorers, names, base)
    spotter = ctx.collect(_spotter, ctx, top.get("spotter"), names, base)
    metrics = ctx.collect(_metrics, ctx, top.get("metrics"), names)
    out = ctx.collect(ctx.mapping, top.get("output", {}) or {}, "output", _OUTPUT_KEYS)
    if ctx.errors:
        raise SuiteError("\n".join(ctx.errors), problems=ctx.errors)
    return Suite(
        version=SUITE_FORMAT_VERSION,
        name=str(name),
        description=str(top.get("description", "") or ""),
        dataset=dataset,
        degradation=degradation,
        restorers=restorers,
        spotter=spotter,
        metrics=metrics,
        output_dir=_resolve(Path.cwd(), out.get("dir")) if out.get("dir") else None,
        path=str(Path(file)),
    )


def load_suite(path: str | Path | SuiteSource, names: Optional[Names] = None,
               names_factory: Optional[Callable[[], Names]] = None, overrides: Sequence[str] = ()) -> Suite:
    """Read and validate a suite YAML file, after applying ``--set`` ``overrides``
    (``KEY=VALUE``, :mod:`bench.suite.overrides`; a :class:`SuiteSource` brings its own)."""
    if isinstance(path, SuiteSource):
        path, overrides = path.path, (*path.overrides, *overrides)
    p = Path(path)
    if not p.is_file():
        raise SuiteError(f"{p}: suite file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SuiteError(f"{p}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    raw = apply_overrides(raw, overrides, SUITE_SCHEMA, str(p))
    return parse_suite(raw, str(p), names or (names_factory or Names.from_registries)())


#: how errors name a suite given as a mapping (:func:`suite_from_dict`)
DICT_SUITE = "<suite dict>"


def suite_from_dict(raw: Any, overrides: Sequence[str] = (), names: Optional[Names] = None) -> Suite:
    """Validate a suite given as a mapping exactly like a file; its relative paths
    resolve against the current working directory (there is no file to be next to)."""
    raw = apply_overrides(raw, overrides, SUITE_SCHEMA, DICT_SUITE)
    return parse_suite(raw, DICT_SUITE, names or Names.from_registries(), base=Path.cwd())
