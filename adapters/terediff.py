"""TeReDiff (cvlab-kaist/TAIR): the text-aware restorer the TAIR paper proposes.

Protocol (PROTOCOL.md, "Restorers' own constraints"): 512x512 inputs (the LQ
bicubic-upsampled, as TAIR does), 50 sampling steps, prompts formatted from
spotted text. TeReDiff spots text itself with its TESTR head while sampling and
re-prompts in the style ``exp_args.prompt_style`` (``CAPTION``: "A realistic
scene where the texts "A", "B" appear clearly on signs, ...", or ``TAG``). The
harness prompt, when given, is the *initial* prompt (``""`` in ``val.py``).

Weights, as ``configs/val/val_terediff.yaml`` and ``download_weights.sh`` expect:
``weights/sd2.1-base-zsnr-laionaes5.ckpt``, ``weights/realesrgan_s4_swinir_100k.pth``,
``weights/DiffBIR_v2.1.pt`` and the released ``weights/terediff_stage3.pt``.
The run goes through :mod:`adapters.runners.terediff_run` (see there why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from .subprocess_driver import SubprocessRestorer

RUNNER = Path(__file__).with_name("runners") / "terediff_run.py"
_HF = "https://huggingface.co/lxq007/DiffBIR-v2/resolve/main"
CHECKPOINTS = [
    ("weights/sd2.1-base-zsnr-laionaes5.ckpt", f"download {_HF}/sd2.1-base-zsnr-laionaes5.ckpt (TAIR download_weights.sh)"),
    ("weights/realesrgan_s4_swinir_100k.pth", f"download {_HF}/realesrgan_s4_swinir_100k.pth (TAIR download_weights.sh)"),
    ("weights/DiffBIR_v2.1.pt", f"download {_HF}/DiffBIR_v2.1.pt (TAIR download_weights.sh)"),
    ("weights/terediff_stage3.pt", "download the released TeReDiff checkpoint (TAIR README, 'Demo Script', Google Drive link)"),
]


class TeReDiff(SubprocessRestorer):
    """TeReDiff stage-3 model, 512x512, 50 steps, CFG 1 (as in ``val.py``)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.terediff.TeReDiff"

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = True
    display_name: ClassVar[str] = "TeReDiff"
    repo_url: ClassVar[str] = "https://github.com/cvlab-kaist/TAIR"
    default_steps: ClassVar[int] = 50
    default_cfg: ClassVar[float] = 1.0
    default_seed: ClassVar[int] = 25
    #: TeReDiff is trained and run at this size only
    size: ClassVar[int] = 512

    def __init__(self, prompt_style: str = "CAPTION", score_threshold: float = 0.5,
                 config_file: str = "configs/val/val_terediff.yaml", **kw: Any):
        self.prompt_style, self.score_threshold, self.config_file = prompt_style, float(score_threshold), config_file
        kw.setdefault("command", [
            "{python}", str(RUNNER), "--inputs", "{inputs}", "--outputs", "{outputs}",
            "--prompts", "{prompts}", "--steps", "{steps}", "--seed", "{seed}", "--cfg", "{cfg}",
            "--device", "{device}", "--config", config_file, "--prompt_style", prompt_style,
            "--score_threshold", str(score_threshold),
        ])
        super().__init__(**kw)

    def required_files(self) -> list[tuple[str, str]]:
        code = f"check out the official code from {self.repo_url} (with its testr/ and detectron2/ folders installed)"
        return [("initialize.py", code), (self.config_file, code),
                ("testr/configs/TESTR/TESTR_R_50_Polygon.yaml", code)] + CHECKPOINTS + super().required_files()

    def restore_batch(self, images, prompts=None, *, ids=None):
        """Checks the 512x512 input size TeReDiff needs, then runs the batch."""
        from bench.errors import AdapterError

        bad = [i for i, im in enumerate(images) if im.shape[:2] != (self.size, self.size)]
        if bad:
            raise AdapterError(f"TeReDiff: inputs must be {self.size}x{self.size} (bicubic-upsampled LQ); "
                               f"batch positions {bad} are not -- use a suite target size of {self.size}")
        return super().restore_batch(images, prompts, ids=ids)

    def config(self) -> dict:
        return {**super().config(), "prompt_style": self.prompt_style,
                "score_threshold": self.score_threshold, "config_file": self.config_file}
