"""Where the pinned upstream repositories are, and which commits tair-bench is tested against.

The conformance tests (``tests/conformance/``) check every driver in ``adapters/``
against the real source of the repository it drives, at the commits below
(:data:`PINNED_COMMITS`). ``bench doctor``
compares a user's checkout with the same pins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

#: environment variable naming a folder of upstream snapshots (wins when set)
UPSTREAM_ENV = "TAIR_BENCH_UPSTREAM"

#: repository name -> (public repository, commit our conformance tests pin)
PINNED_COMMITS: dict[str, tuple[str, str]] = {
    "DiffBIR": ("github.com/XPixelGroup/DiffBIR", "3f8b5304245ba0ffd6f1995e51c27c3c72d7618f"),
    "SeeSR": ("github.com/cswry/SeeSR", "8edecc71c4f3efa01cd26078f2e8dffd1ce80a6a"),
    "SUPIR": ("github.com/Fanghua-Yu/SUPIR", "bda91af2000042f8bedfec8897d92917e67c1d88"),
    "TAIR": ("github.com/cvlab-kaist/TAIR", "5f0365f4bf37d7ea1bad2544e988b28f838b0c08"),
    "DiffTSR": ("github.com/YuzheZhang-1999/DiffTSR", "f9839633f5dbcd7cd80ed0a7609edd6ff5d3b5f5"),
    "Real-ESRGAN": ("github.com/xinntao/Real-ESRGAN", "a4abfb2979a7bbff3f69f58f58ae324608821e27"),
    "BasicSR": ("github.com/XPixelGroup/BasicSR", "8d56e3a045f9fb3e1d8872f92ee4a4f07f886b0a"),
    # the image-input text spotter TAIR evaluates with (TAIR's own testr/ reads diffusion features)
    "TESTR": ("github.com/mlpc-ucsd/TESTR", "f369f138e041d1d27348a1f6600e456452001d23"),
}


def upstream_root(project_root: Optional[Path] = None) -> Optional[Path]:
    """The folder holding the upstream snapshots, or None when there is none.

    ``$TAIR_BENCH_UPSTREAM`` wins when set; otherwise ``shared/upstream`` in the folder
    that holds the project root (the layout CI and the developers' machines have).
    """
    env = os.environ.get(UPSTREAM_ENV)
    if env:
        path = Path(env).expanduser().resolve()  # a relative value: against the current folder
        return path if path.is_dir() else None
    root = project_root or Path(__file__).resolve().parents[1]
    path = root.parent / "shared" / "upstream"
    return path if path.is_dir() else None


def upstream_repo(name: str, project_root: Optional[Path] = None) -> Optional[Path]:
    """The snapshot folder of one pinned repository (``"TAIR"``, ``"DiffBIR"``, ...), or None."""
    if name not in PINNED_COMMITS:
        raise KeyError(f"unknown upstream repository '{name}'; known: {', '.join(sorted(PINNED_COMMITS))}")
    root = upstream_root(project_root)
    if root is None or not (root / name).is_dir():
        return None
    return root / name
