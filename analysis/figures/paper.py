"""Matplotlib, the paper side of every figure: style, figure creation, saving.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state), so rendering is safe
from worker threads of the app. Text stays text (TrueType in PDF, ``<text>`` in SVG); dense
scatter points are rasterised at 300 dpi inside the vector file to keep it small.
"""
from __future__ import annotations

import os
from typing import Optional

from .. import style

PAPER_FORMATS = ('pdf', 'svg', 'png')


def paper_style():
    """Context manager applying the paper rcParams (fonts, sizes, vector text)."""
    import matplotlib
    return matplotlib.rc_context(style.PAPER_RC)


def column_width(column: Optional[str], natural: str = 'one') -> float:
    """The width in inches of a figure drawn at ``column`` (``'one'``: 3.4 in, ``'two'``:
    7 in; None: the kind's ``natural`` choice). ValueError names an unknown column."""
    column = natural if column is None else column
    if column not in style.COLUMNS:
        raise ValueError(f'column must be one of {", ".join(style.COLUMNS)}, got {column!r}')
    return style.COLUMNS[column]


def page_height(width: float, wanted: float) -> float:
    """``wanted`` capped at the tallest a figure of this width may be (``MAX_ASPECT``)."""
    return min(wanted, style.MAX_ASPECT * width)


# Text at the smallest font (style.MIN_FONT_SIZE, 6 pt): a line's box is 6.5 pt high and a
# character about 0.52 em wide (DejaVu Sans, measured); rows of labelled cells need this much.
LABEL_ROW_IN = 0.1


def text_inches(text: str, size: float = style.MIN_FONT_SIZE) -> float:
    """About how wide ``text`` prints at ``size`` points, in inches."""
    return len(text) * 0.52 * size / 72


LABEL_CHARS = 16     # longest class name on a paper figure's axis


def short_name(name: str, limit: int = LABEL_CHARS) -> str:
    """An axis label for a class: the first of a comma list of synonyms (ADE20K's 'chest of
    drawers, chest, bureau, dresser' -> 'chest of drawers'), cut to ``limit`` characters."""
    first = name.split(',')[0].strip() or name.strip()
    return first if len(first) <= limit else first[:limit - 1].rstrip() + '…'


def new_figure(width: float, height: float):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout='constrained')


def save_matplotlib(fig, path, fmt: Optional[str] = None) -> str:
    """Save a matplotlib figure; the format comes from the suffix (.pdf, .svg, .png) unless
    ``fmt`` is given. Returns the path written."""
    path = os.fspath(path)
    fmt = (fmt or os.path.splitext(path)[1].lstrip('.')).lower()
    if fmt not in PAPER_FORMATS:
        raise ValueError(f'unsupported figure format {fmt!r}; use one of {PAPER_FORMATS}')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with paper_style():
        fig.savefig(path, format=fmt, metadata=_metadata(fmt))
    return path


def _metadata(fmt: str) -> dict:
    # Fixed metadata so the same data gives byte-identical files (no creation date).
    if fmt == 'pdf':
        return {'Creator': 'SSA-Seg Studio analysis', 'CreationDate': None}
    if fmt == 'svg':
        return {'Creator': 'SSA-Seg Studio analysis', 'Date': None}
    if fmt == 'png':
        return {'Software': 'SSA-Seg Studio analysis'}
    return {}
