"""SUPIR (Fanghua-Yu/SUPIR) with a captioner of the suite's choice.

SUPIR is conditioned on an image caption; the official ``test.py`` makes it with
LLaVA-13B on a second GPU. Here the caption comes from the suite's prompt source
(``bench.prompts``: ``caption`` for a BLIP-class model, ``spotted``, ``oracle`` or
``none``) and :mod:`adapters.runners.supir_run` feeds it to the official
``batchify_sample`` call, with the official defaults (EDM 50 steps, CFG 7.5,
s_churn 5, s_noise 1.003, Wavelet colour fix, v0-Q weights).

The repository names its model files in two places, both checked by
:meth:`preflight`: ``options/SUPIR_v0.yaml`` (``SDXL_CKPT``, ``SUPIR_CKPT_Q``,
``SUPIR_CKPT_F``) and ``CKPT_PTH.py`` (``SDXL_CLIP1_PATH``, ``SDXL_CLIP2_CACHE_DIR``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from .subprocess_driver import SubprocessRestorer

RUNNER = Path(__file__).with_name("runners") / "supir_run.py"
OPTIONS = "options/SUPIR_v0.yaml"


def _yaml_paths(text: str, keys: list[str]) -> dict[str, str]:
    """Top-level ``KEY: value`` entries of the options file (no YAML library needed)."""
    out = {}
    for key in keys:
        m = re.search(rf"^{key}:\s*(.+?)\s*$", text, re.MULTILINE)
        if m and m.group(1) not in ("~", "null"):
            out[key] = m.group(1).strip("'\"")
    return out


def _py_paths(text: str, keys: list[str]) -> dict[str, str]:
    """``NAME = 'value'`` assignments of ``CKPT_PTH.py``."""
    out = {}
    for key in keys:
        m = re.search(rf"^{key}\s*=\s*['\"](.+?)['\"]", text, re.MULTILINE)
        if m:
            out[key] = m.group(1)
    return out


class SUPIR(SubprocessRestorer):
    """SUPIR v0 (Q or F) driven by per-image captions."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.supir.SUPIR"

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = True
    display_name: ClassVar[str] = "SUPIR"
    repo_url: ClassVar[str] = "https://github.com/Fanghua-Yu/SUPIR"
    default_steps: ClassVar[int] = 50
    default_cfg: ClassVar[float] = 7.5
    default_seed: ClassVar[int] = 1234

    def __init__(self, sign: str = "Q", min_size: int = 1024, **kw: Any):
        self.sign, self.min_size = sign, int(min_size)
        kw.setdefault("command", [
            "{python}", str(RUNNER), "--inputs", "{inputs}", "--outputs", "{outputs}",
            "--prompts", "{prompts}", "--steps", "{steps}", "--seed", "{seed}", "--cfg", "{cfg}",
            "--device", "{device}", "--sign", sign, "--upscale", "1", "--min_size", str(min_size),
        ])
        super().__init__(**kw)

    def required_files(self) -> list[tuple[str, str]]:
        fix_code = f"check out the official code from {self.repo_url}"
        files = [(OPTIONS, fix_code), ("CKPT_PTH.py", fix_code)]
        opt = self._resolve(OPTIONS)
        if opt.is_file():
            paths = _yaml_paths(opt.read_text(), ["SDXL_CKPT", f"SUPIR_CKPT_{self.sign}"])
            for key in ("SDXL_CKPT", f"SUPIR_CKPT_{self.sign}"):
                if key in paths:
                    files.append((paths[key], f"download it (SUPIR README, 'Models') or point {key} in {opt} to your copy"))
                else:
                    files.append((f"<{key} in {OPTIONS}>", f"set {key} in {opt} to the downloaded checkpoint"))
        ck = self._resolve("CKPT_PTH.py")
        if ck.is_file():
            paths = _py_paths(ck.read_text(), ["SDXL_CLIP1_PATH", "SDXL_CLIP2_CACHE_DIR"])
            if "SDXL_CLIP1_PATH" in paths:
                files.append((paths["SDXL_CLIP1_PATH"], f"download openai/clip-vit-large-patch14 there or edit SDXL_CLIP1_PATH in {ck}"))
            if "SDXL_CLIP2_CACHE_DIR" in paths:
                clip2 = str(Path(paths["SDXL_CLIP2_CACHE_DIR"]) / "models--laion--CLIP-ViT-bigG-14-laion2B-39B-b160k")
                files.append((clip2, f"put the HF cache of laion/CLIP-ViT-bigG-14-laion2B-39B-b160k there or edit SDXL_CLIP2_CACHE_DIR in {ck}"))
        return files + super().required_files()

    def config(self) -> dict:
        return {**super().config(), "sign": self.sign, "min_size": self.min_size}
