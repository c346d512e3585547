"""TESTR, the text spotter TAIR evaluates with, run from its own repository and environment.

Which code. TAIR ships a copy of TESTR in ``testr/``, but rewired into TeReDiff: its
``TransformerDetector.forward`` takes the diffusion UNet's features
(upstream/TAIR/testr/adet/modeling/transformer_detector.py:87), its ``TESTR`` has no
image backbone, only projections of UNet features (testr/adet/modeling/testr/models.py:76-88,
:117-127), and it fixes every image at 512x512 (transformer_detector.py:90). It cannot
read an image. The model TAIR points to as "the pretrained text spotting module"
(TAIR README, 'Download Pretrained Weights') is TESTR's own Total-Text polygon
checkpoint (the same link, TESTR README line 158). So this spotter runs TESTR's
repository (github.com/mlpc-ucsd/TESTR), the way its demo does
(:mod:`bench.spotters.runners.testr_run`); given TAIR's copy as ``repo``, preflight
says why that cannot work.

Arguments: ``repo`` (the TESTR checkout), ``config`` (relative to ``repo`` unless
absolute; a ``*_Polygon.yaml``: 16 control points, ``USE_POLYGON``), ``weights`` (the
checkpoint, required: the config's own ``MODEL.WEIGHTS`` is never opened), ``python``
(the interpreter of TESTR's environment; default the harness's), ``inference_th``
(``MODEL.TRANSFORMER.INFERENCE_TH_TEST``; default the config's, 0.45 in
``Base-TESTR.yaml``) and ``timeout_s`` (per image, and for loading).

Records: per query the model keeps, in query order (the evaluator's greedy matching
depends on it, docs/protocol.md "Matching"), the records of the ``predictions`` spotter
(:func:`bench.spotters.predictions.parse_entry`):

* ``polygon``: the 32 numbers of ``Instances.polygons`` as 16 ``[x, y]`` points in the
  input image's pixels, as TESTR's evaluator turns them into a polygon
  (adet/evaluation/text_evaluation.py:279-281);
* ``text``: ``Instances.recs`` decoded as the evaluator decodes (text_evaluation.py:315-325,
  :28, :53): index < 95 -> the 95 printable ASCII symbols, 95 -> ``口`` (its
  ``NULL_CHAR``), 96 (end of word) -> nothing; no lexicon (TEST.USE_LEXICON false);
* ``score``: ``Instances.scores``, the detection score the evaluator writes
  (text_evaluation.py:252, :273).

The cut. The model keeps the queries scoring ``>= INFERENCE_TH_TEST``
(adet/modeling/transformer_detector.py:115, :230; 0.45 in configs/TESTR/Base-TESTR.yaml:13)
and TESTR's evaluator adds only ``score > 0.1`` (adet/evaluation/text_evaluation.py:107), so
that threshold is the cut: ``min_score`` defaults to 0 (no cut on top), a ``min_score`` above
the threshold is refused (:meth:`TESTRSpotter.cut_problem`), and ``config()["score_cut"]``
(``spotter.config.score_cut`` in results.json) records the cut the run used.

GPU only: TESTR's MSDeformAttn op has no CPU kernel
(adet/layers/csrc/DeformAttn/ms_deform_attn.h:38, called at adet/layers/ms_deform_attn.py:23);
preflight and :meth:`TESTRSpotter.load` refuse any other device.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, ClassVar, Optional, Sequence

import numpy as np
import yaml

from tair_bench_adapters.subprocess_driver import _git_head

from ..errors import SpotterError
from ..io.images import write_png
from ..io.pyenv import HARNESS_PYTHON, ProbeSpec, probe_problems, run_probe
from ..records import Detection
from .base import Spotter
from .predictions import parse_entry

RUNNER = Path(__file__).with_name("runners") / "testr_run.py"
REPO_URL = "https://github.com/mlpc-ucsd/TESTR"
#: the Total-Text polygon model, the one TAIR's README links (TESTR README line 158)
DEFAULT_CONFIG = "configs/TESTR/TotalText/TESTR_R_50_Polygon.yaml"
#: the symbols of indices 0..94 (text_evaluation.py:53: printable ASCII, space to '~')
CTLABELS = tuple(chr(code) for code in range(32, 127))
#: the evaluator's symbol for index voc_size - 1 (text_evaluation.py:28)
NULL_CHAR = "\u53e3"
#: ``MODEL.TRANSFORMER.INFERENCE_TH_TEST`` where no config file sets it (adet/config/defaults.py:343)
ADET_INFERENCE_TH = 0.45
#: the vocabulary size the built-in CTLABELS serve (adet/config/defaults.py:97, :344)
VOC_SIZE = 96
#: control points of a polygon model (TotalText/Base-TotalText-Polygon.yaml)
NUM_POINTS = 16
#: what the runner imports in TESTR's environment (probed by preflight)
RUNNER_IMPORTS = ("torch", "detectron2.engine.defaults", "detectron2.data.detection_utils",
                  "adet.config", "adet.modeling")
ENV_SETUP = ("TESTR README 'Installation': Python 3.8, PyTorch 1.10.1, the official pre-built detectron2, "
             "then `python setup.py build develop` in the checkout (builds adet._C)")
WEIGHTS_FIX = ("download the TESTR checkpoint that matches the config (TESTR README 'Pretrained Models'; TAIR "
               "uses Total-Text Polygonal) and give its path as the spotter's 'weights'")
TAIR_COPY = ("is TAIR's copy of TESTR (its TransformerDetector.forward reads diffusion UNet features, not images: "
             "testr/adet/modeling/transformer_detector.py:87), which cannot spot an image -- clone "
             f"{REPO_URL} and set the spotter's 'repo' to it")


def decode_rec(rec: Sequence[int], voc_size: int = VOC_SIZE) -> str:
    """One word from TESTR's per-character class indices, the evaluator's rule (module docstring)."""
    out = []
    for c in rec:
        c = int(c)
        if c < voc_size - 1:
            out.append(CTLABELS[c])
        elif c == voc_size - 1:
            out.append(NULL_CHAR)
    return "".join(out)


def reply_to_entries(reply: dict) -> list[dict]:
    """The runner's per-image reply -> ``predictions``-format entries, in query order."""
    polys, recs, scores = reply["polygons"], reply["recs"], reply["scores"]
    if not len(polys) == len(recs) == len(scores):
        raise SpotterError(f"spotter testr: the runner returned {len(polys)} polygons, {len(recs)} texts and "
                           f"{len(scores)} scores for one image")
    return [{"polygon": np.asarray(p, dtype=float).reshape(-1, 2).tolist(), "text": decode_rec(r), "score": float(s)}
            for p, r, s in zip(polys, recs, scores)]


