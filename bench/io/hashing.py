"""File content hashes, used for weight files, data files and model versions.

Hashing a multi-GB diffusion checkpoint takes seconds to minutes, so each digest is
remembered per (real path, size, mtime in ns): in memory for the process, and on
disk in ``$TAIR_BENCH_HASH_MEMO`` (default ``~/.cache/tair-bench/sha256-memo.json``)
across runs. A file that is rewritten changes size or mtime and is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from bench.io.images import atomic_write_bytes

_CACHE: dict[tuple[str, int, int], str] = {}


def _memo_path() -> Path:
    default = Path.home() / ".cache" / "tair-bench" / "sha256-memo.json"
    return Path(os.environ.get("TAIR_BENCH_HASH_MEMO", default))


def _read_memo() -> dict[str, str]:
    try:
        memo = json.loads(_memo_path().read_text(encoding="utf-8"))
        return memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        return {}


def _remember(entry: str, digest: str) -> None:
    """Add one digest to the on-disk memo (best effort: a read-only home just skips it)."""
    memo = _read_memo()
    memo[entry] = digest
    try:
        atomic_write_bytes(_memo_path(), (json.dumps(memo, indent=1, sort_keys=True) + "\n").encode())
    except OSError:
        pass


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks; remembered per (real path, size,
    mtime) in memory and on disk (module docstring), so a large checkpoint is hashed once."""
    p = os.path.realpath(path)
    st = os.stat(p)
    key = (p, st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        entry = f"{p}|{st.st_size}|{st.st_mtime_ns}"
        digest = _read_memo().get(entry) if st.st_size >= _MEMO_MIN_BYTES else None
        if digest is None:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            digest = h.hexdigest()
            if st.st_size >= _MEMO_MIN_BYTES:
                _remember(entry, digest)
        _CACHE[key] = digest
    return _CACHE[key]


#: files smaller than this are hashed again in each process (cheaper than the memo)
_MEMO_MIN_BYTES = 64 << 20
