"""Run TeReDiff (cvlab-kaist/TAIR) on a folder of LQ images, the way ``val.py`` runs its loop.

Runs inside TAIR's own environment (its ``requirements.txt``, torch 2.2, detectron2,
the compiled ``testr`` ops), with cwd = the TAIR checkout; the top level imports the
standard library only, so ``--dry-run`` and the conformance tests run anywhere.

Why not ``val.py`` itself: it needs HQ images next to the LQ ones and scores as it
goes (upstream/TAIR/val.py:45-46, :185-192). This script makes the same calls as its
restoration loop, citing each (upstream/TAIR at 5f0365f):

* config: ``OmegaConf.load`` of ``configs/val/val_terediff.yaml`` (val.py:33) with two
  overrides, both keys of that YAML: ``exp_args.resume_ckpt_dir`` (yaml:119, the
  placeholder ``/PATH/TO/YOUR/STAGE3/CKPT/FILE.pt``) <- ``--checkpoint``, the file
  ``initialize.load_model`` opens (initialize.py:155-157); ``exp_args.prompt_style``
  (yaml:121) <- ``--prompt_style``. It refuses to run on a missing checkpoint.
* models: ``initialize.load_model(accelerator, device, args, cfg)`` (val.py:50), with
  ``args.config_testr`` (initialize.py:136); diffusion and ``SpacedSampler`` (val.py:54-56);
  ``eval()`` (val.py:93-95).
* per image: bicubic 512x512 + ``ToTensor`` (val.py:106-109), SwinIR (val.py:127),
  ``prepare_condition`` on the initial prompt (val.py:124, :128), x_T from a generator
  (val.py:131), TESTR threshold 0.5 (val.py:133), ``val_sample`` with val.py's keywords
  (val.py:137-151), decoding (val.py:173); the output is saved as ``restored_<id>.png``
  (val.py:180).

Seeding. ``val.py`` seeds once per process: ``set_seed(25, device_specific=False)``
(val.py:30, the global torch RNG that ``torch.randn_like`` in ``p_sample`` draws the
per-step noise from, terediff/sampler/spaced_sampler.py:186) and ``gen.manual_seed(25)``
(val.py:89, the x_T generator). Seeded once, an image's output depends on the images
processed before it. This script makes the same two calls before *every* image, so
each image is restored exactly as val.py restores the first image of its folder, and
its output does not depend on its batch neighbours.

Prompt modes (``--prompt_mode``):

* ``self`` (TeReDiff's own loop, val.py unchanged): the initial prompt is ``""``
  (val.py:124); after every step ``val_sample`` replaces ``cond['c_txt']`` with the
  CLIP embedding of a prompt built from its own TESTR head's words in the style
  ``exp_args.prompt_style`` (spaced_sampler.py:312-317). The harness prompt is unused.
* ``fixed`` (an ablation the paper's code does not ship): the harness prompt is the
  initial prompt and stays the text condition at every step; the one write that
  replaces it (spaced_sampler.py:317) is ignored by :class:`FixedPrompt`. TESTR still
  runs every step (its words are logged, not used).

Next to each output, ``prompts_<id>.json`` records the mode and, per step, the words
TeReDiff spotted and the prompt it built (``val_sample``'s second return value).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

#: the two prompt modes of the module docstring
PROMPT_MODES = ("self", "fixed")
#: TeReDiff's own prompt formats (configs/val/val_terediff.yaml:121, spaced_sampler.py:313-316)
PROMPT_STYLES = ("CAPTION", "TAG")
#: val.py's seed (val.py:30 and :89)
VAL_SEED = 25
#: val.py's initial prompt (val.py:124)
INITIAL_PROMPT = ""
#: val.py's TESTR score threshold (val.py:133)
VAL_SCORE_THRESHOLD = 0.5
#: key of the text condition in ``ControlLDM.prepare_condition``'s dict (terediff/model/cldm.py:150-151)
TEXT_KEY = "c_txt"
#: val.py's output name (val.py:180) and this script's per-step prompt log
OUTPUT_PATTERN = "restored_{id}.png"
PROMPT_LOG_PATTERN = "prompts_{id}.json"
#: the YAML keys this script overrides (both exist in configs/val/val_terediff.yaml)
CHECKPOINT_KEY = "exp_args.resume_ckpt_dir"
STYLE_KEY = "exp_args.prompt_style"
#: config keys whose files ``initialize.load_model`` opens (initialize.py:86, 96, 111, 144, 157);
#: ``--config_testr`` is the sixth (initialize.py:136); empty keys are skipped by the code
OPENED_KEYS = ("train.sd_path", "train.resume", "train.swinir_path", "exp_args.testr_ckpt_dir", CHECKPOINT_KEY)
#: the placeholder the released YAML carries (a path segment no real file has)
PLACEHOLDER_MARK = "/PATH/TO/"


class _Accelerator:
    """What ``initialize.load_model`` reads from its ``accelerate.Accelerator``:
    ``is_main_process`` only (initialize.py:88, 97, 103, 121, 147). In one process,
    val.py's ``accelerator.prepare`` / ``unwrap_model`` (val.py:60, :64) return the
    models unchanged, so they are not repeated here."""

    is_main_process = True


def build_parser() -> argparse.ArgumentParser:
    """The command line the adapter builds (``adapters/terediff.py``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", help="folder of LQ images <id>.png")
    ap.add_argument("--outputs", help="folder for restored_<id>.png")
    ap.add_argument("--prompts", help="JSON {id: prompt or null} (used by --prompt_mode fixed)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=50, help="sampling steps (val.py:140: 50)")
    ap.add_argument("--seed", type=int, default=VAL_SEED, help=f"seed set before every image (val.py:30, :89: {VAL_SEED})")
    ap.add_argument("--cfg", type=float, default=1.0, help="CFG scale (val.py:144: 1.0; no effect without uncond)")
    ap.add_argument("--config", default="configs/val/val_terediff.yaml")
    ap.add_argument("--config_testr", default="testr/configs/TESTR/TESTR_R_50_Polygon.yaml",
                    help="TESTR config (run_script/val_script/run_val_terediff.sh)")
    ap.add_argument("--checkpoint", required=True, help="the TeReDiff stage-3 checkpoint (-> exp_args.resume_ckpt_dir)")
    ap.add_argument("--prompt_mode", default="self", choices=PROMPT_MODES)
    ap.add_argument("--prompt_style", default="CAPTION", choices=PROMPT_STYLES)
    ap.add_argument("--score_threshold", type=float, default=VAL_SCORE_THRESHOLD)
    ap.add_argument("--dry-run", dest="dry_run", action="store_true",
                    help="print the effective configuration as JSON and exit (no model is loaded)")
    return ap


class RunnerError(RuntimeError):
    """A problem found before any model is loaded; the message names the file and the fix."""


def effective_config(args: argparse.Namespace):
    """The TeReDiff config this run uses: the YAML plus the two overrides.

    Raises :class:`RunnerError` when the YAML lacks a key this script sets (a
    different revision of the repository) or the checkpoint is the placeholder."""
    from omegaconf import OmegaConf

    if not Path(args.config).is_file():
        raise RunnerError(f"TeReDiff config {Path(args.config).resolve()} not found -- run from the TAIR "
                          f"checkout or give --config")
    cfg = OmegaConf.load(args.config)
    for key in (CHECKPOINT_KEY, STYLE_KEY, *OPENED_KEYS):
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent)
        if node is None or leaf not in node:
            raise RunnerError(f"{args.config}: key '{key}' not found -- this runner follows "
                              f"configs/val/val_terediff.yaml of TAIR 5f0365f")
    if PLACEHOLDER_MARK in str(args.checkpoint):
        raise RunnerError(f"--checkpoint is the placeholder {args.checkpoint!r} of {args.config} -- give the "
                          f"released terediff_stage3.pt (TAIR README, 'Demo Script')")
    OmegaConf.update(cfg, CHECKPOINT_KEY, str(Path(args.checkpoint).resolve()))
    OmegaConf.update(cfg, STYLE_KEY, args.prompt_style)
    return cfg


def opened_files(cfg, args: argparse.Namespace) -> dict:
    """Config key (or ``--config_testr``) -> path of every file ``load_model`` opens."""
    from omegaconf import OmegaConf

    files = {key: OmegaConf.select(cfg, key) for key in OPENED_KEYS}
    files = {k: str(v) for k, v in files.items() if v}  # empty keys are not opened (initialize.py:95, 143, 155)
    files["--config_testr"] = args.config_testr
    return files


def git_head(repo: Path) -> str:
    """The checkout's commit, or a note why there is none."""
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    except OSError:
        return "unknown (git not found)"
    return out.stdout.strip() or "unknown (not a git checkout)"


def describe(cfg, args: argparse.Namespace) -> dict:
    """The effective settings as printed by ``--dry-run`` (and logged by a real run)."""
    from omegaconf import OmegaConf

    files = opened_files(cfg, args)
    return {
        "repo": os.getcwd(), "upstream_commit": git_head(Path.cwd()),
        "config": str(Path(args.config).resolve()),
        "overrides": {CHECKPOINT_KEY: OmegaConf.select(cfg, CHECKPOINT_KEY), STYLE_KEY: OmegaConf.select(cfg, STYLE_KEY)},
        "checkpoint": OmegaConf.select(cfg, CHECKPOINT_KEY),
        "seed": args.seed,
        "seeding": "accelerate.utils.set_seed(seed, device_specific=False) and the x_T generator's "
                   "manual_seed(seed) before every image (val.py:30, :89 do this once per process)",
        "prompt_mode": args.prompt_mode,
        "prompt_mode_note": ("TeReDiff's own loop, as val.py runs it" if args.prompt_mode == "self" else
                             "ablation, not in the paper's code: the harness prompt at every step"),
        "prompt_style": args.prompt_style, "initial_prompt": INITIAL_PROMPT if args.prompt_mode == "self" else "(harness prompt)",
        "steps": args.steps, "cfg_scale": args.cfg, "score_threshold": args.score_threshold, "device": args.device,
        "files_opened": {k: {"path": str(Path(v).resolve()), "exists": Path(v).is_file()} for k, v in files.items()},
        "would_stop_a_run": problems(cfg, args),
    }


class FixedPrompt(dict):
    """The condition of ``--prompt_mode fixed``: a dict that ignores writes to ``c_txt``.

    ``val_sample`` replaces ``cond['c_txt']`` after every step with the embedding of
    the prompt TeReDiff built from its own spotted words (spaced_sampler.py:317).
    With this dict that write has no effect, so the harness prompt's embedding
    (from ``prepare_condition``) conditions every step; everything else is unchanged."""

    def __setitem__(self, key, value):
        if key != TEXT_KEY:
            super().__setitem__(key, value)


def seed_everything(seed: int, generator) -> None:
    """val.py's two seeding calls (val.py:30, :89), made before every image."""
    from accelerate.utils import set_seed

    set_seed(seed, device_specific=False)
    generator.manual_seed(seed)


def restore_image(lq, prompt: str, *, models: dict, sampler, cfg, args: argparse.Namespace, generator):
    """One image through val.py's loop body; ``lq`` is a 1x3xHxW tensor in [0, 1].

    Returns the restored 1x3xHxW tensor in [0, 1] and ``val_sample``'s per-step
    spotting results."""
    import torch

    seed_everything(args.seed, generator)
    cldm, device = models["cldm"], lq.device
    initial = [prompt] if args.prompt_mode == "fixed" else [INITIAL_PROMPT]
    bs, _, h, w = lq.shape
    x_size = (bs, 4, int(h / 8), int(w / 8))
    with torch.no_grad():
        clean = models["swinir"](lq)
        cond = cldm.prepare_condition(clean, initial)
        if args.prompt_mode == "fixed":
            cond = FixedPrompt(cond)
        x_T = torch.randn(x_size, generator=generator, device=device, dtype=torch.float32)
        models["testr"].test_score_threshold = args.score_threshold
        z, ts_results = sampler.val_sample(
            model=cldm, device=device, steps=args.steps, x_size=x_size, cond=cond, uncond=None,
            cfg_scale=args.cfg, x_T=x_T, progress=False, cfg=cfg, pure_cldm=cldm,
            ts_model=models["testr"], val_prompt=initial,
        )
        restored = torch.clamp((cldm.vae_decode(z) + 1) / 2, min=0, max=1)
    return restored, ts_results


def prompt_log(ts_results, args: argparse.Namespace, prompt: str) -> dict:
    """What ``prompts_<id>.json`` holds: the mode and, per step, spotted words and built prompt."""
    return {
        "prompt_mode": args.prompt_mode, "prompt_style": args.prompt_style,
        "conditioning_prompt": prompt if args.prompt_mode == "fixed" else None,
        "steps": [{"timestep": int(r["timestep"]), "pred_texts": list(r["pred_texts"]), "pred_prompt": r["pred_prompt"]}
                  for r in ts_results],
    }


def load_models(cfg, args: argparse.Namespace, device):
    """val.py:50-56 and :93-95: the models, the diffusion schedule and the sampler."""
    import torch

    sys.path[:0] = [os.getcwd()]
    import initialize
    from terediff.sampler import SpacedSampler
    from terediff.utils.common import instantiate_from_config

    models, _ = initialize.load_model(_Accelerator(), device, args, cfg)
    for m in models.values():
        if isinstance(m, torch.nn.Module):
            m.eval()
    diffusion = instantiate_from_config(cfg.model.diffusion)
    diffusion.to(device)
    sampler = SpacedSampler(diffusion.betas, diffusion.parameterization, rescale_cfg=False)
    return models, sampler


def problems(cfg, args: argparse.Namespace) -> list:
    """What would stop a real run before any model is loaded: missing files, a CPU device."""
    fixes = {CHECKPOINT_KEY: "give the released terediff_stage3.pt (TAIR README 'Demo Script') as --checkpoint",
             "exp_args.testr_ckpt_dir": "download it (TAIR README 'Download Pretrained Weights') or empty the key",
             "--config_testr": "it is part of the TAIR checkout (testr/configs/TESTR/)"}
    found = [f"{key}: {Path(path).resolve()} not found -- {fixes.get(key, 'download it (TAIR download_weights.sh)')}"
             for key, path in opened_files(cfg, args).items() if not Path(path).is_file()]
    if not str(args.device).startswith("cuda"):
        found.append(f"device {args.device!r}: TeReDiff's TESTR head runs MSDeformAttn, which has no CPU implementation "
                     f"(testr/adet/layers/csrc/DeformAttn/ms_deform_attn.h:38) -- use a CUDA device")
    return found


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = effective_config(args)
        if args.dry_run:
            print(json.dumps(describe(cfg, args), indent=1))
            return 0
        for name in ("inputs", "outputs", "prompts"):
            if not getattr(args, name):
                raise RunnerError(f"--{name} is required (except with --dry-run)")
        found = problems(cfg, args)
        if found:
            raise RunnerError("; ".join(found))
    except RunnerError as err:
        print(f"terediff_run: {err}", file=sys.stderr)
        return 2
    print(json.dumps(describe(cfg, args)), file=sys.stderr)

    import torch
    import torchvision.transforms as T
    import torchvision.transforms.functional as TF
    from PIL import Image

    device = torch.device(args.device)
    models, sampler = load_models(cfg, args, device)
    generator = torch.Generator(device)
    to_lq = T.Compose([T.Resize(size=(512, 512), interpolation=T.InterpolationMode.BICUBIC), T.ToTensor()])
    prompts = json.loads(Path(args.prompts).read_text())
    out = Path(args.outputs)
    for path in sorted(Path(args.inputs).glob("*.png")):
        prompt = prompts.get(path.stem) or ""
        lq = to_lq(Image.open(path).convert("RGB")).unsqueeze(0).to(device)
        restored, ts_results = restore_image(lq, prompt, models=models, sampler=sampler, cfg=cfg, args=args,
                                             generator=generator)
        TF.to_pil_image(restored.squeeze(0).cpu()).save(out / OUTPUT_PATTERN.format(id=path.stem))
        (out / PROMPT_LOG_PATTERN.format(id=path.stem)).write_text(json.dumps(prompt_log(ts_results, args, prompt)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
