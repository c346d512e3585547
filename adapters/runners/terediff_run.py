"""Run TeReDiff (cvlab-kaist/TAIR) on a folder of LQ images.

The official ``val.py`` needs HQ images and annotations next to the LQ ones (it
scores as it goes), so it cannot restore an arbitrary folder. This script makes
the same calls as its restoration loop: load the models with the repository's
``initialize.load_model`` from ``configs/val/val_terediff.yaml``, resize the LQ to
512x512 (bicubic), clean it with SwinIR, condition on the initial prompt, and
sample with ``SpacedSampler.val_sample``, during which TeReDiff's own TESTR head
spots text and re-prompts (``exp_args.prompt_style``: CAPTION or TAG). The
initial prompt is ``""`` as in ``val.py`` unless ``prompts.json`` gives one.

``val_sample``'s keyword arguments differ between revisions of the repository,
so only those it declares are passed. Run with cwd = the TAIR repository.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path


class _Accelerator:
    """The two things ``initialize.load_model`` uses from an ``accelerate.Accelerator``."""

    def __init__(self, device):
        self.device, self.is_main_process = device, True

    def prepare(self, *models):
        return models[0] if len(models) == 1 else models

    def unwrap_model(self, model):
        return model


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("inputs", "outputs", "prompts", "device"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=25)
    ap.add_argument("--cfg", type=float, default=1.0)
    ap.add_argument("--config", default="configs/val/val_terediff.yaml")
    ap.add_argument("--config_testr", default="testr/configs/TESTR/TESTR_R_50_Polygon.yaml")
    ap.add_argument("--prompt_style", default="CAPTION", choices=["CAPTION", "TAG"])
    ap.add_argument("--score_threshold", type=float, default=0.5)
    args = ap.parse_args()

    sys.path[:0] = [os.getcwd(), os.path.join(os.getcwd(), "testr")]
    import initialize
    import torch
    import torchvision.transforms as T
    import torchvision.transforms.functional as TF
    from omegaconf import OmegaConf
    from PIL import Image
    from terediff.sampler import SpacedSampler
    from terediff.utils.common import instantiate_from_config

    device = torch.device(args.device)
    cfg = OmegaConf.load(args.config)
    cfg.exp_args.inf_sample_step = args.steps
    cfg.exp_args.prompt_style = args.prompt_style
    models, _ = initialize.load_model(_Accelerator(device), device, args, cfg)
    for m in models.values():
        if isinstance(m, torch.nn.Module):
            m.eval()
    cldm = models["cldm"]
    models["testr"].test_score_threshold = args.score_threshold
    diffusion = instantiate_from_config(cfg.model.diffusion).to(device)
    sampler = SpacedSampler(diffusion.betas, diffusion.parameterization, rescale_cfg=False)
    accepted = set(inspect.signature(sampler.val_sample).parameters)
    to_lq = T.Compose([T.Resize((512, 512), interpolation=T.InterpolationMode.BICUBIC), T.ToTensor()])
    gen = torch.Generator(device).manual_seed(args.seed)
    prompts = json.loads(Path(args.prompts).read_text())

    for path in sorted(Path(args.inputs).glob("*.png")):
        lq = to_lq(Image.open(path).convert("RGB")).unsqueeze(0).to(device)
        prompt = [prompts.get(path.stem) or ""]
        with torch.no_grad():
            clean = models["swinir"](lq)
            cond = cldm.prepare_condition(clean, prompt)
            noise = torch.randn((1, 4, 64, 64), generator=gen, device=device, dtype=torch.float32)
            offered = dict(  # noqa: C408 (keyword names = val_sample parameter names)
                model=cldm, device=device, steps=args.steps, x_size=(1, 4, 64, 64), cond=cond,
                uncond=None, cfg_scale=args.cfg, x_T=noise, progress=False, cfg=cfg, pure_cldm=cldm,
                ts_model=models["testr"], val_prompt=prompt, val_gt_text=[], lq_img=lq,
                cleaned_img=clean, img_id=path.stem, caption_anns={},
                vlm_model=None, vlm_processor=None, inf_time_modules={"img_restoration_module": [], "text_spotting_module": []},
            )
            result = sampler.val_sample(**{k: v for k, v in offered.items() if k in accepted})
            z = result[0] if isinstance(result, tuple) else result
            img = torch.clamp((cldm.vae_decode(z) + 1) / 2, 0, 1)
        TF.to_pil_image(img.squeeze(0).cpu()).save(Path(args.outputs) / f"{path.stem}.png")


if __name__ == "__main__":
    main()
