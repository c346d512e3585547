"""Run DiffTSR (YuzheZhang-1999/DiffTSR) on a folder of text-line crops.

The official ``inference_DiffTSR.py`` has its input and output folders written
into the script. This makes the same calls (``model/DiffTSR_config.yaml``,
``ckpt/DiffTSR.ckpt``, resize to 512x128, ``DiffTSR_sample``) on ``--inputs``.
The DDIM step count is fixed inside the model (200); a different ``--steps`` is
refused unless the pipeline's constructor takes a steps argument. Run with
cwd = the DiffTSR repository.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from pathlib import Path

STEP_ARGS = ("ddim_steps", "ddim_num_steps", "IDM_ddim_steps", "sample_steps")
DEFAULT_STEPS = 200


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("inputs", "outputs", "prompts", "device"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cfg", default="None")
    args = ap.parse_args()

    sys.path.insert(0, os.getcwd())
    import numpy as np
    import torch
    from model.IDM.utils.util import get_obj_from_str, instantiate_from_config
    from omegaconf import OmegaConf
    from PIL import Image

    config = OmegaConf.load("./model/DiffTSR_config.yaml")
    accepted = set(inspect.signature(get_obj_from_str(config.model.target).__init__).parameters)
    step_arg = next((a for a in STEP_ARGS if a in accepted), None)
    if step_arg:
        config.model.params[step_arg] = args.steps
    elif args.steps != DEFAULT_STEPS:
        sys.exit(f"DiffTSR: this checkout fixes the DDIM steps ({DEFAULT_STEPS}); cannot run {args.steps}")
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = instantiate_from_config(config.model)
    model.load_model("./ckpt/DiffTSR.ckpt")
    if hasattr(model, "to"):
        model.to(args.device)
    for path in sorted(Path(args.inputs).glob("*.png")):
        lq = Image.open(path).convert("RGB").resize((512, 128))
        out = model.DiffTSR_sample(lq)
        Image.fromarray(out, "RGB").save(Path(args.outputs) / path.name)


if __name__ == "__main__":
    main()
