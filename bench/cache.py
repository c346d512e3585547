"""Content-addressed, crash-safe cache for every stage's output.

Layout under the cache root::

    images/<h[:2]>/<h>.png          every image the run touches, keyed by array_hash
    stages/<stage>/<k[:2]>/<k>.json one record per stage call, keyed by stage_key()

A stage key is the sha256 of the canonical JSON of (stage name, stage version,
stage configuration, input hashes): it changes exactly when the output could.
Every write goes through a temp file and a rename, so a run killed at any moment
leaves only complete entries and the next run resumes from them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .imageio import array_hash, atomic_write_bytes, encode_png, read_image


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace) used for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)


def stage_key(stage: str, version: str, config: Any, inputs: Any) -> str:
    """The cache key of one stage call."""
    blob = canonical_json({"stage": stage, "version": version, "config": config, "inputs": inputs})
    return hashlib.sha256(blob.encode()).hexdigest()


class Cache:
    """Images and stage records on disk, plus hit/miss counters per stage."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: Counter = Counter()
        self.misses: Counter = Counter()

    # -- images ---------------------------------------------------------------
    def _image_path(self, h: str) -> Path:
        return self.root / "images" / h[:2] / f"{h}.png"

    def put_image(self, arr: np.ndarray) -> str:
        """Store an image (lossless PNG) if new; return its content hash."""
        h = array_hash(arr)
        p = self._image_path(h)
        if not p.exists():
            atomic_write_bytes(p, encode_png(arr))
        return h

    def get_image(self, h: str) -> np.ndarray:
        return read_image(self._image_path(h))

    def has_image(self, h: str) -> bool:
        return self._image_path(h).exists()

    # -- stage records ----------------------------------------------------------
    def _record_path(self, stage: str, key: str) -> Path:
        return self.root / "stages" / stage / key[:2] / f"{key}.json"

    def get(self, stage: str, key: str) -> Optional[Any]:
        """Return the cached record or ``None``; counts the hit or miss.

        A record that cannot be parsed (e.g. disk corruption) counts as a miss and
        is recomputed."""
        p = self._record_path(stage, key)
        if p.exists():
            try:
                value = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                value = None
            if value is not None:
                self.hits[stage] += 1
                return value
        self.misses[stage] += 1
        return None

    def put(self, stage: str, key: str, value: Any) -> None:
        atomic_write_bytes(self._record_path(stage, key),
                           json.dumps(value, sort_keys=True, default=str).encode("utf-8"))

    def stats(self) -> dict:
        """``{stage: {"cached": n, "computed": m}}`` for this process."""
        stages = sorted(set(self.hits) | set(self.misses))
        return {s: {"cached": self.hits[s], "computed": self.misses[s]} for s in stages}
