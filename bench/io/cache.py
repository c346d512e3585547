"""Content-addressed, crash-safe cache for every stage's output.

Layout under the cache root::

    images/<h[:2]>/<h>.png          every image the run touches, keyed by array_hash
    stages/<stage>/<k[:2]>/<k>.json one record per stage call, keyed by stage_key()

A stage key is the sha256 of the canonical JSON of (stage name, stage version,
stage configuration, input hashes): it changes exactly when the output could.

The root is a local folder or an fsspec URL (``s3://bucket/prefix``,
``gs://...``, ``file:///shared/cache``, ``memory://x`` in tests), so every node
of a cluster can share one cache. What a write guarantees:

* local folders and filesystems with a rename (``file://``, ``sftp://``,
  ``hdfs://``, ``memory://``...): the bytes go to a temp name, then a rename/move
  puts them in place, so a reader never sees a partial entry and a killed run
  leaves only complete ones;
* object stores (:data:`OBJECT_STORES`: S3, GCS, Azure): there is no rename (a
  "move" is copy + delete), but a single-object PUT is itself atomic -- readers
  see no object or the whole object -- so entries are written with one PUT.
  Two nodes writing the same key write identical bytes (content addressing), so
  the last-writer-wins rule of object stores is harmless.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from bench.io.images import (
    array_hash,
    atomic_write_bytes,
    decode_image,
    encode_png,
    read_image,
)

#: fsspec protocols without a rename, where one PUT per entry is the atomic write
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss"})


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace) used for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)


def stage_key(stage: str, version: str, config: Any, inputs: Any) -> str:
    """The cache key of one stage call."""
    blob = canonical_json({"stage": stage, "version": version, "config": config, "inputs": inputs})
    return hashlib.sha256(blob.encode()).hexdigest()


def is_url(root: str | Path) -> bool:
    """True for an fsspec URL (``proto://...``), False for a local path."""
    return isinstance(root, str) and "://" in root


class _LocalStore:
    """Entries as files under a local folder (temp file + ``os.replace``)."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def write(self, rel: str, data: bytes) -> None:
        atomic_write_bytes(self.root / rel, data)


class _FsspecStore:
    """Entries as keys under an fsspec URL (see the module docstring for atomicity)."""

    def __init__(self, url: str):
        import fsspec

        self.fs, self.base = fsspec.core.url_to_fs(url)
        self.base = self.base.rstrip("/")
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.rename = protocol not in OBJECT_STORES
        self.fs.makedirs(self.base, exist_ok=True)

    def _path(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(self._path(rel)))

    def read(self, rel: str) -> bytes:
        return self.fs.cat_file(self._path(rel))

    def write(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        parent = path.rsplit("/", 1)[0]
        if not self.rename:
            self.fs.pipe_file(path, data)  # one PUT: atomic on object stores
            return
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.{path.rsplit('/', 1)[1]}.{uuid.uuid4().hex}.tmp"
        try:
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, path)
        except BaseException:
            try:
                self.fs.rm_file(tmp)
            except (OSError, FileNotFoundError):
                pass
            raise


class Cache:
    """Images and stage records (local folder or fsspec URL), plus hit/miss counters.

    ``root`` is a :class:`~pathlib.Path` for a local cache and the URL string
    otherwise; ``Cache(cache.root)`` opens the same cache in another process.
    """

    def __init__(self, root: str | Path):
        if is_url(root):  # file:// URLs go through fsspec too: the code path of s3:// on a local disk
            self.root: str | Path = str(root)
            self._store: Any = _FsspecStore(str(root))
        else:
            self.root = Path(root)
            self._store = _LocalStore(self.root)
        self.hits: Counter = Counter()
        self.misses: Counter = Counter()

    @property
    def local_root(self) -> Optional[Path]:
        """The cache folder when it is local (the HTML report reads it), else None."""
        return self.root if isinstance(self.root, Path) else None

    # -- images ---------------------------------------------------------------
    @staticmethod
    def _image_rel(h: str) -> str:
        return f"images/{h[:2]}/{h}.png"

    def put_image(self, arr: np.ndarray) -> str:
        """Store an image (lossless PNG) if new; return its content hash."""
        h = array_hash(arr)
        rel = self._image_rel(h)
        if not self._store.exists(rel):
            self._store.write(rel, encode_png(arr))
        return h

    def get_image(self, h: str) -> np.ndarray:
        if isinstance(self._store, _LocalStore):
            return read_image(self._store.root / self._image_rel(h))
        return decode_image(self._store.read(self._image_rel(h)), f"{self.root}/{self._image_rel(h)}")

    def has_image(self, h: str) -> bool:
        return self._store.exists(self._image_rel(h))

    # -- stage records ----------------------------------------------------------
    @staticmethod
    def _record_rel(stage: str, key: str) -> str:
        return f"stages/{stage}/{key[:2]}/{key}.json"

    def get(self, stage: str, key: str, usable: Optional[Callable[[Any], bool]] = None) -> Optional[Any]:
        """Return the cached record or ``None``; counts the hit or miss.

        A record that cannot be parsed (e.g. disk corruption), or that ``usable`` rejects
        (e.g. an image it names is gone), counts as a miss and is recomputed."""
        try:
            value = json.loads(self._store.read(self._record_rel(stage, key)).decode("utf-8"))
        except (OSError, ValueError):  # FileNotFoundError is an OSError
            value = None
        if value is not None and (usable is None or usable(value)):
            self.hits[stage] += 1
            return value
        self.misses[stage] += 1
        return None

    def put(self, stage: str, key: str, value: Any) -> None:
        self._store.write(self._record_rel(stage, key), json.dumps(value, sort_keys=True, default=str).encode("utf-8"))

    def stats(self) -> dict:
        """``{stage: {"cached": n, "computed": m}}`` for this process."""
        stages = sorted(set(self.hits) | set(self.misses))
        return {s: {"cached": self.hits[s], "computed": self.misses[s]} for s in stages}
