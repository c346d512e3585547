"""Deterministic shards of a data set, for Slurm arrays and other batch schedulers.

Image ``id`` belongs to shard ``int(sha256(id)) mod N``: the same split on every
machine and every run, balanced in expectation, and independent of the data
set's order or of other images. ``--limit`` applies before sharding, so the
shards of a limited run together hold exactly the images of the unsharded run.

Every shard reads the whole data set stream (it decodes images it then drops)
because two things must be known over *all* images: the GT vocabulary used by
the full-lexicon text metrics, and each image's position in the data set, which
fixes the summation order when ``bench merge`` re-averages (bit-identical means).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

from bench.errors import BenchError
from bench.records import Sample

METHOD = "int(sha256(image id, utf-8), 16) mod count == index"


def shard_of(image_id: str, count: int) -> int:
    """The shard (0..count-1) that image ``image_id`` belongs to."""
    return int(hashlib.sha256(str(image_id).encode("utf-8")).hexdigest(), 16) % count


@dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` of ``count`` (``--shard K/N``)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        """``"K/N"`` with ``0 <= K < N``; a clear error otherwise."""
        try:
            k, n = (int(part) for part in str(text).split("/"))
        except ValueError:
            raise BenchError(f"--shard: expected K/N (e.g. 3/8, shard 3 of 8, counting from 0), got '{text}'") from None
        if n < 1 or not 0 <= k < n:
            raise BenchError(f"--shard {text}: expected 0 <= K < N (Slurm: --array=0-{max(n, 1) - 1} "
                             f"and --shard $SLURM_ARRAY_TASK_ID/{max(n, 1)})")
        return cls(k, n)

    def contains(self, image_id: str) -> bool:
        return shard_of(image_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class SampleStream:
    """Pass the samples of one shard (all samples when ``shard`` is None), and record
    the GT vocabulary over *all* samples and each kept sample's data set position."""

    shard: Optional[ShardSpec] = None
    vocabulary: set = field(default_factory=set)
    positions: dict = field(default_factory=dict)
    n_seen: int = 0

    def filter(self, samples: Iterable[Sample]) -> Iterator[Sample]:
        for position, sample in enumerate(samples):
            self.n_seen += 1
            self.vocabulary.update(i.text for i in sample.instances if not i.dont_care)
            if self.shard is None or self.shard.contains(sample.id):
                self.positions[sample.id] = position
                yield sample

    def describe(self) -> dict:
        """The ``shard`` section of a shard's results.json."""
        assert self.shard is not None
        return {"index": self.shard.index, "count": self.shard.count, "method": METHOD,
                "n_images_all_shards": self.n_seen}
