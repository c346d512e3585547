"""``bench doctor``: everything a suite needs, checked before a long GPU run.

For every component of a suite -- the data set, the spotter, each restorer with
its prompt source, each image metric -- it says what will run (the adapter, the
exact command and the interpreter, with that interpreter's Python, torch and
CUDA as the probe found them) and everything missing, each with its fix: the
same checks as the run's preflight (:mod:`bench.pipeline.preflight`), but never
stopping at the first component. For each repository a component points at (an
adapter's ``repo`` argument) it reads the checkout's commit and local
modifications with git and compares the commit with the one the conformance
tests pin (:data:`bench.upstream.PINNED_COMMITS`); it compares the environment's
package versions with the repository's own pins (``requirements.txt``). Those
differences are warnings: the run can go ahead, but its numbers may not be the
ones the drivers were tested to reproduce.

A suite is ready when no finding is a failure.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from bench.errors import SuiteError
from bench.io.checkout import inspect_checkout
from bench.io.pyenv import pin_mismatches, requirement_pins, run_probe
from bench.io.weights import FIX_PREFIX, suite_command
from bench.pipeline.preflight import FAIL, WARN, preflight
from bench.pipeline.runner import cache_root_for, default_out_dir, write_folders
from bench.suite import load_suite
from bench.upstream import PINNED_COMMITS
from tair_bench_adapters.subprocess_driver import SubprocessRestorer

OK, INFO = "ok", "info"  # and the preflight's FAIL and WARN


@dataclass(frozen=True)
class Finding:
    """One line of the report: the component, the level, and what (with the fix)."""

    component: str
    level: str
    message: str

    @property
    def line(self) -> str:
        """The line as printed: for a preflight finding, the very words ``bench run`` uses."""
        return self.message if self.message.startswith(f"{self.component} (") else f"{self.component}: {self.message}"


@dataclass
class DoctorReport:
    """Every finding for one suite, in suite order."""

    suite: str
    device: str
    findings: list[Finding] = field(default_factory=list)
    #: the run's advice on its FAILs (``--skip-unavailable``, ``--allow-missing``)
    hints: list[str] = field(default_factory=list)

    def add(self, component: str, level: str, message: str) -> None:
        prefix = f"{component}: "
        self.findings.append(Finding(component, level, message[len(prefix):] if message.startswith(prefix) else message))

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.level == FAIL]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARN]

    @property
    def ready(self) -> bool:
        """Whether everything can run (warnings allowed)."""
        return not self.failures


def check_suite(path: str | Path, device: str, skip_unavailable: bool = False,
                limit: Optional[int] = None, cache_dir: Optional[str] = None,
                out_dir: Optional[str] = None) -> DoctorReport:
    """Check every component of the suite at ``path`` for a run on ``device`` (with ``bench
    run``'s ``--skip-unavailable``, ``--limit``, ``--cache-dir`` and ``--out``, the folders
    it will write): the verdict and every FAIL and warning
    come from the run's own preflight (:func:`bench.pipeline.preflight.preflight`), in its
    words; the rest (what will run, interpreters, checkouts, pins) is information."""

    report = DoctorReport(str(path), device)
    try:
        suite = load_suite(path)
    except SuiteError as exc:
        for problem in exc.problems:
            report.add("suite", FAIL, problem)
        return report
    if limit is not None:  # as bench run --limit does
        suite = replace(suite, dataset=replace(suite.dataset, limit=limit))
    report.add("suite", OK, f"'{suite.name}': {len(suite.restorers)} restorer(s), hash {suite.content_hash()[:12]}")
    folders = write_folders(cache_root_for(cache_dir), Path(out_dir) if out_dir else default_out_dir(suite))
    pf = preflight(suite, device, skip_unavailable, folders)
    report.hints = list(pf.hints)
    found: dict[str, list] = {}
    for f in pf.findings:
        found.setdefault(f.component, []).append(f)

    def emit(component: str) -> bool:
        """Add the preflight's findings for ``component``; whether it had none."""
        for f in found.get(component, ()):
            report.add(component, f.severity, f.text)
        return not found.get(component)

    for role, folder in folders.items():
        if emit(role):
            report.add(role, OK, f"{folder}: writable")
    if emit("data"):
        where = suite.dataset.path or f"hub {suite.dataset.source}"
        report.add("data", OK, f"{suite.dataset.kind} from {where} (split {suite.dataset.split})")
    _report_spotter(report, suite, pf, emit)
    for spec in suite.restorers:
        _report_restorer(report, spec, pf, emit)
    for state in pf.metrics:
        if emit(f"metric '{state.name}'"):
            report.add(f"metric '{state.name}'", OK, "ready")
    if any(f" -- {FIX_PREFIX}" in (state.unavailable or "") for state in pf.metrics):  # as bench run's note
        report.add("metrics", INFO, f"the run records these as unavailable (null); get the missing model files "
                                    f"with: {suite_command(os.fspath(path))}")
    return report


def _report_spotter(report: DoctorReport, suite, pf, emit) -> None:
    name = f"spotter '{suite.spotter.name}'"
    clean = emit(name)
    if pf.spotter is None:
        return
    _report_environment(report, name, pf.spotter)
    _report_repo(report, name, suite.spotter.args.get("repo"), getattr(pf.spotter, "upstream", ""), pf.spotter)
    if clean:
        report.add(name, OK, f"ready ({type(pf.spotter).__name__}, min_score {suite.spotter.min_score})")


