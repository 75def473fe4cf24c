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
