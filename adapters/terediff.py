"""TeReDiff (cvlab-kaist/TAIR): the text-aware restorer the TAIR paper proposes.

Protocol (TAIR ``val.py``): 512x512 inputs (the LQ
bicubic-upsampled, as TAIR does), 50 sampling steps, CFG 1, seed 25 (val.py:30, :89).
The run goes through :mod:`tair_bench_adapters.runners.terediff_run`, in TAIR's own environment
(``python:``), which makes ``val.py``'s calls image by image (see there, with citations).

Prompts (``prompt_mode``):

* ``self`` (default): TeReDiff's own loop exactly as ``val.py`` runs it. It starts from
  ``""`` (val.py:124) and after every step re-prompts itself with the words its TESTR
  head spotted, formatted as ``prompt_style`` (``CAPTION`` or ``TAG``,
  terediff/sampler/spaced_sampler.py:312-317). The harness prompt is not used, so this
  mode does not take one (``accepts_prompt`` is false).
* ``fixed``: the harness prompt (the suite's ``prompt:`` source) conditions every step;
  the runner ignores ``val_sample``'s per-step replacement of ``cond['c_txt']``
  (spaced_sampler.py:317). An ablation for oracle/caption comparisons that the paper's
  code does not ship; ``config()`` (hence results.json) says so.

Files: every file the code opens, each with its fix, read from the config the run
uses (:func:`opened_files`): the YAML itself, TESTR's config and its ``_BASE_`` chain
(initialize.py:136), the keys ``train.sd_path``, ``train.resume``,
``train.swinir_path`` and ``exp_args.testr_ckpt_dir`` (initialize.py:86, 96, 111, 144;
empty keys are not opened), the stage-3 checkpoint given as ``checkpoint`` (passed as
``exp_args.resume_ckpt_dir``, initialize.py:157; the released YAML has a placeholder
there, yaml:119) and the CLIP BPE vocabulary opened on import
(terediff/model/open_clip/tokenizer.py:22, :76, :153).

GPU only: TESTR's MSDeformAttn op has no CPU implementation
(testr/adet/layers/csrc/DeformAttn/ms_deform_attn.h:38, called from
testr/adet/layers/ms_deform_attn.py:23); the runner stops with that message on a CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Optional

import yaml

from bench.errors import AdapterError
from bench.upstream import PINNED_COMMITS

from .subprocess_driver import SubprocessRestorer, template_literal

RUNNER = Path(__file__).with_name("runners") / "terediff_run.py"
PROMPT_MODES = ("self", "fixed")
PROMPT_STYLES = ("CAPTION", "TAG")
DEFAULT_CONFIG = "configs/val/val_terediff.yaml"
DEFAULT_CONFIG_TESTR = "testr/configs/TESTR/TESTR_R_50_Polygon.yaml"  # run_script/val_script/run_val_terediff.sh
DEFAULT_CHECKPOINT = "weights/terediff_stage3.pt"
#: opened on import of the CLIP tokenizer (terediff/model/open_clip/tokenizer.py:22, :76, :153)
BPE_VOCAB = "terediff/model/open_clip/bpe_simple_vocab_16e6.txt.gz"
_HF = "https://huggingface.co/lxq007/DiffBIR-v2/resolve/main"
#: config keys whose file ``initialize.load_model`` opens (the runner sets the last from
#: ``checkpoint``), with the released config's value and the fix for a missing file
WEIGHT_KEYS: dict[str, tuple[str, str]] = {
    "train.sd_path": ("./weights/sd2.1-base-zsnr-laionaes5.ckpt",
                      f"download {_HF}/sd2.1-base-zsnr-laionaes5.ckpt (TAIR download_weights.sh)"),
    "train.resume": ("./weights/DiffBIR_v2.1.pt", f"download {_HF}/DiffBIR_v2.1.pt (TAIR download_weights.sh)"),
    "train.swinir_path": ("./weights/realesrgan_s4_swinir_100k.pth",
                          f"download {_HF}/realesrgan_s4_swinir_100k.pth (TAIR download_weights.sh)"),
    "exp_args.testr_ckpt_dir": ("", "download the TESTR checkpoint the config names (TAIR README, "
                                    "'Download Pretrained Weights') or leave the key empty"),
}
CHECKPOINT_FIX = ("download the released TeReDiff checkpoint terediff_stage3.pt (TAIR README, 'Demo Script', "
                  "Google Drive link) and give its path as the restorer's 'checkpoint' argument")


def _yaml_mapping(path: Path) -> Optional[dict]:
    """The YAML file as a mapping, or None when it is absent or not a mapping."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _select(data: Optional[dict], key: str, default: str) -> str:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return "" if node is None else str(node)


