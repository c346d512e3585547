"""The state of a repository checkout: its commit and its local modifications.

``bench doctor`` reports, for every repository a suite points at, which commit
is checked out and whether files were changed, and compares the commit with the
one the conformance tests pin (:data:`bench.upstream.PINNED_COMMITS`): a driver
tested against one revision may build arguments another revision rejects.
The facts come from ``git`` itself (``git -C PATH rev-parse HEAD`` and
``git -C PATH status --porcelain``), so worktrees, packed refs and submodules
are read the way git reads them.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class Checkout:
    """``commit`` is None when ``path`` is not a git checkout (``reason`` says why)."""

    path: str
    commit: Optional[str] = None
    modified: tuple[str, ...] = field(default_factory=tuple)
    reason: Optional[str] = None


def _git(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=30, check=False)


def inspect_checkout(path: str | Path) -> Checkout:
    """Commit and ``git status --porcelain`` lines of the checkout at ``path``."""
    p = Path(path).expanduser()
    if not p.is_dir():
        return Checkout(str(p), reason="no such folder")
    if shutil.which("git") is None:
        return Checkout(str(p), reason="git is not installed, so the commit cannot be read (apt-get install git)")
    try:
        head = _git(p, "rev-parse", "HEAD")
        if head.returncode != 0:
            return Checkout(str(p), reason="not a git checkout (" + (head.stderr.strip().splitlines() or ["?"])[-1] + ")")
        top = _git(p, "rev-parse", "--show-toplevel").stdout.strip()
        if top and Path(top).resolve() != p.resolve():
            return Checkout(str(p), reason=f"not a git checkout itself (it lies inside the checkout at {top})")
        status = _git(p, "status", "--porcelain")
    except (OSError, subprocess.SubprocessError) as exc:
        return Checkout(str(p), reason=f"git failed: {exc}")
    modified = tuple(line for line in status.stdout.splitlines() if line.strip())
    return Checkout(str(p), commit=head.stdout.strip(), modified=modified)
