"""Probe another Python environment before handing it hours of GPU work.

Every upstream repository pins its own stack (SeeSR diffusers 0.21 / transformers
4.25, TAIR torch 2.2 + detectron2, DiffTSR torch 1.7, ...), so a subprocess
driver runs the interpreter of *that* repository's environment (the suite's
``python:`` key), not the harness's. Before a run, :func:`run_probe` starts that
interpreter once on a short script (:data:`PROBE_SCRIPT`, nothing but the
standard library) that tries each import the driven code needs and reports the
Python version, each module's version, torch's version and CUDA build, whether
CUDA is visible, and the installed versions of named distributions. The
results are memoised per process, so preflight, the cache key
(:meth:`ProbeResult.fingerprint`) and ``bench doctor`` share one probe.

The probe reads its request as JSON from ``argv[1]`` and prints one line
``TAIR_BENCH_PROBE <json>``; anything else an import prints is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

#: the harness's own interpreter: the default of every ``python:``
HARNESS_PYTHON = sys.executable
#: marker of the probe's result line
MARKER = "TAIR_BENCH_PROBE "
#: seconds a probe may take (importing a diffusion stack from a cold disk is slow)
DEFAULT_TIMEOUT_S = 300.0

#: import name -> distribution to install, where the two differ (for the fix message)
DISTRIBUTIONS = {
    "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml", "sklearn": "scikit-learn",
    "skimage": "scikit-image", "pytorch_lightning": "pytorch-lightning", "lightning": "lightning",
    "open_clip": "open-clip-torch", "clip": "openai-clip", "dateutil": "python-dateutil",
    "google.protobuf": "protobuf", "attr": "attrs", "fvcore": "fvcore",
}

#: runs inside the probed interpreter: standard library only, any Python >= 3.6
PROBE_SCRIPT = r'''
import importlib, json, sys, traceback
req = json.loads(sys.argv[1])
sys.path[:0] = req["sys_path"]
out = {"python": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix,
       "imports": {}, "packages": {}, "torch": None}
for name in req["imports"]:
    try:
        mod = importlib.import_module(name)
        ver = getattr(mod, "__version__", None)
        out["imports"][name] = {"ok": True, "version": str(ver) if ver is not None else None}
    except BaseException as exc:
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        out["imports"][name] = {"ok": False, "error": line[:300]}
try:
    from importlib import metadata
except ImportError:
    metadata = None
for dist in req["packages"]:
    try:
        out["packages"][dist] = metadata.version(dist) if metadata else None
    except Exception:
        out["packages"][dist] = None
if req["torch"]:
    try:
        import torch
        t = {"version": torch.__version__, "cuda_build": getattr(torch.version, "cuda", None)}
        try:
            t["cuda_available"] = bool(torch.cuda.is_available())
            t["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] \
                if t["cuda_available"] else []
        except BaseException as exc:
            t["cuda_available"], t["devices"], t["cuda_error"] = False, [], str(exc)[:300]
        out["torch"] = t
    except BaseException as exc:
        out["torch"] = {"error": traceback.format_exception_only(type(exc), exc)[-1].strip()[:300]}
sys.stdout.write("\n" + "TAIR_BENCH_PROBE " + json.dumps(out) + "\n")
'''


@dataclass(frozen=True)
class ProbeSpec:
    """What to ask one interpreter. ``cwd`` and ``sys_path`` mirror how the driven code
    runs (cwd = the repository, which is first on ``sys.path``)."""

    python: str
    imports: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    torch: bool = False
    cwd: Optional[str] = None
    sys_path: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProbeResult:
    """The answer of one probe; ``error`` is set when the interpreter could not run it at all."""

    spec: ProbeSpec
    error: Optional[str] = None
    python_version: Optional[str] = None
    executable: Optional[str] = None
    imports: dict = field(default_factory=dict)
    packages: dict = field(default_factory=dict)
    torch: Optional[dict] = None
    seconds: float = 0.0

    def failed_imports(self) -> dict[str, str]:
        """Import name -> the exception line, for every import that failed."""
        return {k: v.get("error", "?") for k, v in self.imports.items() if not v.get("ok")}

    def record(self) -> dict:
        """What results.json and ``bench doctor`` show: the interpreter and what it holds."""
        rec: dict = {"python": self.spec.python}
        if self.error:
            rec["error"] = self.error
            return rec
        rec.update(python_version=self.python_version, executable=self.executable,
                   imports={k: (v.get("version") if v.get("ok") else None) for k, v in self.imports.items()})
        if self.packages:
            rec["packages"] = dict(self.packages)
        if self.torch is not None:
            rec["torch"] = {k: v for k, v in self.torch.items() if k in ("version", "cuda_build", "error")}
        return rec

    def fingerprint(self) -> str:
        """A short hash of what can change outputs: the Python version and the version of
        every probed module, distribution and torch build -- not the interpreter's path
        (the same environment moved elsewhere gives the same outputs) and not whether a GPU
        is visible right now."""
        rec = self.record()
        rec.pop("python", None)
        rec.pop("executable", None)
        blob = json.dumps(rec, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def resolve_python(python: str) -> Optional[str]:
    """The absolute path of an interpreter named by path or by a bare command name
    (looked up on PATH), or None when there is no such executable. Symlinks are kept:
    a virtual environment's ``bin/python`` is a link whose target is outside the
    environment, and following it would lose the environment's packages."""
    if os.sep in python or (os.altsep and os.altsep in python):
        path = os.path.abspath(os.path.expanduser(python))
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which(python)


_CACHE: dict[ProbeSpec, ProbeResult] = {}


