"""Stable Diffusion x4 upscaler (diffusers ``StableDiffusionUpscalePipeline``).

A prompt-capable x4 super-resolution baseline: the text prompt conditions the
denoiser, so a spotted or oracle prompt can be tested against no prompt on the
same model. Weights come only from a local folder (the diffusers layout of
``stabilityai/stable-diffusion-x4-upscaler``), loaded with
``from_pretrained(path, local_files_only=True)``; fp16 on CUDA, fp32 on CPU.
``diffusers`` is imported in :meth:`load`, so importing this module is cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.errors import AdapterError

from .base import Restorer

#: the sub-folders/files the pipeline's ``model_index.json`` refers to
LAYOUT = ("model_index.json", "unet", "vae", "text_encoder", "tokenizer", "low_res_scheduler", "scheduler")


class SDUpscaler(Restorer):
    """x4 latent-diffusion upscaler; input is the LQ image at its own size."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.sd_upscaler.SDUpscaler"

    input_mode: ClassVar[str] = "lq"
    accepts_prompt: ClassVar[bool] = True
    batch_size: ClassVar[int] = 4

    def __init__(self, path: str = "", steps: int = 75, cfg: float = 9.0, noise_level: int = 20,
                 seed: int = 0, negative_prompt: str = "", scale: int = 4, device: str = "cpu", **args: Any):
        if int(scale) != 4:
            raise AdapterError(f"sd-upscaler: the model is x4 only, got scale={scale}")
        super().__init__(scale=scale, device=device, **args)
        self.path = Path(path).expanduser()
        self.steps, self.cfg, self.noise_level = int(steps), float(cfg), int(noise_level)
        self.seed, self.negative_prompt = int(seed), negative_prompt
        self._pipe = None

    def config(self) -> dict:
        return {**super().config(), "steps": self.steps, "cfg": self.cfg, "noise_level": self.noise_level,
                "seed": self.seed, "negative_prompt": self.negative_prompt}

    def version(self) -> str:
        """Adds the model folder's file names and sizes (checkpoint identity)."""
        h = hashlib.sha256()
        if self.path.is_dir():
            for f in sorted(p for p in self.path.rglob("*") if p.is_file()):
                h.update(f"{f.relative_to(self.path)}|{f.stat().st_size}".encode())
        return f"{super().version()}+{h.hexdigest()[:16]}"

    def preflight(self) -> list[str]:
        fix = (f"download stabilityai/stable-diffusion-x4-upscaler (diffusers layout) with "
               f"`huggingface-cli download stabilityai/stable-diffusion-x4-upscaler --local-dir {self.path or 'DIR'}` "
               f"and set the restorer's 'path'")
        if not str(self.path) or not self.path.is_dir():
            return [f"sd-upscaler: model folder '{self.path}' not found -- {fix}"]
        missing = [n for n in LAYOUT if not (self.path / n).exists()]
        problems = [f"sd-upscaler: missing {self.path / n} -- {fix}" for n in missing]
        try:
            import diffusers  # noqa: F401
        except ImportError:
            problems.append("sd-upscaler: the diffusers package is not installed -- pip install 'tair-bench[diffusion]'")
        return problems

    def load(self) -> None:
        problems = self.preflight()
        if problems:
            raise AdapterError("\n".join(problems))
        import torch
        from diffusers import StableDiffusionUpscalePipeline

        dtype = torch.float16 if str(self.device).startswith("cuda") else torch.float32
        pipe = StableDiffusionUpscalePipeline.from_pretrained(str(self.path), torch_dtype=dtype, local_files_only=True)
        pipe.set_progress_bar_config(disable=True)
        self._pipe = pipe.to(self.device)

    def restore_batch(self, images: Sequence[np.ndarray],
                      prompts: Sequence[str | None] | None = None) -> list[np.ndarray]:
        """One call per image, each with a generator seeded by ``seed`` so an
        image's output does not depend on its batch neighbours."""
        import torch
        from PIL import Image

        if self._pipe is None:
            self.load()
        prompts = list(prompts) if prompts is not None else [None] * len(images)
        outs = []
        for img, prompt in zip(images, prompts):
            gen = torch.Generator(device="cpu").manual_seed(self.seed)
            result = self._pipe(prompt=prompt or "", image=Image.fromarray(img), num_inference_steps=self.steps,
                                guidance_scale=self.cfg, noise_level=self.noise_level,
                                negative_prompt=self.negative_prompt or None, generator=gen)
            out = np.asarray(result.images[0].convert("RGB"), dtype=np.uint8)
            h, w = img.shape[0] * 4, img.shape[1] * 4
            if out.shape[:2] != (h, w):  # the VAE works in multiples of 8; crop/pad back to x4
                out = np.asarray(Image.fromarray(out).resize((w, h), Image.Resampling.BICUBIC))
            outs.append(out)
        return outs
