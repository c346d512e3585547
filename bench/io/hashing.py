"""File content hashes, used for weight files, data files and model versions."""

from __future__ import annotations

import hashlib
import os

_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks and remembered per
    (real path, mtime, size) so large checkpoints are hashed once per process."""
    p = os.path.realpath(path)
    st = os.stat(p)
    key = (p, st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _CACHE[key] = h.hexdigest()
    return _CACHE[key]
