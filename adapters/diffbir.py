"""DiffBIR (XPixelGroup/DiffBIR), run through its own ``inference.py``.

The official command for blind super-resolution (README; also the script a TAIR
author used for the DiffBIR row) is::

    python -u inference.py --task sr --upscale 4 --version v2 --sampler spaced \
        --steps 50 --captioner none --pos_prompt '' \
        --neg_prompt 'low quality, blurry, ...' --cfg_scale 4 \
        --input IN --output OUT --device cuda --precision fp32

It reads every image of ``--input`` and writes ``OUT/<stem>.png``. It fetches
its checkpoints into ``weights/`` by URL (``diffbir/inference/pretrained_models.py``)
when missing; here nothing may be downloaded, so :meth:`preflight` requires them
to be there already. The LQ image goes in at its own size (``--upscale`` does
the x4). ``--pos_prompt`` is one string per run, so prompts group the batch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .subprocess_driver import SubprocessRestorer

_HF = "https://huggingface.co/lxq007/DiffBIR-v2/resolve/main"
#: checkpoints that ``inference.py --task sr`` loads from ``weights/``, per --version
WEIGHTS: dict[str, list[tuple[str, str]]] = {
    "v2": [
        ("weights/BSRNet.pth", "https://github.com/cszn/KAIR/releases/download/v1.0/BSRNet.pth"),
        ("weights/v2-1_512-ema-pruned.ckpt",
         "https://huggingface.co/stabilityai/stable-diffusion-2-1-base/resolve/main/v2-1_512-ema-pruned.ckpt"),
        ("weights/v2.pth", f"{_HF}/v2.pth"),
    ],
    "v2.1": [
        ("weights/realesrgan_s4_swinir_100k.pth", f"{_HF}/realesrgan_s4_swinir_100k.pth"),
        ("weights/sd2.1-base-zsnr-laionaes5.ckpt", f"{_HF}/sd2.1-base-zsnr-laionaes5.ckpt"),
        ("weights/DiffBIR_v2.1.pt", f"{_HF}/DiffBIR_v2.1.pt"),
    ],
}
NEG_PROMPT = "low quality, blurry, low-resolution, noisy, unsharp, weird textures"


class DiffBIR(SubprocessRestorer):
    """DiffBIR blind SR (v2 by default, as in the TAIR comparison; v2.1 optional)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.diffbir.DiffBIR"

    input_mode: ClassVar[str] = "lq"
    accepts_prompt: ClassVar[bool] = True
    display_name: ClassVar[str] = "DiffBIR"
    repo_url: ClassVar[str] = "https://github.com/XPixelGroup/DiffBIR"
    default_steps: ClassVar[int] = 50
    default_cfg: ClassVar[float] = 4.0
    default_seed: ClassVar[int] = 231
    default_prompt_mode: ClassVar[str] = "per_prompt"

    def __init__(self, version: str = "v2", sampler: str = "spaced", precision: str = "fp32",
                 neg_prompt: str = NEG_PROMPT, **kw: Any):
        if version not in WEIGHTS:
            from bench.errors import AdapterError

            raise AdapterError(f"DiffBIR: version '{version}' is not one of {sorted(WEIGHTS)}")
        self.model_version, self.sampler, self.precision, self.neg_prompt = version, sampler, precision, neg_prompt
        kw.setdefault("command", [
            "{python}", "-u", "inference.py", "--task", "sr", "--upscale", "{scale}",
            "--version", version, "--sampler", sampler, "--steps", "{steps}",
            "--captioner", "none", "--pos_prompt", "{prompt}", "--neg_prompt", neg_prompt,
            "--cfg_scale", "{cfg}", "--input", "{inputs}", "--output", "{outputs}",
            "--device", "{device}", "--precision", precision, "--seed", "{seed}",
        ])
        super().__init__(**kw)

    def required_files(self) -> list[tuple[str, str]]:
        files = [("inference.py", f"check out the official code from {self.repo_url}")]
        files += [(p, f"download {url} into the repository's weights/ folder") for p, url in WEIGHTS[self.model_version]]
        return files + super().required_files()

    def config(self) -> dict:
        return {**super().config(), "version": self.model_version, "sampler": self.sampler,
                "precision": self.precision, "neg_prompt": self.neg_prompt}
