"""Class-by-class matrices on a page: the layout shared by the relation matrices (per image)
and the distillation figure (paper Fig. 3).

Every class keeps a readable name on both axes: a cell must be at least ``LABEL_ROW_IN``
high, the height of a 6 pt label (:data:`analysis.style.MIN_FONT_SIZE`). At a given page
width (:data:`analysis.style.COLUMNS`) the matrices go side by side when that fits, else
they wrap into rows (at most ``MAX_ASPECT`` times the width high); when even then the
cells would be too small, the figure shows the classes with most pixels that fit and says
so in its title (a prefix of the same ranking the shift figure uses).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .. import style
from .paper import LABEL_ROW_IN, new_figure, short_name, text_inches

MAX_CELL_IN = 0.16        # a few classes: cells no larger than this
TITLE_IN = 0.22           # one line of axes title
SUPTITLE_IN = 0.2
BAR_RIGHT_IN = 0.65       # a colour bar beside the matrices (label and ticks included)
BAR_BOTTOM_IN = 0.5       # ... or below them
GAP_IN = 0.06


@dataclass(frozen=True)
class MatrixLayout:
    """rows x cols matrices of ``side`` inches showing ``shown`` classes, the colour bar
    ``'right'`` or ``'bottom'``, a figure of ``width`` x ``height`` inches."""
    rows: int
    cols: int
    side: float
    shown: int
    colorbar: str
    width: float
    height: float
    label_in: float
    title_in: float


def label_inches(names: Sequence[str]) -> float:
    """Room for the longest class label at the smallest font, plus the tick."""
    return text_inches(max((short_name(n) for n in names), key=len, default='xxxx')) + 0.12


def _candidate(n: int, m: int, cols: int, width: float, label_in: float,
               title_in: float) -> MatrixLayout:
    rows = math.ceil(m / cols)
    bar = 'bottom' if rows == 1 else 'right'
    free_w = width - label_in - GAP_IN * cols - (BAR_RIGHT_IN if bar == 'right' else 0)
    free_h = (style.MAX_ASPECT * width - label_in - SUPTITLE_IN
              - (BAR_BOTTOM_IN if bar == 'bottom' else 0))
    side = min(free_w / cols, free_h / rows - title_in, n * MAX_CELL_IN)
    return _sized(rows, cols, side, n, bar, width, label_in, title_in)


def _sized(rows, cols, side, shown, bar, width, label_in, title_in) -> MatrixLayout:
    height = (rows * (side + title_in) + label_in + SUPTITLE_IN
              + (BAR_BOTTOM_IN if bar == 'bottom' else 0))
    return MatrixLayout(rows, cols, side, shown, bar, width, height, label_in, title_in)


def matrix_layout(n: int, m: int, width: float, label_in: float, title_in: float = TITLE_IN,
                  trim: bool = True) -> Optional[MatrixLayout]:
    """The layout of m matrices of n classes at ``width`` inches: the fewest rows whose
    cells fit a label; if none does, the layout with the largest cells showing only the
    classes that fit (``trim``) or None (the caller's own layout)."""
    best = None
    for cols in sorted({m, math.ceil(m / 2), 1}, reverse=True):
        layout = _candidate(n, m, cols, width, label_in, title_in)
        if layout.side / max(n, 1) >= LABEL_ROW_IN:
            return layout
        if best is None or layout.side > best.side:
            best = layout
    if not trim:
        return None
    shown = max(1, int(best.side // LABEL_ROW_IN))
    side = min(best.side, shown * MAX_CELL_IN)
    return _sized(best.rows, best.cols, side, shown, best.colorbar, width, label_in,
                  best.title_in)


def trimmed(classes: Sequence[int], ranked: Optional[Sequence[int]], shown: int) -> List[int]:
    """Positions in ``classes`` (display order) of the first ``shown`` of ``ranked`` (most
    pixels first); all positions when nothing needs trimming or no ranking is known."""
    if ranked is None or shown >= len(classes):
        return list(range(len(classes)))
    keep = set(list(ranked)[:shown])
    return [i for i, c in enumerate(classes) if c in keep]


def draw_matrices(layout: MatrixLayout, panels: Sequence[Tuple[str, np.ndarray]],
                  names: Sequence[str], norm, bar_label: str, title: str = ''):
    """The matrices (``panels``: (title, n x n values)) in ``layout``, one colour scale
    (``norm``), class names on the left column and the bottom of each column."""
    fig = new_figure(layout.width, layout.height)
    axes = fig.subplots(layout.rows, layout.cols, squeeze=False).reshape(-1)
    labels = [short_name(n) for n in names]
    ticks = np.arange(len(names))
    image = None
    for i, ax in enumerate(axes):
        if i >= len(panels):
            ax.set_axis_off()
            continue
        name, values = panels[i]
        image = ax.imshow(values, cmap=style.SEQUENTIAL_CMAP, norm=norm,
                          interpolation='nearest')
        ax.set_title(name, pad=3)
        bottom = i + layout.cols >= len(panels)        # no matrix below this one
        ax.set_xticks(ticks, labels if bottom else [], rotation=90)
        ax.set_yticks(ticks, labels if i % layout.cols == 0 else [])
        ax.tick_params(length=1.5, width=0.4, pad=1, labelsize=style.MIN_FONT_SIZE)
    if image is not None:
        bottom = layout.colorbar == 'bottom'
        cb = fig.colorbar(image, ax=list(axes[:len(panels)]), location=layout.colorbar,
                          shrink=0.5 if bottom else 0.6, aspect=30 if bottom else 25,
                          pad=0.02)
        cb.ax.tick_params(labelsize=style.MIN_FONT_SIZE, width=0.4, length=2)
        cb.set_label(bar_label)
    if title:
        fig.suptitle(title, fontsize=style.FONT_SIZE)
    return fig
