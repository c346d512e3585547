"""Error types that carry user-facing messages.

Every error raised for bad input says which file, key path or record it is about,
what was expected and what to do. The CLI prints ``str(err)`` and exits non-zero,
with no traceback, for any :class:`BenchError`.
"""

from __future__ import annotations


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
    """Several things a suite needs are missing; the message lists all of them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"preflight found {len(problems)} problem(s):\n{lines}")
