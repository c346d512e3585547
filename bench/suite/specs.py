"""The validated suite: typed, frozen objects, and the suite hash.

:func:`bench.suite.load_suite` builds these from a suite file; everything else reads
them. The suite hash (sha256 of the canonical JSON of the validated suite, with
``output`` and ``limit`` left out) identifies "the same benchmark" across runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Optional

SUITE_FORMAT_VERSION = 1

@dataclass(frozen=True)
class DatasetSpec:
    kind: str
    path: Optional[str] = None  # resolved absolute path, or None (use `source`)
    source: Optional[str] = None  # hub id, e.g. Min-Jaewon/SA-Text-test
    split: str = "test"
    limit: Optional[int] = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DegradationSpec:
    kind: str  # "provided" | "preset"
    level: Optional[int] = None  # provided: which lq_img_lv{level}
    preset: Optional[str] = None  # preset: name in bench.degrade.PRESETS
    seed: int = 0
    scale: int = 4
    backend: Optional[str] = None  # preset: "torch" (default, Real-ESRGAN's operations) | "cv2" (fast)
    usm_sharpen: bool = False  # preset, torch: USM-sharpen the HQ before degrading (Real-ESRGAN's training)


@dataclass(frozen=True)
class RestorerSpec:
    name: str
    adapter: str
    args: dict = field(default_factory=dict)
    prompt: dict = field(default_factory=lambda: {"source": "none"})
    #: interpreter of the repository's environment (None: the harness's own)
    python: Optional[str] = None
    #: images per restore_batch call (None: the adapter's preferred size; ``bench run --batch-size`` overrides)
    batch_size: Optional[int] = None


@dataclass(frozen=True)
class SpotterSpec:
    name: str = "rapidocr"
    min_score: float = 0.5
    args: dict = field(default_factory=dict)
    #: interpreter of the spotter's own environment (None: the harness's own)
    python: Optional[str] = None


@dataclass(frozen=True)
class TextMetricSpec:
    compat: str = "testr"
    matching: str = "greedy"
    confident_threshold: float = 0.9
    headline: str = "e2e_none_hmean"


@dataclass(frozen=True)
class MetricsSpec:
    image: tuple = ("psnr", "ssim")
    text: TextMetricSpec = field(default_factory=TextMetricSpec)


@dataclass(frozen=True)
class Suite:
    version: int
    name: str
    description: str
    dataset: DatasetSpec
    degradation: DegradationSpec
    restorers: tuple
    spotter: SpotterSpec
    metrics: MetricsSpec
    output_dir: Optional[str]
    path: str  # the suite file

    def to_dict(self) -> dict:
        d = asdict(self)
        d["restorers"] = [asdict(r) for r in self.restorers]
        return d

    def content_hash(self) -> str:
        """Hash of what defines the benchmark (not where results go, not --limit)."""
        d = self.to_dict()
        for k in ("output_dir", "path", "description"):
            d.pop(k, None)
        d["dataset"].pop("limit", None)
        if d["dataset"].get("path"):  # where the checkout lives must not change the hash
            suite_dir = os.path.dirname(os.path.abspath(self.path))
            d["dataset"]["path"] = os.path.relpath(d["dataset"]["path"], suite_dir).replace(os.sep, "/")
        for part in (*d["restorers"], d["spotter"]):  # which interpreter, like where data lives, is not the benchmark
            part.pop("python", None)
        if d["degradation"]["kind"] == "provided":  # nothing is degraded: no backend in the benchmark
            for key in ("backend", "usm_sharpen"):
                d["degradation"].pop(key, None)
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()
