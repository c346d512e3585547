"""Run SUPIR (Fanghua-Yu/SUPIR) on a folder the way its ``test.py`` does, with the caption of your choice.

The flags are test.py's, with its names, types and choices (upstream/SUPIR/test.py:20-56);
the adapter (:mod:`tair_bench_adapters.supir`) always passes every sampling value, so the defaults live
in one place (:mod:`tair_bench_adapters.supir_settings`). The harness adds its own flags:
``--prompts`` (captions by image stem, used with ``--no_llava``), ``--device``,
``--llava_device``, ``--caption_end``, ``--no_linear_CFG`` (test.py's ``--linear_CFG`` is a
store_true defaulting to True, so it cannot be turned off from test.py's command line) and
``--set KEY=VALUE`` (a checkpoint path: a top-level key of options/SUPIR_v0.yaml, written to
a temporary copy, or a CKPT_PTH.py constant, set before SUPIR's modules import it).

Per image it does what test.py:77-105 does: ``PIL2Tensor`` with ``--upscale`` and
``--min_size``, then (LLaVA only) the stage-1 denoise at 512 px and the caption, then
``batchify_sample`` with every setting, saving ``<save_dir>/<stem>_<i>.png``. Differences,
all deliberate: images are taken in sorted order; the caption comes from ``--prompts``
when LLaVA is off (test.py uses ''), ended with ``--caption_end`` when it lacks final
punctuation (SUPIR appends a_prompt with no separator, SUPIR_model.py:164); before LLaVA
captions an image the torch RNG is seeded with ``--seed`` (test.py leaves LLaVA's sampling
unseeded, so its captions differ from run to run); the captions used are written to
``<save_dir>/captions.json``. Run with cwd = the SUPIR repository.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

OPTIONS = "options/SUPIR_v0.yaml"  # test.py:62
PUNCTUATION = ".!?,;:"


def build_parser() -> argparse.ArgumentParser:
    """test.py's flags (names, types, choices) with every sampling value required, plus the harness's."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--img_dir", type=str, required=True)
    ap.add_argument("--save_dir", type=str, required=True)
    for name in ("upscale", "seed", "min_size", "edm_steps", "s_stage1", "s_churn", "num_samples"):
        ap.add_argument(f"--{name}", type=int, required=True)
    for name in ("s_noise", "s_cfg", "s_stage2", "spt_linear_CFG", "spt_linear_s_stage2"):
        ap.add_argument(f"--{name}", type=float, required=True)
    ap.add_argument("--SUPIR_sign", type=str, choices=["F", "Q"], required=True)
    ap.add_argument("--a_prompt", type=str, default=None, help="default: the options file's p_p (= test.py's)")
    ap.add_argument("--n_prompt", type=str, default=None, help="default: the options file's n_p (= test.py's)")
    ap.add_argument("--color_fix_type", type=str, choices=["None", "AdaIn", "Wavelet"], required=True)
    ap.add_argument("--linear_CFG", action="store_true", default=True)
    ap.add_argument("--linear_s_stage2", action="store_true", default=False)
    ap.add_argument("--ae_dtype", type=str, choices=["fp32", "bf16"], required=True)
    ap.add_argument("--diff_dtype", type=str, choices=["fp32", "fp16", "bf16"], required=True)
    for name in ("no_llava", "loading_half_params", "use_tile_vae", "load_8bit_llava"):
        ap.add_argument(f"--{name}", action="store_true", default=False)
    ap.add_argument("--encoder_tile_size", type=int, default=512)
    ap.add_argument("--decoder_tile_size", type=int, default=64)
    # the harness's own
    ap.add_argument("--no_linear_CFG", dest="linear_CFG", action="store_false")
    ap.add_argument("--prompts", type=str, default=None, help="JSON {image stem: caption or null}")
    ap.add_argument("--device", type=str, required=True)
    ap.add_argument("--llava_device", type=str, default=None)
    ap.add_argument("--caption_end", type=str, default=".")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return ap


def end_caption(caption: str, end: str) -> str:
    """The caption as SUPIR should see it: ended with ``end`` unless empty or already punctuated."""
    caption = caption.strip()
    return caption + end if caption and end and caption[-1] not in PUNCTUATION else caption