def run_probe(spec: ProbeSpec, timeout_s: float = DEFAULT_TIMEOUT_S) -> ProbeResult:
    """Run the probe in ``spec.python`` (once per process per spec) and parse its answer."""
    if spec in _CACHE:
        return _CACHE[spec]
    t0 = time.perf_counter()
    exe = resolve_python(spec.python)
    if exe is None:
        result = ProbeResult(spec, error="no such interpreter" if os.sep in spec.python
                             else "not found on PATH")
    else:
        request = {"imports": list(spec.imports), "packages": list(spec.packages), "torch": spec.torch,
                   "sys_path": list(spec.sys_path)}
        cwd = spec.cwd if spec.cwd and Path(spec.cwd).is_dir() else None
        try:
            proc = subprocess.run([exe, "-c", PROBE_SCRIPT, json.dumps(request)], cwd=cwd, capture_output=True,
                                  text=True, timeout=timeout_s, env={**os.environ, **dict(spec.env)}, check=False)
            result = _parse(spec, proc)
        except subprocess.TimeoutExpired:
            result = ProbeResult(spec, error=f"the probe did not finish within {timeout_s:.0f} s")
        except OSError as exc:
            result = ProbeResult(spec, error=f"cannot start it ({exc})")
    result = replace(result, seconds=round(time.perf_counter() - t0, 3))
    _CACHE[spec] = result
    return result


def _parse(spec: ProbeSpec, proc: subprocess.CompletedProcess) -> ProbeResult:
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                doc = json.loads(line[len(MARKER):])
            except json.JSONDecodeError:
                break
            return ProbeResult(spec, python_version=doc.get("python"), executable=doc.get("executable"),
                               imports=doc.get("imports", {}), packages=doc.get("packages", {}),
                               torch=doc.get("torch"))
    last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return ProbeResult(spec, error=f"the probe exited with status {proc.returncode}: {last[:300]}")


def clear_cache() -> None:
    """Forget memoised probes (tests; a long-lived process after changing an environment)."""
    _CACHE.clear()


def install_command(python: str, module: str) -> str:
    """``<python> -m pip install <distribution>`` for an import name."""
    top = module.split(".")[0]
    dist = DISTRIBUTIONS.get(module) or DISTRIBUTIONS.get(top) or top.replace("_", "-")
    return f"{python} -m pip install {dist}"


def probe_problems(result: ProbeResult, who: str, device: str, *, setup: str = "",
                   requirements: str = "") -> list[str]:
    """One message per problem the probe found, each with its fix.

    ``setup`` says how the repository's environment is created (its README), used
    when the interpreter is missing; ``requirements`` is the repository's own pin
    file, offered as the fix for missing modules alongside the single install.
    """
    python = result.spec.python
    if result.error:
        how = f" -- create the repository's environment ({setup}) and set `python:` to its interpreter" \
            if setup else " -- set `python:` to the interpreter of the repository's environment"
        if python == HARNESS_PYTHON:
            how = f" -- {setup}" if setup else ""
        return [f"{who}: python {python}: {result.error}{how}"]
    problems = []
    pins = f" (or all of the repository's pins: {python} -m pip install -r {requirements})" if requirements else ""
    for name, error in result.failed_imports().items():
        problems.append(f"{who}: python {python} cannot import {name} ({error}) -- "
                        f"{install_command(python, name)}{pins}")
    t = result.torch
    if t is not None and "error" not in t and device.startswith("cuda") and not t.get("cuda_available"):
        build = t.get("cuda_build")
        why = (f"torch {t.get('version')} is a CPU-only build" if not build
               else f"torch {t.get('version')} (CUDA {build}) sees no GPU{': ' + t['cuda_error'] if t.get('cuda_error') else ''}")
        problems.append(f"{who}: python {python}: {why} but the run asks for device cuda -- install a CUDA build "
                        f"of torch in that environment (the repository's README names the version), check "
                        f"nvidia-smi and CUDA_VISIBLE_DEVICES, or run with --device cpu")
    elif t is not None and "error" in t and "torch" not in result.imports:
        problems.append(f"{who}: python {python} cannot import torch ({t['error']}) -- "
                        f"{install_command(python, 'torch')}{pins}")
    return problems


def requirement_pins(repo: Path) -> dict[str, str]:
    """``distribution -> version`` for every exact pin (``name==version``) in the
    repository's ``requirements.txt`` or the pip section of its conda
    ``environment.yaml``; names are normalised to lower case with ``-``."""
    pins: dict[str, str] = {}
    lines: list[str] = []
    req = repo / "requirements.txt"
    if req.is_file():
        lines += req.read_text(encoding="utf-8", errors="replace").splitlines()
    env = repo / "environment.yaml"
    if env.is_file():
        lines += [ln.strip().lstrip("-").strip().strip("'\"")
                  for ln in env.read_text(encoding="utf-8", errors="replace").splitlines()]
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if "==" not in line or line.startswith("-"):
            continue
        name, _, version = line.partition("==")
        name = name.split("[", 1)[0].strip().lower().replace("_", "-")
        version = version.split(";", 1)[0].strip()
        if name and version:
            pins[name] = version
    return pins


def pin_mismatches(result: ProbeResult, pins: dict[str, str]) -> list[tuple[str, str, Optional[str]]]:
    """``(distribution, pinned, installed or None)`` where the environment differs from a pin
    (a local build suffix such as ``+cu118`` on either side is ignored)."""
    out = []
    for dist, pinned in sorted(pins.items()):
        if dist not in result.packages:
            continue
        have = result.packages[dist]
        if have is None or have.split("+")[0] != pinned.split("+")[0]:
            out.append((dist, pinned, have))
    return out
