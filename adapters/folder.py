"""Evaluate restorations produced elsewhere: one image file per image id.

For models that cannot run here (a paper's released outputs, a GPU cluster run),
point this adapter at the folder of results. It ignores the image the harness
gives it and returns ``<folder>/<pattern>`` for each id, so the runner must pass
``ids=`` to :meth:`FolderRestorer.restore_batch`. ``pattern`` is a format string
with ``{id}`` (default ``{id}.png``); with ``extensions`` set, ``{id}`` plus each
extension is tried in order (for folders that mix ``.png`` and ``.jpg``).

:meth:`version` hashes every file's name, size and mtime (or, with
``content_hash=True``, its bytes), so replacing one output invalidates the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.errors import AdapterError
from bench.io.images import read_image

from .base import Restorer


class FolderRestorer(Restorer):
    """Reads pre-computed outputs named by image id."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.folder.FolderRestorer"
    needs_ids: ClassVar[bool] = True  # outputs are matched to inputs by image id

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = False
    batch_size: ClassVar[int] = 16

    def __init__(
        self,
        path: str = "",
        pattern: str = "{id}.png",
        extensions: Sequence[str] = (),
        content_hash: bool = False,
        scale: int = 4,
        device: str = "cpu",
        **args: Any,
    ):
        super().__init__(scale=scale, device=device, **args)
        self.path = Path(path).expanduser()
        self.pattern = pattern
        self.extensions = [e if e.startswith(".") else f".{e}" for e in extensions]
        self.content_hash = bool(content_hash)
        if "{id}" not in pattern:
            raise AdapterError(f"folder restorer: pattern '{pattern}' must contain '{{id}}'")

    # -- identity ------------------------------------------------------------------
    def config(self) -> dict:
        return {"path": str(self.path), "pattern": self.pattern, "extensions": self.extensions, **self.args}

    def version(self) -> str:
        """Hash of all files in the folder (name + size + mtime, or content)."""
        h = hashlib.sha256()
        if self.path.is_dir():
            for f in sorted(p for p in self.path.rglob("*") if p.is_file()):
                h.update(str(f.relative_to(self.path)).encode())
                if self.content_hash:
                    h.update(hashlib.sha256(f.read_bytes()).digest())
                else:
                    st = f.stat()
                    h.update(f"|{st.st_size}|{st.st_mtime_ns}".encode())
        return f"{super().version()}+{h.hexdigest()[:16]}"

    # -- lookup --------------------------------------------------------------------
    def candidates(self, image_id: str) -> list[Path]:
        """The file names tried for ``image_id``, in order."""
        if not self.extensions:
            return [self.path / self.pattern.format(id=image_id)]
        # drop the pattern's own extension (from the pattern, not the formatted
        # name, so ids containing dots stay whole), then try each extension
        suffix = Path(self.pattern).suffix
        stem = self.pattern[: -len(suffix)] if suffix and "{" not in suffix else self.pattern
        return [self.path / (stem.format(id=image_id) + ext) for ext in self.extensions]

    def find(self, image_id: str) -> Path | None:
        return next((p for p in self.candidates(image_id) if p.is_file()), None)

    def preflight(self) -> list[str]:
        if not self.path.is_dir():
            return [(f"folder restorer: output folder '{self.path}' does not exist -- "
                     f"set the restorer's 'path' to the folder holding the restored images")]
        return []

    def check_all(self, ids: Sequence[str], target_size: tuple[int, int] | None = None) -> None:
        """Raise one :class:`AdapterError` listing every id whose file is missing
        or, with ``target_size=(width, height)``, has another size. Only image
        headers are read, so checking a thousand files is fast."""
        from PIL import Image, UnidentifiedImageError

        missing, wrong = [], []
        for image_id in ids:
            p = self.find(image_id)
            if p is None:
                missing.append(f"{image_id} (tried {', '.join(c.name for c in self.candidates(image_id))})")
                continue
            if target_size is not None:
                try:
                    with Image.open(p) as im:
                        size = im.size
                except (UnidentifiedImageError, OSError):
                    wrong.append(f"{p.name}: not a readable image")
                    continue
                if tuple(size) != tuple(target_size):
                    wrong.append(f"{p.name}: {size[0]}x{size[1]}, expected {target_size[0]}x{target_size[1]}")
        if missing or wrong:
            lines = [f"missing ({len(missing)}): {m}" for m in missing] + [f"wrong size: {w}" for w in wrong]
            raise AdapterError(
                f"folder restorer: {len(missing)} missing and {len(wrong)} mis-sized file(s) in {self.path} "
                f"(of {len(ids)} ids):\n  " + "\n  ".join(lines)
            )

    def restore_batch(
        self,
        images: Sequence[np.ndarray],
        prompts: Sequence[str | None] | None = None,
        *,
        ids: Sequence[str] | None = None,
    ) -> list[np.ndarray]:
        """Return the stored output for each id (the input images are not used)."""
        if ids is None or len(ids) != len(images):
            raise AdapterError("folder restorer: the runner must pass ids= (one image id per image)")
        self.check_all(ids)
        return [read_image(self.find(i)) for i in ids]
