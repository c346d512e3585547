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


#: text metrics whose headroom is reported for every restorer
HEADROOM_METRICS = ("det_hmean", "e2e_none_hmean", "e2e_none_ws_hmean")


def headroom_section(results: dict, rows: list[str], lq_row: str, hq_row: str) -> dict:
    """``{row: {metric: headroom, metric_reason: why undefined}}`` of :data:`HEADROOM_METRICS`
    for every row but the two references."""
    out = {}
    for row in rows:
        if row in (lq_row, hq_row):
            continue
        entry: dict = {}
        for m in HEADROOM_METRICS:
            vals = [results.get(r, {}).get(m) for r in (row, lq_row, hq_row)]
            value = headroom(*vals) if None not in vals else None
            entry[m] = value
            if value is None:
                entry[f"{m}_reason"] = ("undefined: F1 of HQ equals F1 of LQ" if None not in vals
                                        else "undefined: a reference row has no value")
        out[row] = entry
    return out
