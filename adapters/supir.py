"""SUPIR (Fanghua-Yu/SUPIR), run the way its ``test.py`` runs it, with the caption of your choice.

The sampler settings default to ``test.py``'s exactly (linear CFG from 1.0 to 4.0,
s_noise 1.01, s_churn 5, 50 EDM steps, Wavelet colour fix; see
:mod:`tair_bench_adapters.supir_settings`), and the gradio demo's presets are offered by name
(``preset: Quality`` / ``Fidelity``). Any single setting can be overridden under its
test.py flag name (``s_noise: 1.003``); ``steps``/``cfg`` are ``edm_steps``/``s_cfg``.

The input is the LQ image and SUPIR upsamples it itself, as ``test.py --upscale``
does (``PIL2Tensor``, upstream/SUPIR/SUPIR/util.py:60-84), to at least ``min_size``.

How prompts reach SUPIR: the text it encodes is ``caption + a_prompt``, joined with no
separator (upstream/SUPIR/SUPIR/models/SUPIR_model.py:164), and the negative is
``n_prompt``; both default to the options file's ``p_p``/``n_p``, the same text as
test.py's defaults. ``captioner: harness`` (default) takes each image's caption from
the suite's prompt source (``caption``, ``spotted``, ``oracle``; ``none`` gives the
empty caption of ``test.py --no_llava``) and, as SUPIR's LLaVA captions end in a full
stop, ends a caption lacking final punctuation with ``caption_end`` (``"."``; ``""``
gives the raw join, where the caption's last word runs into "Cinematic"). ``captioner: llava`` is test.py's own loop: stage-1
denoise at 512 px, then LLaVA-v1.5 (upstream/SUPIR/test.py:84-95); the suite's prompts
are then ignored.

SUPIR's code is GPU only: test.py:10-17 refuses to run without CUDA, and the sampler and
text encoders default to ``device="cuda"``
(upstream/SUPIR/sgm/modules/diffusionmodules/sampling.py:32,
upstream/SUPIR/sgm/modules/encoders/modules.py:453,521).
Every model file it opens is listed by :meth:`SUPIR.preflight`
(:mod:`tair_bench_adapters.supir_checkpoints`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from bench.errors import AdapterError

from . import supir_checkpoints as ck
from .subprocess_driver import SubprocessRestorer, template_literal
from .supir_settings import (
    DEFAULT_MIN_SIZE,
    DEFAULT_SEED,
    DEFAULT_SIGN,
    SAMPLING_KEYS,
    TEST_PY,
    resolve,
)

RUNNER = Path(__file__).with_name("runners") / "supir_run.py"
CAPTIONERS = ("harness", "llava")


class SUPIR(SubprocessRestorer):
    """SUPIR v0 (Q or F) with test.py's settings or a named preset, captioned by the harness or LLaVA."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.supir.SUPIR"

    input_mode: ClassVar[str] = "lq"
    accepts_prompt: ClassVar[bool] = True
    display_name: ClassVar[str] = "SUPIR"
    repo_url: ClassVar[str] = "https://github.com/Fanghua-Yu/SUPIR"
    default_steps: ClassVar[int] = TEST_PY["edm_steps"]
    default_cfg: ClassVar[float] = TEST_PY["s_cfg"]
    default_seed: ClassVar[int] = DEFAULT_SEED
    #: test.py saves sample i of an image as f'{save_dir}/{img_name}_{i}.png' (test.py:104-105)
    default_output_pattern: ClassVar[str] = "{id}_0.png"
    #: third-party modules the runner's code path imports (SUPIR/util.py, the model classes its
    #: options file names, sgm's encoders and sampler), tried in SUPIR's environment by preflight
    probe_imports: ClassVar[tuple[str, ...]] = (
        "torch", "torchvision", "numpy", "cv2", "PIL", "omegaconf", "safetensors", "fsspec", "einops",
        "kornia", "open_clip", "transformers", "pytorch_lightning", "k_diffusion", "diffusers", "scipy",
        "packaging", "requests", "tqdm",
        # imported in try/except (sgm/modules/diffusionmodules/model.py:11-18) but needed: the VAE's
        # attn_type vanilla-xformers (options/SUPIR_v0.yaml:114) builds MemoryEfficientAttnBlock
        # (model.py:295-297), which calls xformers.ops.memory_efficient_attention (model.py:246)
        "xformers")  # held to the real code by tests/conformance/test_probe_imports.py
    #: the repository's own setup (upstream/SUPIR/README.md:26-29)
    env_setup: ClassVar[str] = ("conda create -n SUPIR python=3.8 -y && conda activate SUPIR && "
                                "pip install --upgrade pip && pip install -r requirements.txt "
                                "(upstream/SUPIR/README.md:26-29)")
    upstream: ClassVar[str] = "SUPIR"

    def __init__(self, preset: str = "test.py", sign: str = DEFAULT_SIGN, min_size: int = DEFAULT_MIN_SIZE,
                 captioner: str = "harness", a_prompt: str | None = None, n_prompt: str | None = None,
                 caption_end: str = ".", paths: dict[str, str] | None = None,
                 use_tile_vae: bool = False, encoder_tile_size: int = 512, decoder_tile_size: int = 64,
                 loading_half_params: bool = False, load_8bit_llava: bool = False,
                 llava_device: str | None = None, **kw: Any):
        if sign not in ("Q", "F"):
            raise AdapterError(f"SUPIR: sign '{sign}' is not one of Q, F (test.py:24)")
        if captioner not in CAPTIONERS:
            raise AdapterError(f"SUPIR: captioner '{captioner}' is not one of {', '.join(CAPTIONERS)}")
        unknown = sorted(set(paths or {}) - set(ck.CHECKPOINTS))
        if unknown:
            raise AdapterError(f"SUPIR: paths {unknown} are not names SUPIR reads; known: {', '.join(ck.CHECKPOINTS)}")
        self.preset = preset
        self.sampling = resolve(preset, {k: kw.pop(k) for k in list(kw) if k in SAMPLING_KEYS})
        kw["steps"] = kw.get("steps") if kw.get("steps") is not None else self.sampling["edm_steps"]
        kw["cfg"] = kw.get("cfg") if kw.get("cfg") is not None else self.sampling["s_cfg"]
        kw.setdefault("prompt_mode", "none" if captioner == "llava" else "file")
        self.sign, self.min_size, self.captioner = sign, int(min_size), captioner
        #: with LLaVA captioning (test.py's own loop) the suite's prompts are not used
        self.accepts_prompt = captioner == "harness"
        self.a_prompt, self.n_prompt, self.caption_end = a_prompt, n_prompt, caption_end
        self.paths = dict(paths or {})
        self.tiling = {"use_tile_vae": bool(use_tile_vae), "encoder_tile_size": int(encoder_tile_size),
                       "decoder_tile_size": int(decoder_tile_size)}
        self.loading_half_params, self.load_8bit_llava = bool(loading_half_params), bool(load_8bit_llava)
        self.llava_device = llava_device
        kw.setdefault("command", self._command())
        super().__init__(**kw)
        self.sampling.update(edm_steps=int(self.steps), s_cfg=float(self.cfg))

    # -- the command ----------------------------------------------------------------
    def _command(self) -> list[str]:
        """The runner's argv: test.py's own flags (same names and meaning), then the
        harness's (prompts file, device, paths, caption handling)."""
        s = self.sampling
        argv = ["{python}", str(RUNNER), "--img_dir", "{inputs}", "--save_dir", "{outputs}",
                "--upscale", "{scale}", "--SUPIR_sign", self.sign, "--seed", "{seed}",
                "--min_size", str(self.min_size), "--edm_steps", "{steps}", "--s_stage1", str(s["s_stage1"]),
                "--s_churn", str(s["s_churn"]), "--s_noise", str(s["s_noise"]), "--s_cfg", "{cfg}",
                "--s_stage2", str(s["s_stage2"]), "--num_samples", "1"]
        for flag, value in (("--a_prompt", self.a_prompt), ("--n_prompt", self.n_prompt)):
            if value is not None:  # one "--flag=text" word: the text may start with "-" or hold braces
                argv.append(f"{flag}={template_literal(value)}")
        argv += ["--color_fix_type", str(s["color_fix_type"])]
        argv += ["--linear_CFG"] if s["linear_CFG"] else []
        argv += ["--linear_s_stage2"] if s["linear_s_stage2"] else []
        argv += ["--spt_linear_CFG", str(s["spt_linear_CFG"]), "--spt_linear_s_stage2", str(s["spt_linear_s_stage2"]),
                 "--ae_dtype", str(s["ae_dtype"]), "--diff_dtype", str(s["diff_dtype"])]
        argv += ["--no_llava"] if self.captioner == "harness" else []
        argv += ["--loading_half_params"] if self.loading_half_params else []
        if self.tiling["use_tile_vae"]:
            argv += ["--use_tile_vae", "--encoder_tile_size", str(self.tiling["encoder_tile_size"]),
                     "--decoder_tile_size", str(self.tiling["decoder_tile_size"])]
        argv += ["--load_8bit_llava"] if self.load_8bit_llava and self.captioner == "llava" else []
        # harness-only flags (not in test.py's parser)
        argv += [] if s["linear_CFG"] else ["--no_linear_CFG"]
        argv += ["--prompts", "{prompts}", "--device", "{device}", f"--caption_end={template_literal(self.caption_end)}"]
        if self.llava_device:
            argv += ["--llava_device", template_literal(self.llava_device)]
        for key, value in sorted(self.paths.items()):
            argv.append(f"--set={key}={template_literal(value)}")
        return argv

    # -- requirements -----------------------------------------------------------------
    def checkpoint_paths(self) -> dict[str, tuple[bool, Any, str]]:
        """For each name this run opens: (defined, value, where it is set). The
        restorer's ``paths`` win over the checkout's files, as the runner applies them."""
        texts = {}
        for rel in (ck.OPTIONS, ck.CKPT_PTH):
            f = self._resolve(rel)
            texts[rel] = f.read_text(encoding="utf-8") if f.is_file() else None
        options = ck.read_options(texts[ck.OPTIONS] or "")
        consts = ck.read_ckpt_pth(texts[ck.CKPT_PTH] or "")
        values = {ck.OPTIONS: options, ck.CKPT_PTH: consts}
        out = {}
        for key in ck.needed_keys(self.sign, {**options, **self.paths}, self.captioner == "llava"):
            where = ck.CHECKPOINTS[key].defined_in
            if key in self.paths:
                out[key] = (True, self.paths[key], ck.PATHS_ARG)
            elif texts[where] is not None:
                out[key] = (key in values[where], values[where].get(key), str(self._resolve(where)))
        return out

    def required_files(self) -> list[tuple[str, str]]:
        fix_code = f"check out the official code from {self.repo_url} (commit pinned in bench/upstream.py)"
        files = [(ck.OPTIONS, fix_code), (ck.CKPT_PTH, fix_code)]
        for key, (defined, value, where) in self.checkpoint_paths().items():
            if defined and value:
                files.append((str(value), ck.fix_for(key, where)))
        return files + super().required_files()

    def preflight(self) -> list[str]:
        """Missing code or model files (each with its fix), names undefined or None in the
        checkout's settings, incomplete model folders, and a non-CUDA device."""
        problems = super().preflight()
        if str(self.repo) and self.repo.is_dir():
            for key, (defined, value, where) in self.checkpoint_paths().items():
                resolved = self._resolve(str(value)) if value else None
                problems += [f"{self.display_name}: {m}"
                             for m in ck.setting_problems(key, defined, value, resolved, where)]
        if not str(self.device).startswith("cuda"):
            problems.append(f"{self.display_name}: device is '{self.device}', but SUPIR's code is GPU only "
                            "(upstream/SUPIR/test.py:10-17 raises without CUDA; the sampler and text encoders "
                            "use device='cuda': sgm/modules/diffusionmodules/sampling.py:32, "
                            "sgm/modules/encoders/modules.py:453,521) -- run with --device cuda on a GPU machine")
        return problems

    def config(self) -> dict:
        return {**super().config(), "preset": self.preset, "sampling": dict(self.sampling), "sign": self.sign,
                "min_size": self.min_size, "captioner": self.captioner, "a_prompt": self.a_prompt,
                "n_prompt": self.n_prompt, "caption_end": self.caption_end if self.captioner == "harness" else None,
                "paths": dict(sorted(self.paths.items())), "tiling": self.tiling,
                "loading_half_params": self.loading_half_params}
