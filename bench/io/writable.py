"""Why a path cannot be written, said once: the cause by its errno name, who owns the
folder when permission is refused, and the fix. Used where a write fails
(:func:`bench.io.images.atomic_write_bytes`, the CLI's last resort) and before a run
(:func:`folder_problem`, the preflight of ``bench run`` and ``bench doctor``)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Optional

from bench.errors import WriteFailed

#: errno values that mean "this place cannot take the write" (not a bug of ours)
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})

_CAUSES = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EFBIG: "file too large",
}

#: what to do, per cause; every fix ends in a resume: finished work is in the cache
_RESUME = "run the same command again to resume (finished work is kept)"
_FREE_SPACE = f"free space there or choose another folder, then {_RESUME}"
_ASK_OWNER = f"choose a folder you can write, or have its owner give you write access, then {_RESUME}"
_FIXES = {
    errno.ENOSPC: _FREE_SPACE,
    errno.EDQUOT: _FREE_SPACE,
    errno.EFBIG: f"choose a folder on a file system that allows larger files, then {_RESUME}",
    errno.EROFS: f"choose a writable folder, then {_RESUME}",
    errno.EACCES: _ASK_OWNER,
    errno.EPERM: _ASK_OWNER,
}


def nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (where a new file or folder would go)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _user(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def ownership(folder: Path) -> str:
    """``'/x is owned by root (uid 0), mode drwxr-xr-x, and this process runs as nobody (uid 65534)'``."""
    try:
        st = folder.stat()
    except OSError:
        return f"{folder} cannot be inspected"
    me = _user(os.geteuid()) if hasattr(os, "geteuid") else "this user"
    return f"{folder} is owned by {_user(st.st_uid)}, mode {stat.filemode(st.st_mode)}, and this process runs as {me}"


def cause(code: Optional[int], path: Path, detail: str = "") -> str:
    """The cause and the fix for errno ``code`` at ``path``, in one line."""
    name = errno.errorcode.get(code or 0, "")
    text = f"{_CAUSES.get(code or 0, detail or os.strerror(code or 0))}" + (f" ({name})" if name else "")
    if code in (errno.EACCES, errno.EPERM):
        text += f": {ownership(nearest_existing(path.parent if not path.is_dir() else path))}"
    fix = _FIXES.get(code or 0)
    return f"{text}; {fix}" if fix else text


def write_failed(path: str | os.PathLike, exc: OSError) -> WriteFailed:
    """The :class:`WriteFailed` for ``exc``, raised while writing ``path``."""
    where = Path(exc.filename) if exc.filename and exc.errno in (errno.EACCES, errno.EPERM) else Path(path)
    return WriteFailed(exc.errno or 0, cause(exc.errno, where, exc.strerror or str(exc)), os.fspath(path))


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def folder_problem(folder: str | os.PathLike, role: str) -> Optional[str]:
    """Why files cannot be written under ``folder`` (created if missing), or None:
    ``'cache folder /x: read-only file system (EROFS); choose ...'``. The folder itself (or
    the ancestor it would be made in) and its sub-folders one level down are checked: a
    cache shared with another user fails there first."""
    base = Path(folder)
    top = nearest_existing(base)
    places = [top]
    if top == Path(os.path.abspath(base)) and top.is_dir():
        try:
            places += sorted(p for p in top.iterdir() if p.is_dir())
        except OSError:  # unreadable: the check of ``top`` itself says why
            pass
    for place in places:
        if _read_only(place):
            return f"{role} ({base}): {cause(errno.EROFS, place)}"
        if not os.access(place, os.W_OK | os.X_OK):
            return f"{role} ({base}): {cause(errno.EACCES, place)}"
    if not top.is_dir():
        return f"{role} ({base}): {top} is a file, not a folder"
    return None
