"""Build a suite's components and run preflight before any compute.

Hard requirements (data files, restorer weights/code, the spotter) stop the run
with one list of everything missing, unless ``--skip-unavailable``, which skips
the missing restorers and records why. Image metrics are soft: one that cannot
run (e.g. its weights are not on disk) is recorded as unavailable with the fix,
and the rest of the run goes on.

Folders of outputs (the ``folder`` adapter, ``bench run --outputs``) are checked here
too, before any compute: :func:`check_output_folders` walks the data set once (with
``--limit``) for its image ids and output sizes (the HQ size, or the provided LQ's times
the scale: the degrade stage's rule) and reads every expected file, so every missing id,
unreadable file and wrong size of every folder is reported in one list. The adapter
alone cannot do this: it knows neither the ids nor the sizes. Walking the data set
decodes its images once more than the degrade stage does; that is cheap next to
restoring, spotting and scoring, and nothing is computed or cached before the list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from bench import imagemetrics
from bench.components import RESTORERS
from bench.data import open_dataset
from bench.errors import BenchError, DataError, PreflightError, SuiteError
from bench.io.cache import is_url
from bench.io.writable import folder_problem
from bench.pipeline.stages.degrade import _target_size
from bench.pipeline.stages.score_images import MetricState
from bench.pipeline.stages.spot import SpotterFactory
from bench.prompts import make_prompt_source
from bench.registry import unknown_arguments
from bench.spotters.base import Spotter
from bench.suite import DICT_SUITE, Suite
from tair_bench_adapters.base import Restorer


@dataclass(frozen=True)
class Components:
    """Everything a run is built from, built and checked; it does not change during the run
    (what the stages produce goes to :class:`bench.pipeline.state.RunState`)."""

    dataset: Any
    #: name -> (restorer, prompt source or None)
    restorers: dict[str, tuple[Restorer, Any]]
    #: name -> why it was skipped (``--skip-unavailable``)
    skipped_restorers: dict[str, str]
    spotter: Spotter
    spotter_factory: SpotterFactory
    metrics: tuple[MetricState, ...]
    #: restorer name -> the only image ids it restores (a folder of outputs with
    #: ``allow_missing``, where some are missing); a restorer not named here restores all
    restore_ids: dict[str, frozenset[str]] = field(default_factory=dict)


def _make_prompt_source(spec: dict, spotter_factory: SpotterFactory, device: str):
    """Build a restorer's prompt source; ``spotted`` defaults to the suite's spotter."""
    options = {k: v for k, v in spec.items() if k != "source"}
    kind = spec.get("source", "none")
    if kind == "none":
        return None

    if kind == "spotted" and "spotter" not in options:
        options.update(spotter=spotter_factory.name, spotter_args=dict(spotter_factory.args),
                       min_score=options.get("min_score", spotter_factory.min_score))
    if kind == "caption":
        options.setdefault("device", device)
    return make_prompt_source({"type": kind, **options})


def make_restorer(suite: Suite, index: int, device: str):
    """Instantiate restorer ``index`` of ``suite``, passing its ``python:`` (the interpreter
    of the repository's environment) to adapters that run in one."""
    spec = suite.restorers[index]
    cls = RESTORERS.load(spec.adapter)
    unknown = unknown_arguments(cls, Restorer, spec.args)
    if unknown:
        raise SuiteError("; ".join(f"{suite.path}: restorers[{index}].args.{key}: {msg}" for key, msg in unknown))
    kwargs = dict(spec.args)
    for key in getattr(cls, "suite_relative_args", ()):  # e.g. the folder adapter's path, like dataset.path
        kwargs[key] = suite_relative(suite, kwargs[key]) if isinstance(kwargs.get(key), str) else kwargs.get(key)
    if spec.python is not None:
        where = f"{suite.path}: restorers[{index}]"
        if not getattr(cls, "accepts_python", False):
            raise SuiteError(f"{where}.python: adapter '{spec.adapter}' runs inside the harness, so `python:` "
                             f"cannot apply -- remove it (it is for adapters that run an upstream repository "
                             f"in its own environment, e.g. diffbir, seesr, supir, terediff, difftsr, subprocess)")
        if "python" in kwargs:
            raise SuiteError(f"{where}: the interpreter is given twice (python: and args.python) -- keep python:")
        kwargs["python"] = spec.python
    return cls(scale=suite.degradation.scale, device=device, **kwargs)


def suite_relative(suite: Suite, value: str) -> str:
    """A path argument of a restorer: ``~`` expanded; a relative one resolved against the
    suite file's folder (as ``dataset.path`` is), or the current folder for a suite given
    as a mapping (it has no file). ``bench run --outputs`` paths arrive absolute."""
    value = os.path.expanduser(value)
    if not value or os.path.isabs(value):
        return value
    base = Path.cwd() if suite.path == DICT_SUITE else Path(suite.path).resolve().parent
    return str((base / value).resolve())


def spotter_factory(suite: Suite, device: str) -> SpotterFactory:
    """The recipe for the suite's spotter (with its ``python:``, when given)."""
    sp = suite.spotter
    return SpotterFactory(sp.name, sp.min_score, dict(sp.args), device, sp.python)


def check_restorer(suite: Suite, index: int, device: str, factory: SpotterFactory) -> tuple:
    """Build restorer ``index`` and its prompt source and preflight both: ``(restorer or
    None, prompt source or None, problems)``; the restorer is None when it cannot be built."""
    spec = suite.restorers[index]
    try:
        restorer = make_restorer(suite, index, device)
    except TypeError as exc:
        return None, None, [f"{suite.path}: restorers[{index}].args: {exc}"]
    except BenchError as exc:
        return None, None, [str(exc)]
    found = list(restorer.preflight())
    try:
        prompt_source = _make_prompt_source(spec.prompt, factory, device)
    except BenchError as exc:
        return restorer, None, found + [str(exc)]
    if prompt_source is not None:
        found += list(prompt_source.preflight())
        if not restorer.accepts_prompt:  # e.g. TeReDiff's own prompt loop (prompt_mode: self)
            found.append(f"{suite.path}: restorers[{index}].prompt: '{spec.name}' takes no prompt with these "
                         f"args, so prompt source '{spec.prompt.get('source')}' would never reach it -- remove "
                         f"'prompt', or set args under which the adapter takes one (its docs say which)")
    return restorer, prompt_source, found


#: the severities of a preflight finding: a FAIL stops ``bench run`` (PreflightError) and
#: makes ``bench doctor`` exit 1; a warning is recorded (an unavailable metric, a restorer
#: skipped under ``--skip-unavailable``) and the run goes on
FAIL, WARN = "FAIL", "warn"


@dataclass(frozen=True)
class Finding:
    """One preflight finding: its severity, the component (``data``, ``spotter 'NAME'``,
    ``restorer 'NAME'``, ``outputs 'NAME'``, ``metric 'NAME'``) and the line that
    ``bench run`` lists (in its PreflightError, or as the reason it records) and ``bench
    doctor`` prints, word for word."""

    severity: str
    component: str
    text: str


@dataclass
class Preflight:
    """What :func:`preflight` built and found: ``bench run`` turns it into :class:`Components`
    (or a PreflightError listing every FAIL), ``bench doctor`` prints its findings."""

    dataset: Any
    spotter: Optional[Spotter]
    spotter_factory: SpotterFactory
    #: every restorer of the suite, in suite order: name -> (restorer or None when it
    #: cannot be built, prompt source or None)
    built: dict[str, tuple[Any, Any]]
    #: the restorers that will run: name -> (restorer, prompt source or None)
    restorers: dict[str, tuple[Restorer, Any]]
    skipped_restorers: dict[str, str]
    restore_ids: dict[str, frozenset[str]]
    metrics: tuple[MetricState, ...]
    findings: list[Finding]
    #: what to do about the FAILs (``--skip-unavailable``, ``--allow-missing``)
    hints: list[str]

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == FAIL]


