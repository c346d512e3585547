"""SeeSR (cswry/SeeSR), run through its own ``test_seesr.py``.

The official command (``scripts/test_seesr.sh``)::

    python test_seesr.py --pretrained_model_path preset/models/stable-diffusion-2-base \
        --prompt '' --seesr_model_path preset/models/seesr \
        --ram_ft_path preset/models/DAPE.pth --image_path IN --output_dir OUT \
        --start_point lr --num_inference_steps 50 --guidance_scale 5.5 --process_size 512

It upsamples each LQ image by ``--upscale`` itself, tags it with RAM + DAPE and
writes ``OUT/sample00/<stem>.png``. RAM's base weights are loaded from the fixed
path ``preset/models/ram_swin_large_14m.pth``. ``--prompt`` is one user string per
run appended to the RAM tags, so prompts group the batch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .subprocess_driver import SubprocessRestorer

SD_BASE = "preset/models/stable-diffusion-2-base"
SEESR = "preset/models/seesr"
DAPE = "preset/models/DAPE.pth"
RAM = "preset/models/ram_swin_large_14m.pth"


class SeeSR(SubprocessRestorer):
    """SeeSR x4 with its own RAM/DAPE tag prompts plus an optional user prompt."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.seesr.SeeSR"

    input_mode: ClassVar[str] = "lq"
    accepts_prompt: ClassVar[bool] = True
    display_name: ClassVar[str] = "SeeSR"
    repo_url: ClassVar[str] = "https://github.com/cswry/SeeSR"
    default_steps: ClassVar[int] = 50
    default_cfg: ClassVar[float] = 5.5
    default_seed: ClassVar[int] = 231
    default_output_subdir: ClassVar[str] = "sample00"
    default_prompt_mode: ClassVar[str] = "per_prompt"

    def __init__(self, process_size: int = 512, align_method: str = "adain",
                 mixed_precision: str = "fp16", **kw: Any):
        self.process_size, self.align_method, self.mixed_precision = process_size, align_method, mixed_precision
        kw.setdefault("command", [
            "{python}", "test_seesr.py", "--pretrained_model_path", SD_BASE, "--prompt", "{prompt}",
            "--seesr_model_path", SEESR, "--ram_ft_path", DAPE,
            "--image_path", "{inputs}", "--output_dir", "{outputs}", "--start_point", "lr",
            "--num_inference_steps", "{steps}", "--guidance_scale", "{cfg}",
            "--process_size", str(process_size), "--upscale", "{scale}", "--seed", "{seed}",
            "--align_method", align_method, "--mixed_precision", mixed_precision,
        ])
        super().__init__(**kw)

    def required_files(self) -> list[tuple[str, str]]:
        return [
            ("test_seesr.py", f"check out the official code from {self.repo_url}"),
            (f"{SD_BASE}/unet", ("download stabilityai/stable-diffusion-2-base (diffusers folder) to "
                                 f"{SD_BASE} (SeeSR README, 'Pretrained models')")),
            (f"{SEESR}/unet", f"download the SeeSR weights (unet/ and controlnet/) to {SEESR} (SeeSR README)"),
            (f"{SEESR}/controlnet", f"download the SeeSR weights (unet/ and controlnet/) to {SEESR} (SeeSR README)"),
            (DAPE, f"download DAPE.pth (SeeSR README) to {DAPE}"),
            (RAM, f"download ram_swin_large_14m.pth (recognize-anything) to {RAM}"),
        ] + super().required_files()

    def config(self) -> dict:
        return {**super().config(), "process_size": self.process_size,
                "align_method": self.align_method, "mixed_precision": self.mixed_precision}
