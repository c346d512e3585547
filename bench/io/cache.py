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

What a read guarantees (nothing taken from a wrong entry):

* an image is used only if it decodes and its pixels hash to its name
  (:func:`~bench.io.images.array_hash`); :meth:`Cache.has_image` checks that once per
  image and process (the stages' ``usable`` predicates call it in the driver before any
  worker reads the image), :meth:`Cache.get_image` on every read (it decodes anyway) and
  raises :class:`CorruptEntry` for a bad one;
* a record is stored as ``{"key": key, "sha256": sha256 of the body's canonical JSON,
  "body": body}`` and used only if it parses, names its own key and its body matches the
  checksum (then the stage's ``usable`` predicate checks its shape). A record in the old
  format (a bare body) is recomputed silently;
* whatever fails a check is a miss: recomputed and overwritten (atomically, as any
  write), and listed in :attr:`Cache.corrupt` (``bench run`` reports the count).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from bench.errors import DataError
from bench.io.images import (
    array_hash,
    atomic_write_bytes,
    decode_image,
    encode_png,
)
from bench.io.writable import WRITE_ERRNOS, write_failed

#: fsspec protocols without a rename, where one PUT per entry is the atomic write
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss"})


class CorruptEntry(DataError):
    """A cache entry that is there but fails its check (undecodable image, pixels that do not
    hash to the name, unparsable record, wrong key or checksum)."""


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
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_failed(root, exc) from None
        self.root = root

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def write(self, rel: str, data: bytes) -> None:
        atomic_write_bytes(self.root / rel, data)

    def delete(self, rel: str) -> None:
        try:
            (self.root / rel).unlink(missing_ok=True)
        except OSError as exc:
            raise write_failed(self.root / rel, exc) from None

    def list(self, folder: str, suffix: str) -> list[str]:
        """Relative paths of the entries under ``folder`` ending in ``suffix`` (no temp files)."""
        base = self.root / folder
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob(f"*{suffix}")
                      if p.is_file() and not p.name.startswith(".")) if base.is_dir() else []


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

    def read(self, rel: str) -> bytes:
        return self.fs.cat_file(self._path(rel))

    def delete(self, rel: str) -> None:
        try:
            self.fs.rm_file(self._path(rel))
        except FileNotFoundError:
            pass

    def list(self, folder: str, suffix: str) -> list[str]:
        """Relative paths of the entries under ``folder`` ending in ``suffix`` (no temp files)."""
        base = self._path(folder)
        if not self.fs.exists(base):
            return []
        root = self.base.strip("/")
        out = []
        for path in self.fs.find(base):
            path = path.strip("/")
            if path.startswith(root + "/") and path.endswith(suffix) \
                    and not path.rsplit("/", 1)[-1].startswith("."):
                out.append(path[len(root) + 1:])
        return sorted(out)

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
        except BaseException as exc:
            try:
                self.fs.rm_file(tmp)
            except (OSError, FileNotFoundError):
                pass
            if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
                raise write_failed(path, exc) from None
            raise


#: how many corrupt entries a summary names
FIRST_FEW = 5


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"key", "sha256", "body"}