def yaml_chain(path: Path) -> list[Path]:
    """``path`` and the ``_BASE_`` files it pulls in, as detectron2's
    ``merge_from_file`` opens them (each base relative to the file naming it)."""
    chain, seen = [], set()
    while path not in seen:
        seen.add(path)
        chain.append(path)
        base = (_yaml_mapping(path) or {}).get("_BASE_")
        if not base:
            break
        base = Path(str(base)).expanduser()
        path = base if base.is_absolute() else path.parent / base
    return chain


def opened_files(repo: Path, config_file: str, config_testr: str, checkpoint: str) -> dict[str, tuple[Path, str]]:
    """Every file the run opens: label (config key or role) -> (path, fix).

    Values are read from ``config_file`` as the runner will load it; when it is
    absent or unreadable the released config's values stand in (the runner then
    stops with its own message)."""
    def at(p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else repo / q

    code = ("check out the official code from https://github.com/cvlab-kaist/TAIR "
            "(README 'Installation': testr/ and detectron2/ installed)")
    files: dict[str, tuple[Path, str]] = {"initialize.py": (at("initialize.py"), code),
                                          "config": (at(config_file), code),
                                          "clip bpe vocabulary": (at(BPE_VOCAB), code)}
    for n, path in enumerate(yaml_chain(at(config_testr))):
        files["config_testr" if n == 0 else f"config_testr _BASE_ {n}"] = (path, code)
    data = _yaml_mapping(at(config_file))
    for key, (default, fix) in WEIGHT_KEYS.items():
        value = _select(data, key, default)
        if value:
            files[key] = (at(value), fix)
    files["exp_args.resume_ckpt_dir"] = (at(checkpoint), CHECKPOINT_FIX)
    return files


class TeReDiff(SubprocessRestorer):
    """TeReDiff stage-3 model, 512x512, 50 steps, CFG 1, seed 25 (as in ``val.py``)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.terediff.TeReDiff"
    #: v2: checkpoint passed on, per-image seeding, prompt modes, val.py's output names
    code_version: ClassVar[str] = "2"

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = True  # per instance: only in prompt_mode 'fixed'
    display_name: ClassVar[str] = "TeReDiff"
    repo_url: ClassVar[str] = "https://github.com/cvlab-kaist/TAIR"
    #: PINNED_COMMITS key of the repository (bench doctor compares the checkout with it)
    upstream: ClassVar[str] = "TAIR"
    #: third-party modules the driven code imports when it loads (derived from the real code;
    #: tests/conformance/test_probe_imports.py holds it to the upstream snapshot)
    probe_imports: ClassVar[tuple[str, ...]] = (
        "PIL", "accelerate", "cv2", "detectron2", "einops", "ftfy", "numpy", "omegaconf",
        "packaging", "regex", "scipy", "timm", "torch", "torchsde", "torchvision", "tqdm", "wandb",
    )
    probe_sys_path: ClassVar[tuple[str, ...]] = ('testr',)  # the runner adds testr/ to sys.path
    env_setup: ClassVar[str] = (
        "conda create -n tair python=3.10 -y && conda activate tair && pip install torch==2.2.2 "
        "torchvision==0.17.2 torchaudio==2.2.2 --index-url "
        "https://download.pytorch.org/whl/cu121 && pip install -r requirements.txt && pip "
        "install -e detectron2 && pip install -e testr (upstream/TAIR/README.md:79-92)"
    )
    default_steps: ClassVar[int] = 50  # val.py:140
    default_cfg: ClassVar[float] = 1.0  # val.py:144
    default_seed: ClassVar[int] = 25  # val.py:30, :89
    default_output_pattern: ClassVar[str] = "restored_{id}.png"  # val.py:180
    #: TeReDiff is trained and run at this size only (val.py:100, :107)
    size: ClassVar[int] = 512

    def __init__(self, prompt_mode: str = "self", prompt_style: str = "CAPTION", score_threshold: float = 0.5,
                 checkpoint: str = DEFAULT_CHECKPOINT, config_file: str = DEFAULT_CONFIG,
                 config_testr: str = DEFAULT_CONFIG_TESTR, **kw: Any):
        if prompt_mode not in PROMPT_MODES:
            raise AdapterError(f"TeReDiff: prompt_mode {prompt_mode!r} is not one of {list(PROMPT_MODES)} "
                               f"('self': TeReDiff's own loop as val.py runs it; 'fixed': the harness prompt at every step)")
        if prompt_style not in PROMPT_STYLES:
            raise AdapterError(f"TeReDiff: prompt_style {prompt_style!r} is not one of {list(PROMPT_STYLES)} "
                               f"(configs/val/val_terediff.yaml, exp_args.prompt_style)")
        if kw.get("cfg") not in (None, 1, 1.0):
            raise AdapterError(f"TeReDiff: cfg {kw['cfg']!r} is not supported -- val.py samples with uncond=None "
                               f"(val.py:143), so the CFG scale has no effect (spaced_sampler.py:158); leave cfg at 1.0")
        if kw.get("entry"):
            raise AdapterError("TeReDiff: 'entry' is not supported; it runs adapters/runners/terediff_run.py")
        self.prompt_loop, self.prompt_style = prompt_mode, prompt_style
        self.score_threshold = float(score_threshold)
        self.checkpoint, self.config_file, self.config_testr = checkpoint, config_file, config_testr
        #: the harness prompt reaches TeReDiff only in 'fixed' mode
        self.accepts_prompt = prompt_mode == "fixed"
        kw.setdefault("command", [
            "{python}", template_literal(RUNNER), "--inputs", "{inputs}", "--outputs", "{outputs}",
            "--prompts", "{prompts}", "--steps", "{steps}", "--seed", "{seed}", "--cfg", "{cfg}",
            "--device", "{device}", f"--config={template_literal(config_file)}",
            f"--config_testr={template_literal(config_testr)}", "--checkpoint={checkpoint}",
            "--prompt_mode", prompt_mode, "--prompt_style", prompt_style,
            "--score_threshold", str(self.score_threshold),
        ])
        super().__init__(prompt_mode="file", **kw)

    def checkpoint_path(self) -> Path:
        """The stage-3 checkpoint, absolute: what preflight checks and the runner passes on."""
        p = Path(self.checkpoint).expanduser()
        return (p if p.is_absolute() else self.repo / p).resolve()

    def opened_files(self) -> dict[str, tuple[Path, str]]:
        """Label -> (path, fix) for every file the run opens (module docstring)."""
        files = opened_files(self.repo, self.config_file, self.config_testr, self.checkpoint)
        files["exp_args.resume_ckpt_dir"] = (self.checkpoint_path(), CHECKPOINT_FIX)
        return files

    def required_files(self) -> list[tuple[str, str]]:
        return [(str(path), fix) for path, fix in self.opened_files().values()] + super().required_files()

    def preflight(self) -> list[str]:
        """The files and environment (base), and the CUDA device TESTR's op needs."""
        problems = super().preflight()
        if not str(self.device).startswith("cuda"):
            problems.append(f"TeReDiff: device '{self.device}' -- every sampling step runs the TESTR head, whose "
                            f"MSDeformAttn op has no CPU kernel (upstream/TAIR/testr/adet/layers/csrc/DeformAttn/"
                            f"ms_deform_attn.h:38, called at testr/adet/layers/ms_deform_attn.py:23); "
                            f"run with --device cuda on a GPU machine")
        return problems

    def placeholders(self, work: Path) -> dict[str, str]:
        return {**super().placeholders(work), "checkpoint": str(self.checkpoint_path())}

    def dry_run_command(self) -> list[str]:
        """The runner's ``--dry-run`` command line (run it with cwd = the repository)."""
        return [self.python, str(RUNNER), "--dry-run", "--steps", str(self.steps), "--seed", str(self.seed),
                "--cfg", str(self.cfg), "--device", self.device, "--config", self.config_file,
                "--config_testr", self.config_testr, "--checkpoint", str(self.checkpoint_path()),
                "--prompt_mode", self.prompt_loop, "--prompt_style", self.prompt_style,
                "--score_threshold", str(self.score_threshold)]

    def dry_run(self) -> dict:
        """The effective configuration the runner builds from the real YAML, without loading models."""
        import json
        import os
        import subprocess

        proc = subprocess.run(self.dry_run_command(), cwd=self.repo, capture_output=True, text=True, check=False,
                              env={**os.environ, **self.env}, timeout=self.timeout_s)
        if proc.returncode != 0:
            raise AdapterError(f"TeReDiff: dry run failed ({' '.join(self.dry_run_command())}):\n{proc.stderr.strip()}")
        return json.loads(proc.stdout)

    def restore_batch(self, images, prompts=None, *, ids=None):
        """Checks the 512x512 input size TeReDiff needs, then runs the batch."""
        bad = [i for i, im in enumerate(images) if im.shape[:2] != (self.size, self.size)]
        if bad:
            raise AdapterError(f"TeReDiff: inputs must be {self.size}x{self.size} (bicubic-upsampled LQ); "
                               f"batch positions {bad} are not -- use a suite target size of {self.size}")
        return super().restore_batch(images, prompts, ids=ids)

    def config(self) -> dict:
        """Everything that changes outputs: steps, seed, cfg (base), the prompt mode and
        style, threshold, config files and checkpoint; the checkout's commit (base) and
        the commit the conformance tests pin."""
        return {
            **super().config(), "prompt_mode": self.prompt_loop,
            "prompt_mode_note": ("TeReDiff's own prompt loop, as val.py runs it" if self.prompt_loop == "self" else
                                 "ABLATION (not in the paper's code): the harness prompt conditions every step"),
            "prompt_style": self.prompt_style, "score_threshold": self.score_threshold,
            "seeding": "per image (val.py's set_seed and x_T generator seed before every image)",
            "config_file": self.config_file, "config_testr": self.config_testr, "checkpoint": str(self.checkpoint_path()),
            "tested_commit": PINNED_COMMITS["TAIR"][1],
        }
