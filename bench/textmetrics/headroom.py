"""Headroom: how much of the gap between the degraded and the clean image a restorer closes.

``headroom = (f_restored - f_lq) / (f_hq - f_lq)`` for a higher-is-better score ``f``
(for example pooled ``det_hmean``): 0 = no better than the degraded input, 1 = as good
as the clean image, < 0 = worse than the input, > 1 = better than the clean image.
Undefined (``None``) when ``f_hq == f_lq`` (no gap to close) or a score is missing.
"""

from __future__ import annotations


def headroom(f_restored: float | None, f_lq: float | None, f_hq: float | None) -> float | None:
    """Share of the LQ -> HQ gap closed by the restorer; ``None`` when undefined."""
    if f_restored is None or f_lq is None or f_hq is None or f_hq == f_lq:
        return None
    return (f_restored - f_lq) / (f_hq - f_lq)
