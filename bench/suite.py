"""Suite files: versioned YAML, validated into typed, frozen objects.

A suite names the data set, the degradation, the restorers, the text spotter and
the metrics. Every problem is reported as ``<file>: <key path>: <what>`` with a
"did you mean" suggestion for misspelled keys and names, e.g.::

    suites/x.yaml: restorers[1].adapter: unknown 'lanczso' -- did you mean 'lanczos'?

Relative paths inside a suite are resolved against the suite file's folder.
The suite hash (sha256 of the canonical JSON of the validated suite, with
``output`` and ``limit`` left out) identifies "the same benchmark" across runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from . import components as c
from .errors import SuiteError
from .registry import did_you_mean

SUITE_FORMAT_VERSION = 1

#: keys of a restorer's ``prompt`` mapping (options of :mod:`bench.prompts` sources)
PROMPT_KEYS = ("source", "template", "empty", "max_words", "spotter", "spotter_args", "min_score",
               "path", "max_new_tokens")


@dataclass(frozen=True)
class DatasetSpec:
    kind: str
    path: Optional[str] = None  # resolved absolute path, or None (use `source`)
    source: Optional[str] = None  # hub id, e.g. Min-Jaewon/SA-Text-test
    split: str = "test"
    limit: Optional[int] = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DegradationSpec:
    kind: str  # "provided" | "preset"
    level: Optional[int] = None  # provided: which lq_img_lv{level}
    preset: Optional[str] = None  # preset: name in bench.degrade.PRESETS
    seed: int = 0
    scale: int = 4


@dataclass(frozen=True)
class RestorerSpec:
    name: str
    adapter: str
    args: dict = field(default_factory=dict)
    prompt: dict = field(default_factory=lambda: {"source": "none"})


@dataclass(frozen=True)
class SpotterSpec:
    name: str = "rapidocr"
    min_score: float = 0.5
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TextMetricSpec:
    compat: str = "testr"
    matching: str = "greedy"
    confident_threshold: float = 0.9
    headline: str = "e2e_none_hmean"


@dataclass(frozen=True)
class MetricsSpec:
    image: tuple = ("psnr", "ssim")
    text: TextMetricSpec = field(default_factory=TextMetricSpec)


@dataclass(frozen=True)
class Suite:
    version: int
    name: str
    description: str
    dataset: DatasetSpec
    degradation: DegradationSpec
    restorers: tuple
    spotter: SpotterSpec
    metrics: MetricsSpec
    output_dir: Optional[str]
    path: str  # the suite file

    def to_dict(self) -> dict:
        d = asdict(self)
        d["restorers"] = [asdict(r) for r in self.restorers]
        return d

    def content_hash(self) -> str:
        """Hash of what defines the benchmark (not where results go, not --limit)."""
        import os

        d = self.to_dict()
        for k in ("output_dir", "path", "description"):
            d.pop(k, None)
        d["dataset"].pop("limit", None)
        if d["dataset"].get("path"):  # where the checkout lives must not change the hash
            suite_dir = os.path.dirname(os.path.abspath(self.path))
            d["dataset"]["path"] = os.path.relpath(d["dataset"]["path"], suite_dir).replace(os.sep, "/")
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


# --------------------------------------------------------------------------------
# validation helpers
class _Ctx:
    """Carries the file name for error messages."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, path: str, msg: str) -> SuiteError:
        return SuiteError(f"{self.file}: {path}: {msg}" if path else f"{self.file}: {msg}")

    def mapping(self, value: Any, path: str, allowed: dict[str, bool]) -> dict:
        """Check ``value`` is a mapping with only ``allowed`` keys (name -> required)."""
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                raise self.fail(where, f"unknown key{did_you_mean(key, allowed)}")
        for key, required in allowed.items():
            if required and key not in value:
                where = f"{path}.{key}" if path else key
                raise self.fail(where, "required key is missing")
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


def _resolve(base: Path, p: Optional[str]) -> Optional[str]:
    if p is None:
        return None
    q = Path(str(p)).expanduser()
    return str(q if q.is_absolute() else (base / q).resolve())


def _dataset(ctx: _Ctx, raw: Any, base: Path, names: "Names") -> DatasetSpec:
    d = ctx.mapping(raw, "dataset", {"kind": True, "path": False, "source": False, "split": False,
                                    "limit": False, "options": False})
    kind = ctx.name(d["kind"], "dataset.kind", names.datasets, "data set kind")
    if d.get("path") is None and d.get("source") is None:
        raise ctx.fail("dataset", "give dataset.path (local files) or dataset.source (hub id)")
    limit = d.get("limit")
    if limit is not None and (ctx.typed(limit, "dataset.limit", int, "a positive integer") < 1):
        raise ctx.fail("dataset.limit", f"expected a positive integer, got {limit}")
    options = ctx.typed(d.get("options", {}) or {}, "dataset.options", dict, "a mapping")
    return DatasetSpec(kind=kind, path=_resolve(base, d.get("path")), source=d.get("source"),
                       split=str(d.get("split", "test")), limit=limit, options=dict(options))


def _degradation(ctx: _Ctx, raw: Any, names: "Names") -> DegradationSpec:
    d = ctx.mapping(raw, "degradation", {"kind": True, "level": False, "preset": False,
                                        "seed": False, "scale": False})
    kind = ctx.name(d["kind"], "degradation.kind", ("provided", "preset"), "degradation kind")
    seed = ctx.typed(d.get("seed", 0), "degradation.seed", int, "an integer seed")
    scale = ctx.typed(d.get("scale", 4), "degradation.scale", int, "an integer scale")
    if scale not in (1, 2, 4, 8):
        raise ctx.fail("degradation.scale", f"expected 1, 2, 4 or 8, got {scale}")
    if kind == "provided":
        level = ctx.typed(d.get("level", 1), "degradation.level", int, "a level number")
        if d.get("preset") is not None:
            raise ctx.fail("degradation.preset", "only used with kind: preset")
        return DegradationSpec(kind=kind, level=level, seed=seed, scale=scale)
    if "preset" not in d:
        raise ctx.fail("degradation.preset", "required with kind: preset")
    preset = ctx.name(d["preset"], "degradation.preset", names.presets, "degradation preset")
    return DegradationSpec(kind=kind, preset=preset, seed=seed, scale=scale)


