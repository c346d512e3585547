"""SeeSR (cswry/SeeSR), run through its own ``test_seesr.py``, unchanged.

The command is the README's (upstream/SeeSR/README.md:73-83; scripts/test_seesr.sh) with
the harness's folders, seed and settings; every value is one ``test_seesr.py`` parses
(tests/conformance/test_seesr.py runs the argv through the script's own parser). SeeSR
upsamples each LQ image by ``--upscale`` itself and writes ``OUT/sample00/<stem>.png``
(test_seesr.py:205, 213, 238).

How prompts reach SeeSR: it tags every image with RAM + DAPE and conditions on
``f"{tags}, {--prompt}," + --added_prompt`` (test_seesr.py:142, 185), with
``--negative_prompt`` as the negative (:186). The harness's prompt for an image is that
image's ``--prompt`` (a single string per run), so the command runs once per image.

Seeding: ``test_seesr.py`` seeds once per process (``set_seed`` and one generator,
test_seesr.py:155-156, 171-173) and draws every image's noise from that generator in
turn, so in a folder run an image's output depends on the images sorted before it.
``seed_scope: image`` (default) runs one process per image, so each output depends only
on its own input, prompt and seed (as the cache assumes); ``seed_scope: run`` runs one
process per distinct prompt (faster: the models load once) and is labelled so in the
results, but its outputs depend on which images share the run.

GPU only: CUDA is hard-coded (``get_validation_prompt`` moves the image to ``'cuda'``,
test_seesr.py:134, 137, called without a device at :184; ``torch.autocast("cuda")`` at
:216; the tiled VAE's ``devices.device = torch.device("cuda")``, utils/devices.py:68), and
xformers is required: ``main`` enables it unconditionally (test_seesr.py:146, 268) and
raises without it (:92-97).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from bench.errors import AdapterError

from .subprocess_driver import SubprocessRestorer, template_literal

SD_BASE = "preset/models/stable-diffusion-2-base"
SEESR = "preset/models/seesr"
DAPE = "preset/models/DAPE.pth"
#: RAM's base weights: a fixed path relative to the repository (test_seesr.py:125)
RAM = "preset/models/ram_swin_large_14m.pth"
#: the RAM tokenizer is loaded by hub id (upstream/SeeSR/ram/models/utils.py:131); with cwd =
#: the repository a folder of that name there is used first, else the Hugging Face cache
BERT = "bert-base-uncased"
#: files of the checkout RAM (swin_l, 384 px, test_seesr.py:125-128) opens
RAM_CODE_FILES = ("ram/configs/swin/config_swinL_384.json", "ram/configs/med_config.json",
                  "ram/configs/q2l_config.json", "ram/data/ram_tag_list.txt",
                  "ram/data/ram_tag_list_chinese.txt", "ram/data/ram_tag_list_threshold.txt")
#: (subfolder, files it must hold (each a set of alternatives), line of test_seesr.py loading it)
_DIFFUSERS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
_TRANSFORMERS = ("model.safetensors", "pytorch_model.bin")
SD_PARTS = (
    ("scheduler", (("scheduler_config.json",),), 78),
    ("text_encoder", (("config.json",), _TRANSFORMERS), 79),
    ("tokenizer", (("vocab.json",), ("merges.txt",)), 80),
    ("vae", (("config.json",), _DIFFUSERS), 81),
    ("feature_extractor", (("preprocessor_config.json",),), 82),
)
SEESR_PARTS = (("unet", (("config.json",), _DIFFUSERS), 83), ("controlnet", (("config.json",), _DIFFUSERS), 84))
SEED_SCOPES = ("image", "run")
#: test_seesr.py's choices (test_seesr.py:263, 265; mixed precision: accelerate's, :250)
CHOICES = {"align_method": ("wavelet", "adain", "nofix"), "start_point": ("lr", "noise"),
           "mixed_precision": ("no", "fp16", "bf16")}
#: optional test_seesr.py flags passed only when set (else the script's default applies)
OPTIONAL_FLAGS = ("added_prompt", "negative_prompt", "conditioning_scale", "latent_tiled_size",
                  "latent_tiled_overlap", "vae_encoder_tiled_size", "vae_decoder_tiled_size")


def hf_cache_dirs(env: dict[str, str]) -> list[Path]:
    """Where transformers looks for cached hub models, in its order of precedence."""
    out = [env[k] for k in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE") if env.get(k)]
    out.append(str(Path(env["HF_HOME"]) / "hub") if env.get("HF_HOME") else "~/.cache/huggingface/hub")
    return [Path(p).expanduser() for p in out]


class SeeSR(SubprocessRestorer):
    """SeeSR x4 via test_seesr.py: RAM/DAPE tag prompts plus the harness's prompt, one process per image."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.seesr.SeeSR"

    input_mode: ClassVar[str] = "lq"
    accepts_prompt: ClassVar[bool] = True
    display_name: ClassVar[str] = "SeeSR"
    repo_url: ClassVar[str] = "https://github.com/cswry/SeeSR"
    default_steps: ClassVar[int] = 50     # test_seesr.py:254
    default_cfg: ClassVar[float] = 5.5    # test_seesr.py:251
    #: test_seesr.py's own default is None (unseeded, test_seesr.py:261); a benchmark needs one
    default_seed: ClassVar[int] = 231
    default_output_subdir: ClassVar[str] = "sample00"  # test_seesr.py:213, 238 (sample 0)
    default_prompt_mode: ClassVar[str] = "per_image"
    #: third-party modules test_seesr.py's code path imports (its own imports, the pipeline,
    #: SeeSR's unet/controlnet, RAM), tried in SeeSR's environment by preflight
    probe_imports: ClassVar[tuple[str, ...]] = (
        "torch", "torchvision", "numpy", "cv2", "PIL", "accelerate", "diffusers", "transformers", "xformers",
        "einops", "timm", "fairscale", "loralib", "scipy",
        "safetensors", "tqdm")  # held to the real code by tests/conformance/test_probe_imports.py
    #: the repository's own setup (upstream/SeeSR/README.md:54-58)
    env_setup: ClassVar[str] = ("conda create -n seesr python=3.8 && conda activate seesr && pip install -r "
                                "requirements.txt (upstream/SeeSR/README.md:54-58)")
    upstream: ClassVar[str] = "SeeSR"

    def __init__(self, process_size: int = 512, align_method: str = "adain", mixed_precision: str = "fp16",
                 start_point: str = "lr", seed_scope: str = "image", pretrained_model_path: str = SD_BASE,
                 seesr_model_path: str = SEESR, ram_ft_path: str = DAPE, **kw: Any):
        values = {"align_method": align_method, "start_point": start_point, "mixed_precision": mixed_precision}
        for key, value in values.items():
            if value not in CHOICES[key]:
                raise AdapterError(f"SeeSR: {key} '{value}' is not one of {', '.join(CHOICES[key])} (test_seesr.py)")
        if seed_scope not in SEED_SCOPES:
            raise AdapterError(f"SeeSR: seed_scope '{seed_scope}' is not one of {', '.join(SEED_SCOPES)}")
        self.process_size, self.align_method, self.mixed_precision = int(process_size), align_method, mixed_precision
        self.start_point, self.seed_scope = start_point, seed_scope
        self.models = {"pretrained_model_path": pretrained_model_path, "seesr_model_path": seesr_model_path,
                       "ram_ft_path": ram_ft_path}
        self.options = {k: kw.pop(k) for k in OPTIONAL_FLAGS if kw.get(k) is not None}
        for k in OPTIONAL_FLAGS:
            kw.pop(k, None)
        kw.setdefault("prompt_mode", "per_image" if seed_scope == "image" else "per_prompt")
        kw.setdefault("command", self._command())
        super().__init__(**kw)
        self._pin_gpu()

    def _command(self) -> list[str]:
        """test_seesr.py's argv: the README's command with the harness's folders and settings."""
        m = self.models
        argv = ["{python}", "test_seesr.py", "--pretrained_model_path", template_literal(m["pretrained_model_path"]),
                "--prompt={prompt}", "--seesr_model_path", template_literal(m["seesr_model_path"]),
                "--ram_ft_path", template_literal(m["ram_ft_path"]), "--image_path", "{inputs}", "--output_dir", "{outputs}",
                "--start_point", self.start_point, "--num_inference_steps", "{steps}", "--guidance_scale", "{cfg}",
                "--process_size", str(self.process_size), "--upscale", "{scale}", "--seed", "{seed}",
                "--align_method", self.align_method, "--mixed_precision", self.mixed_precision]
        for key, value in self.options.items():
            argv.append(f"--{key}={template_literal(value)}")
        return argv

    def _pin_gpu(self) -> None:
        """test_seesr.py takes no device: accelerate uses the first visible GPU. For
        ``device: cuda:N`` make that GPU the first visible one (unless ``env`` sets it)."""
        dev = str(self.device)
        if not dev.startswith("cuda:") or "CUDA_VISIBLE_DEVICES" in self.env:
            return
        index = int(dev.split(":", 1)[1])
        visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        self.env["CUDA_VISIBLE_DEVICES"] = visible[index] if index < len(visible) else str(index)

    # -- requirements -----------------------------------------------------------------
    def _model_files(self) -> list[tuple[str, str, str]]:
        """(file, other names the loader would take instead, what loads it) for every file of
        the diffusers/transformers folders. Of alternatives, the one present is listed, else
        the one the loader tries first (safetensors), so the list names what will be opened."""
        out = []
        for base, parts in ((self.models["pretrained_model_path"], SD_PARTS),
                            (self.models["seesr_model_path"], SEESR_PARTS)):
            for sub, files, line in parts:
                for alternatives in files:
                    present = [n for n in alternatives if self._resolve(f"{base}/{sub}/{n}").is_file()]
                    name = (present or alternatives)[0]
                    others = ", ".join(n for n in alternatives if n != name)
                    out.append((f"{base}/{sub}/{name}", others, f"test_seesr.py:{line}"))
        return out

    def _folder_fix(self, root: str) -> str:
        """How to provide one of the two model folders."""
        if root == self.models["pretrained_model_path"]:
            return f"download stabilityai/stable-diffusion-2-base (all its folders) to {root} (SeeSR README.md:63)"
        return f"download the SeeSR weights (unet/ and controlnet/) to {root} (SeeSR README.md:64)"

    def bert_vocab(self) -> str:
        """The bert-base-uncased vocabulary RAM's tokenizer loads: the repository's
        ``bert-base-uncased/`` folder first (cwd = the repository), else the Hugging Face cache."""
        local = f"{BERT}/vocab.txt"
        if self._resolve(local).is_file():
            return local
        for cache in hf_cache_dirs({**os.environ, **self.env}):
            found = sorted((cache / f"models--{BERT}" / "snapshots").glob("*/vocab.txt"))
            if found:
                return str(found[-1])
        return local

    def required_files(self) -> list[tuple[str, str]]:
        code = f"check out the official code from {self.repo_url} (commit pinned in bench/upstream.py)"
        sd = self.models["pretrained_model_path"]
        files = [("test_seesr.py", code)] + [(f, code) for f in RAM_CODE_FILES]
        for path, others, loader in self._model_files():
            alt = f" (or {others})" if others else ""
            root = sd if path.startswith(sd + "/") else self.models["seesr_model_path"]
            files.append((path, f"{self._folder_fix(root)}{alt}; loaded at upstream/SeeSR/{loader}"))
        bert = self._resolve(BERT)
        files += [
            (self.models["ram_ft_path"], (f"download DAPE.pth (SeeSR README.md:64) to {self.models['ram_ft_path']} "
                                          f"(loaded by upstream/SeeSR/ram/models/ram_lora.py:331)")),
            (RAM, (f"download ram_swin_large_14m.pth (huggingface.co/spaces/xinyu1205/recognize-anything, SeeSR "
                   f"README.md:125) to {RAM}: test_seesr.py:125 loads that fixed path")),
            (self.bert_vocab(), (f"RAM's tokenizer is BertTokenizer.from_pretrained('{BERT}') "
                                 f"(upstream/SeeSR/ram/models/utils.py:131), which downloads it unless a copy is at "
                                 f"hand: huggingface-cli download {BERT} vocab.txt tokenizer_config.json --local-dir "
                                 f"{bert} (or cache it in the Hugging Face cache of SeeSR's environment)")),
        ]
        return files + super().required_files()

    def preflight(self) -> list[str]:
        """Missing code and model files (each with its fix), the environment (xformers
        included), and a non-CUDA device."""
        problems = self._collapse_missing_folders(super().preflight())
        if not str(self.device).startswith("cuda"):
            problems.append(
                f"{self.display_name}: device is '{self.device}', but SeeSR hard-codes CUDA "
                "(upstream/SeeSR/test_seesr.py:134,137,184 move each image to 'cuda' for RAM; :216 torch.autocast('cuda'); "
                "utils/devices.py:68 device = cuda for the tiled VAE) -- run with --device cuda on a GPU machine")
        return problems

    def _collapse_missing_folders(self, problems: list[str]) -> list[str]:
        """One message for a model folder that is absent altogether, instead of one per file."""
        for root, parts in ((self.models["pretrained_model_path"], SD_PARTS),
                            (self.models["seesr_model_path"], SEESR_PARTS)):
            base = self._resolve(root)
            prefix = f"{self.display_name}: missing {base}/"
            hits = [i for i, p in enumerate(problems) if p.startswith(prefix)]
            if base.is_dir() or not hits:
                continue
            fix = self._folder_fix(root)
            subs = ", ".join(f"{base / sub}/ (test_seesr.py:{line})" for sub, _, line in parts)
            merged = f"{self.display_name}: missing folder {base}, from which SeeSR loads {subs} -- {fix}"
            problems = problems[:hits[0]] + [merged] + [p for i, p in enumerate(problems) if i > hits[0] and i not in hits]
        return problems

    def environment_problems(self) -> list[str]:
        """The environment probe's problems, with xformers' explained: test_seesr.py needs it."""
        problems = super().environment_problems()
        if "xformers" not in self.probe().failed_imports():
            return problems
        return [p for p in problems if "import xformers" not in p] + [(
            f"{self.display_name}: xformers does not import in {self.python}, and test_seesr.py requires it: main() "
            "enables it unconditionally (upstream/SeeSR/test_seesr.py:146, 268) and raises ValueError without it "
            "(:92-97) -- install the xformers build for that environment's torch (SeeSR pins torch==2.0.1, "
            "requirements.txt:2; xformers==0.0.20 is built for it): "
            f"{self.python} -m pip install xformers==0.0.20")]

    def config(self) -> dict:
        return {**super().config(), "process_size": self.process_size, "align_method": self.align_method,
                "mixed_precision": self.mixed_precision, "start_point": self.start_point,
                "seed_scope": self.seed_scope, "models": dict(self.models), "options": dict(self.options),
                "seed_note": ("one process per image: each output depends only on its image, prompt and seed"
                              if self.seed_scope == "image" else
                              "one process per prompt: test_seesr.py seeds once per process, so an output "
                              "depends on the images sharing its run")}