def _line(component: str, problem: str) -> str:
    """``component: problem``, unless the problem already names the component."""
    return problem if problem.startswith((f"{component}: ", f"{component} (")) else f"{component}: {problem}"


def _fail(component: str, problem: str) -> Finding:
    return Finding(FAIL, component, _line(component, problem))


def _check_data(suite: Suite) -> tuple[Any, list[Finding]]:
    """The data set, opened, and its problems (``None`` when it cannot open)."""
    dataset = None
    try:
        dataset = open_dataset(suite.dataset, suite.degradation)
        return dataset, [_fail("data", p) for p in dataset.preflight()]
    except BenchError as exc:
        return dataset, [_fail("data", str(exc))]


def _check_spotter(suite: Suite, factory: SpotterFactory) -> tuple[Optional[Spotter], list[Finding]]:
    """The suite's spotter, built, and its problems (``None`` when it cannot be built)."""
    where = f"spotter '{suite.spotter.name}'"
    spotter = None
    try:
        spotter = factory.build()
        return spotter, [_fail(where, p) for p in spotter.preflight()]
    except BenchError as exc:
        return spotter, [_fail(where, str(exc))]
    except TypeError as exc:
        return spotter, [_fail(where, f"{suite.path}: spotter.args: {exc}")]


def _check_restorers(suite: Suite, device: str, factory: SpotterFactory, dataset: Any, folders_checked: bool
                     ) -> tuple[dict, dict, dict, dict[str, list[tuple[str, str]]]]:
    """``(built, usable, restore_ids, problems)``: every restorer built, those without problems,
    the ids a folder of outputs has (``allow_missing``), and ``{name: [(component, problem)]}``.
    Folders of outputs are checked against the data set only when ``folders_checked``."""
    built: dict[str, tuple[Any, Any]] = {}
    usable: dict[str, tuple[Restorer, Any]] = {}
    problems: dict[str, list[tuple[str, str]]] = {}
    for i, spec in enumerate(suite.restorers):
        restorer, prompt_source, found = check_restorer(suite, i, device, factory)
        built[spec.name] = (restorer, prompt_source)
        if found:
            problems[spec.name] = [(f"restorer '{spec.name}'", p) for p in found]
        else:
            usable[spec.name] = (restorer, prompt_source)
    folders = {name: r for name, (r, _) in usable.items() if hasattr(r, "output_problems")}
    restore_ids: dict[str, frozenset[str]] = {}
    if folders and folders_checked:
        _, restore_ids, folder_lines = check_output_folders(suite, dataset, folders)
        for name, line in folder_lines.items():
            del usable[name]
            problems[name] = [(f"outputs '{name}'", line)]
    return built, usable, {k: v for k, v in restore_ids.items() if k in usable}, problems


