"""DiffTSR (YuzheZhang-1999/DiffTSR): line-level text super-resolution on scenes.

DiffTSR restores one horizontal text line at a time, resized to 512x128 (at
most 24 characters, aspect 1-8; DDIM 200 steps; PROTOCOL.md). On a scene image
each text polygon is cropped, rectified and pasted back with a feathered seam
(:mod:`adapters.line_sr`); everything outside the text polygons (plus
``feather`` pixels) is the bicubic-upsampled input, unchanged.

All crops of a batch go to one run of :mod:`adapters.runners.difftsr_run`
inside the official repository (one model load per batch).

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

from bench.errors import AdapterError

from .line_sr import apply_lines, prepare_lines
from .subprocess_driver import SubprocessRestorer

RUNNER = Path(__file__).with_name("runners") / "difftsr_run.py"
LINE_SIZE = (512, 128)


class DiffTSR(SubprocessRestorer):
    """DiffTSR applied to every text line of a scene image."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.difftsr.DiffTSR"

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = False
    display_name: ClassVar[str] = "DiffTSR"
    repo_url: ClassVar[str] = "https://github.com/YuzheZhang-1999/DiffTSR"
    default_steps: ClassVar[int] = 200
    default_seed: ClassVar[int] = 0
    default_prompt_mode: ClassVar[str] = "none"

    def __init__(self, spotter: str | None = None, spotter_args: dict | None = None,
                 feather: int = 4, aspect_range: Sequence[float] = (1.0, 8.0), **kw: Any):
        self.spotter_name, self.spotter_args = spotter, dict(spotter_args or {})
        self.feather, self.aspect_range = int(feather), (float(aspect_range[0]), float(aspect_range[1]))
        self._spotter, self._spotter_loaded = None, False
        kw.setdefault("command", [
            "{python}", str(RUNNER), "--inputs", "{inputs}", "--outputs", "{outputs}",
            "--prompts", "{prompts}", "--steps", "{steps}", "--seed", "{seed}", "--device", "{device}",
        ])
        super().__init__(**kw)

    def required_files(self) -> list[tuple[str, str]]:
        code = f"check out the official code from {self.repo_url}"
        return [("model/DiffTSR_config.yaml", code),
                ("ckpt/DiffTSR.ckpt", f"download DiffTSR.ckpt (link in the DiffTSR README) into {self._resolve('ckpt')}")
                ] + super().required_files()

    def preflight(self) -> list[str]:
        problems = super().preflight()
        if self.spotter_name:
            problems += self._get_spotter().preflight()
        return problems

    def config(self) -> dict:
        return {**super().config(), "spotter": self.spotter_name, "spotter_args": self.spotter_args,
                "feather": self.feather, "aspect_range": list(self.aspect_range)}

    def _get_spotter(self):
        if self._spotter is None:
            from bench.components import SPOTTERS

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
