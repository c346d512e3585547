"""The restorer contract every adapter implements.

A restorer is loaded once (:meth:`Restorer.load`) and then restores batches.
Inputs are RGB uint8 arrays. What it receives depends on :attr:`Restorer.input_mode`:

* ``"lq"``: the low-quality image at its own (small) size; the restorer must
  return ``scale`` times larger images (super-resolution models).
* ``"upsampled"``: the LQ image already bicubic-resized to the target size (what
  TAIR val.py:106-109 and most diffusion restorers do); it returns the same size.

The harness checks every output's shape, dtype and value range against the
target size and raises :class:`bench.errors.AdapterError` naming the restorer and
image on a mismatch.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Sequence

import numpy as np

from bench.registry import Component


class Restorer(Component):
    """Base class for restorer adapters. Subclasses set the class attributes and
    implement :meth:`restore_batch`; they override :meth:`load`,
    :meth:`preflight` and :meth:`version` when they use model files."""

    #: how the input is given (see module docstring): "lq" or "upsampled"
    input_mode: ClassVar[str] = "lq"
    #: whether :meth:`restore_batch` uses the ``prompts`` argument
    accepts_prompt: ClassVar[bool] = False
    #: whether :meth:`restore_batch` needs the ``ids`` keyword (e.g. outputs looked up
    #: by image id, or files named after it); declared, never guessed from a signature
    needs_ids: ClassVar[bool] = False
    #: whether the model runs in another interpreter that the suite's ``python:`` key
    #: names (the subprocess drivers); in-process adapters run in the harness's own
    accepts_python: ClassVar[bool] = False

    def __init__(self, scale: int = 4, device: str = "cpu", **args: Any):
        self.scale = int(scale)
        self.device = device
        self.args = dict(args)

    # -- identity -------------------------------------------------------------
    def config(self) -> dict:
        """The user-visible settings that enter the cache key and results."""
        return {"scale": self.scale, **self.args}

    def environment(self) -> Optional[dict]:
        """The interpreter the model runs in and what it holds (recorded in results.json),
        or None for an adapter that runs inside the harness (its environment is the run's)."""
        return None

    # -- lifecycle --------------------------------------------------------------
    def preflight(self) -> list[str]:
        """Return one message per missing requirement (weights, code), each with
        the fix. Must be cheap and never download anything."""
        return []

    def load(self) -> None:
        """Load models. Called once before the first batch."""

    def restore_batch(
        self, images: Sequence[np.ndarray], prompts: Optional[Sequence[Optional[str]]] = None,
        *, ids: Optional[Sequence[str]] = None,
    ) -> list[np.ndarray]:
        """Restore one batch. ``prompts`` come when :attr:`accepts_prompt` is set; ``ids``
        (the images' ids, in batch order) come only when :attr:`needs_ids` is set, and
        then the image id enters the output's cache key too."""
        raise NotImplementedError

    #: preferred batch size for :meth:`restore_batch`
    batch_size: ClassVar[int] = 1
