"""Real-Text: real LQ/HQ pairs (from RealSR and DRealSR, cvlab-kaist/TAIR README).

Layout: ``HQ/``, ``LQ/`` and ``real_benchmark_dataset.json`` (the SA-Text
instance schema, coordinates in HQ pixels). A record ``<id>`` pairs
``HQ/<id>[.ext]`` with ``LQ/<id>[.ext]``. The LQ images are real captures, so
the suite uses ``degradation: {kind: provided}`` (a preset is a preflight error).

Alignment (every restorer must output exactly ``scale`` x the LQ size, and the
full-reference metrics compare that output with the HQ image):

1. if the HQ width or height is not a multiple of ``degradation.scale``, the HQ
   image is cropped at the right/bottom edge to the nearest multiple (the
   polygons are then checked against the cropped size);
2. if the LQ image is not ``HQ size / scale`` (RealSR ships LR images already
   upsampled to the HR size, some pairs are off by a few pixels), it is resized
   to that size with PIL bicubic (antialiased when shrinking);
3. a pair whose aspect ratios differ by more than 2% is not a pair: skipped.

The rule and how many images each step touched are recorded by ``describe()``.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from bench.io.images import bicubic_resize

from ..records import Sample
from .annotations import parse_instances
from .base import SkippedRecord
from .satext_full import AnnotatedFolder

ALIGNMENT_RULE = ("HQ cropped at the right/bottom edge to a multiple of degradation.scale; LQ resized "
                  "with PIL bicubic to HQ size / scale when it differs; pairs whose aspect ratios "
                  "differ by more than 2% are skipped")
MAX_ASPECT_DIFF = 0.02


def align_pair(hq: np.ndarray, lq: np.ndarray, scale: int) -> Union[tuple[np.ndarray, np.ndarray, dict], str]:
    """Return ``(hq, lq, what_changed)`` with ``lq * scale == hq`` in size, or why not."""
    h, w = hq.shape[:2]
    wc, hc = w - w % scale, h - h % scale
    if wc == 0 or hc == 0:
        return f"HQ image {w}x{h} is smaller than the scale {scale}"
    changed = {"hq_cropped": (wc, hc) != (w, h), "lq_resized": False}
    hq = hq[:hc, :wc]
    target = (wc // scale, hc // scale)
    lh, lw = lq.shape[:2]
    diff = abs((lw / lh) / (target[0] / target[1]) - 1.0)
    if diff > MAX_ASPECT_DIFF:
        return (f"LQ {lw}x{lh} and HQ {w}x{h} have different aspect ratios "
                f"({diff:.1%} apart): not a pair of the same scene")
    if (lw, lh) != target:
        lq = bicubic_resize(lq, target)
        changed["lq_resized"] = True
    return hq, lq, changed


class RealText(AnnotatedFolder):
    """Real-Text LQ/HQ pairs with SA-Text-schema annotations."""

    NAME = "realtext"
    TITLE = "Real-Text"
    DEFAULT_ANNOTATIONS = "real_benchmark_dataset.json"
    FOLDERS = {"hq": "HQ", "lq": "LQ"}
    NEEDS_DEGRADATION = "provided"

    def describe(self) -> dict:
        d = super().describe()
        d["lq_source"] = f"{self.folder('lq')}/ (real captures)"
        d["alignment"] = {"rule": ALIGNMENT_RULE, "scale": self.degradation.scale}
        return d

    def _record(self, rid: str, entry, where: str) -> Union[Sample, SkippedRecord]:
        hq = self._image("hq", rid, where)
        if isinstance(hq, SkippedRecord):
            return hq
        lq = self._image("lq", rid, where)
        if isinstance(lq, SkippedRecord):
            return lq
        aligned = align_pair(hq, lq, self.degradation.scale)
        if isinstance(aligned, str):
            return SkippedRecord(rid, where, "lq", aligned, "lq_size")
        hq, lq, changed = aligned
        inst = parse_instances(rid, where, entry, self.tair_filter, counts=self.counts)
        if isinstance(inst, SkippedRecord):
            return inst
        for key, done in changed.items():
            self.counts[key] = self.counts.get(key, 0) + int(done)
        return Sample(id=rid, hq=hq, lq=lq, instances=inst, has_annotations=True, source=where)
