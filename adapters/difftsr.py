"""DiffTSR (YuzheZhang-1999/DiffTSR): line-level text super-resolution on scenes.

DiffTSR restores one horizontal text line at a time, resized to 512x128 (at
most 24 characters, aspect 1-8; DDIM 200 steps; DiffTSR README.md:103, :107, :154-157). On a scene image
each text polygon is cropped, rectified and pasted back with a feathered seam
(:mod:`tair_bench_adapters.line_sr`); everything outside the text polygons (plus
``feather`` pixels) is the bicubic-upsampled input, unchanged.

All crops of a batch go to one run of :mod:`tair_bench_adapters.runners.difftsr_run`
inside the official repository (one model load per batch; the seed is set again
before each crop, so a crop's output does not depend on its neighbours).

Files the code opens (:data:`FILES`, traced from upstream/DiffTSR at the pinned
commit; ``tests/conformance/test_difftsr.py`` re-derives the list from the code):
``model/DiffTSR_config.yaml`` and ``ckpt/DiffTSR.ckpt`` (inference_DiffTSR.py:9-13),
and, through the config's ``Text_Prediction`` (no params, so its defaults apply,
model/TDM/models/text_prediction.py:12-16), the alphabet
``model/TDM/utils/benchmark.txt`` (opened by model/TDM/utils/util.py:11) and the
TransOCR recogniser ``ckpt/transocr.pth`` (text_prediction.py:27). The config's
BERT embedder has ``use_tokenizer: False`` (DiffTSR_config.yaml:80), so no
``bert-base-uncased`` tokenizer is fetched.

GPU only: ``register_buffer`` moves every schedule buffer to CUDA
(model/DiffTSR.py:116-120) and the text predictor calls ``.cuda()``
(text_prediction.py:25, 44, 48, 65; transocr.py:323, 346, 361), so preflight
reports any device but ``cuda``. The DDIM step count is fixed at 200
(DiffTSR.py:44).

Where the line polygons come from: the runner may pass ``polygons=`` (one list
per image, image coordinates), e.g. the ground-truth polygons -- a box oracle,
to be labelled as such -- or, when it does not, the configured ``spotter`` reads
the input image and its detections are used (the deployable setting).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.components import SPOTTERS
from bench.errors import AdapterError

from .line_sr import apply_lines, prepare_lines
from .subprocess_driver import SubprocessRestorer

RUNNER = Path(__file__).with_name("runners") / "difftsr_run.py"
LINE_SIZE = (512, 128)
#: model/DiffTSR.py:44
DDIM_STEPS = 200
_CODE = "check out the official code from https://github.com/YuzheZhang-1999/DiffTSR"
_CKPT = ("download it from the DiffTSR checkpoint folder (README 'Download the checkpoint': "
         "Google Drive folder 1K6k5ZcvF3w-1MDN_gXQTdsLgFZ2SM8qy or BaiduDisk, password vk9n) into the ckpt/ folder")
#: every file the inference code opens, relative to the repository, with its fix
FILES: tuple[tuple[str, str], ...] = (
    ("model/DiffTSR_config.yaml", _CODE),                      # inference_DiffTSR.py:9, 11
    ("ckpt/DiffTSR.ckpt", f"DiffTSR.ckpt: {_CKPT}"),           # inference_DiffTSR.py:10, 13; DiffTSR.py:50
    ("model/TDM/utils/benchmark.txt", _CODE),                  # text_prediction.py:15, 24; TDM/utils/util.py:11
    ("ckpt/transocr.pth", (f"transocr.pth (the text predictor's TransOCR weights, "
                           f"model/TDM/models/text_prediction.py:16, 27): {_CKPT}")),
)


class DiffTSR(SubprocessRestorer):
    """DiffTSR applied to every text line of a scene image."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.difftsr.DiffTSR"
    #: 2: one model load per batch, seed set again before each image (crop)
    code_version: ClassVar[str] = "2"

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = False
    display_name: ClassVar[str] = "DiffTSR"
    repo_url: ClassVar[str] = "https://github.com/YuzheZhang-1999/DiffTSR"
    #: PINNED_COMMITS key of the repository (bench doctor compares the checkout with it)
    upstream: ClassVar[str] = "DiffTSR"
    #: third-party modules the driven code imports when it loads (derived from the real code;
    #: tests/conformance/test_probe_imports.py holds it to the upstream snapshot)
    probe_imports: ClassVar[tuple[str, ...]] = (
        "PIL", "axial_positional_embedding", "einops", "linear_attention_transformer", "numpy",
        "omegaconf", "pytorch_lightning", "torch", "torchvision", "tqdm", "zhconv",
    )
    env_setup: ClassVar[str] = (
        "conda env create -f environment.yaml && conda activate DiffTSR "
        "(upstream/DiffTSR/README.md:182-184)"
    )
    default_steps: ClassVar[int] = DDIM_STEPS
    default_seed: ClassVar[int] = 0
    default_prompt_mode: ClassVar[str] = "none"

    def __init__(self, spotter: str | None = None, spotter_args: dict | None = None,
                 feather: int = 4, aspect_range: Sequence[float] = (1.0, 8.0), **kw: Any):
        self.spotter_name, self.spotter_args = spotter, dict(spotter_args or {})
        self.feather, self.aspect_range = int(feather), (float(aspect_range[0]), float(aspect_range[1]))
        self._spotter, self._spotter_loaded = None, False
        if kw.get("steps") not in (None, DDIM_STEPS):
            raise AdapterError(f"DiffTSR: the pipeline fixes {DDIM_STEPS} DDIM steps (model/DiffTSR.py:44); "
                               f"got steps {kw['steps']}")
        kw.setdefault("command", [
            "{python}", str(RUNNER), "--inputs", "{inputs}", "--outputs", "{outputs}",
            "--prompts", "{prompts}", "--steps", "{steps}", "--seed", "{seed}", "--device", "{device}",
        ])
        super().__init__(**kw)

    def required_files(self) -> list[tuple[str, str]]:
        return list(FILES) + super().required_files()

    def preflight(self) -> list[str]:
        problems = super().preflight()
        if not str(self.device).startswith("cuda"):
            problems.append(f"DiffTSR: device '{self.device}' -- the official code runs on CUDA only "
                            "(model/DiffTSR.py:116-120, model/TDM/models/text_prediction.py:25); "
                            "run on a machine with a CUDA GPU (device: cuda)")
        if self.spotter_name:
            problems += self._get_spotter().preflight()
        return problems

    def config(self) -> dict:
        return {**super().config(), "spotter": self.spotter_name, "spotter_args": self.spotter_args,
                "feather": self.feather, "aspect_range": list(self.aspect_range), "seed_per_crop": True}

    def _get_spotter(self):
        if self._spotter is None:
            self._spotter = SPOTTERS.load(self.spotter_name)(**self.spotter_args)
        return self._spotter

    def _polygons(self, images: Sequence[np.ndarray], ids: Sequence[str]) -> list[list]:
        if not self.spotter_name:
            raise AdapterError("DiffTSR: no text-line polygons -- the runner passed no polygons= and no "
                               "'spotter' is configured; set the restorer's 'spotter' (e.g. rapidocr)")
        spotter = self._get_spotter()
        if not self._spotter_loaded:
            spotter.load()
            self._spotter_loaded = True
        return [[d.polygon for d in spotter.spot(img, i)] for img, i in zip(images, ids)]

    def restore_batch(self, images, prompts=None, *, ids=None, polygons=None) -> list[np.ndarray]:
        """Crop every line of every image, restore all crops in one run, paste back."""
        ids = list(ids) if ids is not None else [f"{i:06d}" for i in range(len(images))]
        polys = list(polygons) if polygons is not None else self._polygons(images, ids)
        per_image, crops, crop_ids = [], [], []
        for image_id, img, p in zip(ids, images, polys):
            jobs, _ = prepare_lines(img, p, LINE_SIZE, self.aspect_range)
            per_image.append(jobs)
            for k, (_, crop, _) in enumerate(jobs):
                crops.append(crop)
                crop_ids.append(f"{image_id}__line{k:03d}")
        outs = super().restore_batch(crops, None, ids=crop_ids) if crops else []
        results, pos = [], 0
        for img, jobs in zip(images, per_image):
            results.append(apply_lines(img, jobs, outs[pos:pos + len(jobs)], LINE_SIZE, self.feather))
            pos += len(jobs)
        return results
