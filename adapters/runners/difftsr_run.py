"""Run DiffTSR (YuzheZhang-1999/DiffTSR) on a folder of text-line crops.

The official ``inference_DiffTSR.py`` has its input and output folders written
into the script (upstream/DiffTSR/inference_DiffTSR.py:15-16). This runner makes
the same calls in the same order on ``--inputs``/``--outputs``:
``OmegaConf.load('./model/DiffTSR_config.yaml')`` (:9, :11),
``instantiate_from_config(config.model)`` (:12), ``load_model('./ckpt/DiffTSR.ckpt')``
(:10, :13); per image ``convert('RGB').resize((512, 128))`` (:23-24),
``DiffTSR_sample(lq)`` with its default ``general=True`` (:27) and
``Image.fromarray(out, 'RGB').save`` under the input's file name (:22, :29-30).

One difference, for reproducibility: the official script never seeds. Sampling
draws from the global torch RNG (the VAE posterior sample and ``randn_like``,
model/DiffTSR.py:234-236; ``noise_like`` in every DDIM step, :140), so here torch
and numpy are seeded with ``--seed`` before *each* crop: a crop's output does not
depend on which crops ran before it.

Steps: the pipeline's constructor fixes 200 DDIM steps (model/DiffTSR.py:44; no
constructor argument), so ``--steps`` other than 200 is refused.
Device: the pipeline chooses it itself (``cuda`` when available, DiffTSR.py:28)
and moves its buffers to CUDA unconditionally (DiffTSR.py:116-120); ``--device``
is only recorded. Run with cwd = the DiffTSR repository.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

#: inference_DiffTSR.py:9-10
CONFIG = "./model/DiffTSR_config.yaml"
CHECKPOINT = "./ckpt/DiffTSR.ckpt"
#: inference_DiffTSR.py:24
LINE_SIZE = (512, 128)
#: model/DiffTSR.py:44 (IDM_ddim_schedule_init(ddim_num_steps=200, ...))
DDIM_STEPS = 200


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("inputs", "outputs", "prompts", "device"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--steps", type=int, default=DDIM_STEPS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cfg", default="None")
    args = ap.parse_args(argv)
    if args.steps != DDIM_STEPS:
        sys.exit(f"difftsr_run: DiffTSR fixes {DDIM_STEPS} DDIM steps (model/DiffTSR.py:44); "
                 f"cannot run {args.steps}")

    sys.path.insert(0, os.getcwd())
    import numpy as np
    import torch
    from model.IDM.utils.util import instantiate_from_config
    from omegaconf import OmegaConf
    from PIL import Image

    model = instantiate_from_config(OmegaConf.load(CONFIG).model)
    model.load_model(CHECKPOINT)
    paths = sorted(Path(args.inputs).glob("*.png"))
    print("difftsr_run: " + json.dumps({"seed": args.seed, "seed_per_crop": True, "ddim_steps": DDIM_STEPS,
                                        "device": str(model.device), "crops": len(paths)}), flush=True)
    for path in paths:
        torch.manual_seed(args.seed)
        np.random.seed(args.seed)
        lq = Image.open(path).convert("RGB").resize(LINE_SIZE)
        out = model.DiffTSR_sample(lq)
        Image.fromarray(out, "RGB").save(Path(args.outputs) / path.name)


if __name__ == "__main__":
    main()
