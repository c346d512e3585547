"""Per-image text evaluation records: integer counts for pooling, plus matched words.

Everything here is plain data with ``to_dict`` / ``from_dict`` so a result can be cached
as JSON and pooled later without re-running the spotter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Evaluation modes. ``det``: detection only (don't care = ``###``). ``e2e_<lex>``:
#: end-to-end, word spotting off; ``e2e_<lex>_ws``: word spotting on. ``<lex>`` is
#: ``none`` (raw words) or ``full`` (snapped to the data set vocabulary).
MODES_BASE = ("det", "e2e_none", "e2e_none_ws")
MODES_FULL = ("e2e_full", "e2e_full_ws")
ALL_MODES = MODES_BASE + MODES_FULL


def modes_of(mode_sets) -> tuple[str, ...]:
    """The modes pooled over images, given each image's evaluated modes (any
    iterables of mode names): all five when every image has the full-lexicon modes,
    else the base three. Mixing the two is an error (the pools would disagree)."""
    with_full = [all(m in set(ms) for m in MODES_FULL) for ms in mode_sets]
    if any(with_full) and not all(with_full):
        raise ValueError("cannot pool: some images were evaluated with a vocabulary (full lexicon) and some without")
    return MODES_BASE + MODES_FULL if with_full and all(with_full) else MODES_BASE


@dataclass(frozen=True)
class Counts:
    """Matches, cared GT words and cared (non-ignored) detections of one image, one mode."""

    matched: int = 0
    n_gt: int = 0
    n_det: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.matched + other.matched, self.n_gt + other.n_gt, self.n_det + other.n_det)


@dataclass(frozen=True)
class MatchedPair:
    """A GT word paired with a detection (by IoU) in at least one mode.

    ``det_index`` is the detection's position in the spotter's list. ``pred_text`` is
    the word as evaluated without lexicon, ``pred_text_full`` with the full lexicon
    (``None`` without vocabulary, or when the lexicon dropped the detection).
    ``correct[mode]``: ``True`` paired and counted as a match (for ``det`` every
    pair), ``False`` paired but the word is wrong, ``None`` not paired in that mode.
    """

    gt_index: int
    det_index: int
    gt_text: str
    pred_text: str
    pred_text_full: str | None
    score: float
    iou: float
    correct: dict[str, bool | None]


@dataclass(frozen=True)
class WrongWord:
    """A pair of E2E (word spotting off, no lexicon) whose word is judged wrong."""

    gt_text: str
    pred_text: str
    score: float
    confidently_wrong: bool


@dataclass
class ImageTextResult:
    """Text evaluation of one image (see :mod:`bench.textmetrics.evaluate`).

    ``counts`` has one :class:`Counts` per mode of :data:`MODES_BASE`, plus
    :data:`MODES_FULL` when a vocabulary was given. ``e2e_none_pairs`` is the number
    of IoU pairs in mode ``e2e_none``; ``confidently_wrong`` how many of them are
    confidently wrong. ``n_phantom`` is set only when HQ detections were given.
    """

    counts: dict[str, Counts]
    pairs: list[MatchedPair] = field(default_factory=list)
    wrong_words: list[WrongWord] = field(default_factory=list)
    e2e_none_pairs: int = 0
    confidently_wrong: int = 0
    n_det_input: int = 0
    n_det_evaluated: int = 0
    n_phantom: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (inverse of :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImageTextResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. read back from JSON)."""
        return cls(
            counts={k: Counts(**v) for k, v in data["counts"].items()},
            pairs=[MatchedPair(**p) for p in data.get("pairs", [])],
            wrong_words=[WrongWord(**w) for w in data.get("wrong_words", [])],
            e2e_none_pairs=int(data.get("e2e_none_pairs", 0)),
            confidently_wrong=int(data.get("confidently_wrong", 0)),
            n_det_input=int(data.get("n_det_input", 0)),
            n_det_evaluated=int(data.get("n_det_evaluated", 0)),
            n_phantom=data.get("n_phantom"),
        )
