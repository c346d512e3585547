"""Evaluate restorations produced elsewhere: one image file per image id.

For models that cannot run here (a paper's released outputs, a GPU cluster run),
point this adapter at the folder of results. It ignores the image the harness
gives it and returns ``<folder>/<pattern>`` for each id, so the runner must pass
``ids=`` to :meth:`FolderRestorer.restore_batch`. ``pattern`` is a format string
with ``{id}`` (default ``{id}.png``); with ``extensions`` set, ``{id}`` plus each
extension is tried in order (for folders that mix ``.png`` and ``.jpg``).

:meth:`version` hashes every file's name, size and mtime (or, with
``content_hash=True``, its bytes), so replacing one output invalidates the cache.

Where ``path`` is: absolute, or relative to the suite file's folder, like
``dataset.path`` (:func:`bench.pipeline.preflight.make_restorer` resolves the
arguments named in :attr:`FolderRestorer.suite_relative_args`; a suite given as a
mapping resolves against the current folder). ``bench run --outputs NAME=DIR``
makes DIR absolute against the current folder first: the user typed it there.

Before any compute, :meth:`FolderRestorer.output_problems` checks every expected
image id at once (missing, unreadable, wrong size); with ``allow_missing: true``
(``bench run --allow-missing``) missing ids are scored without, and the row is
marked incomplete in results.json (``rows_incomplete``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.errors import AdapterError, BenchError
from bench.io.images import read_image

from .base import Restorer

#: ids shown per kind of problem in :meth:`OutputProblems.summary`
SHOWN_IDS = 5


@dataclass
class OutputProblems:
    """What is wrong with a folder of outputs: ids with no file, files that do not
    decode (id, reason) and files of another size (id, (w, h), expected (w, h))."""

    missing: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    wrong_size: list[tuple[str, tuple[int, int], tuple[int, int]]] = field(default_factory=list)

    def blocking(self, allow_missing: bool) -> bool:
        """Whether these stop the run (unreadable and wrong-size files always do)."""
        return bool(self.unreadable or self.wrong_size or (self.missing and not allow_missing))

    def summary(self) -> str:
        """Counts and the first few ids of each kind, e.g. ``2 missing (a, b), 1 wrong
        size (c: 100x100, expected 512x512)``."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing ({_first(self.missing)})")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable ({_first([f'{i}: {r}' for i, r in self.unreadable])})")
        if self.wrong_size:
            sizes = [f"{i}: {s[0]}x{s[1]}, expected {e[0]}x{e[1]}" for i, s, e in self.wrong_size]
            parts.append(f"{len(self.wrong_size)} wrong size ({_first(sizes)})")
        return ", ".join(parts)


def _first(entries: list[str]) -> str:
    more = len(entries) - SHOWN_IDS
    return ", ".join(entries[:SHOWN_IDS]) + (f", ... {more} more" if more > 0 else "")


class FolderRestorer(Restorer):
    """Reads pre-computed outputs named by image id."""
    #: stable id in cache keys and results (kept when the module moves)
    version_id: ClassVar[str] = "adapters.folder.FolderRestorer"
    needs_ids: ClassVar[bool] = True  # outputs are matched to inputs by image id

    input_mode: ClassVar[str] = "upsampled"
    accepts_prompt: ClassVar[bool] = False
    batch_size: ClassVar[int] = 16
    #: arguments that are paths: relative ones resolve against the suite file's folder
    suite_relative_args: ClassVar[tuple[str, ...]] = ("path",)

    def __init__(
        self,
        path: str = "",
        pattern: str = "{id}.png",
        extensions: Sequence[str] = (),
        content_hash: bool = False,
        allow_missing: bool = False,
        scale: int = 4,
        device: str = "cpu",
        **args: Any,
    ):
        super().__init__(scale=scale, device=device, **args)
        self.path = Path(path).expanduser()
        self.pattern = pattern
        self.extensions = [e if e.startswith(".") else f".{e}" for e in extensions]
        self.content_hash = bool(content_hash)
        #: score only the ids that have a file (the row is marked incomplete); not part of
        #: config(): it does not change any output
        self.allow_missing = bool(allow_missing)
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

    def output_problems(self, expected: Sequence[tuple[str, tuple[int, int]]]) -> OutputProblems:
        """Check the file of every ``(image id, (width, height))`` in ``expected``: found,
        decodable (each file is decoded once, as the run reads it, and not kept) and of the
        expected output size (the HQ size: what the restore stage's ``check_output`` wants)."""
        found = OutputProblems()
        for image_id, size in expected:
            p = self.find(image_id)
            if p is None:
                found.missing.append(image_id)
                continue
            try:
                img = read_image(p)
            except (BenchError, OSError, ValueError, SyntaxError) as exc:
                found.unreadable.append((image_id, _reason(exc, p)))
                continue
            got = (int(img.shape[1]), int(img.shape[0]))
            del img
            if got != tuple(size):
                found.wrong_size.append((image_id, got, (int(size[0]), int(size[1]))))
        return found

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


def _reason(exc: BaseException, path: Path) -> str:
    """An error's message without the file's path (the summary names the id and folder)."""
    text = str(exc).replace(f"{path}: ", "").replace(str(path), path.name).strip()
    return text.splitlines()[0] if text else type(exc).__name__