def _hints(findings: list[Finding], optional_problems: dict, skip_unavailable: bool) -> list[str]:
    hints: list[str] = []
    if optional_problems and not skip_unavailable:
        hints.append("(use --skip-unavailable to run the rest and record these as skipped)")
    if any(f.severity == FAIL and f.component.startswith("outputs '") and " missing (" in f.text for f in findings):
        hints.append("(use --allow-missing to score the ids present, the row marked incomplete; "
                     "unreadable files and wrong sizes are never allowed)")
    return hints


def _check_write_folders(write_folders: Mapping[str, Union[str, Path]]) -> list[Finding]:
    """A FAIL for each folder the run writes (``{"cache folder": path, ...}``) that it cannot:
    read-only, or another user's; a URL (fsspec cache) is not checked here."""
    findings = []
    for role, folder in write_folders.items():
        problem = None if is_url(folder) else folder_problem(folder, role)
        if problem:
            findings.append(Finding(FAIL, role, problem))
    return findings


def preflight(suite: Suite, device: str, skip_unavailable: bool = False,
              write_folders: Optional[Mapping[str, Union[str, Path]]] = None) -> Preflight:
    """Build and check every component of ``suite`` without computing anything: the one
    check behind both ``bench run`` (:func:`build_components`) and ``bench doctor``.
    Data, spotter, restorer and folder-of-outputs problems are FAILs (a restorer's are
    warnings under ``skip_unavailable``: it is skipped, and why recorded); an image metric
    that cannot run is a warning, with the reason the run records. ``write_folders``
    (role -> folder: the cache, the results) must be writable: FAILs otherwise."""
    dataset, findings = _check_data(suite)
    factory = spotter_factory(suite, device)
    spotter, spotter_findings = _check_spotter(suite, factory)
    findings += spotter_findings
    hard = bool(findings)  # the data set or the spotter: no --skip-unavailable for these
    built, restorers, restore_ids, optional_problems = _check_restorers(suite, device, factory, dataset,
                                                                         folders_checked=not hard)
    skipped: dict[str, str] = {}
    for name, found in optional_problems.items():
        if skip_unavailable:  # skipped, and why recorded
            skipped[name] = "; ".join(p for _, p in found)
        findings += [Finding(WARN if skip_unavailable else FAIL, c, _line(c, p)) for c, p in found]
    findings += _check_write_folders(write_folders or {})
    hints = _hints(findings, optional_problems, skip_unavailable)
    metrics = tuple(build_metrics(suite.metrics.image))
    for state in metrics:
        if state.unavailable:  # the run goes on without it: recorded as null, with this reason
            findings.append(Finding(WARN, f"metric '{state.name}'", _line(f"metric '{state.name}'", state.unavailable)))
    return Preflight(dataset, spotter, factory, built, restorers, skipped, restore_ids, metrics, findings, hints)


