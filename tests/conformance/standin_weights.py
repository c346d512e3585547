"""Write random *stand-in* weights, in the real checkpoint formats, into an upstream checkout.

Run by the stand-in end-to-end tests as ``python standin_weights.py MODEL`` with
cwd = a copy of the upstream repository whose config files the test has already
shrunk (same target classes, smaller sizes). The networks are built by the
repository's own ``instantiate_from_config`` from those configs, so every state-dict
key is the one the real loading code expects; the files go where that code opens
them. Parameters get a small random perturbation on top of the default init (which
zeroes some output layers), so prompts and inputs actually reach the output. These
weights prove the loop (files, names, sizes, prompts), never quality.

Models:

* ``difftsr`` -- ``ckpt/transocr.pth``: the text predictor's ``Transformer`` state dict
  as saved from ``nn.DataParallel`` (``module.`` keys; the branch of
  upstream/DiffTSR/model/TDM/models/text_prediction.py:27-34 that wraps the model), and
  ``ckpt/DiffTSR.ckpt``: ``{'IDM_Unet', 'TDM_Decoder', 'MoM_module', 'VAE_model'}`` ->
  state dict, loaded strictly by upstream/DiffTSR/model/DiffTSR.py:49-54.
* ``diffbir-v2`` / ``diffbir-v2.1`` -- the three files ``inference.py --task sr`` opens
  from ``weights/`` (named by the URLs in diffbir/inference/pretrained_models.py, as
  diffbir/utils/common.py:load_file_from_url names them): the stage-1 cleaner's plain
  state dict (diffbir/inference/bsr_loop.py:20-32, strict), a Stable Diffusion
  checkpoint ``{'state_dict': {'model.diffusion_model.*', 'first_stage_model.*',
  'cond_stage_model.*'}}`` (diffbir/model/cldm.py:load_pretrained_sd) and the
  IRControlNet state dict (cldm.py:load_controlnet_from_ckpt, strict).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

#: DiffBIR --version -> (stage-1 config, MODELS key of the cleaner, of the SD weights, of the
#: IRControlNet), as upstream/DiffBIR/diffbir/inference/bsr_loop.py:20-29 and loop.py:54-79 choose them
DIFFBIR_SR = {
    "v2": ("configs/inference/bsrnet.yaml", "bsrnet", "sd_v2.1", "v2"),
    "v2.1": ("configs/inference/swinir.yaml", "swinir_realesrgan", "sd_v2.1_zsnr", "v2.1"),
}


def _perturb(module, std: float = 0.02) -> None:
    import torch

    with torch.no_grad():
        for p in module.parameters():
            if p.is_floating_point():
                p.add_(torch.randn_like(p) * std)


def write_difftsr() -> list[Path]:
    import inspect

    import torch
    from model.IDM.utils.util import instantiate_from_config
    from model.TDM.models.text_prediction import Text_Prediction
    from model.TDM.models.transocr import Transformer
    from model.TDM.utils.util import get_alphabet
    from omegaconf import OmegaConf

    Path("ckpt").mkdir(exist_ok=True)
    # the alphabet Text_Prediction reads by default (its config has no params)
    alphabet_path = inspect.signature(Text_Prediction.__init__).parameters["alphabet_path"].default
    ckpt_path = Path(inspect.signature(Text_Prediction.__init__).parameters["ckpt_path"].default)
    ocr = Transformer(len(get_alphabet(alphabet_path)))
    _perturb(ocr)
    torch.save({f"module.{k}": v for k, v in ocr.state_dict().items()}, ckpt_path)

    config = OmegaConf.load("model/DiffTSR_config.yaml")
    pipe = instantiate_from_config(config.model)
    parts = ("IDM_Unet", "TDM_Decoder", "MoM_module", "VAE_model")
    for name in parts:
        _perturb(getattr(pipe, name))
    out = Path("ckpt/DiffTSR.ckpt")
    torch.save({name: getattr(pipe, name).state_dict() for name in parts}, out)
    return [ckpt_path, out]


def write_diffbir(version: str) -> list[Path]:
    import torch
    from diffbir.inference.pretrained_models import MODELS
    from diffbir.utils.common import instantiate_from_config
    from omegaconf import OmegaConf

    def file_of(key: str) -> Path:
        return Path("weights") / os.path.basename(urlparse(MODELS[key]).path)

    cleaner_cfg, cleaner_key, sd_key, control_key = DIFFBIR_SR[version]
    Path("weights").mkdir(exist_ok=True)
    cleaner = instantiate_from_config(OmegaConf.load(cleaner_cfg))
    _perturb(cleaner)
    torch.save(cleaner.state_dict(), file_of(cleaner_key))

    cldm = instantiate_from_config(OmegaConf.load("configs/inference/cldm.yaml"))
    _perturb(cldm)
    prefixes = {"unet": "model.diffusion_model", "vae": "first_stage_model", "clip": "cond_stage_model"}
    sd = {f"{prefix}.{k}": v for name, prefix in prefixes.items()
          for k, v in getattr(cldm, name).state_dict().items()}
    torch.save({"state_dict": sd}, file_of(sd_key))
    torch.save(cldm.controlnet.state_dict(), file_of(control_key))
    return [file_of(cleaner_key), file_of(sd_key), file_of(control_key)]


def main() -> None:
    import torch

    sys.path.insert(0, os.getcwd())
    torch.manual_seed(0)
    model = sys.argv[1]
    if model == "difftsr":
        written = write_difftsr()
    elif model.startswith("diffbir-") and model[len("diffbir-"):] in DIFFBIR_SR:
        written = write_diffbir(model[len("diffbir-"):])
    else:
        sys.exit(f"standin_weights.py: unknown model '{model}' (difftsr, diffbir-v2, diffbir-v2.1)")
    for p in written:
        print(f"wrote {p} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
