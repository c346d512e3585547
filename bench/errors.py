"""Error types that carry user-facing messages.

Every error raised for bad input says which file, key path or record it is about,
what was expected and what to do. The CLI prints ``str(err)`` and exits non-zero,
with no traceback, for any :class:`BenchError`.
"""

from __future__ import annotations

from typing import Sequence


class BenchError(Exception):
    """Base class: a problem the user can fix; its message is shown as-is."""


class SuiteError(BenchError):
    """A suite YAML file is malformed (unknown key, bad value, unknown name).

    ``problems`` lists every error found in the file, one line each (validation
    goes on after the first); the message is those lines joined."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems) if problems else [message]
        super().__init__(message)


class DataError(BenchError):
    """A data set file or record is missing or malformed."""


class AdapterError(BenchError):
    """A restorer could not be loaded or produced an invalid output."""


class SpotterError(BenchError):
    """A text spotter could not be loaded or produced an invalid output."""


class WeightsMissing(BenchError):
    """A model file needed by a restorer, spotter or metric is not on disk.

    ``what`` names the component, ``path`` the missing file and ``fix`` the one
    action that provides it.
    """

    def __init__(self, what: str, path: str, fix: str):
        self.what, self.path, self.fix = what, path, fix
        super().__init__(f"{what}: missing {path} -- {fix}")


class PreflightError(BenchError):
    """Things a suite needs are missing; the message lists all of them (one problem: one
    line), then the ``hints`` (what flag would run the rest)."""

    def __init__(self, problems: list[str], hints: Sequence[str] = ()):
        self.problems, self.hints = list(problems), list(hints)
        if len(problems) == 1:
            text = f"preflight: {problems[0]}"
        else:
            text = f"preflight found {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__("\n".join([text, *hints]))


class WriteFailed(BenchError, OSError):
    """A file or folder could not be written: a full disk, a read-only file system, a folder
    of another user. Still an :class:`OSError` (same ``errno``, ``filename``), so code that
    tolerates a failed write (a best-effort memo) keeps doing so; as a :class:`BenchError`
    the CLI prints it as one line and exits 2. ``strerror`` holds the cause and the fix
    (:func:`bench.io.writable.write_failed` composes it)."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"

    def __reduce__(self):  # crosses process boundaries (a worker's write) with its three fields
        return (type(self), (self.errno, self.strerror, self.filename))