def build_components(suite: Suite, device: str, skip_unavailable: bool = False,
                     write_folders: Optional[Mapping[str, Union[str, Path]]] = None) -> Components:
    """Instantiate and preflight every component of ``suite`` (:func:`preflight`); every
    FAIL in one PreflightError."""

    pf = preflight(suite, device, skip_unavailable, write_folders)
    if pf.failures:
        raise PreflightError([f.text for f in pf.failures], pf.hints)
    return Components(pf.dataset, pf.restorers, pf.skipped_restorers, pf.spotter, pf.spotter_factory,
                      pf.metrics, pf.restore_ids)


def check_output_folders(suite: Suite, dataset: Any, folders: dict[str, Restorer]) -> tuple:
    """Check every folder of outputs against the data set's image ids and output sizes
    (module docstring). Returns ``(ids, restore_ids, problems)``: the expected ids, for
    each folder that may leave some out (``allow_missing``) the ids it has, and per folder
    that cannot run one line: ``outputs 'NAME' (FOLDER): 2 missing (a, b), 1 unreadable
    (c: ...), 1 wrong size (d: 100x100, expected 512x512)``."""
    expected: list[tuple[str, tuple[int, int]]] = []
    problems: dict[str, str] = {}
    try:
        for sample in dataset:  # one image in memory at a time
            if sample.hq is not None or sample.lq is not None:
                expected.append((sample.id, _target_size(sample, suite.degradation)))
    except DataError as exc:
        return [], {}, {name: f"outputs '{name}': cannot list the data set's images: {exc}" for name in folders}
    ids = [i for i, _ in expected]
    restore_ids: dict[str, frozenset[str]] = {}
    for name, restorer in folders.items():
        found = restorer.output_problems(expected)
        allow = bool(getattr(restorer, "allow_missing", False))
        if found.blocking(allow):
            problems[name] = f"outputs '{name}' ({restorer.path}): {found.summary()}"
        elif found.missing:
            if len(found.missing) == len(ids):
                problems[name] = f"outputs '{name}' ({restorer.path}): none of the {len(ids)} images has an output"
            else:
                missing = set(found.missing)
                restore_ids[name] = frozenset(i for i in ids if i not in missing)
    return ids, restore_ids, problems


def build_metrics(names) -> list[MetricState]:
    """Create each image metric; an unavailable one keeps its reason instead."""

    states = []
    for name in names:
        metric, unavailable = None, None
        try:
            metric = imagemetrics.create_metric(name)  # through the module: plugins and tests may replace it
            unavailable = "; ".join(metric.preflight()) or None
        except BenchError as exc:
            unavailable = str(exc)
        states.append(MetricState(name, metric, unavailable))
    return states