def apply_paths(pairs: list[str], work: Path) -> str:
    """Apply ``KEY=VALUE`` checkpoint paths; return the options file create_SUPIR_model should read."""
    import CKPT_PTH
    from omegaconf import OmegaConf

    options = OmegaConf.load(OPTIONS)
    changed = False
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair!r}: expected KEY=VALUE")
        if key in options and key != "model":
            options[key] = value
            changed = True
        elif hasattr(CKPT_PTH, key):
            setattr(CKPT_PTH, key, value)
        else:
            raise SystemExit(f"--set {key}: neither a top-level key of {OPTIONS} nor a constant of CKPT_PTH.py")
    if not changed:
        return OPTIONS
    path = work / "SUPIR_options.yaml"
    OmegaConf.save(options, path)
    return str(path)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.path.insert(0, os.getcwd())
    work = Path(tempfile.mkdtemp(prefix="supir-run-"))
    options = apply_paths(args.set, work)

    from PIL import Image
    from SUPIR.util import PIL2Tensor, Tensor2PIL, convert_dtype, create_SUPIR_model

    # SUPIR's public set-up calls, in test.py's order (upstream/SUPIR/test.py:62-69)
    model = create_SUPIR_model(options, SUPIR_sign=args.SUPIR_sign)
    if args.loading_half_params:
        model = model.half()
    if args.use_tile_vae:
        model.init_tile_vae(encoder_tile_size=args.encoder_tile_size, decoder_tile_size=args.decoder_tile_size)
    model.ae_dtype = convert_dtype(args.ae_dtype)
    model.model.dtype = convert_dtype(args.diff_dtype)
    model = model.to(args.device)
    llava = None
    if not args.no_llava:  # test.py:71-74, with the harness's --llava_device
        from CKPT_PTH import LLAVA_MODEL_PATH
        from llava.llava_agent import LLavaAgent
        llava = LLavaAgent(LLAVA_MODEL_PATH, device=args.llava_device or args.device,
                           load_8bit=args.load_8bit_llava, load_4bit=False)
    prompts = json.loads(Path(args.prompts).read_text()) if args.prompts else {}
    os.makedirs(args.save_dir, exist_ok=True)
    used = {}
    for name in sorted(os.listdir(args.img_dir)):
        stem = os.path.splitext(name)[0]
        lq_pil = Image.open(os.path.join(args.img_dir, name))
        lq, h0, w0 = PIL2Tensor(lq_pil, upsacle=args.upscale, min_size=args.min_size)
        lq = lq.unsqueeze(0).to(args.device)[:, :3, :, :]
        if llava is not None:
            import torch

            small, h1, w1 = PIL2Tensor(lq_pil, upsacle=args.upscale, min_size=args.min_size, fix_resize=512)
            clean = model.batchify_denoise(small.unsqueeze(0).to(args.device)[:, :3, :, :])
            torch.manual_seed(args.seed)
            caption = llava.gen_image_caption([Tensor2PIL(clean[0], h1, w1)])[0]
        else:
            caption = end_caption(prompts.get(stem) or "", args.caption_end)
        used[stem] = caption
        samples = model.batchify_sample(
            lq, [caption], num_steps=args.edm_steps, restoration_scale=args.s_stage1, s_churn=args.s_churn,
            s_noise=args.s_noise, cfg_scale=args.s_cfg, control_scale=args.s_stage2, seed=args.seed,
            num_samples=args.num_samples,
            p_p=args.a_prompt if args.a_prompt is not None else "default",
            n_p=args.n_prompt if args.n_prompt is not None else "default",
            color_fix_type=args.color_fix_type, use_linear_CFG=args.linear_CFG,
            use_linear_control_scale=args.linear_s_stage2, cfg_scale_start=args.spt_linear_CFG,
            control_scale_start=args.spt_linear_s_stage2,
        )
        for i, sample in enumerate(samples):
            Tensor2PIL(sample, h0, w0).save(f"{args.save_dir}/{stem}_{i}.png")
    Path(args.save_dir, "captions.json").write_text(json.dumps(used, indent=1))


if __name__ == "__main__":
    main()