def _restorers(ctx: _Ctx, raw: Any, names: "Names") -> tuple:
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("restorers", "expected a non-empty list")
    out, seen = [], set()
    reserved = {"HQ", "LQ"}
    for i, item in enumerate(raw):
        p = f"restorers[{i}]"
        r = ctx.mapping(item, p, {"name": False, "adapter": True, "args": False, "prompt": False})
        adapter = ctx.name(r["adapter"], f"{p}.adapter", names.restorers, "adapter")
        name = str(r.get("name", adapter))
        if name in reserved or name in seen:
            raise ctx.fail(f"{p}.name", f"'{name}' is {'reserved' if name in reserved else 'used twice'}")
        seen.add(name)
        args = ctx.typed(r.get("args", {}) or {}, f"{p}.args", dict, "a mapping")
        prompt = r.get("prompt", {"source": "none"})
        if isinstance(prompt, str):
            prompt = {"source": prompt}
        prompt = ctx.mapping(prompt, f"{p}.prompt", {k: k == "source" for k in PROMPT_KEYS})
        ctx.name(prompt["source"], f"{p}.prompt.source", names.prompt_sources, "prompt source")
        out.append(RestorerSpec(name=name, adapter=adapter, args=dict(args), prompt=dict(prompt)))
    return tuple(out)


def _spotter(ctx: _Ctx, raw: Any, names: "Names") -> SpotterSpec:
    if raw is None:
        return SpotterSpec()
    if isinstance(raw, str):
        raw = {"name": raw}
    s = ctx.mapping(raw, "spotter", {"name": True, "min_score": False, "args": False})
    name = ctx.name(s["name"], "spotter.name", names.spotters, "spotter")
    min_score = float(ctx.typed(s.get("min_score", 0.5), "spotter.min_score", (int, float), "a number"))
    if not 0.0 <= min_score <= 1.0:
        raise ctx.fail("spotter.min_score", f"expected a number in [0, 1], got {min_score}")
    args = ctx.typed(s.get("args", {}) or {}, "spotter.args", dict, "a mapping")
    return SpotterSpec(name=name, min_score=min_score, args=dict(args))


def _metrics(ctx: _Ctx, raw: Any, names: "Names") -> MetricsSpec:
    if raw is None:
        return MetricsSpec()
    m = ctx.mapping(raw, "metrics", {"image": False, "text": False})
    image = m.get("image", ["psnr", "ssim"]) or []
    ctx.typed(image, "metrics.image", list, "a list of metric names")
    for i, name in enumerate(image):
        ctx.name(name, f"metrics.image[{i}]", names.image_metrics, "image metric")
    t = ctx.mapping(m.get("text", {}) or {}, "metrics.text",
                    {"compat": False, "matching": False, "confident_threshold": False, "headline": False})
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
    restorers: tuple
    spotters: tuple
    image_metrics: tuple
    text_metrics: tuple
    prompt_sources: tuple

    @classmethod
    def from_registries(cls) -> "Names":
        """The names registered now (built-ins and installed plugins)."""
        return cls(datasets=tuple(c.DATASETS.names()), presets=c.preset_names(),
                   restorers=tuple(c.RESTORERS.names()), spotters=tuple(c.SPOTTERS.names()),
                   image_metrics=c.image_metric_names(), text_metrics=c.text_metric_names(),
                   prompt_sources=c.PROMPT_SOURCES)


def parse_suite(raw: Any, file: str, names: Names) -> Suite:
    """Validate a loaded YAML document into a :class:`Suite`."""
    ctx = _Ctx(file)
    top = ctx.mapping(raw, "", {"version": True, "name": True, "description": False, "dataset": True,
                                "degradation": True, "restorers": True, "spotter": False,
                                "metrics": False, "output": False})
    if top["version"] != SUITE_FORMAT_VERSION:
        raise ctx.fail("version", f"unsupported suite version {top['version']!r} "
                                  f"(this tair-bench reads version {SUITE_FORMAT_VERSION})")
    base = Path(file).resolve().parent
    out = ctx.mapping(top.get("output", {}) or {}, "output", {"dir": False})
    return Suite(
        version=SUITE_FORMAT_VERSION,
        name=str(ctx.typed(top["name"], "name", str, "a string")),
        description=str(top.get("description", "") or ""),
        dataset=_dataset(ctx, top["dataset"], base, names),
        degradation=_degradation(ctx, top["degradation"], names),
        restorers=_restorers(ctx, top["restorers"], names),
        spotter=_spotter(ctx, top.get("spotter"), names),
        metrics=_metrics(ctx, top.get("metrics"), names),
        output_dir=_resolve(Path.cwd(), out.get("dir")) if out.get("dir") else None,
        path=str(Path(file)),
    )


def load_suite(path: str | Path, names: Optional[Names] = None,
               names_factory: Optional[Callable[[], Names]] = None) -> Suite:
    """Read and validate a suite YAML file."""
    p = Path(path)
    if not p.is_file():
        raise SuiteError(f"{p}: suite file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SuiteError(f"{p}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if names is None:
        names = (names_factory or Names.from_registries)()
    return parse_suite(raw, str(p), names)
