"""One progress bar per stage (count and ETA on stderr); silent with --quiet."""

from __future__ import annotations

from typing import Iterable, Optional

from tqdm import tqdm


class Progress:
    """Factory for per-stage bars, sharing the run's quiet flag."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def bar(self, iterable: Iterable, stage: str, total: Optional[int] = None):
        return tqdm(iterable, desc=f"{stage:<14}", total=total, unit="img", disable=self.quiet,
                    dynamic_ncols=True, leave=True)

    def say(self, msg: str) -> None:
        if not self.quiet:
            tqdm.write(msg)
