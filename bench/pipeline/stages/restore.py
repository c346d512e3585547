"""Stage 2, restore: run each restorer over the LQ images, check and store outputs.

The cache key of one output is (restorer version, restorer config, input mode,
target size, prompt) over the LQ image hash, so changing a checkpoint, a
sampling setting or the prompt recomputes exactly what it affects.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Optional

import numpy as np

from adapters.base import Restorer

from bench.io.cache import Cache, stage_key
from bench.errors import AdapterError
from bench.records import ImageItem, Sample

STAGE = "restore"


def check_output(out: Any, name: str, image_id: str, size: tuple[int, int]) -> np.ndarray:
    """Validate one restorer output: an (H, W, 3) uint8 array of the target size."""
    w, h = size
    where = f"restorer '{name}', image '{image_id}'"
    if not isinstance(out, np.ndarray):
        raise AdapterError(f"{where}: output is a {type(out).__name__}, expected a numpy array")
    if out.dtype != np.uint8:
        raise AdapterError(f"{where}: output dtype is {out.dtype}, expected uint8 (values 0..255)")
    if out.ndim != 3 or out.shape[2] != 3:
        raise AdapterError(f"{where}: output shape is {out.shape}, expected (H, W, 3) RGB")
    if out.shape[:2] != (h, w):
        raise AdapterError(f"{where}: output is {out.shape[1]}x{out.shape[0]}, expected {w}x{h} "
                           f"(the HQ size); check the adapter's scale")
    return np.ascontiguousarray(out)


class RestoreStage:
    """Restores every item with one restorer, batching cache misses."""

    def __init__(self, name: str, restorer: Restorer, prompt_source, cache: Cache):
        self.name = name
        self.restorer = restorer
        self.prompts = prompt_source
        self.cache = cache
        self._loaded = False

    def _key(self, item: ImageItem, prompt: Optional[str]) -> str:
        r = self.restorer
        config = {"restorer": r.config(), "input_mode": r.input_mode, "size": list(item.size),
                  "prompt_source": self.prompts.version() if self.prompts is not None else "none"}
        inputs = {"lq": item.lq, "prompt": prompt, "id": item.id if self.restorer.needs_ids else None}
        return stage_key(STAGE, r.version(), config, inputs)

    def _prompt(self, item: ImageItem) -> tuple[Optional[str], dict]:
        if self.prompts is None or not self.restorer.accepts_prompt:
            return None, {}
        lq = self.cache.get_image(item.lq)
        sample = Sample(id=item.id, hq=None, lq=lq, instances=item.instances,
                        has_annotations=item.has_annotations)
        return self.prompts.prompt(sample, lq)

    def run(self, items: Iterable[ImageItem], progress) -> list[dict]:
        """Fill ``item.outputs[name]`` for every item; return per-image records."""
        records: list[dict] = []
        batch: list[tuple[ImageItem, str, Optional[str], dict]] = []
        bs = max(1, int(getattr(self.restorer, "batch_size", 1)))
        for item in progress.bar(items, f"restore {self.name}"):
            prompt, info = self._prompt(item)
            key = self._key(item, prompt)
            rec = self.cache.get(STAGE, key)
            if rec is not None and self.cache.has_image(rec["image"]):
                item.outputs[self.name] = rec["image"]
                records.append({"id": item.id, **rec})
                continue
            batch.append((item, key, prompt, info))
            if len(batch) >= bs:
                records.extend(self._flush(batch))
                batch = []
        if batch:
            records.extend(self._flush(batch))
        return records

    def _flush(self, batch) -> list[dict]:
        r = self.restorer
        if not self._loaded:
            r.load()
            self._loaded = True
        src = [self.cache.get_image(it.lq if r.input_mode == "lq" else it.lq_up) for it, *_ in batch]
        prompts = [p for _, _, p, _ in batch] if r.accepts_prompt else None
        kwargs = {"ids": [it.id for it, *_ in batch]} if r.needs_ids else {}
        t0 = time.perf_counter()
        outs = r.restore_batch(src, prompts, **kwargs)
        per_image = (time.perf_counter() - t0) / len(batch)
        if not isinstance(outs, (list, tuple)) or len(outs) != len(batch):
            raise AdapterError(f"restorer '{self.name}': returned {len(outs) if hasattr(outs, '__len__') else outs!r} "
                               f"outputs for a batch of {len(batch)}")
        records = []
        for (item, key, prompt, info), out in zip(batch, outs):
            img = check_output(out, self.name, item.id, item.size)
            h = self.cache.put_image(img)
            rec = {"image": h, "prompt": prompt, "prompt_info": info, "seconds": per_image}
            self.cache.put(STAGE, key, rec)
            item.outputs[self.name] = h
            records.append({"id": item.id, **rec})
        return records
