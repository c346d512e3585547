"""The text-spotter contract.

A spotter is loaded once and then reads images. :meth:`Spotter.spot` returns
*word-level* detections (the ground truth of every supported set is word-level;
a line-level engine must split lines into words before returning). Detections
below ``min_score`` are dropped by the spotter itself; the threshold is fixed
per suite and recorded in the results.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Sequence

import numpy as np

from ..records import Detection
from ..registry import Component


class Spotter(Component):
    """Base class for text spotters."""

    #: whether the engine runs in another interpreter, named by the suite's
    #: ``spotter.python`` key and passed as the ``python=`` keyword (e.g. a detectron2
    #: spotter in its own environment); the others run in the harness's own
    accepts_python: ClassVar[bool] = False

    def __init__(self, min_score: float = 0.5, device: str = "cpu", **args: Any):
        self.min_score = float(min_score)
        self.device = device
        self.args = dict(args)

    def config(self) -> dict:
        """User-visible settings; enter the cache key and the results."""
        return {"min_score": self.min_score, **self.args}

    def preflight(self) -> list[str]:
        """One message per missing requirement, each with its fix. Never downloads."""
        return []

    def environment(self) -> Optional[dict]:
        """The interpreter the engine runs in and what it holds (recorded in results.json;
        :mod:`bench.io.pyenv` probes it), or None when it runs inside the harness."""
        return None

    def load(self) -> None:
        """Load models; called once before the first image."""

    def spot(self, image: np.ndarray, image_id: Optional[str] = None) -> list[Detection]:
        """Detect and read the words of one RGB uint8 image.

        ``image_id`` is only used by spotters that import precomputed results.
        """
        raise NotImplementedError

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Read already-cropped, upright word images (recognition only): (text,
        confidence) per crop. Empty or malformed crops read as ``("", 0.0)``;
        the others go to :meth:`read_word`."""
        out = []
        for crop in crops:
            arr = np.asarray(crop)
            if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
                out.append(("", 0.0))
            else:
                out.append(self.read_word(arr))
        return out

    def read_word(self, crop: np.ndarray) -> tuple[str, float]:
        """Read one (H, W, 3) RGB word crop. Spotters without a separate
        recognizer leave this unimplemented (see :meth:`has_recognizer`)."""
        raise NotImplementedError

    @classmethod
    def has_recognizer(cls) -> bool:
        """Whether :meth:`recognize` works for this spotter class."""
        return cls.read_word is not Spotter.read_word or cls.recognize is not Spotter.recognize