def _report_restorer(report: DoctorReport, spec, pf, emit) -> None:
    name = f"restorer '{spec.name}'"
    restorer = pf.built[spec.name][0]
    if restorer is not None:
        report.add(name, INFO, f"will run: {_plan(restorer)}")
    clean = emit(name)
    clean = emit(f"outputs '{spec.name}'") and clean
    if spec.name in pf.restore_ids:
        report.add(name, INFO, f"scores the {len(pf.restore_ids[spec.name])} image(s) its folder has "
                               f"(allow_missing): the row will be marked incomplete")
    if restorer is None:
        return
    _report_environment(report, name, restorer)
    _report_repo(report, name, spec.args.get("repo"), getattr(restorer, "upstream", ""), restorer)
    if clean:
        report.add(name, OK, "ready")


def _plan(restorer) -> str:
    """What the restorer runs: the command with its interpreter and cwd, or the class in-process."""

    if not isinstance(restorer, SubprocessRestorer):
        return f"{type(restorer).__module__}.{type(restorer).__qualname__} in the harness's own process"
    if restorer.entry:
        return f"entry {restorer.entry} in the harness's process, with {restorer.repo} on sys.path"
    values = {**restorer.placeholders(Path("<work>")), "prompt": "<prompt>"}
    try:
        argv = [part.format(**values) for part in restorer.command]
    except (KeyError, IndexError):
        argv = list(restorer.command)
    return f"{shlex.join(argv)}  (cwd {restorer.repo})"


def _report_environment(report: DoctorReport, name: str, component) -> None:
    """The interpreter's Python, torch and CUDA, and its differences from the repository's pins."""
    env = component.environment() if hasattr(component, "environment") else None
    if not env or "error" in env:
        return
    torch = env.get("torch") or {}
    spec = getattr(component, "probe_spec", None)
    result = run_probe(spec()) if callable(spec) else None  # memoised: the probe preflight ran
    cuda = ""
    if result is not None and result.torch is not None and "error" not in result.torch:
        seen = result.torch.get("devices") or []
        cuda = f", CUDA {'visible: ' + ', '.join(seen) if seen else 'not visible'}"
    torch_text = f", torch {torch['version']} (CUDA build {torch.get('cuda_build') or 'none'}){cuda}" \
        if torch.get("version") else ""
    report.add(name, INFO, f"interpreter {env['python']}: Python {env.get('python_version')}{torch_text}")
    repo = getattr(component, "repo", None)
    if result is not None and repo is not None and str(repo) and Path(repo).is_dir():
        pins = requirement_pins(Path(repo))
        mismatches = pin_mismatches(result, pins)
        absent = [dist for dist, _pinned, have in mismatches if have is None]
        if absent:  # one line: the missing imports among them are already failures above
            reqs = Path(repo) / "requirements.txt"
            fix = f"{env['python']} -m pip install -r {reqs}" if reqs.is_file() else \
                f"install them in that environment ({' '.join(f'{d}=={pins[d]}' for d in absent[:3])} ...)"
            report.add(name, WARN, f"{len(absent)} of the repository's {len(pins)} pinned packages are not installed "
                                   f"in {env['python']}: {', '.join(absent)} -- {fix}")
        for dist, pinned, have in mismatches:
            if have is not None:
                report.add(name, WARN, f"{env['python']} has {dist} {have}, the repository pins {pinned} -- "
                                       f"{env['python']} -m pip install '{dist}=={pinned}'")


def _report_repo(report: DoctorReport, name: str, repo: Optional[str], upstream: str, component) -> None:
    """Commit, local modifications and pin comparison of the checkout at ``repo``."""
    if not repo:
        return
    path = getattr(component, "repo", None) or Path(str(repo)).expanduser()
    state = inspect_checkout(path)
    pinned = PINNED_COMMITS.get(upstream) if upstream else None
    if state.commit is None and state.reason == "no such folder":  # already a failure of preflight
        url = getattr(component, "repo_url", "") or (f"https://{pinned[0]}" if pinned else "")
        if pinned and url:
            report.add(name, INFO, f"repository {path}: get the tested revision with: git clone {url} {path} "
                                   f"&& git -C {path} checkout {pinned[1]}")
        return
    if state.commit is None:
        tail = f"; tair-bench is tested at {pinned[0]} {pinned[1]}" if pinned else ""
        report.add(name, WARN, f"repository {path}: {state.reason}, so its commit is unknown{tail}")
        return
    report.add(name, INFO, f"repository {path}: commit {state.commit}")
    if state.modified:
        shown = "; ".join(state.modified[:5]) + (f"; ... ({len(state.modified)} in all)" if len(state.modified) > 5 else "")
        report.add(name, WARN, f"repository {path}: {len(state.modified)} local modification(s): {shown} -- "
                               f"results may differ from the official code (git -C {path} stash, or record why)")
    if pinned is None:
        report.add(name, INFO, f"repository {path}: no pinned commit for this adapter (nothing to compare)")
    elif state.commit != pinned[1]:
        report.add(name, WARN, f"repository {path} is at commit {state.commit}, but tair-bench's conformance tests "
                               f"pin {upstream} at {pinned[1]} ({pinned[0]}) -- git -C {path} checkout {pinned[1]}, "
                               f"or check that the driver still matches this revision")
    else:
        report.add(name, OK, f"repository {path}: the pinned {upstream} commit")
