"""What every renderer draws the same way for the levels: the threshold lines with their labels
at the right edge (spread apart so none overlaps another), and the legend entries of the alert
markers (one per level shown, in its colour)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from bot.charts import LEVEL_COLOURS

#: watch < alert < severe: the order of the legend entries
LEVEL_ORDER = tuple(name for name in LEVEL_COLOURS if name != "ok")
LABEL_PAD_PX = 1.0


def spread(
    targets: Sequence[float], gap: float, lo: float | None = None, hi: float | None = None
) -> list[float]:
    """Positions as close as possible to ``targets`` (least squares, order kept) with at least
    ``gap`` between neighbours, kept within ``[lo, hi]`` while they fit there (never at the
    price of an overlap). One-dimensional: label centres in pixels."""
    order = sorted(range(len(targets)), key=lambda i: targets[i])
    t = [float(targets[i]) for i in order]
    # clusters of labels packed at ``gap``: [first index, count, sum of (target - k * gap)]
    clusters: list[list[float]] = []
    for i, y in enumerate(t):
        clusters.append([i, 1, y])
        while len(clusters) > 1:
            a, b = clusters[-2], clusters[-1]
            a_top = a[2] / a[1] + (a[1] - 1) * gap
            b_bottom = b[2] / b[1]
            if a_top + gap <= b_bottom:
                break
            a[2] += b[2] - b[1] * a[1] * gap
            a[1] += b[1]
            clusters.pop()
    pos: list[float] = []
    for _first, n, total in clusters:
        base = total / n
        pos += [base + k * gap for k in range(int(n))]
    if hi is not None and pos:
        pos[-1] = min(pos[-1], hi)
        for k in range(len(pos) - 2, -1, -1):
            pos[k] = min(pos[k], pos[k + 1] - gap)
    if lo is not None and pos:
        pos[0] = max(pos[0], lo)
    for k in range(1, len(pos)):
        pos[k] = max(pos[k], pos[k - 1] + gap)
    out = [0.0] * len(pos)
    for k, i in enumerate(order):
        out[i] = pos[k]
    return out


class _Spreader(Artist):
    """Moves an axes' right-edge labels apart just before they are drawn, so the spacing is
    computed on the final axis limits and figure size (set after the labels are made)."""

    def __init__(self, ax: Any, labels: list[Annotation]) -> None:
        super().__init__()
        self._ax = ax
        self.labels = labels
        self.set_zorder(-1)  # drawn (as nothing) before the labels
        self.set_in_layout(False)

    def draw(self, renderer: Any) -> None:
        labels = [a for a in self.labels if a.get_visible()]
        if not labels:
            return
        trans = self._ax.get_yaxis_transform()
        targets = []
        for a in labels:
            a.xyann = (0.0, 0.0)
            targets.append(float(trans.transform(a.xy)[1]))
        gap = max(a.get_window_extent(renderer).height for a in labels) + LABEL_PAD_PX
        box = self._ax.bbox
        pos = spread(targets, gap, box.y0, box.y1)
        per_pt = renderer.points_to_pixels(1.0)
        for a, y, p in zip(labels, targets, pos, strict=True):
            a.xyann = (0.0, (p - y) / per_pt)


def threshold_lines(
    ax: Any,
    thresholds: Mapping[str, float],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    linestyle: str = "--",
) -> list[Annotation]:
    """Each level's entry line across ``ax`` and its label ("severe 99.5") at the right edge,
    the labels spread apart so none overlaps another."""
    labels = []
    for name, value in thresholds.items():
        if value is None or not np.isfinite(value):
            continue
        colour = LEVEL_COLOURS.get(name, "#757575")
        ax.axhline(value, color=colour, linewidth=0.9, linestyle=linestyle)
        labels.append(
            ax.annotate(
                f" {name} {fmt(value)}",
                (1.0, value),
                xycoords=ax.get_yaxis_transform(),
                xytext=(0.0, 0.0),
                textcoords="offset points",
                va="center",
                ha="left",
                fontsize=7,
                color=colour,
                annotation_clip=False,
            )
        )
    if labels:
        ax.add_artist(_Spreader(ax, labels))
    return labels


def level_handles(levels: Iterable[str], marker: str = "o", size: float = 6.0) -> list[Line2D]:
    """Legend entries for alert markers: one per level among ``levels``, watch to severe, in
    the level's colour and the markers' shape."""
    shown = set(levels)
    names = [n for n in LEVEL_ORDER if n in shown] + sorted(shown - set(LEVEL_ORDER))
    return [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=marker,
            markersize=size,
            markerfacecolor=LEVEL_COLOURS.get(n, "#000000"),
            markeredgecolor="white",
            markeredgewidth=0.8,
            label=n,
        )
        for n in names
    ]


def legend_with_levels(ax: Any, levels: Iterable[str], marker: str = "o", **kwargs: Any) -> None:
    """``ax``'s legend: its labelled artists, then one entry per alert level shown."""
    handles, _labels = ax.get_legend_handles_labels()
    handles = list(handles) + level_handles(levels, marker)
    if handles:
        ax.legend(handles=handles, **kwargs)
