"""DiffBIR (XPixelGroup/DiffBIR) blind super-resolution, run by its own inference loop.

How it runs: :mod:`tair_bench_adapters.runners.diffbir_run`, in DiffBIR's environment with
cwd = the checkout, builds the arguments with ``inference.py``'s own parser,
constructs the official ``BSRInferenceLoop`` once for the whole batch (one load of
every model), hands each image its own harness prompt in the captioner's place and
seeds as the script does: ``set_seed`` before the loop is built (inference.py:293,
302), then every random generator restored before each image to its state right
after the build. So each image's output equals the official ``inference.py`` run on
that image alone with the same seed and settings, whichever images share its batch
(see that module for why ``inference.py`` itself is not run). It writes
``OUT/<id>.png`` (loop.py:216-222).

The LQ image goes in at its own size; ``--upscale`` does the x4 (v2: the BSRNet
pipeline resizes its output to ``upscale x`` the input, diffbir/pipeline.py:338-340;
v2.1: the input is bicubic-resized first, diffbir/inference/bsr_loop.py:54-59).

Recipes (:data:`RECIPES`), every value from upstream/DiffBIR at the pinned commit:

* ``v2`` -- the README's v2 command (README.md:150-162): ``--sampler spaced
  --steps 50 --captioner none --pos_prompt '' --neg_prompt 'low quality, ...'
  --cfg_scale 4 --precision fp32``.
* ``v2.1`` -- the README's v2.1 command (README.md:165-173: ``--cfg_scale 8
  --noise_aug 0``) and, for what it leaves out, the parser's defaults, which are
  the v2.1 defaults (``--version`` defaults to v2.1, inference.py:71): sampler
  ``edm_dpm++_3m_sde`` (inference.py:91), 10 steps (inference.py:113), the
  script's ``DEFAULT_POS_PROMPT``/``DEFAULT_NEG_PROMPT`` (inference.py:42-52,
  used at :175 and :184; not passed, so the script's own text applies) and
  precision ``fp16`` (inference.py:283). The parser's own ``--cfg_scale`` default
  is 6.0 (inference.py:191); the README's v2.1 command sets 8, used here.

Prompts: the README's v2.1 command captions with LLaVA (``--captioner llava``,
README.md:169; ``liuhaotian/llava-v1.5-7b`` from the Hugging Face hub,
diffbir/utils/caption.py:68). The harness never downloads, so the captioner is
always ``none`` and the harness prompt stands where the caption would:
``run()`` joins it with ``--pos_prompt`` (loop.py:166-169). For v2 that is the
prompt alone; for v2.1 it is ``"<prompt>, <DEFAULT_POS_PROMPT>"``.

Checkpoints: ``inference.py`` fetches them by URL into ``weights/`` when missing
(diffbir/utils/common.py:81-120); here nothing may be downloaded, so
:meth:`DiffBIR.preflight` requires every file the loop opens to be there already.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bench.errors import AdapterError

from .subprocess_driver import SubprocessRestorer

RUNNER = Path(__file__).with_name("runners") / "diffbir_run.py"
_HF = "https://huggingface.co/lxq007/DiffBIR-v2/resolve/main"
_CODE = "check out the official code from https://github.com/XPixelGroup/DiffBIR"
#: devices ``inference.py --device`` accepts (inference.py:279-281)
DEVICES = ("cpu", "cuda", "mps")


@dataclass(frozen=True)
class Recipe:
    """One ``--version``'s sampling settings and the files its ``--task sr`` loop opens.

    ``pos_prompt``/``neg_prompt`` None: not passed, so ``inference.py``'s own default
    text applies. ``weights``: ``(path, url)`` -- ``load_model_from_url`` keeps each
    file as ``weights/<basename of its URL>`` (diffbir/utils/common.py:102-114), URLs
    from diffbir/inference/pretrained_models.py:33-50. ``configs``: the YAML files the
    loop reads (loop.py:50, 91-95; bsr_loop.py:15-24).
    """

    sampler: str
    steps: int
    cfg: float
    precision: str
    pos_prompt: str | None
    neg_prompt: str | None
    noise_aug: int | None
    configs: tuple[str, ...]
    weights: tuple[tuple[str, str], ...]


RECIPES: dict[str, Recipe] = {
    # README.md:150-162
    "v2": Recipe(
        sampler="spaced", steps=50, cfg=4.0, precision="fp32", pos_prompt="",
        neg_prompt="low quality, blurry, low-resolution, noisy, unsharp, weird textures", noise_aug=None,
        configs=("configs/inference/cldm.yaml", "configs/inference/bsrnet.yaml", "configs/inference/diffusion.yaml"),
        weights=(("weights/BSRNet.pth", "https://github.com/cszn/KAIR/releases/download/v1.0/BSRNet.pth"),
                 ("weights/v2-1_512-ema-pruned.ckpt", ("https://huggingface.co/stabilityai/"
                                                      "stable-diffusion-2-1-base/resolve/main/v2-1_512-ema-pruned.ckpt")),
                 ("weights/v2.pth", f"{_HF}/v2.pth"))),
    # README.md:165-173 (cfg 8, noise_aug 0); the rest inference.py's defaults:
    # sampler :91, steps :113, pos/neg prompt :175/:184, precision :283
    "v2.1": Recipe(
        sampler="edm_dpm++_3m_sde", steps=10, cfg=8.0, precision="fp16", pos_prompt=None,
        neg_prompt=None, noise_aug=0,
        configs=("configs/inference/cldm.yaml", "configs/inference/swinir.yaml",
                 "configs/inference/diffusion_v2.1.yaml"),
        weights=(("weights/realesrgan_s4_swinir_100k.pth", f"{_HF}/realesrgan_s4_swinir_100k.pth"),
                 ("weights/sd2.1-base-zsnr-laionaes5.ckpt", f"{_HF}/sd2.1-base-zsnr-laionaes5.ckpt"),
                 ("weights/DiffBIR_v2.1.pt", f"{_HF}/DiffBIR_v2.1.pt"))),
}
#: opened at import by the CLIP tokenizer (diffbir/model/open_clip/tokenizer.py:21-22, 73-76);
#: part of the checkout
BPE_VOCAB = "diffbir/model/open_clip/bpe_simple_vocab_16e6.txt.gz"


def _literal(text: str) -> str:
    """``text`` as a command part that ``str.format`` leaves unchanged."""
    return text.replace("{", "{{").replace("}", "}}")


class DiffBIR(SubprocessRestorer):
    """DiffBIR blind SR (v2 by default, as in the TAIR comparison; v2.1 with its own defaults)."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.diffbir.DiffBIR"
    #: 2: one model load per batch, seed set again before each image (crop)
    #: 3: seeded before the loop is built, as inference.py:293-302; the post-build
    #:    generator states restored before each image (outputs change from 2)
    code_version: ClassVar[str] = "3"

    input_mode: ClassVar[str] = "lq"
    accepts_prompt: ClassVar[bool] = True
    display_name: ClassVar[str] = "DiffBIR"
    repo_url: ClassVar[str] = "https://github.com/XPixelGroup/DiffBIR"
    #: PINNED_COMMITS key of the repository (bench doctor compares the checkout with it)
    upstream: ClassVar[str] = "DiffBIR"
    #: third-party modules the driven code imports when it loads (derived from the real code;
    #: tests/conformance/test_probe_imports.py holds it to the upstream snapshot)
    probe_imports: ClassVar[tuple[str, ...]] = (
        "PIL", "accelerate", "cv2", "einops", "facexlib", "ftfy", "numpy", "omegaconf",
        "packaging", "pandas", "regex", "scipy", "timm", "torch", "torchsde", "torchvision",
        "tqdm",
    )
    env_setup: ClassVar[str] = (
        "conda create -n diffbir python=3.10 && conda activate diffbir && pip install -r "
        "requirements.txt (upstream/DiffBIR/README.md:105-109)"
    )
    #: inference.py --seed default (inference.py:277)
    default_seed: ClassVar[int] = 231
    default_prompt_mode: ClassVar[str] = "file"

    def __init__(self, version: str = "v2", sampler: str | None = None, precision: str | None = None,
                 pos_prompt: str | None = None, neg_prompt: str | None = None, noise_aug: int | None = None,
                 **kw: Any):
        if version not in RECIPES:
            raise AdapterError(f"DiffBIR: version '{version}' is not one of {sorted(RECIPES)}")
        recipe = RECIPES[version]
        self.model_version, self.recipe = version, recipe
        self.sampler = sampler or recipe.sampler
        self.precision = precision or recipe.precision
        self.pos_prompt = recipe.pos_prompt if pos_prompt is None else pos_prompt
        self.neg_prompt = recipe.neg_prompt if neg_prompt is None else neg_prompt
        self.noise_aug = recipe.noise_aug if noise_aug is None else int(noise_aug)
        if kw.get("steps") is None:
            kw["steps"] = recipe.steps
        if kw.get("cfg") is None:
            kw["cfg"] = recipe.cfg
        kw.setdefault("command", self.runner_command())
        super().__init__(**kw)
        if self.device not in DEVICES:
            raise AdapterError(f"DiffBIR: device '{self.device}' is not one inference.py accepts "
                               f"({', '.join(DEVICES)}; inference.py:279-281)")

    def runner_command(self) -> list[str]:
        """The :mod:`tair_bench_adapters.runners.diffbir_run` command: ``--prompts`` for the runner,
        everything else ``inference.py`` arguments."""
        cmd = ["{python}", str(RUNNER), "--prompts", "{prompts}",
               "--task", "sr", "--upscale", "{scale}", "--version", self.model_version,
               "--sampler", self.sampler, "--steps", "{steps}", "--captioner", "none",
               "--cfg_scale", "{cfg}", "--input", "{inputs}", "--output", "{outputs}",
               "--device", "{device}", "--precision", self.precision, "--seed", "{seed}"]
        for flag, value in (("--pos_prompt", self.pos_prompt), ("--neg_prompt", self.neg_prompt),
                            ("--noise_aug", self.noise_aug)):
            if value is not None:
                cmd += [flag, _literal(str(value))]
        return cmd

    def required_files(self) -> list[tuple[str, str]]:
        """Every file the runner and the ``--task sr`` loop open, with its fix."""
        files = [("inference.py", _CODE), (BPE_VOCAB, _CODE)]
        files += [(c, _CODE) for c in self.recipe.configs]
        files += [(p, f"download {url} into the repository's weights/ folder") for p, url in self.recipe.weights]
        return files + super().required_files()

    def config(self) -> dict:
        default = "inference.py default"
        return {**super().config(), "version": self.model_version, "sampler": self.sampler,
                "precision": self.precision, "noise_aug": self.noise_aug,
                "pos_prompt": default if self.pos_prompt is None else self.pos_prompt,
                "neg_prompt": default if self.neg_prompt is None else self.neg_prompt,
                "captioner": "none (harness prompt in the caption's place)", "seed_per_image": True,
                "reproduces": "each image's output equals the official inference.py run on that image "
                              "alone with the same seed (set_seed before the loop is built, "
                              "inference.py:293-302)"}