def yaml_chain(path: Path) -> list[Path]:
    """``path`` and each ``_BASE_`` it pulls in, relative to the file naming it, as
    fvcore's ``CfgNode.load_yaml_with_base`` (behind detectron2's ``merge_from_file``) opens them."""
    chain: list[Path] = []
    while path not in chain:
        chain.append(path)
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            break
        base = data.get("_BASE_") if isinstance(data, dict) else None
        if not base:
            break
        base = Path(str(base)).expanduser()
        path = base if base.is_absolute() else path.parent / base
    return chain


def merged_yaml(chain: Sequence[Path]) -> dict:
    """The keys the chain sets, later files over their bases (no detectron2 defaults)."""
    def merge(into: dict, new: dict) -> dict:
        for k, v in new.items():
            into[k] = merge(dict(into.get(k) or {}), v) if isinstance(v, dict) else v
        return into

    out: dict = {}
    for path in reversed(list(chain)):
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            merge(out, {k: v for k, v in data.items() if k != "_BASE_"})
    return out


def detector_input(repo: Path) -> Optional[str]:
    """The first argument of ``TransformerDetector.forward`` in a checkout (``batched_inputs``
    in TESTR, ``extracted_feats`` in TAIR's copy), or None when the file is not there."""
    src = repo / "adet" / "modeling" / "transformer_detector.py"
    try:
        tree = ast.parse(src.read_text())
    except (OSError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "TransformerDetector":
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "forward" and len(fn.args.args) > 1:
                    return fn.args.args[1].arg
    return None


class TESTRSpotter(Spotter):
    """TESTR polygon model from a TESTR checkout, served by a subprocess in ``python``."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "bench.spotters.testr.TESTRSpotter"
    code_version: ClassVar[str] = "1"
    accepts_python: ClassVar[bool] = True
    #: PINNED_COMMITS key and where to get the code (``bench doctor`` compares the checkout with the pin)
    upstream: ClassVar[str] = "TESTR"
    repo_url: ClassVar[str] = "https://github.com/mlpc-ucsd/TESTR"

    def __init__(self, min_score: float = 0.0, device: str = "cpu", repo: str = "", config: str = DEFAULT_CONFIG,
                 weights: str = "", python: Optional[str] = None, inference_th: Optional[float] = None,
                 timeout_s: float = 600.0, **args: Any):
        super().__init__(min_score, device, repo=repo, config=config, weights=weights,
                         inference_th=inference_th, **args)
        self.repo = Path(repo).expanduser() if repo else None
        self.python = str(python) if python else HARNESS_PYTHON
        self.inference_th = None if inference_th is None else float(inference_th)
        self.timeout_s = float(timeout_s)
        self._proc: Optional[subprocess.Popen] = None
        self._stderr = None
        self._tmp: Optional[tempfile.TemporaryDirectory] = None
        self._version: Optional[str] = None
        self.ready: dict = {}

    # -- files -------------------------------------------------------------------
    def _at(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() or self.repo is None else self.repo / p

    def config_chain(self) -> list[Path]:
        """The config file and its ``_BASE_`` files: what ``merge_from_file`` opens."""
        return yaml_chain(self._at(self.args["config"]))

    def opened_files(self) -> dict[str, tuple[Path, str]]:
        """Label -> (path, fix) for every file the runner opens."""
        code = f"check out {REPO_URL} (the config files are part of it) or give 'config' as a path"
        files = {("config" if n == 0 else f"config _BASE_ {n}"): (p, code) for n, p in enumerate(self.config_chain())}
        if self.args["weights"]:
            files["MODEL.WEIGHTS"] = (self._at(self.args["weights"]), WEIGHTS_FIX)
        return files

    def preflight(self) -> list[str]:
        """The checkout (and that it is TESTR's, not TAIR's copy), every file the runner
        opens, a polygon config, a CUDA device and the environment ``python`` names."""
        who = "spotter testr"
        if self.repo is None or not self.repo.is_dir():
            return [f"{who}: repository not found at '{self.repo or ''}' -- clone {REPO_URL} and set the spotter's "
                    f"'repo' argument to it"]
        if detector_input(self.repo) == "extracted_feats":
            return [f"{who}: {self.repo} {TAIR_COPY}"]
        problems = [] if self.args["weights"] else [f"{who}: argument 'weights' is not set -- {WEIGHTS_FIX}"]
        problems += [f"{who}: missing {path} ({label}) -- {fix}"
                     for label, (path, fix) in self.opened_files().items() if not path.is_file()]
        merged = merged_yaml(self.config_chain()).get("MODEL", {}).get("TRANSFORMER", {})
        if self._at(self.args["config"]).is_file() and not merged.get("USE_POLYGON"):
            problems.append(f"{who}: {self._at(self.args['config'])} is not a polygon model (MODEL.TRANSFORMER."
                            f"USE_POLYGON is not true) -- use a *_Polygon.yaml config and its weights")
        problems += [p for p in (self.device_problem(), self.cut_problem(self.threshold()[0])) if p]
        return problems + self._env_problems()

    # -- device and cut --------------------------------------------------------------
    def device_problem(self) -> Optional[str]:
        """Why ``device`` cannot run TESTR (not CUDA), or None; preflight and load both ask."""
        if str(self.device).startswith("cuda"):
            return None
        return (f"spotter testr: device '{self.device}' -- TESTR's MSDeformAttn has no CPU kernel "
                f"(adet/layers/csrc/DeformAttn/ms_deform_attn.h:38); run with --device cuda")

    def threshold(self) -> tuple[Optional[float], str]:
        """``INFERENCE_TH_TEST`` the model will run with, and what sets it: ``inference_th``, else
        the first file of the config chain that sets it (the config before its bases, as
        ``merge_from_file`` overrides), else adet's default; None while the config is missing."""
        if self.inference_th is not None:
            return self.inference_th, "spotter.args.inference_th"
        if not self._at(self.args["config"]).is_file():
            return None, f"the config {self.args['config']} (missing)"
        for path in self.config_chain():
            value = merged_yaml([path]).get("MODEL", {}).get("TRANSFORMER", {}).get("INFERENCE_TH_TEST")
            if value is not None:
                return float(value), f"MODEL.TRANSFORMER.INFERENCE_TH_TEST in {self._shown(path)}"
        return ADET_INFERENCE_TH, "MODEL.TRANSFORMER.INFERENCE_TH_TEST default (adet/config/defaults.py:343)"

    def _shown(self, path: Path) -> str:
        """``path`` without ``..`` and relative to the checkout when inside it (results stay
        comparable across machines)."""
        path = Path(os.path.normpath(path))
        try:
            return str(path.relative_to(os.path.normpath(self.repo))) if self.repo is not None else str(path)
        except ValueError:
            return str(path)

    def cut_problem(self, threshold: Optional[float]) -> Optional[str]:
        """A ``min_score`` above the model's threshold, refused rather than warned about: it
        would silently drop detections TESTR's own evaluation scores, and TESTR already has
        the knob for a stricter cut (``INFERENCE_TH_TEST``, TESTR README lines 62-65), which
        ``inference_th`` sets and ``score_cut`` records -- one cut, in one place."""
        if threshold is None or self.min_score <= threshold:
            return None
        return (f"spotter testr: spotter.min_score {self.min_score} is above the model's threshold "
                f"MODEL.TRANSFORMER.INFERENCE_TH_TEST {threshold}, which is TESTR's cut "
                f"(adet/modeling/transformer_detector.py:230) -- remove spotter.min_score (default 0: no extra "
                f"cut), or set spotter.args.inference_th: {self.min_score} for a stricter cut")

    def score_cut(self) -> dict:
        """The cut a detection passes, for results.json: ``score >= value``, and what sets it."""
        threshold, source = self.threshold()
        if threshold is None:
            return {"value": None, "rule": "score >= value", "set_by": source}
        if self.min_score > threshold:
            return {"value": self.min_score, "rule": "score >= value", "set_by": "spotter.min_score"}
        return {"value": threshold, "rule": "score >= value", "set_by": source}

    def config(self) -> dict:
        """The settings plus ``score_cut``, the cut in effect (results.json ``spotter.config``)."""
        return {**super().config(), "score_cut": self.score_cut()}

    # -- environment ---------------------------------------------------------------
    def probe_spec(self) -> ProbeSpec:
        repo = str(self.repo.resolve()) if self.repo is not None and self.repo.is_dir() else None
        return ProbeSpec(python=self.python, imports=RUNNER_IMPORTS, torch=True, cwd=repo,
                         sys_path=(repo,) if repo else ())

    def _env_problems(self) -> list[str]:
        """The probe's problems; the fixes for ``adet`` (built in the checkout) and detectron2
        (not on PyPI) are TESTR's README steps instead of a pip install."""
        fixes = {"adet": f"build it in the checkout: cd {self.repo} && {self.python} setup.py build develop "
                         f"(TESTR README 'Installation')",
                 "detectron2": "install detectron2 into that environment as its INSTALL.md says "
                               "(TESTR README: the official pre-built detectron2)"}
        out = []
        for problem in probe_problems(run_probe(self.probe_spec()), "spotter testr", str(self.device), setup=ENV_SETUP):
            for name, fix in fixes.items():
                if f" cannot import {name}" in problem:
                    problem = f"{problem.split(' -- ')[0]} -- {fix}"
            out.append(problem)
        return out

    def environment(self) -> dict:
        return run_probe(self.probe_spec()).record()

    # -- identity ------------------------------------------------------------------
    def version(self) -> str:
        """Code version + checkout commit + the config chain's bytes + the weights' identity
        (name, size, mtime) + the environment's fingerprint; computed once per instance."""
        if self._version is None:
            self._version = self._compute_version()
        return self._version

    def _compute_version(self) -> str:
        h = hashlib.sha256()
        h.update(_git_head(self.repo).encode() if self.repo is not None else b"")
        for label, (path, _) in self.opened_files().items():
            if path.is_file():
                if label == "MODEL.WEIGHTS":
                    st = path.stat()
                    h.update(f"{path.name}|{st.st_size}|{int(st.st_mtime)}".encode())
                else:
                    h.update(path.read_bytes())
        return f"{super().version()}+{h.hexdigest()[:16]}+env{run_probe(self.probe_spec()).fingerprint()}"

    # -- running ---------------------------------------------------------------------
    def command(self) -> list[str]:
        """The runner's command line (cwd = the checkout)."""
        argv = [self.python, str(RUNNER), "--config", str(self._at(self.args["config"]).resolve()),
                "--weights", str(self._at(self.args["weights"]).resolve()), "--device", self.device]
        if self.inference_th is not None:
            argv += ["--inference-th", str(self.inference_th)]
        return argv

    def load(self) -> None:
        """Start the runner and wait for its ``ready`` line (the model is loaded then)."""
        if self._proc is not None:
            return
        refused = self.device_problem() or self.cut_problem(self.threshold()[0])
        if refused:
            raise SpotterError(refused)
        self._tmp = tempfile.TemporaryDirectory(prefix="tair-bench-testr-")
        self._stderr = open(Path(self._tmp.name) / "stderr.txt", "w+")
        self._proc = subprocess.Popen(self.command(), cwd=self.repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, text=True, bufsize=1)
        reply = self._reply("loading the model")
        if "ready" not in reply:
            self.close()
            raise SpotterError(f"spotter testr: the runner did not start: {reply.get('error', reply)}")
        self.ready = reply["ready"]
        self._check_ready_threshold()
        if self.ready.get("voc_size") != VOC_SIZE or self.ready.get("decode_voc_size") != VOC_SIZE \
                or self.ready.get("custom_dict"):
            self.close()
            raise SpotterError(f"spotter testr: {self.args['config']} sets a custom vocabulary ({self.ready}); only "
                               f"TESTR's built-in {VOC_SIZE}-class vocabulary is decoded -- use a stock TESTR config")

    def _check_ready_threshold(self) -> None:
        """The runner's threshold is the one ``score_cut`` records (else the record would lie)."""
        expected, running = self.threshold()[0], self.ready.get("inference_th")
        if running is not None and expected is not None and abs(float(running) - expected) < 1e-9:
            return
        self.close()
        raise SpotterError(f"spotter testr: the runner's MODEL.TRANSFORMER.INFERENCE_TH_TEST is {running}, not "
                           f"{expected} as read from {self.args['config']} -- set spotter.args.inference_th")

    def _reply(self, doing: str) -> dict:
        """One JSON line from the runner, or a :class:`SpotterError` with its stderr."""
        box: dict = {}
        reader = threading.Thread(target=lambda: box.update(line=self._proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.timeout_s)
        line = box.get("line")
        if not line:
            status = self._proc.poll()
            self._stderr.flush()
            self._stderr.seek(0)
            tail = "\n".join(self._stderr.read().rstrip().splitlines()[-20:]) or "(empty)"
            why = (f"exited with status {status}" if status is not None
                   else f"gave no answer within {self.timeout_s:.0f} s")
            self.close()
            raise SpotterError(f"spotter testr: the runner {why} while {doing} ({' '.join(self.command())}); "
                               f"last lines of its stderr:\n{tail}")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise SpotterError(f"spotter testr: the runner printed {line[:200]!r} while {doing}, not JSON") from None

    def spot(self, image: np.ndarray, image_id: Optional[str] = None) -> list[Detection]:
        """Send one RGB image to the runner; its detections with ``score >= min_score``, in query order."""
        self.load()
        path = Path(self._tmp.name) / "image.png"
        write_png(path, image)
        self._proc.stdin.write(json.dumps({"image": str(path)}) + "\n")
        self._proc.stdin.flush()
        reply = self._reply(f"spotting image {image_id!r}")
        if "error" in reply:
            raise SpotterError(f"spotter testr: image {image_id!r}: {reply['error']}")
        where = f"spotter testr, image {image_id!r}"
        dets = [parse_entry(e, f"{where}, detection {i}") for i, e in enumerate(reply_to_entries(reply))]
        return [d for d in dets if d.score >= self.min_score]

    def close(self) -> None:
        """Stop the runner and remove its temporary folder."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to clean reliably
            pass
