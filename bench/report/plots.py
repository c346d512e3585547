"""Report plots (matplotlib, Agg canvas, PNG files).

Figures are built with :class:`matplotlib.figure.Figure` and an Agg canvas
directly, never through pyplot, so no global backend or figure state is touched
(safe in tests and in a process that also uses matplotlib interactively).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional, Sequence

from bench.io.images import atomic_write_bytes
from bench.io.runfiles import finite_or_none
from bench.records import HQ_ROW, LQ_ROW

REFERENCE_COLORS = {HQ_ROW: "#2b8a3e", LQ_ROW: "#c92a2a"}
PALETTE = ("#1c7ed6", "#f08c00", "#7048e8", "#0ca678", "#e64980", "#495057", "#74b816", "#1098ad")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())
    return path


def row_colors(rows: Sequence[str]) -> dict[str, str]:
    """A stable colour per row: fixed ones for HQ/LQ, the palette for restorers."""
    out, k = {}, 0
    for row in rows:
        if row in REFERENCE_COLORS:
            out[row] = REFERENCE_COLORS[row]
        else:
            out[row] = PALETTE[k % len(PALETTE)]
            k += 1
    return out


#: label offsets tried around a point, in points: nearest first, then further out
_LABEL_OFFSETS = [(dx * r, dy * r) for r in (1, 2, 3, 4, 6) for dx, dy in
                  ((6, 4), (6, -12), (-6, 4), (-6, -12), (0, 10), (0, -16), (12, -4), (-12, -4))]


def place_labels(ax, points: Sequence[tuple[float, float]], labels: Sequence[str]) -> list:
    """Annotate each point with its label at the first offset (:data:`_LABEL_OFFSETS`)
    whose box overlaps no label placed before it (the last offset if none is free).
    Returns the text artists. Greedy, in the given order: rows keep a stable layout."""
    renderer = ax.figure.canvas.get_renderer()
    placed, boxes = [], []
    for (x, y), label in zip(points, labels):
        for i, (dx, dy) in enumerate(_LABEL_OFFSETS):
            text = ax.annotate(label, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=9,
                               ha="left" if dx >= 0 else "right")
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(b) for b in boxes) or i == len(_LABEL_OFFSETS) - 1:
                break
            text.remove()
        boxes.append(box)
        placed.append(text)
    return placed


def fidelity_vs_text(doc: dict, x_metric: str, y_metric: str, path: Path) -> Optional[Path]:
    """Scatter of one fidelity metric against one text metric, one point per row,
    with 95% bootstrap intervals as error bars when results.json has them."""
    rows = [r for r in doc["rows"] if finite_or_none(doc["results"].get(r, {}).get(x_metric)) is not None
            and finite_or_none(doc["results"].get(r, {}).get(y_metric)) is not None]
    if not rows:
        return None
    ci = doc.get("intervals", {}).get("rows", {})
    colors = row_colors(doc["rows"])
    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    for row in rows:
        x, y = finite_or_none(doc["results"][row][x_metric]), finite_or_none(doc["results"][row][y_metric])
        xe, ye = ci.get(row, {}).get(x_metric, {}), ci.get(row, {}).get(y_metric, {})
        xerr = [[x - xe["low"]], [xe["high"] - x]] if xe.get("low") is not None else None
        yerr = [[y - ye["low"]], [ye["high"] - y]] if ye.get("low") is not None else None
        marker = "s" if row in REFERENCE_COLORS else "o"
        ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt=marker, color=colors[row], capsize=3, label=row)
    fig.tight_layout()  # final axes geometry first: label boxes are measured in pixels
    place_labels(ax, [(finite_or_none(doc["results"][r][x_metric]), finite_or_none(doc["results"][r][y_metric])) for r in rows], rows)
    better_x = doc.get("metrics", {}).get(x_metric, {}).get("higher_is_better")
    arrow = {True: " (higher is better)", False: " (lower is better)"}.get(better_x, "")
    ax.set_xlabel(f"{x_metric}{arrow}")
    ax.set_ylabel(f"{y_metric} (higher is better)")
    ax.set_title("Fidelity vs text accuracy (95% bootstrap CIs)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def per_image_distribution(per_image: list[dict], rows: Sequence[str], metric: str, path: Path,
                           title: str) -> Optional[Path]:
    """Box plot plus jittered points of a per-image value, one box per row."""
    data = [[v for r in per_image if r.get("row") == row and (v := finite_or_none(r.get(metric))) is not None]
            for row in rows]
    if not any(data):
        return None
    keep = [(row, d) for row, d in zip(rows, data) if d]
    colors = row_colors(rows)
    fig = _figure(max(4.5, 1.1 * len(keep) + 1.5), 3.8)
    ax = fig.add_subplot()
    ax.boxplot([d for _, d in keep], showfliers=False, widths=0.5)
    for k, (row, d) in enumerate(keep, start=1):
        # deterministic jitter: spread points by their rank, no random state
        offsets = [((i % 7) - 3) * 0.04 for i in range(len(d))]
        ax.scatter([k + o for o in offsets], d, s=12, color=colors[row], alpha=0.7, zorder=3)
    ax.set_xticks(range(1, len(keep) + 1))
    ax.set_xticklabels([row for row, _ in keep], rotation=20)
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def grouped_bars(groups: Sequence[str], series: dict[str, Sequence[Optional[float]]], ylabel: str, title: str,
                 path: Path) -> Optional[Path]:
    """Grouped bars: one group per x label (e.g. a degradation level), one bar per
    series (e.g. a restorer); missing values are left out."""
    if not groups or not series:
        return None
    names = list(series)
    colors = row_colors(names)
    width = 0.8 / len(names)
    fig = _figure(max(5.0, 1.2 * len(groups) * max(1, len(names)) * 0.35 + 2), 4.0)
    ax = fig.add_subplot()
    for k, name in enumerate(names):
        xs = [g + (k - (len(names) - 1) / 2) * width for g in range(len(groups))]
        vals = [finite_or_none(v) for v in series[name]]
        pts = [(x, v) for x, v in zip(xs, vals) if v is not None]
        if pts:
            ax.bar([x for x, _ in pts], [v for _, v in pts], width=width, color=colors[name], label=name)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=15)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def per_image_strip(per_image: list[dict], rows: Sequence[str], metric: str, path: Path, title: str,
                    higher_is_better: Optional[bool] = None) -> Optional[Path]:
    """Strip plot of a per-image value: one column per row, one point per image, and a
    thin grey line joining each image's points across the rows (how each image moves)."""
    values: dict[str, dict[str, float]] = {}
    for r in per_image:
        v = finite_or_none(r.get(metric))
        if v is not None and r.get("row") in rows:
            values.setdefault(str(r.get("image_id")), {})[r["row"]] = v
    keep = [row for row in rows if any(row in per_row for per_row in values.values())]
    if not keep:
        return None
    x_of = {row: k for k, row in enumerate(keep)}
    colors = row_colors(rows)
    fig = _figure(max(4.5, 1.1 * len(keep) + 1.5), 3.8)
    ax = fig.add_subplot()
    for per_row in values.values():
        pts = [(x_of[row], per_row[row]) for row in keep if row in per_row]
        if len(pts) > 1:
            ax.plot([x for x, _ in pts], [y for _, y in pts], color="#adb5bd", linewidth=0.8, zorder=1)
    for row in keep:
        ys = [per_row[row] for _, per_row in sorted(values.items()) if row in per_row]
        ax.scatter([x_of[row]] * len(ys), ys, s=18, color=colors[row], alpha=0.85, zorder=3)
    ax.set_xticks(range(len(keep)))
    ax.set_xticklabels(keep, rotation=20)
    ax.set_xlim(-0.5, len(keep) - 0.5)
    arrow = {True: " (higher is better)", False: " (lower is better)"}.get(higher_is_better, "")
    ax.set_ylabel(f"{metric}{arrow}")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)