class Cache:
    """Images and stage records (local folder or fsspec URL), plus hit/miss counters and the
    corrupt entries met (module docstring: what a read checks).

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
        #: corrupt entries met by this object, in order: ``{relative path: what is wrong}``
        self.corrupt: dict[str, str] = {}
        #: image hashes checked good by this object (checked once per process)
        self._good_images: set[str] = set()
        #: has_image calls that said no (absent or corrupt): a record rejected without one is itself bad
        self._images_refused = 0

    @property
    def local_root(self) -> Optional[Path]:
        """The cache folder when it is local (the HTML report reads it), else None."""
        return self.root if isinstance(self.root, Path) else None

    def note_corrupt(self, rel: str, problem: str) -> None:
        """Record a corrupt entry (once per path)."""
        self.corrupt.setdefault(rel, problem)

    def corrupt_lines(self, first: int = FIRST_FEW) -> list[str]:
        """``"<path>: <problem>"`` of the first ``first`` corrupt entries met."""
        return [f"{rel}: {problem}" for rel, problem in list(self.corrupt.items())[:first]]

    # -- images ---------------------------------------------------------------
    @staticmethod
    def _image_rel(h: str) -> str:
        return f"images/{h[:2]}/{h}.png"

    def _where(self, rel: str) -> str:
        return str(self.root / rel) if isinstance(self.root, Path) else f"{self.root}/{rel}"

    def _decode_checked(self, h: str, data: bytes) -> np.ndarray:
        """The pixels of image ``h`` from its bytes; :class:`CorruptEntry` (noted) if they do not
        decode or do not hash to ``h``."""
        rel = self._image_rel(h)
        try:
            arr = decode_image(data, self._where(rel))
        except DataError as exc:
            self.note_corrupt(rel, "not a readable image")
            raise CorruptEntry(f"{exc}: a corrupt cache entry; re-run to recompute it "
                               f"('bench cache verify --repair' removes every bad entry)") from None
        if array_hash(arr) != h:
            self.note_corrupt(rel, "its pixels do not hash to its name")
            raise CorruptEntry(f"{self._where(rel)}: its pixels do not hash to its name: a corrupt cache entry; "
                               f"re-run to recompute it ('bench cache verify --repair' removes every bad entry)")
        self._good_images.add(h)
        return arr

    def image_problem(self, h: str) -> Optional[str]:
        """None when image ``h`` is in the cache and good, else why not ("absent" or the corruption)."""
        if h in self._good_images:
            return None
        try:
            data = self._store.read(self._image_rel(h))
        except (OSError, ValueError):  # FileNotFoundError is an OSError
            return "absent"
        try:
            self._decode_checked(h, data)
        except CorruptEntry:
            return self.corrupt.get(self._image_rel(h), "corrupt")
        return None

    def put_image(self, arr: np.ndarray) -> str:
        """Store an image (lossless PNG) unless a good copy is there; return its content hash.
        A corrupt copy is overwritten."""
        h = array_hash(arr)
        if h in self._good_images:
            return h
        if self.image_problem(h) is not None:  # absent or corrupt
            self._store.write(self._image_rel(h), encode_png(arr))
        self._good_images.add(h)
        return h

    def get_image(self, h: str) -> np.ndarray:
        """The pixels of image ``h``: :class:`~bench.errors.DataError` if it is absent,
        :class:`CorruptEntry` if it does not decode or its pixels do not hash to ``h``."""
        rel = self._image_rel(h)
        try:
            data = self._store.read(rel)
        except FileNotFoundError:
            raise DataError(f"{self._where(rel)}: image file not found") from None
        return self._decode_checked(h, data)

    def has_image(self, h: str) -> bool:
        """True when image ``h`` is in the cache and good (decoded and hashed once per process;
        a corrupt one is noted and counts as absent)."""
        ok = self.image_problem(h) is None
        if not ok:
            self._images_refused += 1
        return ok

    # -- stage records ----------------------------------------------------------
    @staticmethod
    def _record_rel(stage: str, key: str) -> str:
        return f"stages/{stage}/{key[:2]}/{key}.json"

    @staticmethod
    def record_problem(data: bytes, key: str) -> tuple[Any, Optional[str]]:
        """``(body, None)`` for a good record of ``key``; ``(None, problem)`` for a bad one;
        ``(value, "old format")`` for a bare body (a record of an older version)."""
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, "empty record" if not data.strip() else "not JSON"
        if not _is_envelope(value):
            return value, "old format"
        if value["key"] != key:
            return None, f"a record of another key ({str(value['key'])[:12]}...)"
        if value["sha256"] != _sha256(canonical_json(value["body"])):
            return None, "its body does not match its checksum"
        return value["body"], None

    def get(self, stage: str, key: str, usable: Optional[Callable[[Any], bool]] = None) -> Optional[Any]:
        """Return the cached record's body or ``None``; counts the hit or miss.

        A record that cannot be parsed, names another key or fails its checksum, or that
        ``usable`` rejects (a body of the wrong shape), is noted as corrupt, counts as a miss
        and is recomputed. A record ``usable`` rejects because an image it names is absent or
        corrupt (:meth:`has_image` said no) is a plain miss (a corrupt image is noted itself),
        and so is a record of the old format (a bare body)."""
        rel = self._record_rel(stage, key)
        try:
            data = self._store.read(rel)
        except (OSError, ValueError):  # FileNotFoundError is an OSError
            data = None
        if data is not None:
            body, problem = self.record_problem(data, key)
            if problem in (None, "old format"):
                refused = self._images_refused
                fits = usable is None or usable(body)
                if fits and problem is None:
                    self.hits[stage] += 1
                    return body
                if not fits and self._images_refused == refused:  # its images are fine: the body is bad
                    problem = "not a cache record" if problem == "old format" else \
                        f"a body of the wrong shape for stage '{stage}'"
            if problem not in (None, "old format"):
                self.note_corrupt(rel, problem)
        self.misses[stage] += 1
        return None

    def put(self, stage: str, key: str, value: Any) -> None:
        """Store ``value`` as the record of ``key`` (with its key and checksum), atomically."""
        body = canonical_json(value)
        text = f'{{"body":{body},"key":{json.dumps(key)},"sha256":"{_sha256(body)}"}}'
        self._store.write(self._record_rel(stage, key), text.encode("utf-8"))

    def stats(self) -> dict:
        """``{stage: {"cached": n, "computed": m}}`` for this process."""
        stages = sorted(set(self.hits) | set(self.misses))
        return {s: {"cached": self.hits[s], "computed": self.misses[s]} for s in stages}

    # -- checking a whole cache -------------------------------------------------
    def delete(self, rel: str) -> None:
        """Remove one entry (``bench cache verify --repair``)."""
        self._store.delete(rel)

    def verify(self, shape: Optional[Callable[[str, Any], bool]] = None) -> tuple[dict, list[tuple[str, str]]]:
        """Check every entry: each image decodes and hashes to its name; each record parses,
        names its key, matches its checksum and (``shape(stage, body)``) has its stage's shape.
        Returns ``({kind: {"ok": n, "bad": m, "old": k}}, [(relative path, problem), ...])``,
        the kinds being ``images`` and each stage folder; old-format records are not bad (the
        next run recomputes them silently)."""
        counts: dict[str, Counter] = {}
        bad: list[tuple[str, str]] = []
        for rel in self._store.list("images", ".png"):
            h = rel.rsplit("/", 1)[-1][:-len(".png")]
            c = counts.setdefault("images", Counter())
            try:
                self._decode_checked(h, self._store.read(rel))
            except CorruptEntry:
                c["bad"] += 1
                bad.append((rel, self.corrupt[rel]))
                continue
            c["ok"] += 1
        for rel in self._store.list("stages", ".json"):
            parts = rel.split("/")
            stage, key = parts[1], parts[-1][:-len(".json")]
            c = counts.setdefault(stage, Counter())
            body, problem = self.record_problem(self._store.read(rel), key)
            if problem is None and shape is not None and not shape(stage, body):
                problem = f"a body of the wrong shape for stage '{stage}'"
            if problem == "old format":
                c["old"] += 1
            elif problem is not None:
                c["bad"] += 1
                bad.append((rel, problem))
            else:
                c["ok"] += 1
        return {k: {"ok": v["ok"], "bad": v["bad"], "old": v["old"]} for k, v in counts.items()}, bad
