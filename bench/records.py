"""Plain records passed between pipeline stages.

Conventions used everywhere in tair-bench:

* Images are ``numpy.ndarray`` of shape ``(H, W, 3)``, dtype ``uint8``, RGB.
* Polygons are tuples of ``(x, y)`` float pairs in absolute pixel coordinates of
  the image they belong to, in drawing order (detections: at least 3 points; a
  ground-truth polygon may be degenerate, see :attr:`TextInstance.no_official_answer`).
* A ground-truth instance whose text is ``"###"`` is *don't care* (docs/protocol.md), and
  so is one whose polygon TESTR's official evaluator would refuse (no official answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

DONT_CARE = "###"

Polygon = tuple[tuple[float, float], ...]


def as_polygon(points) -> Polygon:
    """Convert any ``N x 2`` sequence/array into an immutable :data:`Polygon`."""
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    return tuple((float(x), float(y)) for x, y in arr)


@dataclass(frozen=True)
class TextInstance:
    """One ground-truth word: its polygon and transcription.

    ``no_official_answer`` names why TESTR's official evaluator would abort on this
    polygon (``"self_intersecting"``, ``"zero_area"``, ``"too_few_points"``; set by the
    data loaders, :mod:`bench.textmetrics.gtcheck`), empty when it accepts it. Such an
    instance stays in its image as don't care.
    """

    polygon: Polygon
    text: str
    no_official_answer: str = ""

    @property
    def dont_care(self) -> bool:
        return self.text == DONT_CARE or bool(self.no_official_answer)


@dataclass(frozen=True)
class Detection:
    """One spotted word: polygon, transcription and confidence in ``[0, 1]``.

    ``score`` is the spotter's confidence for the word (recognition confidence
    where the spotter gives one, else detection confidence).
    """

    polygon: Polygon
    text: str
    score: float


@dataclass
class Sample:
    """One evaluation image.

    ``hq`` is the clean reference (``None`` for no-reference sets such as RealIR),
    ``lq`` the data set's own low-quality image when it provides one (else the
    degrade stage makes it). ``instances`` is empty when the set has no text
    annotations; ``has_annotations`` tells the two cases apart.
    """

    id: str
    hq: Optional[np.ndarray]
    lq: Optional[np.ndarray] = None
    instances: list[TextInstance] = field(default_factory=list)
    has_annotations: bool = True
    source: str = ""


#: the two reference rows of every run: the clean image (the ceiling) and the
#: bicubic-upsampled LQ input (the floor); restorer names may not take these
HQ_ROW = "HQ"
LQ_ROW = "LQ"
REFERENCE_ROWS = (HQ_ROW, LQ_ROW)


@dataclass
class ImageItem:
    """What the pipeline keeps per image between stages: content hashes only.

    ``outputs`` maps each row name ("HQ", "LQ", then each restorer) to the hash
    of its image in the cache; pixels are read back from the cache on demand so
    memory stays flat however many images a suite has.
    """

    id: str
    hq: Optional[str]
    lq: str
    lq_up: str
    size: tuple[int, int]  # target (width, height) of every restored image
    instances: list[TextInstance] = field(default_factory=list)
    has_annotations: bool = True
    outputs: dict[str, str] = field(default_factory=dict)
