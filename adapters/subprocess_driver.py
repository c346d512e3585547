"""Run an official restorer repository, unchanged, behind the Restorer contract.

Most published restorers ship a script that reads a folder of images and writes
a folder of results; re-implementing them risks silent differences. This driver
keeps the official code and speaks to it through a folder contract:

* the harness writes each input to ``<work>/inputs/<id>.png`` and all prompts to
  ``<work>/prompts.json`` (``{id: prompt or null}``);
* it runs ``command`` (a list of arguments; placeholders below) with
  ``cwd=<repo>``, or calls an in-process ``entry`` (``"module:function"``
  importable with the repository on ``sys.path``);
* it reads ``<work>/outputs/<output_subdir>/<output_pattern>`` per id.

Placeholders in ``command``: ``{python}``, ``{repo}``, ``{inputs}``, ``{outputs}``,
``{prompts}``, ``{steps}``, ``{seed}``, ``{cfg}``, ``{device}``, ``{scale}``, and
``{prompt}`` (only with ``prompt_mode="per_prompt"``: the images are grouped by
prompt and the command runs once per distinct prompt, for scripts that take a
single prompt argument; ``prompt_mode="per_image"`` runs it once per image, for scripts
that seed once per process, so an image's output never depends on its batch). An
in-process entry is called as
``function(inputs=Path, outputs=Path, prompts=dict, settings=dict)``.

``{python}`` is the interpreter of the repository's own environment: the suite's
``python:`` key on the restorer (default: the harness's, ``sys.executable``).
Preflight runs a short probe in it (:mod:`bench.io.pyenv`): the modules in
``probe_imports``, torch and CUDA visibility, and the versions the repository pins;
the probed versions enter :meth:`SubprocessRestorer.version` and results.json.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.errors import AdapterError
from bench.io.hashing import file_sha256
from bench.io.images import read_image, write_png
from bench.io.pyenv import HARNESS_PYTHON, ProbeResult, ProbeSpec, probe_problems, requirement_pins, run_probe

from .base import Restorer

PROMPT_MODES = ("file", "per_prompt", "per_image", "none")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


def template_literal(value: object) -> str:
    """``value`` as a literal part of a ``command`` template: braces doubled, so that
    ``str.format`` (which fills the placeholders) leaves user text such as prompts intact."""
    return str(value).replace("{", "{{").replace("}", "}}")


def safe_id(image_id: str) -> str:
    """A file-name-safe form of an image id (other characters become ``_``)."""
    return _SAFE_ID.sub("_", str(image_id)) or "_"


def tail(text: str, n: int = 20) -> str:
    """The last ``n`` lines of ``text`` (what an error message shows of stderr)."""
    return "\n".join(text.rstrip().splitlines()[-n:])


@contextlib.contextmanager
def repo_context(repo: Path) -> Iterator[None]:
    """Temporarily put ``repo`` first on ``sys.path`` and make it the cwd, the way
    official scripts expect to be run; both are restored afterwards."""
    old_cwd, old_path = os.getcwd(), list(sys.path)
    sys.path.insert(0, str(repo))
    os.chdir(repo)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path


#: set for every upstream process: the Hugging Face libraries it uses read only local
#: files, so a file preflight missed is an error there, never a silent download (a
#: suite's ``env:`` may override them, on purpose)
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class SubprocessRestorer(Restorer):
    """Generic driver; subclasses set the class defaults for one repository.

    ``required`` lists ``(path, fix)`` pairs: model files or folders the
    repository expects, relative to the repository unless absolute. They are
    checked by :meth:`preflight` and their names, sizes and mtimes enter
    :meth:`version` (hashing multi-GB checkpoints on every run would be slow).
    """
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.subprocess_driver.SubprocessRestorer"
    needs_ids: ClassVar[bool] = True  # outputs are matched to inputs by image id

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = True
    batch_size: ClassVar[int] = 64
    #: human name used in messages
    display_name: ClassVar[str] = "subprocess restorer"
    #: where to get the code (shown when the repository is missing)
    repo_url: ClassVar[str] = ""
    default_command: ClassVar[tuple[str, ...]] = ()
    default_steps: ClassVar[int | None] = None
    default_cfg: ClassVar[float | None] = None
    default_seed: ClassVar[int] = 231
    default_output_pattern: ClassVar[str] = "{id}.png"
    default_output_subdir: ClassVar[str] = ""
    default_prompt_mode: ClassVar[str] = "file"
    #: the command runs in the interpreter named by ``python`` (the suite's ``python:`` key)
    accepts_python: ClassVar[bool] = True
    #: modules the driven code imports (third-party, as the repository's entry script and
    #: the modules it loads import them): preflight imports each in ``python``
    probe_imports: ClassVar[tuple[str, ...]] = ()
    #: folders (relative to the repository) the driven code adds to sys.path besides the repository
    probe_sys_path: ClassVar[tuple[str, ...]] = ()
    #: how the repository's environment is created (its README), quoted in fix messages
    env_setup: ClassVar[str] = ""
    #: name in bench.upstream.PINNED_COMMITS of the repository this driver is tested against
    upstream: ClassVar[str] = ""

    def __init__(
        self,
        repo: str = "",
        command: Sequence[str] | None = None,
        entry: str | None = None,
        steps: int | None = None,
        seed: int | None = None,
        cfg: float | None = None,
        output_pattern: str | None = None,
        output_subdir: str | None = None,
        prompt_mode: str | None = None,
        required: Sequence[Sequence[str]] = (),
        env: dict | None = None,
        timeout_s: float | None = None,
        work_dir: str | None = None,
        python: str | None = None,
        weights_identity: str = "sha256",
        scale: int = 4,
        device: str = "cpu",
        **args: Any,
    ):
        super().__init__(scale=scale, device=device, **args)
        if weights_identity not in ("sha256", "stat"):
            raise AdapterError(f"{self.display_name}: weights_identity '{weights_identity}' is not one of "
                               f"('sha256', 'stat')")
        self.weights_identity = weights_identity
        self.repo = Path(repo).expanduser() if repo else Path("")
        self.command = list(command) if command is not None else list(self.default_command)
        self.entry = entry
        self.steps = steps if steps is not None else self.default_steps
        self.seed = seed if seed is not None else self.default_seed
        self.cfg = cfg if cfg is not None else self.default_cfg
        self.output_pattern = output_pattern or self.default_output_pattern
        self.output_subdir = self.default_output_subdir if output_subdir is None else output_subdir
        self.prompt_mode = prompt_mode or self.default_prompt_mode
        if self.prompt_mode not in PROMPT_MODES:
            raise AdapterError(f"{self.display_name}: prompt_mode '{self.prompt_mode}' is not one of {PROMPT_MODES}")
        if not self.command and not self.entry:
            raise AdapterError(f"{self.display_name}: give a 'command' list or an 'entry' ('module:function')")
        self.extra_required = [tuple(r) for r in required]
        self.env = dict(env or {})
        self.timeout_s = timeout_s
        self.work_dir = work_dir
        self.python = str(python) if python else HARNESS_PYTHON
        if self.entry and self.python != HARNESS_PYTHON:
            raise AdapterError(f"{self.display_name}: an in-process 'entry' runs in the harness's own interpreter, "
                               f"so 'python: {self.python}' cannot apply -- give a 'command' (with {{python}}) instead")

    # -- requirements -----------------------------------------------------------
    def required_files(self) -> list[tuple[str, str]]:
        """``(path, fix)`` for every file the repository needs; subclasses extend."""
        return list(self.extra_required)

    def _resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.repo / p

    def preflight(self) -> list[str]:
        """One message per missing piece: the repository, each model file, then every
        problem of the environment the command runs in (:meth:`environment_problems`)."""
        if not str(self.repo) or not self.repo.is_dir():
            where = f" from {self.repo_url}" if self.repo_url else ""
            problems = [(f"{self.display_name}: repository not found at '{self.repo}' -- clone it{where} "
                         f"and set the restorer's 'repo' argument to its folder")]
        else:
            problems = [f"{self.display_name}: missing {self._resolve(path)} -- {fix}"
                        for path, fix in self.required_files() if not self._resolve(path).exists()]
        return problems + self.environment_problems()

    # -- environment ------------------------------------------------------------
    def probe_spec(self) -> ProbeSpec:
        """What to ask the interpreter: the declared imports, run as the command runs
        (cwd = the repository, first on sys.path), plus torch and CUDA when relevant."""
        repo = self.repo.resolve() if str(self.repo) and self.repo.is_dir() else None
        paths = (str(repo), *(str(repo / p) for p in self.probe_sys_path)) if repo else ()
        pins = tuple(sorted(requirement_pins(repo))) if repo else ()
        return ProbeSpec(python=self.python, imports=tuple(self.probe_imports), packages=pins,
                         torch="torch" in self.probe_imports or str(self.device).startswith("cuda"),
                         cwd=str(repo) if repo else None, sys_path=paths, env=tuple(sorted(self.env.items())))

    def probe(self) -> ProbeResult:
        """The (memoised) probe of this restorer's interpreter."""
        return run_probe(self.probe_spec())

    def environment_problems(self) -> list[str]:
        """Every problem the probe finds in ``python`` (missing interpreter, failed imports,
        no CUDA when the run asks for it), each with its fix."""
        repo_reqs = self._resolve("requirements.txt") if str(self.repo) else None
        reqs = str(repo_reqs) if repo_reqs is not None and repo_reqs.is_file() else ""
        return probe_problems(self.probe(), self.display_name, str(self.device), setup=self.env_setup,
                              requirements=reqs)

    def environment(self) -> dict:
        """The interpreter, its Python and the versions of the modules the code imports."""
        return self.probe().record()

    def version(self) -> str:
        """Code version + repository commit + the sha256 of every required model file
        (hashed once per file and remembered: :func:`bench.io.hashing.file_sha256`), so
        new weights or a new checkout invalidate the cache. ``weights_identity: stat``
        uses (name, size, mtime) instead, for checkpoints too large to hash even once."""
        h = hashlib.sha256()
        h.update(_git_head(self.repo).encode())
        for path, _ in self.required_files():
            p = self._resolve(path)
            for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
                if f.is_file():
                    name = f.relative_to(self.repo) if f.is_relative_to(self.repo) else f
                    if self.weights_identity == "stat":
                        st = f.stat()
                        h.update(f"{name}|{st.st_size}|{int(st.st_mtime)}".encode())
                    else:
                        h.update(f"{name}|sha256={file_sha256(f)}".encode())
        return f"{super().version()}+{h.hexdigest()[:16]}+env{self.probe().fingerprint()}"

    def config(self) -> dict:
        return {
            **super().config(),
            "steps": self.steps, "seed": self.seed, "cfg": self.cfg,
            "command": self.command, "entry": self.entry, "prompt_mode": self.prompt_mode,
            # the checkout's commit (also in version()), readable in results.json
            "upstream_commit": _git_head(self.repo) or None,
        }

    # -- running ----------------------------------------------------------------
    def placeholders(self, work: Path) -> dict[str, str]:
        return {
            "python": self.python, "repo": str(self.repo.resolve()),
            "inputs": str(work / "inputs"), "outputs": str(work / "outputs"),
            "prompts": str(work / "prompts.json"),
            "steps": str(self.steps), "seed": str(self.seed), "cfg": str(self.cfg),
            "device": self.device, "scale": str(self.scale),
        }

    def restore_batch(
        self,
        images: Sequence[np.ndarray],
        prompts: Sequence[str | None] | None = None,
        *,
        ids: Sequence[str] | None = None,
    ) -> list[np.ndarray]:
        """Write the batch, run the repository once (or once per prompt), read back."""
        ids = [safe_id(i) for i in ids] if ids is not None else [f"{i:06d}" for i in range(len(images))]
        if len(set(ids)) != len(ids):
            raise AdapterError(f"{self.display_name}: duplicate image ids in one batch: {ids}")
        prompts = list(prompts) if prompts is not None else [None] * len(images)
        if self.prompt_mode == "none":
            prompts = [None] * len(images)
        with self._work() as work:
            if self.prompt_mode in ("per_prompt", "per_image"):
                groups: dict[str, list[int]] = {}
                for i, p in enumerate(prompts):
                    groups.setdefault(ids[i] if self.prompt_mode == "per_image" else (p or ""), []).append(i)
                results: dict[str, np.ndarray] = {}
                for n, idx in enumerate(groups.values()):
                    sub = work / f"group{n:04d}"
                    results.update(self._run_once(sub, [images[i] for i in idx], [ids[i] for i in idx],
                                                  [prompts[i] for i in idx], prompts[idx[0]] or ""))
                return [results[i] for i in ids]
            out = self._run_once(work, images, ids, prompts, None)
            return [out[i] for i in ids]

    @contextlib.contextmanager
    def _work(self) -> Iterator[Path]:
        if self.work_dir:
            base = Path(self.work_dir)
            base.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=base, prefix="batch-") as d:
                yield Path(d)
        else:
            with tempfile.TemporaryDirectory(prefix="tair-bench-") as d:
                yield Path(d)

    def _run_once(self, work: Path, images, ids, prompts, prompt: str | None) -> dict[str, np.ndarray]:
        (work / "inputs").mkdir(parents=True)
        (work / "outputs").mkdir()
        for image_id, img in zip(ids, images):
            write_png(work / "inputs" / f"{image_id}.png", img)
        (work / "prompts.json").write_text(json.dumps(dict(zip(ids, prompts)), indent=1))
        values = {**self.placeholders(work), "prompt": prompt or ""}
        if self.entry:
            self._call_entry(work, values)
        else:
            self._call_command(values)
        return self._read_outputs(work, ids)

    def _call_command(self, values: dict[str, str]) -> None:
        try:
            argv = [part.format(**values) for part in self.command]
        except (KeyError, IndexError) as exc:
            raise AdapterError(f"{self.display_name}: unknown placeholder {exc} in command {self.command}; "
                               f"known: {sorted(values)}") from None
        try:
            proc = subprocess.run(argv, cwd=self.repo, capture_output=True, text=True, check=False,
                                  env={**os.environ, **OFFLINE_ENV, **self.env}, timeout=self.timeout_s)
        except FileNotFoundError as exc:
            raise AdapterError(f"{self.display_name}: cannot start {argv[0]!r} ({exc})") from None
        except subprocess.TimeoutExpired:
            raise AdapterError(f"{self.display_name}: command timed out after {self.timeout_s} s: {argv}") from None
        if proc.returncode != 0:
            raise AdapterError(
                f"{self.display_name}: command exited with status {proc.returncode}: {' '.join(argv)}\n"
                f"last lines of stderr:\n{tail(proc.stderr) or '(empty)'}"
            )

    def _call_entry(self, work: Path, values: dict[str, str]) -> None:
        module_name, _, func_name = str(self.entry).partition(":")
        settings = {k: values[k] for k in ("steps", "seed", "cfg", "device", "scale", "prompt")}
        settings.update(steps=self.steps, seed=self.seed, cfg=self.cfg, scale=self.scale)
        with repo_context(self.repo.resolve()):
            try:
                func = getattr(importlib.import_module(module_name), func_name)
            except (ImportError, AttributeError) as exc:
                raise AdapterError(f"{self.display_name}: cannot import entry '{self.entry}' "
                                   f"from {self.repo} ({exc})") from None
            prompts = json.loads((work / "prompts.json").read_text())
            func(inputs=work / "inputs", outputs=work / "outputs", prompts=prompts, settings=settings)

    def _read_outputs(self, work: Path, ids: Sequence[str]) -> dict[str, np.ndarray]:
        folder = work / "outputs" / self.output_subdir if self.output_subdir else work / "outputs"
        paths = {i: folder / self.output_pattern.format(id=i) for i in ids}
        missing = [i for i, p in paths.items() if not p.is_file()]
        if missing:
            found = sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []
            raise AdapterError(
                f"{self.display_name}: {len(missing)} of {len(ids)} outputs missing in {folder} "
                f"(expected name '{self.output_pattern}'): {', '.join(missing)}; "
                f"found: {', '.join(found[:10]) or 'nothing'}"
            )
        return {i: read_image(p) for i, p in paths.items()}


def _git_head(repo: Path) -> str:
    """The checked-out commit of ``repo`` read from ``.git`` (no git process), or ``""``."""
    head = repo / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref:"):
            ref_path = repo / ".git" / ref[4:].strip()
            if ref_path.is_file():
                return ref_path.read_text().strip()
            packed = repo / ".git" / "packed-refs"
            for line in packed.read_text().splitlines() if packed.is_file() else []:
                if line.endswith(ref[4:].strip()):
                    return line.split()[0]
        return ref
    except OSError:
        return ""
