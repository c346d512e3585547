"""Run SUPIR (Fanghua-Yu/SUPIR) on a folder with one caption per image.

The official ``test.py`` only captions with LLaVA on a second GPU (else an empty
caption). This script follows its sampling call exactly but takes each image's
caption from ``prompts.json``, so any captioner (or none) can drive it. Run with
cwd = the SUPIR repository; writes ``<outputs>/<stem>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("inputs", "outputs", "prompts", "device"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cfg", type=float, default=7.5)
    ap.add_argument("--sign", default="Q", choices=["F", "Q"])
    ap.add_argument("--upscale", type=int, default=1)
    ap.add_argument("--min_size", type=int, default=1024)
    ap.add_argument("--s_churn", type=float, default=5)
    ap.add_argument("--s_noise", type=float, default=1.003)
    ap.add_argument("--s_stage2", type=float, default=1.0)
    ap.add_argument("--color_fix_type", default="Wavelet")
    args = ap.parse_args()

    sys.path.insert(0, os.getcwd())
    from PIL import Image
    from SUPIR.util import PIL2Tensor, Tensor2PIL, convert_dtype, create_SUPIR_model

    model = create_SUPIR_model("options/SUPIR_v0.yaml", SUPIR_sign=args.sign).to(args.device)
    model.ae_dtype = convert_dtype("bf16")
    model.model.dtype = convert_dtype("fp16")
    prompts = json.loads(Path(args.prompts).read_text())
    out = Path(args.outputs)
    for path in sorted(Path(args.inputs).glob("*.png")):
        lq, h0, w0 = PIL2Tensor(Image.open(path), upsacle=args.upscale, min_size=args.min_size)
        lq = lq.unsqueeze(0).to(args.device)[:, :3, :, :]
        caption = prompts.get(path.stem) or ""
        samples = model.batchify_sample(
            lq, [caption], num_steps=args.steps, restoration_scale=-1, s_churn=args.s_churn,
            s_noise=args.s_noise, cfg_scale=args.cfg, control_scale=args.s_stage2, seed=args.seed,
            num_samples=1, color_fix_type=args.color_fix_type,
        )
        Tensor2PIL(samples[0], h0, w0).save(out / f"{path.stem}.png")


if __name__ == "__main__":
    main()
