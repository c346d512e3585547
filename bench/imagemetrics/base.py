"""The image-metric contract and the array/tensor helpers every metric shares.

A metric is created cheaply (no imports of torch models, no file access), asked
for :meth:`ImageMetric.preflight` (missing model files, never downloads), then
loaded once and called on batches. Three modes:

* ``"fr"``: full-reference, one score per (prediction, reference) pair;
* ``"nr"``: no-reference, one score per prediction (``refs`` is ignored);
* ``"set"``: one score per set of images (FID): :meth:`features` per batch,
  :meth:`from_features` once.

A per-image score of ``None`` means *not applicable*; the reason is in
:attr:`ImageMetric.last_reasons` at the same index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from bench.io.weights import missing_message

from ..errors import BenchError


class ImageMetric:
    """Base class. Subclasses set the class attributes and implement
    :meth:`_load` and :meth:`_score` (or :meth:`features`/:meth:`from_features`).

    The class attributes are everything the harness knows about a metric without
    creating it: its listing, table header, gate tolerance and model files all come
    from here (:func:`bench.imagemetrics.describe_metrics`)."""

    name: ClassVar[str] = ""
    #: ``"fr"``, ``"nr"`` or ``"set"`` (see the module docstring)
    mode: ClassVar[str] = "fr"
    higher_is_better: ClassVar[bool] = True
    #: one line for ``bench list metrics``
    summary: ClassVar[str] = ""
    #: short column header of the run summary table (empty: the metric's name)
    header: ClassVar[str] = ""
    #: how much worse (absolute) ``bench gate`` lets the metric get; None: not gated
    tolerance: ClassVar[float | None] = None
    #: the exact definition, copied into results.json and the report
    definition: str = ""
    #: :data:`bench.io.weights.MANIFEST` names this metric needs on disk
    weights: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any):
        self.options = dict(options)
        self.device = "cpu"
        self.loaded = False
        self.last_reasons: list[str | None] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, mode={self.mode!r})"

    # -- lifecycle ---------------------------------------------------------------
    def preflight(self) -> list[str]:
        """One line per missing model file, naming the file and the fix."""
        what = f"metric '{self.name}'"
        return [m for n in self.weights if (m := missing_message(n, what))]

    def load(self, device: str = "cpu") -> None:
        """Load models onto ``device`` (idempotent). Raises ``WeightsMissing``
        before touching any library that could try to download."""
        if self.loaded and device == self.device:
            return
        self.device = device
        self._load(device)
        self.loaded = True

    def _load(self, device: str) -> None:
        """Subclass hook; weight-free metrics need nothing."""

    # -- scoring -------------------------------------------------------------------
    def score_batch(
        self,
        preds: Sequence[np.ndarray],
        refs: Sequence[np.ndarray] | None = None,
        instances: Sequence[Sequence[Any]] | None = None,
    ) -> list[float | None]:
        """Per-image scores for a batch (``fr`` and ``nr`` metrics)."""
        if self.mode == "set":
            raise BenchError(f"metric '{self.name}' is set-level: use features() and from_features()")
        for i, img in enumerate(preds):
            check_image(img, f"metric '{self.name}': prediction {i}")
        if self.mode == "fr":
            check_pairs(self.name, preds, refs)
        if not self.loaded:
            self.load(self.device)
        self.last_reasons = [None] * len(preds)
        if not preds:
            return []
        return self._score(list(preds), list(refs) if refs is not None else None, instances)

    def _score(self, preds: list[np.ndarray], refs: list[np.ndarray] | None,
               instances: Sequence[Sequence[Any]] | None) -> list[float | None]:
        raise NotImplementedError

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Set-level metrics: an ``(N, D)`` feature array for ``images``."""
        raise BenchError(f"metric '{self.name}' is per-image ({self.mode}): use score_batch()")

    def from_features(self, pred_feats: np.ndarray, ref_feats: np.ndarray) -> float:
        """Set-level metrics: the score from the two sets' features."""
        raise BenchError(f"metric '{self.name}' is per-image ({self.mode}): use score_batch()")


def check_image(img: np.ndarray, where: str) -> None:
    """Require an ``(H, W, 3)`` uint8 array."""
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        got = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
        raise BenchError(f"{where}: expected an (H, W, 3) uint8 RGB array, got {got}")


def check_pairs(name: str, preds: Sequence[np.ndarray], refs: Sequence[np.ndarray] | None) -> None:
    """Full-reference inputs: one reference per prediction, same size."""
    if refs is None:
        raise BenchError(f"metric '{name}' is full-reference: it needs the reference images "
                         "(this data set has none; use a no-reference metric)")
    if len(refs) != len(preds):
        raise BenchError(f"metric '{name}': {len(preds)} predictions but {len(refs)} references")
    for i, (p, r) in enumerate(zip(preds, refs)):
        check_image(r, f"metric '{name}': reference {i}")
        if p.shape != r.shape:
            raise BenchError(f"metric '{name}': image {i}: prediction is {p.shape[1]}x{p.shape[0]} but "
                             f"reference is {r.shape[1]}x{r.shape[0]}; they must be the same size")


def to_tensor(images: Sequence[np.ndarray], device: str = "cpu", dtype: Any = None):
    """Stack ``(H, W, 3)`` uint8 arrays into a float ``(N, 3, H, W)`` tensor in [0, 1]."""
    import torch

    arr = np.stack([np.asarray(im) for im in images]).astype(np.float64) / 255.0
    t = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
    return t.to(device=device, dtype=dtype or torch.float32)


def group_by_shape(images: Sequence[np.ndarray]) -> list[list[int]]:
    """Indices of ``images`` grouped by shape, so each group stacks into one tensor."""
    groups: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.shape, []).append(i)
    return list(groups.values())
